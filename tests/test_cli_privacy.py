"""Child-identifying detail never reaches an email, and the import warns about it (issue 9).

Through the command line and a real SMTP server: a plan whose title, text and agreed action
name a child with a date of birth, an address and a phone number is imported, requested with
a note, swept, answered and challenged; every message that arrives is searched.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.smtpd import SmtpServer
from tests.test_cli import Cli

REVIEW = "sutton-scr-2016"
PLAN = f"""\
review:
  id: {REVIEW}
  title: Child D (Ellie Butler) serious case review
  board: Sutton LSCB
  kind: serious_case_review
agencies:
  - {{id: sutton-lscb, name: Sutton Local Safeguarding Children Board}}
  - {{id: trust, name: St Helier NHS Trust}}
recommendations:
  - ref: R1
    agency: trust
    text: >-
      Ellie Butler, born 03/04/2009, lived at 14 Acacia Avenue, Sutton SM1 2AB;
      her grandparents were on 07700 900123.
    agreed_action: Review the handling of Ellie Butler's case at 14 Acacia Avenue
    email_summary: Supervision for health visitors
    due: [2016-09-30]
  - ref: R2
    agency: sutton-lscb
    text: Audit referrals about Child D (Ellie Butler)
    agreed_action: Audit Ellie Butler's referrals
    email_summary: SUMMARY
    due: [2016-09-30]
"""
BAD_SUMMARY = "Audit for Baby Ellie, DOB 03/04/2009"
CONTACTS = """\
agencies:
  sutton-lscb:
    contacts:
      - {role: business_manager, name: Sam Jones, email: bm@sutton-lscb.example.org}
      - {role: chair, name: LSCB Chair, email: chair@sutton-lscb.example.org}
      - {role: panel_member, name: Panel Member, email: panel@sutton-lscb.example.org}
    ladder: [business_manager, chair]
  trust:
    contacts:
      - {role: lead_officer, name: Named Nurse, email: nurse@trust.example.org}
      - {role: senior_contact, name: Chief Executive, email: ceo@trust.example.org}
      - {role: internal_auditor, name: Internal Audit, email: audit@trust.example.org}
    ladder: [lead_officer, senior_contact]
"""
CASE_DETAIL = (
    "Ellie",
    "Butler",
    "Acacia",
    "SM1 2AB",
    "03/04/2009",
    "07700",
    "Child D",
    "grandmother",
    "handling of",
    "Audit referrals",
    "serious case review",
)


def write_plan(tmp_path: Path, summary: str, email_name: str | None = None) -> Path:
    text = PLAN.replace("SUMMARY", summary)
    if email_name:
        text = text.replace(
            "  board: Sutton LSCB", f"  email_name: {email_name}\n  board: Sutton LSCB"
        )
    path = tmp_path / f"plan-{len(list(tmp_path.glob('plan-*')))}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sutton(tmp_path: Path) -> tuple[Cli, Path, Path]:
    run = Cli(tmp_path)
    run("init")
    contacts = tmp_path / "contacts.yaml"
    contacts.write_text(CONTACTS, encoding="utf-8")
    return run, write_plan(tmp_path, BAD_SUMMARY), contacts


def test_import_warns_about_personal_data_in_email_fields_naming_row_and_field(
    sutton: tuple[Cli, Path, Path],
) -> None:
    run, plan, contacts = sutton
    out = run("import", str(plan), str(contacts), "--now", "2016-06-01T09:00Z").stdout
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, out
    [warning] = warnings
    assert f"{plan}: line 22: recommendations[1] (R2).email_summary: looks like it holds" in (
        warning
    )
    assert "a date of birth" in warning
    assert "a child's name" in warning
    [info] = [line for line in out.splitlines() if line.startswith("info:")]
    assert "line 3: review.title: may hold personal data (a child's name" in info
    assert not any(word in out for word in ("Ellie", "03/04/2009", "Butler"))  # never echoed


def test_import_json_lists_the_warnings(sutton: tuple[Cli, Path, Path]) -> None:
    run, plan, contacts = sutton
    data = json.loads(run("import", str(plan), str(contacts), "--dry-run", "--json").stdout)
    assert data["dry_run"] is True
    found = [(w["severity"], w["row"], w["field"], w["line"]) for w in data["warnings"]]
    assert found == [
        ("info", "review", "title", 3),
        ("warning", "recommendations[1] (R2)", "email_summary", 22),
    ]
    assert all(w["file"] == str(plan) for w in data["warnings"])


def test_an_email_field_with_a_line_break_is_refused(sutton: tuple[Cli, Path, Path]) -> None:
    run, _, contacts = sutton
    plan = write_plan(run.db.parent, '"Audit\\nBcc: x@example.org"')
    err = run("import", str(plan), str(contacts), code=1).stderr
    assert "recommendations[1] (R2).email_summary" in err
    assert "must be a single line" in err
    assert "R2" not in run("list").stdout  # nothing was written
    long = write_plan(run.db.parent, "Referral audit", email_name="x" * 61)
    err = run("import", str(long), str(contacts), code=1).stderr
    assert "review.email_name" in err
    assert "at most 60 characters" in err


def emails(smtp: SmtpServer) -> list[tuple[EmailMessage, str]]:
    out = []
    for m in smtp.messages:
        text = m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = m.get_body(("html",)).get_content()  # type: ignore[union-attr]
        out.append((m, f"{m['Subject']}\n{text}\n{html}"))
    return out


def test_case_detail_from_plans_statements_and_notes_never_reaches_an_email(
    sutton: tuple[Cli, Path, Path], smtp: SmtpServer
) -> None:
    run, plan, contacts = sutton
    run("import", str(plan), str(contacts), "--now", "2016-06-01T09:00Z")
    fixed = write_plan(plan.parent, "Referral audit", email_name="Sutton SCR 2016")
    again = run("import", str(fixed), "--now", "2016-06-02T09:00Z").stdout
    assert f"email name or summary set: {REVIEW}, {REVIEW}/R2" in again
    note = "Ellie's grandmother can be reached on 07700 900123"
    run(
        "request", f"{REVIEW}/R1", "--note", note, "--actor", "bm@sutton-lscb.example.org",
        "--now", "2016-09-01T09:00Z",
    )  # fmt: skip
    run("sweep", "--now", "2016-11-20T10:00Z")  # both items 51 days overdue: every step
    run(
        "fire", f"{REVIEW}/R1", "submit_evidence", "--actor", "nurse@trust.example.org",
        "--statement", "Ellie Butler was seen at 14 Acacia Avenue", "--now", "2016-11-21T09:00Z",
    )  # fmt: skip
    run(
        "fire", f"{REVIEW}/R1", "challenge", "--actor", "panel@sutton-lscb.example.org",
        "--reason", "Nothing about Ellie Butler's grandmother", "--meeting-date", "2016-11-21",
        "--now", "2016-11-21T10:00Z",
    )  # fmt: skip
    run("dispatch", "--now", "2016-11-21T12:00Z", SIGNOFF_SMTP_PORT=str(smtp.port))
    sent = emails(smtp)
    kinds = {str(m["X-Signoff-Kind"]) for m, _ in sent}
    assert {"request", "chase", "escalation", "decision"} <= kinds, kinds
    for m, whole in sent:
        for detail in CASE_DETAIL:
            assert detail not in whole, (m["Subject"], m["X-Signoff-Kind"], detail)
        assert "Sutton SCR 2016" in whole  # the name marked safe for email
        assert "Sam Jones" in whole  # signed by the business manager
    summaries = [whole for m, whole in sent if " R1 " in f" {m['Subject']} ".replace(",", " ")]
    assert summaries
    assert all("Supervision for health visitors" in whole for whole in summaries)
