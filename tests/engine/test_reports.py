"""Board reports against figures worked out by hand from a history built through fire().

The fixture review (``test-scr-2011``, items created 2011-01-10; London is on GMT until 27
March, so local dates are the UTC dates here):

- A1 sept, H, due 02-01: evidence 01-20, signed off 01-25 (GREEN, meeting 01-25), audit
  confirmed 02-10 -> implemented on time, assured late.
- A2 sept, H, due 02-01: extension to 03-01 asked 01-20, granted 01-25 (no meeting date);
  asked again to 03-15 on 02-20, granted 02-21; evidence 03-01, signed off 03-10 (AMBER)
  -> late against the original date, on time against the agreed; a serial extension.
- A3 sept, M, due 02-15: evidence 02-01, challenged 02-05 (meeting 02-05), closed without
  assurance 03-01.
- A4 nhs-south-east-essex, M, due 02-15: transferred 02-10.
- A5 nhs-south-east-essex, H, due 02-28: RAG set RED 02-05 (no meeting date); still open.
- A6 sept, L, due 03-10: an imported status "completed" (01-15) placed it in panel_signed_off,
  not verified by signoff: never counted, and not overdue (it awaits the audit).
- A7 sept, M: no due date.
- A8 sept and nhs-south-east-essex, M, due 06-30.
- A9 sept, H, due 02-28: evidence 02-01, signed off 02-05 (AMBER, meeting 02-05); audit
  could not confirm 02-20 -> challenged again, open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine import reports
from engine.errors import ReportRefused, ReportRule
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.importer import import_files
from engine.items import amend, resolve_item
from engine.reports.high_risk import quarter_before
from engine.services import Services
from engine.spec import CountsAs, Outcome, State, load_spec_file
from engine.store.tables import Rag
from tests.conftest import BM, NOW, PANEL, PANEL_CHAIR, ROOT

REVIEW = "test-scr-2011"
SEPT = "named.nurse@sept.example.org"
NHS = "designated.nurse@nhs-see.example.org"
AUDIT = "internal.audit@sept.example.org"  # an auditor acts on its own agency's items

PLAN = f"""\
review: {{id: {REVIEW}, title: Test serious case review, board: Test LSCB,
         kind: serious_case_review, date: 2010-12-01}}
agencies:
- {{id: sept, name: SEPT}}
- {{id: nhs-south-east-essex, name: NHS South East Essex}}
recommendations:
- {{ref: A1, agency: sept, text: First, priority: H, due: [2011-02-01]}}
- {{ref: A2, agency: sept, text: Second, priority: H, due: [2011-02-01]}}
- {{ref: A3, agency: sept, text: Third, priority: M, due: [2011-02-15]}}
- {{ref: A4, agency: nhs-south-east-essex, text: Fourth, priority: M, due: [2011-02-15]}}
- {{ref: A5, agency: nhs-south-east-essex, text: Fifth, priority: H, due: [2011-02-28]}}
- {{ref: A6, agency: sept, text: Sixth, priority: L, due: [2011-03-10]}}
- {{ref: A7, agency: sept, text: Seventh, priority: M}}
- {{ref: A8, agency: [sept, nhs-south-east-essex], text: Eighth, priority: M, due: [2011-06-30]}}
- {{ref: A9, agency: sept, text: Ninth, priority: H, due: [2011-02-28]}}
"""


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T10:00+00:00")


def _fire(services: Services, ref: str, trigger: str, actor: str, day: str, **kw: Any) -> None:
    fire(
        services,
        FireRequest(item=f"{REVIEW}/{ref}", trigger=trigger, actor=actor, now=_at(day), **kw),
    )


def _evidence(text: str) -> list[EvidenceInput]:
    return [EvidenceInput(statement=text)]


@pytest.fixture
def history(demo: Services, tmp_path: Path) -> Services:
    s = demo
    plan = tmp_path / "test_plan.yaml"
    plan.write_text(PLAN)
    with s.db.write() as conn:
        import_files(conn, [plan], specs=s.specs, actor="test", now=NOW)
    d = dt.date.fromisoformat
    # A1
    _fire(s, "A1", "submit_evidence", SEPT, "2011-01-20", evidence=_evidence("A1 done"))
    _fire(
        s,
        "A1",
        "sign_off",
        PANEL,
        "2011-01-25",
        rag=Rag.GREEN,
        reason="seen",
        meeting_date=d("2011-01-25"),
    )
    _fire(s, "A1", "confirm_audit", AUDIT, "2011-02-10", evidence=_evidence("audited"))
    # A2: two extensions
    _fire(
        s, "A2", "request_extension", SEPT, "2011-01-20", reason="staff", due_date=d("2011-03-01")
    )
    _fire(s, "A2", "grant_extension", PANEL, "2011-01-25", reason="fair")
    _fire(
        s, "A2", "request_extension", SEPT, "2011-02-20", reason="again", due_date=d("2011-03-15")
    )
    _fire(s, "A2", "grant_extension", PANEL_CHAIR, "2011-02-21", reason="last time")
    _fire(s, "A2", "submit_evidence", SEPT, "2011-03-01", evidence=_evidence("A2 done"))
    _fire(
        s,
        "A2",
        "sign_off",
        PANEL,
        "2011-03-10",
        rag=Rag.AMBER,
        reason="ok",
        meeting_date=d("2011-03-10"),
    )
    # A3: challenged, then closed without assurance
    _fire(s, "A3", "submit_evidence", SEPT, "2011-02-01", evidence=_evidence("A3 thin"))
    _fire(s, "A3", "challenge", PANEL, "2011-02-05", reason="thin", meeting_date=d("2011-02-05"))
    _fire(
        s, "A3", "close_without_assurance", BM, "2011-03-01", reason="no further assurance received"
    )
    # A4: transferred; A5: red
    _fire(s, "A4", "transfer", BM, "2011-02-10", reason="for the adults board")
    _fire(s, "A5", "set_rag", PANEL, "2011-02-05", rag=Rag.RED, reason="no reply")
    # A6: an imported status, not verified: placed in panel_signed_off as the importer does
    with s.db.write() as conn:
        item = resolve_item(conn, f"{REVIEW}/A6")
        amend(
            conn,
            item_id=item.id,
            spec=s.specs.get(conn, item.workflow_version_id),
            trigger="import_status",
            actor="test",
            now=_at("2011-01-15"),
            calendar=s.calendar,
            state="panel_signed_off",
            data={"verified": False, "imported_status": "completed", "status_source": "plan.xlsx"},
        )
    # A9: signed off, then the audit could not confirm it
    _fire(s, "A9", "submit_evidence", SEPT, "2011-02-01", evidence=_evidence("A9 done"))
    _fire(
        s,
        "A9",
        "sign_off",
        PANEL,
        "2011-02-05",
        rag=Rag.AMBER,
        reason="fine",
        meeting_date=d("2011-02-05"),
    )
    _fire(s, "A9", "audit_not_confirmed", AUDIT, "2011-02-20", reason="not in practice")
    return s


def _build(services: Services, name: str, **kw: Any) -> reports.Report:
    request = reports.ReportRequest(
        name=name, today=dt.date(2011, 3, 31), review=kw.pop("review", REVIEW), **kw
    )
    with services.db.engine.connect() as conn:
        return reports.build(conn, services.specs, services.calendar, request)


def _k(*refs: str) -> list[str]:
    return [f"{REVIEW}/{r}" for r in refs]


# --- timescale -------------------------------------------------------------------------------


def test_timescale_counts_against_the_original_and_the_agreed_date(history: Services) -> None:
    data = _build(history, "timescale").data
    implemented, assured = data["bases"]["implemented"], data["bases"]["assured"]
    assert implemented["within_original"] == {
        "count": 1,
        "of": 6,
        "percent": 16.7,
        "items": _k("A1"),
        "of_items": _k("A1", "A2", "A3", "A4", "A5", "A9"),
    }
    assert implemented["within_agreed"]["items"] == _k("A1", "A2")
    assert (implemented["within_agreed"]["of"], implemented["within_agreed"]["percent"]) == (
        6,
        33.3,
    )
    assert assured["within_original"]["count"] == 0  # A1 was assured on 02-10, due 02-01
    assert assured["within_agreed"] == {
        "count": 0,  # A1 assured late; A2 signed off, never audited; A9's audit failed
        "of": 6,
        "percent": 0.0,
        "items": [],
        "of_items": _k("A1", "A2", "A3", "A4", "A5", "A9"),
    }


def test_timescale_shows_each_item_as_what_it_is(history: Services) -> None:
    status = _build(history, "timescale").data["status"]
    assert {k: v["items"] for k, v in status.items() if v["items"]} == {
        "assured": _k("A1"),
        "implemented": _k("A2"),
        "open": _k("A5", "A9"),  # A9 was signed off, then audit could not confirm it
        "no_assurance": _k("A3"),
        "transferred": _k("A4"),
    }


def test_timescale_flags_serial_extensions_and_keeps_unverified_and_undated_apart(
    history: Services,
) -> None:
    data = _build(history, "timescale").data
    assert [s["key"] for s in data["serial_extensions"]] == _k("A2")
    moves = [(x["from"], x["to"]) for x in data["serial_extensions"][0]["extensions"]]
    assert moves == [("2011-02-01", "2011-03-01"), ("2011-03-01", "2011-03-15")]
    assert [u["key"] for u in data["unverified"]] == _k("A6")
    assert data["no_due_date"] == _k("A7")


def test_timescale_period_from_narrows_each_population_by_its_own_date(history: Services) -> None:
    bases = _build(history, "timescale", day_from=dt.date(2011, 2, 10)).data["bases"]
    original, agreed = (
        bases["implemented"]["within_original"],
        bases["implemented"]["within_agreed"],
    )
    assert original["of_items"] == _k("A3", "A4", "A5", "A9")
    assert (original["count"], original["percent"]) == (0, 0.0)
    assert agreed["of_items"] == _k("A2", "A3", "A4", "A5", "A9")  # A2 agreed 03-15
    assert (agreed["items"], agreed["percent"]) == (_k("A2"), 20.0)


def test_timescale_before_the_sign_offs_counts_nothing_implemented(history: Services) -> None:
    data = _build(history, "timescale", day_to=dt.date(2011, 1, 24)).data
    assert data["bases"]["implemented"]["within_original"]["of"] == 0  # nothing due yet
    assert data["status"]["open"]["items"] == []


# --- rag and overdue -------------------------------------------------------------------------


def test_rag_by_agency_at_the_report_date(history: Services) -> None:
    by_agency = _build(history, "rag").data["by_agency"]
    sept = {r: v["items"] for r, v in by_agency["sept"]["rag"].items()}
    assert sept == {
        "red": [],
        "amber": _k("A2", "A9"),
        "green": _k("A1"),
        "none": [*_k("A3", "A6", "A7"), f"{REVIEW}/A8@sept"],
    }
    nhs = by_agency["nhs-south-east-essex"]
    assert nhs["rag"]["red"]["items"] == _k("A5")
    assert nhs["count"] == 3
    assert nhs["state"]["not_for_this_board"]["items"] == _k("A4")


def test_rag_as_at_an_earlier_date_replays_the_history(history: Services) -> None:
    by_agency = _build(history, "rag", day_to=dt.date(2011, 2, 1)).data["by_agency"]
    assert by_agency["sept"]["rag"]["green"]["items"] == _k("A1")
    assert by_agency["sept"]["rag"]["amber"]["items"] == []  # A2, A9 signed off later
    assert by_agency["nhs-south-east-essex"]["rag"]["red"]["items"] == []


def test_overdue_says_since_when_how_far_escalated_and_whose_move(history: Services) -> None:
    items = {i["key"]: i for i in _build(history, "overdue").data["items"]}
    assert list(items) == _k("A5", "A9")  # most days overdue first; A6 awaits its audit
    a5 = items[f"{REVIEW}/A5"]
    assert (a5["due"], a5["overdue_since"], a5["days_overdue"]) == ("2011-02-28", "2011-03-01", 31)
    assert a5["escalation"] == {"reached": 2, "of": 3, "last_to": ["ladder"], "urgent": False}
    assert a5["whose_move"] == {
        "owed": "evidence",
        "role": "agency",
        "label": "Agency lead officer",
        "agency": "nhs-south-east-essex",
    }
    a9 = items[f"{REVIEW}/A9"]  # challenged 02-20: 20 working days to answer
    assert a9["state"] == "challenged"
    assert a9["escalation"]["of"] == 2


# --- high-risk and minutes -------------------------------------------------------------------


def test_high_risk_lists_high_and_red_items_and_what_changed(history: Services) -> None:
    data = _build(history, "high-risk").data
    assert data["period"] == {"from": "2011-01-01", "to": "2011-03-31"}
    assert [i["key"] for i in data["items"]] == _k("A1", "A2", "A5", "A9")
    assert [(r["key"], r["from"], r["to"]) for r in data["rag_changes"]] == [
        (f"{REVIEW}/A1", None, "green"),
        (f"{REVIEW}/A2", None, "amber"),
        (f"{REVIEW}/A5", None, "red"),
        (f"{REVIEW}/A9", None, "amber"),
    ]
    assert [n["key"] for n in data["new_overdue"]] == _k("A5", "A9")
    kinds = [(d["key"].rsplit("/", 1)[1], d["kind"]) for d in data["decisions"]]
    assert kinds == [
        ("A1", "sign_off"),
        ("A1", "assurance"),
        ("A2", "extension_granted"),
        ("A2", "extension_granted"),
        ("A2", "sign_off"),
        ("A5", "rag"),
        ("A9", "sign_off"),
        ("A9", "challenge"),
    ]


def test_high_risk_in_a_later_quarter_sees_nothing_new(history: Services) -> None:
    data = _build(history, "high-risk", day_to=dt.date(2011, 6, 30)).data
    assert data["period"]["from"] == "2011-04-01"
    assert data["rag_changes"] == []
    assert data["decisions"] == []
    # A5 and A9 were overdue before April; A2's audit (3 months from sign-off on 03-10) is new
    assert data["new_overdue"] == [
        {"key": f"{REVIEW}/A2", "overdue_since": "2011-06-10", "days_overdue": 20}
    ]


def test_overdue_for_the_auditor_says_a_confirmation_is_owed(history: Services) -> None:
    items = _build(history, "overdue", day_to=dt.date(2011, 6, 30)).data["items"]
    a2 = next(i for i in items if i["key"] == f"{REVIEW}/A2")
    assert a2["whose_move"] == {
        "owed": "confirmation",
        "role": "auditor",
        "label": "Internal audit",
        "agency": None,
    }
    assert a2["escalation"] == {"reached": 0, "of": 0, "last_to": [], "urgent": False}


def test_what_each_shipped_state_counts_as() -> None:
    """Declared in the files; a terminal state with outcome implemented counts as implemented
    unless it says assured; nothing else counts."""
    counted = {}
    for name in ("recommendation", "imr_action"):
        spec = load_spec_file(ROOT / "workflows" / f"{name}.yaml")
        counted[name] = {n: s.counted_as.value for n, s in spec.states.items() if s.counted_as}
    assert counted == {
        "recommendation": {
            "panel_signed_off": "implemented",
            "audit_confirmed": "assured",
            "embedded_reaudit": "assured",
            "closed": "assured",
        },
        "imr_action": {"signed_off": "implemented"},
    }
    plain = State(label="Done", terminal=True, outcome=Outcome.IMPLEMENTED)
    assert plain.counted_as is CountsAs.IMPLEMENTED
    assert State(label="Gone", terminal=True, outcome=Outcome.TRANSFERRED).counted_as is None


def test_quarter_before_clamps_to_the_month_end() -> None:
    assert quarter_before(dt.date(2011, 5, 31)) == dt.date(2011, 3, 1)
    assert quarter_before(dt.date(2011, 3, 31)) == dt.date(2011, 1, 1)
    assert quarter_before(dt.date(2011, 1, 15)) == dt.date(2010, 10, 16)


def test_minutes_list_each_decision_with_who_why_and_evidence_hashes(history: Services) -> None:
    data = _build(history, "minutes", review=None, meeting=dt.date(2011, 2, 5)).data
    got = [(m["key"].rsplit("/", 1)[1], m["kind"], m["basis"]) for m in data["decisions"]]
    assert got == [
        ("A3", "challenge", "meeting_date"),
        ("A5", "rag", "recorded_that_day"),
        ("A9", "sign_off", "meeting_date"),
    ]
    summary = _build(history, "minutes", review=None, meeting=dt.date(2011, 2, 5)).table("summary")
    assert [(r[0], r[1].count) for r in summary.rows] == [  # type: ignore[union-attr]
        ("Challenges", 1),
        ("RAG changes", 1),
        ("Sign-offs", 1),
    ]
    a3, a5, a9 = data["decisions"]
    assert (a3["actor"], a3["reason"]) == (PANEL, "thin")
    assert [x["filename"] for x in a3["evidence"]] == [None]  # a written statement
    # the version of the evidence each decision was taken on: the statement's SHA-256
    assert [x["sha256"] for x in a3["evidence"]] == [_sha("A3 thin")]
    assert [x["sha256"] for x in a9["evidence"]] == [_sha("A9 done")]
    assert a5["rag"] == {"from": None, "to": "red"}
    assert a5["evidence"] == []
    assert a9["rag"] == {"from": None, "to": "amber"}


def _sha(statement: str) -> str:
    return hashlib.sha256(statement.encode()).hexdigest()


def test_minutes_name_the_evidence_version_a_later_sign_off_was_taken_on(
    history: Services,
) -> None:
    """A9 was signed off on its first statement, then the audit could not confirm it; a
    second statement comes in and is signed off at a later meeting: that decision names both
    versions on file, the first sign-off still only the first."""
    _fire(history, "A9", "submit_evidence", SEPT, "2011-04-01", evidence=_evidence("A9 again"))
    _fire(
        history,
        "A9",
        "sign_off",
        PANEL,
        "2011-04-05",
        rag=Rag.GREEN,
        reason="now in practice",
        meeting_date=dt.date(2011, 4, 5),
    )
    later = _build(history, "minutes", review=None, meeting=dt.date(2011, 4, 5)).data
    [decision] = later["decisions"]
    # everything on file when it was decided, oldest first: both versions, by their hashes
    assert [x["sha256"] for x in decision["evidence"]] == [_sha("A9 done"), _sha("A9 again")]
    first = _build(history, "minutes", review=None, meeting=dt.date(2011, 2, 5)).data
    a9 = next(d for d in first["decisions"] if d["key"] == f"{REVIEW}/A9")
    assert [x["sha256"] for x in a9["evidence"]] == [_sha("A9 done")]


def test_minutes_show_an_extension_decision_with_its_dates(history: Services) -> None:
    data = _build(history, "minutes", meeting=dt.date(2011, 1, 25)).data
    got = {m["key"].rsplit("/", 1)[1]: m for m in data["decisions"]}
    assert list(got) == ["A1", "A2"]
    assert got["A2"]["kind"] == "extension_granted"
    assert got["A2"]["due"] == {"from": "2011-02-01", "to": "2011-03-01"}
    assert got["A1"]["evidence"][0]["sha256"]
    assert got["A1"]["rag"]["to"] == "green"


# --- every figure is traceable ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["rag", "overdue", "timescale", "high-risk"])
def test_every_count_in_a_table_carries_its_items(history: Services, name: str) -> None:
    built = _build(history, name)
    figures = built.figures()
    assert figures, "each report has at least one non-empty figure here"
    every = set(_k("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A9")) | {
        f"{REVIEW}/A8@sept",
        f"{REVIEW}/A8@nhs-south-east-essex",
    }
    for f in figures:
        assert f.count == len(f.keys)
        assert set(f.keys) <= every


@pytest.mark.parametrize("name", reports.NAMES)
def test_json_follows_the_published_schema(history: Services, name: str) -> None:
    schema = json.loads((ROOT / "config" / "report.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    kw: dict[str, Any] = {"meeting": dt.date(2011, 2, 5)} if name == "minutes" else {}
    data = json.loads(json.dumps(_build(history, name, **kw).data))
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(data)]
    assert errors == []
    assert data["format"] == reports.FORMAT


def test_the_schema_refuses_a_figure_without_its_percent(history: Services) -> None:
    schema = json.loads((ROOT / "config" / "report.schema.json").read_text())
    data = json.loads(json.dumps(_build(history, "timescale").data))
    del data["bases"]["assured"]["within_agreed"]["percent"]
    assert not Draft202012Validator(schema).is_valid(data)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "option", "words"),
    [
        ({"name": "rags"}, "report", "did you mean 'rag'"),
        ({"name": "timescale", "day_from": dt.date(2011, 4, 1)}, "from", "after --to"),
        ({"name": "rag", "day_from": dt.date(2011, 1, 1)}, "from", "one date"),
        ({"name": "minutes"}, "meeting", "needs the panel meeting"),
        ({"name": "rag", "meeting": dt.date(2011, 1, 1)}, "meeting", "only minutes"),
        ({"name": "rag", "review": "test-scr-2012"}, "review", "did you mean 'test-scr-2011'"),
        ({"name": "rag", "agency": "septt"}, "agency", "did you mean 'sept'"),
    ],
    ids=[
        "name",
        "from_after_to",
        "from_on_rag",
        "no_meeting",
        "meeting_on_rag",
        "review",
        "agency",
    ],
)
def test_a_bad_request_is_refused_naming_the_option(
    history: Services, kw: dict[str, Any], option: str, words: str
) -> None:
    request = reports.ReportRequest(today=dt.date(2011, 3, 31), **kw)
    with history.db.engine.connect() as conn, pytest.raises(ReportRefused) as caught:
        reports.build(conn, history.specs, history.calendar, request)
    assert caught.value.option == option
    assert words in str(caught.value)


def test_parse_day_refuses_a_non_date() -> None:
    with pytest.raises(ReportRefused, match="write YYYY-MM-DD"):
        reports.parse_day("to", "31/03/2011")


def test_high_risk_decisions_read_in_the_workflows_words_and_london_time(
    history: Services,
) -> None:
    _fire(history, "A5", "set_rag", PANEL, "2011-04-02", rag=Rag.AMBER, reason="replied")
    built = _build(history, "high-risk", day_to=dt.date(2011, 6, 30))
    [decision] = built.data["decisions"]
    assert (decision["at"], decision["decision"]) == (
        "2011-04-02T10:00:00+00:00",
        "Set Red/Amber/Green",
    )
    row = built.table("decisions").rows[0]
    assert row[:4] == (
        f"{REVIEW}/A5",
        "2011-04-02 11:00",
        "Set Red/Amber/Green",
        decision["to_label"],
    )
    assert decision["to_label"] == "Open, awaiting evidence"


def test_overdue_names_who_an_escalation_reached_in_words(history: Services) -> None:
    rows = {r[0]: r for r in _build(history, "overdue").table("overdue").rows}
    assert rows[f"{REVIEW}/A5"][6] == "step 2 of 3 (to next on the agency's escalation ladder)"


@pytest.mark.parametrize(
    ("kw", "rule"),
    [
        ({"name": "rags"}, ReportRule.UNKNOWN),
        ({"name": "timescale", "day_from": dt.date(2011, 4, 1)}, ReportRule.FROM_AFTER_TO),
        ({"name": "rag", "day_from": dt.date(2011, 1, 1)}, ReportRule.ONE_DATE),
        ({"name": "minutes"}, ReportRule.NO_MEETING),
        (
            {"name": "minutes", "meeting": dt.date(2011, 2, 5), "day_to": dt.date(2011, 2, 5)},
            ReportRule.MEETING_ONLY,
        ),
        ({"name": "rag", "meeting": dt.date(2011, 1, 1)}, ReportRule.NOT_MINUTES),
        ({"name": "rag", "agency": "septt"}, ReportRule.UNKNOWN),
    ],
    ids=[
        "name",
        "from_after_to",
        "one_date",
        "no_meeting",
        "meeting_only",
        "not_minutes",
        "agency",
    ],
)
def test_a_refusal_says_which_rule_it_broke(
    history: Services, kw: dict[str, Any], rule: ReportRule
) -> None:
    """The web page words each rule its own way from ``rule``, never from the message."""
    request = reports.ReportRequest(today=dt.date(2011, 3, 31), **kw)
    with history.db.engine.connect() as conn, pytest.raises(ReportRefused) as caught:
        reports.build(conn, history.specs, history.calendar, request)
    assert caught.value.rule is rule
