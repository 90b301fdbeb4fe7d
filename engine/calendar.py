"""Local working time: bank holidays, office hours and due dates in one time zone.

A ``Calendar`` answers the scheduler's date questions ("20 working days after the
request", "remind 14 days before due", "when may we next send an email?") for one
time zone and one bank-holiday region. It never reads the wall clock: every method
is given the time it needs.

Rules, applied everywhere:

* **Wall-clock arithmetic.** Days, weeks, months and working days move the *local*
  date and keep the *local* time of day, so 09:00 stays 09:00 across a daylight-saving
  change (the elapsed time is then 23 or 25 hours per day crossed).
* **Months clamp** to the end of the target month: 31 January + 1 month is 28 (or 29)
  February. Months therefore do not compose: (+1 month) twice from 31 January gives
  28 March, while +2 months gives 31 March.
* **Non-existent local times** (the spring-forward gap, e.g. 01:30 on the last Sunday
  of March in London) move forward by the length of the gap: 01:30 becomes 02:30 BST.
  This is zoneinfo's ``fold=0`` reading (the offset in force before the change)
  normalised through UTC, and it never yields an instant earlier than the gap.
* **Ambiguous local times** (the autumn-back hour, e.g. 01:30 on the last Sunday of
  October in London) resolve to the *first* occurrence (``fold=0``, still BST). The
  fold of an input datetime is not carried over: a result depends only on the local
  date and time of day it lands on.
* **Due dates.** Something due on a date may be done at any time that local day; it
  is overdue from local midnight at the start of the *next* day (``due_moment``).
* **Instants, not wall clocks, when comparing.** Python compares and subtracts two
  datetimes that share a ``tzinfo`` by their wall clocks (ignoring ``fold``), so
  ``later - earlier`` across a DST change is off by an hour. Convert to UTC first for
  elapsed time; this module does so internally.
* **Working days** are Monday to Friday minus the region's bank holidays (including
  substitute days, e.g. 28 December 2026 for Boxing Day on a Saturday), from the
  ``holidays`` package.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from calendar import monthrange
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from engine.durations import Duration, Unit

_MIDNIGHT = dt.time(0, 0)
_ONE_DAY = dt.timedelta(days=1)
_REGION_HELP = (
    "use a country code such as 'GB' or 'IE', optionally with a subdivision: "
    "'GB-ENG' (England & Wales), 'GB-SCT' (Scotland) or 'GB-NIR' (Northern Ireland)"
)


@functools.lru_cache(maxsize=1)
def _supported_regions() -> dict[str, tuple[str, ...]]:
    """Country code -> its subdivision codes, as the installed ``holidays`` knows them."""
    import holidays  # here, not at the top: about 70 ms, paid only by a Calendar's users

    supported: dict[str, list[str]] = holidays.list_supported_countries(include_aliases=False)
    return {country: tuple(subdivs) for country, subdivs in supported.items()}


@functools.lru_cache(maxsize=1024)
def _holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[dt.date]:
    """The bank holidays (observed days included) of one region in one year, cached."""
    import holidays

    found = holidays.country_holidays(country, subdiv=subdiv, years=year)
    return frozenset(found.keys())


def _suggest(value: str, candidates: list[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest candidate, or nothing."""
    close = difflib.get_close_matches(value, candidates, n=1) or difflib.get_close_matches(
        value.upper(), candidates, n=1
    )
    return f" (did you mean {close[0]!r}?)" if close else ""


def _parse_region(region: str) -> tuple[str, str | None]:
    """Split ``'GB-ENG'`` into ``('GB', 'ENG')`` and ``'IE'`` into ``('IE', None)``.

    Raises:
        ValueError: the country or subdivision is unknown; the message says what is allowed.
    """
    supported = _supported_regions()
    country, _, subdiv = region.partition("-")
    if country not in supported:
        upper = region.upper()
        if upper.partition("-")[0] == "UK":  # the usual slip: ISO 3166 says GB
            hint = f" (did you mean {'GB' + upper[2:]!r}?)"
        elif owners := [f"{c}-{upper}" for c, subs in supported.items() if upper in subs]:
            hint = f" (did you mean {' or '.join(repr(r) for r in owners[:3])}?)"
        else:
            every = [*supported, *(f"{c}-{s}" for c, subs in supported.items() for s in subs)]
            hint = _suggest(region, every)
        raise ValueError(f"unknown holiday region {region!r}{hint}; {_REGION_HELP}")
    if not subdiv and "-" not in region:
        return country, None
    subdivs = supported[country]
    if subdiv in subdivs:
        return country, subdiv
    if not subdivs:
        raise ValueError(
            f"unknown holiday region {region!r}: {country} has no subdivisions; use {country!r}"
        )
    regions = [f"{country}-{s}" for s in subdivs]
    hint = _suggest(region, regions) if subdiv else ""
    raise ValueError(
        f"unknown holiday region {region!r}{hint}; "
        f"{country} subdivisions are {', '.join(repr(r) for r in regions)} "
        f"(or {country!r} alone for national holidays only)"
    )


def _load_zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name``.

    Raises:
        ValueError: no such zone; the message suggests the closest name.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        hint = _suggest(name, sorted(available_timezones()))
        raise ValueError(
            f"unknown timezone {name!r}{hint}; use an IANA time zone name "
            "such as 'Europe/London' or 'Europe/Dublin'"
        ) from None


def _check_date(day: dt.date, name: str) -> None:
    """Refuse a datetime where a calendar date is meant (``datetime`` is a ``date``).

    Raises:
        TypeError: ``day`` is a datetime.
    """
    if isinstance(day, dt.datetime):
        raise TypeError(
            f"{name} must be a date, not a datetime ({day.isoformat()}); "
            "pass the local date, e.g. calendar.local(t).date()"
        )


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the end of the month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Calendar:
    """Working time in one time zone with one bank-holiday region.

    Built from plain values and validated on construction; immutable and hashable
    (equal calendars compare and hash equal). All datetimes it returns are aware and
    expressed in ``timezone``; every datetime it accepts must be aware (any zone).

    Raises:
        ValueError: ``timezone`` or ``holiday_region`` is unknown (the message names the
            bad value, the closest valid one where there is one, and what is allowed), or
            the office hours are not a same-day interval of naive times.
    """

    timezone: str = "Europe/London"
    holiday_region: str = "GB-ENG"
    office_start: dt.time = dt.time(9, 0)
    office_end: dt.time = dt.time(17, 30)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _country: str = field(init=False, repr=False, compare=False)
    _subdiv: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone = _load_zone(self.timezone)
        country, subdiv = _parse_region(self.holiday_region)
        for name in ("office_start", "office_end"):
            value = getattr(self, name)
            if not isinstance(value, dt.time) or value.tzinfo is not None:
                raise ValueError(
                    f"{name} must be a local time of day without a time zone, got {value!r}"
                )
        if self.office_end <= self.office_start:
            raise ValueError(
                f"office_end ({self.office_end.isoformat()}) must be after "
                f"office_start ({self.office_start.isoformat()})"
            )
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_country", country)
        object.__setattr__(self, "_subdiv", subdiv)

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    # -- conversions ---------------------------------------------------------------

    def local(self, t: dt.datetime) -> dt.datetime:
        """The same instant as ``t``, expressed in the calendar's time zone.

        Raises:
            ValueError: ``t`` is naive.
        """
        return self._local(t, "t")

    def _local(self, t: dt.datetime, name: str) -> dt.datetime:
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(
                f"{name} must be timezone-aware, got naive {t.isoformat()}; "
                "attach a zone, e.g. datetime(..., tzinfo=datetime.UTC)"
            )
        return t.astimezone(self._zone)

    def at(self, day: dt.date, time: dt.time) -> dt.datetime:
        """The local ``time`` on ``day`` as an aware datetime.

        Guarantees: a time in a spring-forward gap moves forward by the gap (01:30 ->
        02:30 BST); an ambiguous autumn-back time is its first occurrence (``fold=0``).

        Raises:
            TypeError: ``day`` is a datetime rather than a date.
        """
        _check_date(day, "day")
        return self._at(day, time)

    def _at(self, day: dt.date, time: dt.time) -> dt.datetime:
        naive = dt.datetime.combine(day, time.replace(tzinfo=None, fold=0))
        # fold=0 reads a gap time with the pre-transition offset; the UTC round trip
        # then turns it into the real instant, whose wall clock is gap-length later.
        return naive.replace(tzinfo=self._zone).astimezone(dt.UTC).astimezone(self._zone)

    # -- working days --------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is Monday to Friday and not a bank holiday of the region.

        Guarantees: holiday lookups are cached per region and year, so this is cheap.

        Raises:
            TypeError: ``day`` is a datetime rather than a date.
        """
        _check_date(day, "day")
        return self._is_working(day)

    def _is_working(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in _holiday_dates(
            self._country, self._subdiv, day.year
        )

    def _step_working_days(self, day: dt.date, steps: int) -> dt.date:
        """Move ``|steps|`` working days forwards (``steps > 0``) or backwards."""
        step = _ONE_DAY if steps > 0 else -_ONE_DAY
        remaining = abs(steps)
        while remaining:
            day += step
            if self._is_working(day):
                remaining -= 1
        return day

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """Signed count of working-day steps from ``a`` to ``b``.

        For ``b >= a``: the working days in ``(a, b]``; for ``b < a``: minus the working
        days in ``[b, a)``. Guarantees: if ``b`` is a working day,
        ``add(x, Duration(n, Unit.WORKING_DAY))`` for ``x`` on date ``a`` lands on ``b``
        exactly when ``n == working_days_between(a, b)`` (and ``subtract`` likewise for
        ``n == -working_days_between(a, b)``). Zero when ``a == b``.

        Raises:
            TypeError: ``a`` or ``b`` is a datetime rather than a date.
        """
        _check_date(a, "a")
        _check_date(b, "b")
        if b >= a:
            first, last, sign = a + _ONE_DAY, b, 1
        else:
            first, last, sign = b, a - _ONE_DAY, -1
        count, day = 0, first
        while day <= last:
            count += self._is_working(day)
            day += _ONE_DAY
        return sign * count

    # -- duration arithmetic -------------------------------------------------------

    def add(self, start: dt.datetime, d: Duration) -> dt.datetime:
        """``start`` moved forwards by ``d`` in local wall-clock terms.

        DAY, WEEK and MONTH move the local date (months clamp to the month's end) and
        keep the local time of day. WORKING_DAY moves ``d.count`` working days forward,
        keeping the local time of day; from a non-working day the first day counted is
        the next working day (Saturday + 1 working day = Monday). A zero count returns
        ``start`` unchanged (converted to the calendar's zone).

        Guarantees: the result is aware, in the calendar's zone, and never earlier than
        ``start``; gap and ambiguous local times resolve as the module docstring says.

        Raises:
            ValueError: ``start`` is naive, ``d.count`` is negative, or the result falls
                outside the years 1-9999.
        """
        return self._shift(start, d, 1, "start")

    def subtract(self, end: dt.datetime, d: Duration) -> dt.datetime:
        """``end`` moved backwards by ``d``: the mirror image of ``add``.

        For "remind 14 days before due" or "5 working days before": from a non-working
        day the first day counted is the previous working day (Sunday - 1 working day =
        Friday); months clamp (31 March - 1 month = 28/29 February).

        Guarantees: the result is aware, in the calendar's zone, and never later than
        ``end``; gap and ambiguous local times resolve as the module docstring says.

        Raises:
            ValueError: ``end`` is naive, ``d.count`` is negative, or the result falls
                outside the years 1-9999.
        """
        return self._shift(end, d, -1, "end")

    def _shift(self, t: dt.datetime, d: Duration, sign: int, name: str) -> dt.datetime:
        local = self._local(t, name)
        if d.count < 0:
            raise ValueError(
                f"cannot move by {d}: the count must not be negative; "
                "use add() or subtract() for the direction"
            )
        if d.count == 0:
            return local
        steps = sign * d.count
        day = local.date()
        try:  # date arithmetic past year 9999 raises OverflowError or ValueError
            if d.unit is Unit.DAY:
                day += dt.timedelta(days=steps)
            elif d.unit is Unit.WEEK:
                day += dt.timedelta(weeks=steps)
            elif d.unit is Unit.MONTH:
                day = _add_months(day, steps)
            else:
                day = self._step_working_days(day, steps)
            return self._at(day, local.time())
        except (OverflowError, ValueError):
            raise ValueError(f"{t.isoformat()} moved by {d} is outside the years 1-9999") from None

    # -- days and deadlines --------------------------------------------------------

    def start_of_day(self, day: dt.date) -> dt.datetime:
        """The first instant of the local ``day`` (normally 00:00 local).

        Guarantees: where a zone skips midnight (e.g. America/Santiago in September)
        this is the first instant that exists that day (01:00).

        Raises:
            TypeError: ``day`` is a datetime rather than a date.
        """
        _check_date(day, "day")
        return self._at(day, _MIDNIGHT)

    def due_moment(self, due: dt.date) -> dt.datetime:
        """The instant something due on ``due`` becomes overdue.

        Due on a date means "by the end of that local day": the item is overdue from
        local midnight at the start of the *next* day, i.e. ``start_of_day(due + 1 day)``.
        Anything at or after this instant is late; anything before it is on time.

        Raises:
            TypeError: ``due`` is a datetime rather than a date.
        """
        _check_date(due, "due")
        return self._at(due + _ONE_DAY, _MIDNIGHT)

    def days_overdue(self, due: dt.date, now: dt.datetime) -> int:
        """Whole local calendar days from ``due`` to ``now``'s local date; 0 if not after.

        0 on the due date and before; 1 from ``due_moment(due)`` until the following
        local midnight; and so on (days, not 24-hour periods, so DST does not shift it).

        Raises:
            TypeError: ``due`` is a datetime rather than a date.
            ValueError: ``now`` is naive.
        """
        _check_date(due, "due")
        return max(0, (self._local(now, "now").date() - due).days)

    # -- office hours --------------------------------------------------------------

    def next_office_time(self, t: dt.datetime) -> dt.datetime:
        """``t`` if it falls in office hours on a working day, else the next opening.

        Office hours are ``[office_start, office_end)`` local time (at ``office_end``
        exactly the office is closed). Outside them the result is ``office_start`` on
        the same day (if it is a working day and not yet open) or on the next working
        day. Openings and closings are compared as instants, so this is correct across
        DST changes.

        Guarantees: the result is in the calendar's zone, is never earlier than ``t``,
        and equals ``t`` (same instant) when ``t`` is already in office hours.

        Raises:
            ValueError: ``t`` is naive.
        """
        local = self._local(t, "t")
        day = local.date()
        if self._is_working(day):
            # Compare in UTC: datetimes sharing a tzinfo compare by wall clock, ignoring fold.
            instant = local.astimezone(dt.UTC)
            opening = self._at(day, self.office_start)
            if instant < opening.astimezone(dt.UTC):
                return opening
            if instant < self._at(day, self.office_end).astimezone(dt.UTC):
                return local
        return self._at(self._step_working_days(day, 1), self.office_start)
