"""A role with nobody reachable, the business manager's fallback included, is never silent:
the sweep records it once, the forecast shows it, and the daily summary tells another
reachable member of the board which role and which items (issue 9)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from engine import contacts, failures
from engine.forecast import forecast
from engine.services import Services
from engine.spec import load_spec_file
from engine.store.tables import Outbox
from engine.sweep import run_once
from tests.conftest import BM, NOW, PANEL, PANEL_CHAIR, WORKFLOWS, make_item
from tests.notifications.test_dispatcher import go
from tests.smtpd import SmtpServer

NHS = ("lead_officer", "safeguarding_lead", "senior_contact", "internal_auditor")
NHS_EMAILS = (
    "designated.nurse@nhs-see.example.org",
    "head.safeguarding@nhs-see.example.org",
    "chief.executive@nhs-see.example.org",
    "internal.audit@nhs-see.example.org",
)
CHAIR = "chair@southend-lscb.example.org"
DUE = dt.date(2011, 2, 1)
LATE = dt.datetime(2011, 2, 3, 10, tzinfo=dt.UTC)  # N1 overdue: its first chase is due
_outbox = Outbox.__table__  # type: ignore[attr-defined]


def nobody_left(services: Services) -> None:
    """An NHS item, every NHS contact bouncing, and the business manager too."""
    make_item(services, ref="N1", due=DUE, agency="nhs-south-east-essex")
    with services.db.write() as conn:
        for email in (*NHS_EMAILS, BM):
            contacts.mark_failing(conn, email)


def unreachable_rows(services: Services) -> list[tuple[str, str, str, str]]:
    query = sa.select(_outbox.c.kind, _outbox.c.recipient, _outbox.c.status, _outbox.c.dedupe_key)
    with services.db.engine.connect() as conn:
        rows = conn.execute(query.where(_outbox.c.recipient.like("nobody:%"))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_nobody_reachable_is_recorded_once_and_forecast(demo: Services) -> None:
    nobody_left(demo)
    ahead = [e for e in forecast(demo, LATE, 1) if e["unreachable"]]
    report = run_once(demo, LATE)
    rows = unreachable_rows(demo)
    n1 = [r for r in rows if r[0] == "chase" and r[1] == "nobody:agency"]
    assert n1, rows
    assert {status for _k, _r, status, _d in rows} == {"failed"}
    assert {u["dedupe_key"] for u in report.unreachable} == {d for *_x, d in rows}
    assert {u["dedupe_key"] for e in ahead for u in e["unreachable"]} == {d for *_x, d in rows}
    assert run_once(demo, LATE + dt.timedelta(minutes=5)).unreachable == []
    assert unreachable_rows(demo) == rows
    with demo.db.engine.connect() as conn:
        found = failures.nobody_reachable(conn)
    assert {"role": "agency", "items": ["southend-iawg-scr-audit-2010 N1"]} in [
        {"role": f["role"], "items": [i for i in f["items"] if i.endswith(" N1")]} for f in found
    ]


def test_the_daily_summary_tells_another_reachable_board_member(
    demo: Services, smtp: SmtpServer
) -> None:
    nobody_left(demo)
    run_once(demo, LATE)
    next_day = LATE + dt.timedelta(days=1)
    run_once(demo, next_day)  # the day's first sweep summarises yesterday
    go(demo, smtp.port, next_day, batch=1000)
    summaries = [m for m in smtp.messages if m["X-Signoff-Kind"] == "failures"]
    # the business manager bounces: the board's other reachable contacts are told
    assert sorted(m["To"] for m in summaries) == sorted([CHAIR, PANEL_CHAIR, PANEL])
    text = summaries[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Nobody reachable for" in str(summaries[0]["Subject"])
    assert "agency: " in text
    assert "southend-iawg-scr-audit-2010 N1" in text
    assert BM not in [m["To"] for m in smtp.messages]


def test_a_reachable_business_manager_stands_in_and_nothing_is_unreachable(
    demo: Services,
) -> None:
    make_item(demo, ref="N1", due=DUE, agency="nhs-south-east-essex")
    with demo.db.write() as conn:
        for email in NHS_EMAILS:
            contacts.mark_failing(conn, email)
    report = run_once(demo, LATE)
    assert report.unreachable == []
    assert [d["recipient"] for d in report.decided if "N1" in d["context"]["key"]] == [BM]


def test_an_absent_contact_without_a_deputy_is_not_reachable(
    demo: Services, tmp_path: Path
) -> None:
    path = tmp_path / "sept_away.yaml"
    path.write_text(
        "agencies:\n  sept:\n    contacts:\n"
        "      - {role: lead_officer, name: Named Nurse, email: named.nurse@sept.example.org,"
        " absent: true}\n"
        "    ladder: [lead_officer]\n"
    )
    from engine.importer import import_files

    with demo.db.write() as conn:
        import_files(conn, [path], specs=demo.specs, actor="test", now=NOW)
        directory = contacts.Directory.load(conn)
        spec = load_spec_file(WORKFLOWS / "recommendation.yaml")
        [who] = directory.resolve(spec, ["agency"], "sept")
        assert (who.email, who.fallback) == (BM, True)
        contacts.mark_failing(conn, BM)
        directory = contacts.Directory.load(conn)
        assert directory.resolve(spec, ["agency"], "sept") == []
        assert directory.unreachable(spec, ["agency", "board_chair"], "sept") == ["agency"]
        assert CHAIR in directory.board_reachable()
