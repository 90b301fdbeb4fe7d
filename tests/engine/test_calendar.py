"""The working calendar: wall-clock arithmetic across DST, bank holidays, office hours.

Expected results are written as ISO strings in local time with their UTC offset, so
each one pins the local wall clock *and* the instant. UK clocks change on the last
Sundays of March and October: 2011-03-27, 2011-10-30, 2026-03-29 and 2026-10-25.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import holidays
import pytest

from engine import calendar as calendar_module
from engine.calendar import Calendar
from engine.durations import Duration, Unit

LONDON = ZoneInfo("Europe/London")
CAL = Calendar()
HOUR = dt.timedelta(hours=1)


def london(y: int, mo: int, d: int, h: int = 9, mi: int = 0, *, fold: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=LONDON, fold=fold)


def local_iso(t: dt.datetime) -> str:
    """``t`` as local ISO text, after checking it is expressed in London time."""
    assert t.tzinfo is LONDON
    return t.isoformat()


def elapsed(earlier: dt.datetime, later: dt.datetime) -> dt.timedelta:
    """Real time between two instants (same-zone subtraction would give wall-clock time)."""
    return later.astimezone(dt.UTC) - earlier.astimezone(dt.UTC)


def days(n: int) -> Duration:
    return Duration(n, Unit.DAY)


def weeks(n: int) -> Duration:
    return Duration(n, Unit.WEEK)


def months(n: int) -> Duration:
    return Duration(n, Unit.MONTH)


def working_days(n: int) -> Duration:
    return Duration(n, Unit.WORKING_DAY)


# -- construction -------------------------------------------------------------------


def test_defaults_are_england_and_wales_office_hours() -> None:
    assert CAL == Calendar("Europe/London", "GB-ENG", dt.time(9, 0), dt.time(17, 30))
    assert CAL.zone is LONDON
    assert repr(CAL) == (
        "Calendar(timezone='Europe/London', holiday_region='GB-ENG', "
        "office_start=datetime.time(9, 0), office_end=datetime.time(17, 30))"
    )


def test_calendar_is_frozen_and_hashable() -> None:
    assert hash(Calendar()) == hash(CAL)
    assert {Calendar(): "same"}[CAL] == "same"
    assert Calendar(holiday_region="GB-SCT") != CAL
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(CAL, "timezone", "Europe/Dublin")  # noqa: B010 - bypass the type checker


@pytest.mark.parametrize("region", ["GB-ENG", "GB-SCT", "GB-NIR", "GB-WLS", "GB", "IE"])
def test_accepted_regions(region: str) -> None:
    assert Calendar(holiday_region=region).holiday_region == region


@pytest.mark.parametrize(
    ("timezone", "message"),
    [
        pytest.param(
            "Europe/Londn",
            "unknown timezone 'Europe/Londn' (did you mean 'Europe/London'?); "
            "use an IANA time zone name such as 'Europe/London' or 'Europe/Dublin'",
            id="typo",
        ),
        pytest.param(
            "Mars/Olympus_Mons",
            "unknown timezone 'Mars/Olympus_Mons'; "
            "use an IANA time zone name such as 'Europe/London' or 'Europe/Dublin'",
            id="nothing_close",
        ),
        pytest.param(
            "",
            "unknown timezone ''; "
            "use an IANA time zone name such as 'Europe/London' or 'Europe/Dublin'",
            id="empty",
        ),
    ],
)
def test_bad_timezone(timezone: str, message: str) -> None:
    with pytest.raises(ValueError, match="unknown timezone") as caught:
        Calendar(timezone=timezone)
    assert str(caught.value) == message


REGION_HELP = (
    "use a country code such as 'GB' or 'IE', optionally with a subdivision: "
    "'GB-ENG' (England & Wales), 'GB-SCT' (Scotland) or 'GB-NIR' (Northern Ireland)"
)
GB_SUBDIVISIONS = (
    "GB subdivisions are 'GB-ENG', 'GB-NIR', 'GB-SCT', 'GB-WLS' "
    "(or 'GB' alone for national holidays only)"
)


@pytest.mark.parametrize(
    ("region", "message"),
    [
        pytest.param(
            "GB-ENGG",
            f"unknown holiday region 'GB-ENGG' (did you mean 'GB-ENG'?); {GB_SUBDIVISIONS}",
            id="subdivision_typo",
        ),
        pytest.param(
            "GB-XYZ", f"unknown holiday region 'GB-XYZ'; {GB_SUBDIVISIONS}", id="bad_subdivision"
        ),
        pytest.param(
            "UK", f"unknown holiday region 'UK' (did you mean 'GB'?); {REGION_HELP}", id="uk"
        ),
        pytest.param(
            "uk-sct",
            f"unknown holiday region 'uk-sct' (did you mean 'GB-SCT'?); {REGION_HELP}",
            id="uk_subdivision",
        ),
        pytest.param(
            "ENG",
            f"unknown holiday region 'ENG' (did you mean 'GB-ENG'?); {REGION_HELP}",
            id="subdivision_alone",
        ),
        pytest.param(
            "gb-eng",
            f"unknown holiday region 'gb-eng' (did you mean 'GB-ENG'?); {REGION_HELP}",
            id="lower_case",
        ),
        pytest.param("XX", f"unknown holiday region 'XX'; {REGION_HELP}", id="unknown_country"),
        pytest.param(
            "IE-D",
            "unknown holiday region 'IE-D': IE has no subdivisions; use 'IE'",
            id="country_without_subdivisions",
        ),
    ],
)
def test_bad_region(region: str, message: str) -> None:
    with pytest.raises(ValueError, match="unknown holiday region") as caught:
        Calendar(holiday_region=region)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        pytest.param(
            dt.time(17, 30),
            dt.time(9, 0),
            "office_end (09:00:00) must be after office_start (17:30:00)",
            id="reversed",
        ),
        pytest.param(
            dt.time(9, 0),
            dt.time(9, 0),
            "office_end (09:00:00) must be after office_start (09:00:00)",
            id="empty",
        ),
        pytest.param(
            dt.time(9, 0, tzinfo=dt.UTC),
            dt.time(17, 30),
            "office_start must be a local time of day without a time zone, "
            "got datetime.time(9, 0, tzinfo=datetime.timezone.utc)",
            id="aware_time",
        ),
    ],
)
def test_bad_office_hours(start: dt.time, end: dt.time, message: str) -> None:
    with pytest.raises(ValueError, match="office_") as caught:
        Calendar(office_start=start, office_end=end)
    assert str(caught.value) == message


NAIVE = dt.datetime(2026, 3, 28, 9, 0)
NAIVE_HELP = "got naive 2026-03-28T09:00:00; attach a zone, e.g. datetime(..., tzinfo=datetime.UTC)"


@pytest.mark.parametrize(
    ("call", "name"),
    [
        pytest.param(lambda: CAL.add(NAIVE, days(1)), "start", id="add"),
        pytest.param(lambda: CAL.subtract(NAIVE, days(1)), "end", id="subtract"),
        pytest.param(lambda: CAL.next_office_time(NAIVE), "t", id="next_office_time"),
        pytest.param(lambda: CAL.days_overdue(dt.date(2026, 3, 1), NAIVE), "now", id="overdue"),
        pytest.param(lambda: CAL.local(NAIVE), "t", id="local"),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[], object], name: str) -> None:
    with pytest.raises(ValueError, match="must be timezone-aware") as caught:
        call()
    assert str(caught.value) == f"{name} must be timezone-aware, {NAIVE_HELP}"


def test_a_datetime_where_a_date_is_meant_is_refused() -> None:
    with pytest.raises(TypeError, match="must be a date") as caught:
        CAL.is_working_day(london(2026, 3, 30))
    assert str(caught.value) == (
        "day must be a date, not a datetime (2026-03-30T09:00:00+01:00); "
        "pass the local date, e.g. calendar.local(t).date()"
    )


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative") as caught:
        CAL.add(london(2026, 3, 28), days(-1))
    assert str(caught.value) == (
        "cannot move by -1 days: the count must not be negative; "
        "use add() or subtract() for the direction"
    )


def test_result_past_year_9999_is_refused() -> None:
    start = dt.datetime(9999, 12, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="outside") as caught:
        CAL.add(start, months(2))
    assert (
        str(caught.value)
        == "9999-12-01T00:00:00+00:00 moved by 2 months is outside the years 1-9999"
    )


# -- calendar days, weeks and months across DST -------------------------------------

DST_ADD = [
    pytest.param(
        london(2026, 3, 28), days(1), "2026-03-29T09:00:00+01:00", 23, id="spring_forward"
    ),
    pytest.param(
        london(2026, 3, 25), weeks(1), "2026-04-01T09:00:00+01:00", 167, id="spring_forward_week"
    ),
    pytest.param(london(2026, 10, 24), days(1), "2026-10-25T09:00:00+00:00", 25, id="autumn_back"),
    pytest.param(
        london(2026, 10, 21), weeks(1), "2026-10-28T09:00:00+00:00", 169, id="autumn_back_week"
    ),
    pytest.param(
        london(2011, 3, 26), days(1), "2011-03-27T09:00:00+01:00", 23, id="spring_forward_2011"
    ),
    pytest.param(
        london(2011, 3, 21),
        weeks(1),
        "2011-03-28T09:00:00+01:00",
        167,
        id="spring_forward_week_2011",
    ),
    pytest.param(
        london(2011, 10, 29), days(1), "2011-10-30T09:00:00+00:00", 25, id="autumn_back_2011"
    ),
    pytest.param(
        london(2011, 10, 24), weeks(1), "2011-10-31T09:00:00+00:00", 169, id="autumn_back_week_2011"
    ),
]


@pytest.mark.parametrize(("start", "duration", "expected", "hours"), DST_ADD)
def test_add_keeps_local_time_across_dst(
    start: dt.datetime, duration: Duration, expected: str, hours: int
) -> None:
    result = CAL.add(start, duration)
    assert local_iso(result) == expected
    assert result.utcoffset() != start.utcoffset()
    assert elapsed(start, result) == hours * HOUR


@pytest.mark.parametrize(("start", "duration", "end", "hours"), DST_ADD)
def test_subtract_keeps_local_time_across_dst(
    start: dt.datetime, duration: Duration, end: str, hours: int
) -> None:
    """Subtracting is the inverse of each case above: from its end back to its start."""
    later = dt.datetime.fromisoformat(end).astimezone(start.tzinfo)
    result = CAL.subtract(later, duration)
    assert local_iso(result) == local_iso(start)
    assert result.utcoffset() != later.utcoffset()
    assert elapsed(result, later) == hours * HOUR


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(
            dt.datetime(2026, 3, 28, 9, 0, tzinfo=dt.UTC),
            "2026-03-29T09:00:00+01:00",
            id="spring_forward_from_utc",
        ),
        pytest.param(
            dt.datetime(2026, 10, 24, 8, 0, tzinfo=dt.UTC),
            "2026-10-25T09:00:00+00:00",
            id="autumn_back_from_utc",
        ),
        pytest.param(
            dt.datetime(2026, 6, 1, 23, 30, tzinfo=dt.UTC),
            "2026-06-03T00:30:00+01:00",
            id="utc_evening_is_next_local_day",
        ),
    ],
)
def test_add_works_in_local_time_whatever_the_input_zone(start: dt.datetime, expected: str) -> None:
    assert local_iso(CAL.add(start, days(1))) == expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param(
            CAL.add(london(2026, 3, 28, 1, 30), days(1)),
            "2026-03-29T02:30:00+01:00",
            id="spring_forward_gap_add",
        ),
        pytest.param(
            CAL.subtract(london(2026, 3, 30, 1, 30), days(1)),
            "2026-03-29T02:30:00+01:00",
            id="spring_forward_gap_subtract",
        ),
        pytest.param(
            CAL.add(london(2011, 3, 20, 1, 30), weeks(1)),
            "2011-03-27T02:30:00+01:00",
            id="spring_forward_gap_week_2011",
        ),
        pytest.param(
            CAL.add(london(2026, 10, 24, 1, 30), days(1)),
            "2026-10-25T01:30:00+01:00",
            id="autumn_back_ambiguous_add",
        ),
        pytest.param(
            CAL.subtract(london(2026, 10, 26, 1, 30), days(1)),
            "2026-10-25T01:30:00+01:00",
            id="autumn_back_ambiguous_subtract",
        ),
        pytest.param(
            CAL.add(london(2011, 10, 30, 1, 30, fold=1), weeks(52)),
            "2012-10-28T01:30:00+01:00",
            id="autumn_back_fold_not_carried_over",
        ),
    ],
)
def test_gap_moves_forward_and_ambiguous_takes_first(result: dt.datetime, expected: str) -> None:
    assert local_iso(result) == expected
    assert result.fold == 0


def test_the_fold_input_really_was_the_second_occurrence() -> None:
    assert london(2011, 10, 30, 1, 30, fold=1).isoformat() == "2011-10-30T01:30:00+00:00"


@pytest.mark.parametrize(
    ("due", "moment", "reminder", "hours"),
    [
        pytest.param(
            dt.date(2026, 3, 30),
            "2026-03-31T00:00:00+01:00",
            "2026-03-28T00:00:00+00:00",
            71,
            id="spring_forward",
        ),
        pytest.param(
            dt.date(2026, 10, 26),
            "2026-10-27T00:00:00+00:00",
            "2026-10-24T00:00:00+01:00",
            73,
            id="autumn_back",
        ),
        pytest.param(
            dt.date(2011, 3, 28),
            "2011-03-29T00:00:00+01:00",
            "2011-03-26T00:00:00+00:00",
            71,
            id="spring_forward_2011",
        ),
        pytest.param(
            dt.date(2011, 10, 31),
            "2011-11-01T00:00:00+00:00",
            "2011-10-29T00:00:00+01:00",
            73,
            id="autumn_back_2011",
        ),
    ],
)
def test_reminder_three_days_before_due_moment(
    due: dt.date, moment: str, reminder: str, hours: int
) -> None:
    due_moment = CAL.due_moment(due)
    result = CAL.subtract(due_moment, days(3))
    assert local_iso(due_moment) == moment
    assert local_iso(result) == reminder
    assert elapsed(result, due_moment) == hours * HOUR


def test_reminder_five_working_days_before_due_over_easter() -> None:
    # Due Tuesday 7 April 2026: overdue from Wednesday 00:00. Counting back skips
    # Easter Monday, the weekend and Good Friday.
    result = CAL.subtract(CAL.due_moment(dt.date(2026, 4, 7)), working_days(5))
    assert local_iso(result) == "2026-03-30T00:00:00+01:00"


MONTHS = [
    pytest.param(london(2026, 1, 31), 1, "2026-02-28T09:00:00+00:00", id="jan31_to_feb28"),
    pytest.param(london(2024, 1, 31), 1, "2024-02-29T09:00:00+00:00", id="jan31_to_feb29_leap"),
    pytest.param(london(2026, 5, 31), 1, "2026-06-30T09:00:00+01:00", id="may31_to_jun30"),
    pytest.param(london(2026, 8, 31), 6, "2027-02-28T09:00:00+00:00", id="six_months_clamped"),
    pytest.param(london(2026, 12, 15), 1, "2027-01-15T09:00:00+00:00", id="year_rollover"),
    pytest.param(london(2024, 2, 29), 12, "2025-02-28T09:00:00+00:00", id="leap_day_plus_year"),
    pytest.param(london(2026, 3, 15), 1, "2026-04-15T09:00:00+01:00", id="across_spring_forward"),
    pytest.param(london(2026, 10, 15), 1, "2026-11-15T09:00:00+00:00", id="across_autumn_back"),
]


@pytest.mark.parametrize(("start", "count", "expected"), MONTHS)
def test_add_months_clamps_to_month_end(start: dt.datetime, count: int, expected: str) -> None:
    assert local_iso(CAL.add(start, months(count))) == expected


@pytest.mark.parametrize(
    ("end", "count", "expected"),
    [
        pytest.param(london(2026, 3, 31), 1, "2026-02-28T09:00:00+00:00", id="mar31_to_feb28"),
        pytest.param(london(2024, 3, 31), 1, "2024-02-29T09:00:00+00:00", id="mar31_to_feb29_leap"),
        pytest.param(london(2026, 1, 15), 1, "2025-12-15T09:00:00+00:00", id="year_rollover"),
        pytest.param(london(2026, 10, 31), 6, "2026-04-30T09:00:00+01:00", id="six_months_clamped"),
    ],
)
def test_subtract_months_clamps_to_month_end(end: dt.datetime, count: int, expected: str) -> None:
    assert local_iso(CAL.subtract(end, months(count))) == expected


def test_clamped_months_do_not_compose() -> None:
    start = london(2026, 1, 31)
    assert local_iso(CAL.add(CAL.add(start, months(1)), months(1))) == "2026-03-28T09:00:00+00:00"
    assert local_iso(CAL.add(start, months(2))) == "2026-03-31T09:00:00+01:00"


@pytest.mark.parametrize("unit", list(Unit))
def test_zero_count_returns_the_same_instant_in_local_time(unit: Unit) -> None:
    start = dt.datetime(2026, 4, 4, 12, 0, tzinfo=dt.UTC)  # a Saturday in Easter weekend
    assert local_iso(CAL.add(start, Duration(0, unit))) == "2026-04-04T13:00:00+01:00"
    assert local_iso(CAL.subtract(start, Duration(0, unit))) == "2026-04-04T13:00:00+01:00"


# -- working days and bank holidays -------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        pytest.param(dt.date(2026, 4, 2), True, id="maundy_thursday"),
        pytest.param(dt.date(2026, 4, 3), False, id="good_friday"),
        pytest.param(dt.date(2026, 4, 4), False, id="saturday"),
        pytest.param(dt.date(2026, 4, 5), False, id="sunday"),
        pytest.param(dt.date(2026, 4, 6), False, id="easter_monday"),
        pytest.param(dt.date(2026, 4, 7), True, id="easter_tuesday"),
        pytest.param(dt.date(2026, 12, 24), True, id="christmas_eve"),
        pytest.param(dt.date(2026, 12, 25), False, id="christmas_day"),
        pytest.param(dt.date(2026, 12, 28), False, id="boxing_day_substitute"),
        pytest.param(dt.date(2026, 12, 29), True, id="after_christmas"),
        pytest.param(dt.date(2026, 1, 2), True, id="second_january_england"),
        pytest.param(dt.date(2011, 4, 29), False, id="royal_wedding_2011"),
        pytest.param(dt.date(2011, 5, 2), False, id="may_day_2011"),
        pytest.param(dt.date(2011, 12, 27), False, id="christmas_substitute_2011"),
    ],
)
def test_is_working_day_england_and_wales(day: dt.date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(
    ("region", "day", "working"),
    [
        pytest.param("GB-SCT", dt.date(2026, 1, 2), False, id="scotland_second_january"),
        pytest.param("GB-SCT", dt.date(2026, 4, 6), True, id="scotland_easter_monday"),
        pytest.param("GB-SCT", dt.date(2026, 8, 3), False, id="scotland_summer_holiday"),
        pytest.param("GB-ENG", dt.date(2026, 8, 3), True, id="england_first_august_monday"),
        pytest.param("GB-SCT", dt.date(2026, 8, 31), True, id="scotland_late_august"),
        pytest.param("GB-SCT", dt.date(2026, 11, 30), False, id="scotland_st_andrew"),
        pytest.param("GB-NIR", dt.date(2026, 3, 17), False, id="northern_ireland_st_patrick"),
        pytest.param("GB-ENG", dt.date(2026, 3, 17), True, id="england_st_patrick"),
        pytest.param("GB-NIR", dt.date(2026, 7, 13), False, id="northern_ireland_boyne_substitute"),
        pytest.param("IE", dt.date(2026, 2, 2), False, id="ireland_st_brigid"),
        pytest.param("IE", dt.date(2026, 10, 26), False, id="ireland_october_holiday"),
        pytest.param("IE", dt.date(2026, 4, 3), True, id="ireland_good_friday"),
    ],
)
def test_regions_differ(region: str, day: dt.date, working: bool) -> None:
    assert Calendar(holiday_region=region).is_working_day(day) is working


def test_working_days_follow_the_region() -> None:
    start = london(2026, 1, 1)
    assert local_iso(CAL.add(start, working_days(1))) == "2026-01-02T09:00:00+00:00"
    scotland = Calendar(holiday_region="GB-SCT")
    assert local_iso(scotland.add(start, working_days(1))) == "2026-01-05T09:00:00+00:00"


WORKING_ADD = [
    pytest.param(
        london(2026, 4, 2, 10), 1, "2026-04-07T10:00:00+01:00", id="good_friday_and_easter_monday"
    ),
    pytest.param(
        london(2026, 12, 24, 10), 1, "2026-12-29T10:00:00+00:00", id="christmas_boxing_substitute"
    ),
    pytest.param(
        london(2011, 4, 28, 10), 1, "2011-05-03T10:00:00+01:00", id="royal_wedding_and_may_day_2011"
    ),
    pytest.param(
        london(2011, 4, 21, 10), 5, "2011-05-04T10:00:00+01:00", id="easter_and_royal_wedding_2011"
    ),
    pytest.param(london(2026, 6, 5, 16), 1, "2026-06-08T16:00:00+01:00", id="friday_to_monday"),
    pytest.param(london(2026, 6, 6, 16), 1, "2026-06-08T16:00:00+01:00", id="from_saturday"),
    pytest.param(london(2026, 6, 7, 16), 1, "2026-06-08T16:00:00+01:00", id="from_sunday"),
    pytest.param(london(2026, 6, 8, 16), 5, "2026-06-15T16:00:00+01:00", id="five_is_a_week"),
    pytest.param(london(2026, 3, 27), 1, "2026-03-30T09:00:00+01:00", id="spring_forward_weekend"),
    pytest.param(london(2026, 10, 23), 1, "2026-10-26T09:00:00+00:00", id="autumn_back_weekend"),
    pytest.param(london(2026, 3, 20), 20, "2026-04-21T09:00:00+01:00", id="twenty_over_easter"),
]


@pytest.mark.parametrize(("start", "count", "expected"), WORKING_ADD)
def test_add_working_days(start: dt.datetime, count: int, expected: str) -> None:
    assert local_iso(CAL.add(start, working_days(count))) == expected


WORKING_SUBTRACT = [
    pytest.param(
        london(2026, 4, 7, 10), 1, "2026-04-02T10:00:00+01:00", id="good_friday_and_easter_monday"
    ),
    pytest.param(
        london(2026, 12, 29, 10), 5, "2026-12-18T10:00:00+00:00", id="christmas_boxing_substitute"
    ),
    pytest.param(
        london(2011, 5, 3, 10), 1, "2011-04-28T10:00:00+01:00", id="royal_wedding_and_may_day_2011"
    ),
    pytest.param(london(2026, 6, 8, 16), 1, "2026-06-05T16:00:00+01:00", id="monday_to_friday"),
    pytest.param(london(2026, 6, 7, 16), 1, "2026-06-05T16:00:00+01:00", id="from_sunday"),
    pytest.param(
        london(2026, 3, 29, 12), 1, "2026-03-27T12:00:00+00:00", id="spring_forward_sunday"
    ),
    pytest.param(london(2026, 3, 30), 1, "2026-03-27T09:00:00+00:00", id="spring_forward_weekend"),
    pytest.param(london(2026, 10, 26), 1, "2026-10-23T09:00:00+01:00", id="autumn_back_weekend"),
    pytest.param(london(2026, 4, 21), 20, "2026-03-20T09:00:00+00:00", id="twenty_over_easter"),
]


@pytest.mark.parametrize(("end", "count", "expected"), WORKING_SUBTRACT)
def test_subtract_working_days(end: dt.datetime, count: int, expected: str) -> None:
    assert local_iso(CAL.subtract(end, working_days(count))) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(dt.date(2026, 4, 2), dt.date(2026, 4, 7), 1, id="easter_forwards"),
        pytest.param(dt.date(2026, 4, 7), dt.date(2026, 4, 2), -1, id="easter_backwards"),
        pytest.param(dt.date(2026, 4, 3), dt.date(2026, 4, 3), 0, id="same_day"),
        pytest.param(dt.date(2026, 3, 20), dt.date(2026, 4, 21), 20, id="twenty_over_easter"),
        pytest.param(dt.date(2026, 6, 6), dt.date(2026, 6, 8), 1, id="saturday_to_monday"),
        pytest.param(dt.date(2026, 6, 7), dt.date(2026, 6, 5), -1, id="sunday_to_friday"),
        pytest.param(dt.date(2026, 12, 24), dt.date(2026, 12, 29), 1, id="christmas"),
        pytest.param(dt.date(2026, 1, 1), dt.date(2027, 1, 1), 253, id="whole_year_2026"),
    ],
)
def test_working_days_between(a: dt.date, b: dt.date, expected: int) -> None:
    assert CAL.working_days_between(a, b) == expected


def test_working_days_between_agrees_with_add_and_subtract() -> None:
    first = dt.date(2025, 12, 1)
    for offset in range(0, 400, 3):
        day = first + dt.timedelta(days=offset)
        start = london(day.year, day.month, day.day, 12)
        for n in range(0, 25, 4):
            forward = CAL.add(start, working_days(n)).date()
            backward = CAL.subtract(start, working_days(n)).date()
            assert CAL.working_days_between(day, forward) == n
            assert CAL.working_days_between(day, backward) == -n
            if n:
                assert CAL.is_working_day(forward)
                assert CAL.is_working_day(backward)


def test_holiday_lookups_are_cached_per_region_and_year(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, object, object]] = []
    real = holidays.country_holidays

    def counting(country: str, subdiv: str | None = None, years: int | None = None) -> object:
        calls.append((country, subdiv, years))
        return real(country, subdiv=subdiv, years=years)

    calendar_module._holiday_dates.cache_clear()
    monkeypatch.setattr(holidays, "country_holidays", counting)
    try:
        for _ in range(3):
            for offset in range(730):
                CAL.is_working_day(dt.date(2026, 1, 1) + dt.timedelta(days=offset))
        assert calls == [("GB", "ENG", 2026), ("GB", "ENG", 2027)]
    finally:
        calendar_module._holiday_dates.cache_clear()


# -- days and deadlines -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(dt.date(2026, 3, 29), "2026-03-29T00:00:00+00:00", id="spring_forward_day"),
        pytest.param(dt.date(2026, 3, 30), "2026-03-30T00:00:00+01:00", id="after_spring_forward"),
        pytest.param(dt.date(2026, 10, 25), "2026-10-25T00:00:00+01:00", id="autumn_back_day"),
        pytest.param(dt.date(2026, 10, 26), "2026-10-26T00:00:00+00:00", id="after_autumn_back"),
    ],
)
def test_start_of_day(day: dt.date, expected: str) -> None:
    assert local_iso(CAL.start_of_day(day)) == expected


def test_start_of_day_where_midnight_does_not_exist() -> None:
    santiago = Calendar(timezone="America/Santiago", holiday_region="CL")
    # Chile springs forward at midnight: 2026-09-06 starts at 01:00 -03:00.
    assert santiago.start_of_day(dt.date(2026, 9, 6)).isoformat() == "2026-09-06T01:00:00-03:00"


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        pytest.param(dt.date(2026, 6, 30), "2026-07-01T00:00:00+01:00", id="summer"),
        pytest.param(dt.date(2026, 12, 31), "2027-01-01T00:00:00+00:00", id="year_end"),
        pytest.param(dt.date(2026, 3, 28), "2026-03-29T00:00:00+00:00", id="spring_forward_eve"),
        pytest.param(dt.date(2026, 3, 29), "2026-03-30T00:00:00+01:00", id="spring_forward"),
        pytest.param(dt.date(2026, 10, 25), "2026-10-26T00:00:00+00:00", id="autumn_back"),
    ],
)
def test_due_moment_is_the_next_local_midnight(due: dt.date, expected: str) -> None:
    assert local_iso(CAL.due_moment(due)) == expected


MICROSECOND = dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("due", "now", "expected"),
    [
        pytest.param(dt.date(2026, 6, 30), london(2026, 6, 29, 12), 0, id="before"),
        pytest.param(dt.date(2026, 6, 30), london(2026, 6, 30, 0), 0, id="due_date_start"),
        pytest.param(
            dt.date(2026, 6, 30),
            CAL.due_moment(dt.date(2026, 6, 30)) - MICROSECOND,
            0,
            id="last_microsecond",
        ),
        pytest.param(
            dt.date(2026, 6, 30), CAL.due_moment(dt.date(2026, 6, 30)), 1, id="due_moment"
        ),
        pytest.param(
            dt.date(2026, 6, 30),
            dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC),
            1,
            id="utc_still_due_date_but_local_next_day",
        ),
        pytest.param(dt.date(2026, 6, 30), london(2026, 7, 10, 8), 10, id="ten_days"),
        pytest.param(dt.date(2026, 3, 28), london(2026, 3, 30, 0), 2, id="spring_forward"),
        pytest.param(dt.date(2026, 10, 24), london(2026, 10, 26, 0), 2, id="autumn_back"),
        pytest.param(dt.date(2026, 10, 24), london(2026, 10, 25, 23, 59), 1, id="autumn_back_late"),
    ],
)
def test_days_overdue(due: dt.date, now: dt.datetime, expected: int) -> None:
    assert CAL.days_overdue(due, now) == expected


# -- office hours -------------------------------------------------------------------

OFFICE = [
    pytest.param(london(2026, 6, 10, 7, 45), "2026-06-10T09:00:00+01:00", id="before_opening"),
    pytest.param(london(2026, 6, 10, 9, 0), "2026-06-10T09:00:00+01:00", id="at_opening"),
    pytest.param(london(2026, 6, 10, 13, 15), "2026-06-10T13:15:00+01:00", id="during"),
    pytest.param(
        london(2026, 6, 10, 17, 29).replace(second=59, microsecond=999999),
        "2026-06-10T17:29:59.999999+01:00",
        id="last_microsecond",
    ),
    pytest.param(london(2026, 6, 10, 17, 30), "2026-06-11T09:00:00+01:00", id="at_closing"),
    pytest.param(london(2026, 6, 10, 19, 0), "2026-06-11T09:00:00+01:00", id="after_closing"),
    pytest.param(london(2026, 6, 12, 18, 0), "2026-06-15T09:00:00+01:00", id="friday_evening"),
    pytest.param(london(2026, 6, 13, 10, 0), "2026-06-15T09:00:00+01:00", id="saturday"),
    pytest.param(london(2026, 4, 3, 10, 0), "2026-04-07T09:00:00+01:00", id="good_friday"),
    pytest.param(london(2026, 4, 2, 18, 0), "2026-04-07T09:00:00+01:00", id="before_easter"),
    pytest.param(london(2026, 12, 24, 17, 45), "2026-12-29T09:00:00+00:00", id="christmas"),
    pytest.param(london(2011, 4, 28, 18, 0), "2011-05-03T09:00:00+01:00", id="royal_wedding_2011"),
    pytest.param(london(2026, 3, 27, 18, 0), "2026-03-30T09:00:00+01:00", id="spring_forward"),
    pytest.param(
        london(2026, 3, 29, 11, 0), "2026-03-30T09:00:00+01:00", id="spring_forward_sunday"
    ),
    pytest.param(london(2026, 10, 23, 17, 30), "2026-10-26T09:00:00+00:00", id="autumn_back"),
    pytest.param(london(2011, 3, 25, 18, 0), "2011-03-28T09:00:00+01:00", id="spring_forward_2011"),
    pytest.param(london(2011, 10, 28, 18, 0), "2011-10-31T09:00:00+00:00", id="autumn_back_2011"),
    pytest.param(
        dt.datetime(2026, 6, 10, 8, 30, tzinfo=dt.UTC),
        "2026-06-10T09:30:00+01:00",
        id="utc_inside_local_hours",
    ),
    pytest.param(
        dt.datetime(2026, 6, 10, 7, 30, tzinfo=dt.UTC),
        "2026-06-10T09:00:00+01:00",
        id="utc_before_local_opening",
    ),
    pytest.param(
        dt.datetime(2026, 6, 10, 16, 45, tzinfo=dt.UTC),
        "2026-06-11T09:00:00+01:00",
        id="utc_after_local_closing",
    ),
    pytest.param(
        dt.datetime(2026, 1, 14, 8, 30, tzinfo=dt.UTC),
        "2026-01-14T09:00:00+00:00",
        id="utc_winter",
    ),
]


@pytest.mark.parametrize(("t", "expected"), OFFICE)
def test_next_office_time(t: dt.datetime, expected: str) -> None:
    result = CAL.next_office_time(t)
    assert local_iso(result) == expected
    assert elapsed(t, result) >= dt.timedelta(0)


def test_next_office_time_inside_hours_is_the_same_instant() -> None:
    t = dt.datetime(2026, 6, 10, 12, 0, 0, 123456, tzinfo=dt.UTC)
    assert CAL.next_office_time(t) == t


def test_next_office_time_with_other_hours_and_region() -> None:
    early = Calendar(office_start=dt.time(8, 0), office_end=dt.time(16, 0))
    assert local_iso(early.next_office_time(london(2026, 6, 10, 16, 0))) == (
        "2026-06-11T08:00:00+01:00"
    )
    scotland = Calendar(holiday_region="GB-SCT")
    assert local_iso(scotland.next_office_time(london(2025, 12, 31, 18, 0))) == (
        "2026-01-05T09:00:00+00:00"
    )
    assert local_iso(CAL.next_office_time(london(2025, 12, 31, 18, 0))) == (
        "2026-01-02T09:00:00+00:00"
    )


def test_next_office_time_compares_instants_in_an_ambiguous_hour() -> None:
    # Tehran fell back at midnight on Wednesday 2022-09-21: 23:00-24:00 happened twice.
    # With office hours 23:30-23:59, 23:10 in the *second* pass is after the (first)
    # opening and closing, so the next opening is the following evening, not earlier.
    tehran = ZoneInfo("Asia/Tehran")
    late = Calendar("Asia/Tehran", "GB-ENG", dt.time(23, 30), dt.time(23, 59))
    second_pass = dt.datetime(2022, 9, 21, 23, 10, tzinfo=tehran, fold=1)
    first_pass = dt.datetime(2022, 9, 21, 23, 10, tzinfo=tehran, fold=0)
    assert late.next_office_time(second_pass).isoformat() == "2022-09-22T23:30:00+03:30"
    assert late.next_office_time(first_pass).isoformat() == "2022-09-21T23:30:00+04:30"
