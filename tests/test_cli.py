"""The console script as a user runs it: a real process, a real SQLite file, exit codes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from email.message import EmailMessage
from pathlib import Path

import pytest

from app.console import advice
from engine.errors import MissingInput, PublishRefused, Refusal, RequestRefused
from engine.replykeys import reply_address
from engine.services import Services
from engine.store import migrate
from engine.store.db import Database
from inbound.receive import Mailbox, receive
from tests.conftest import BM, CONTACTS, PANEL, PLAN, R1, REVIEW, ROOT

SIGNOFF = str(Path(sys.executable).parent / "signoff")
NOW_ISO = "2011-01-10T09:00Z"


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "cli.db"
        self.env = {
            **os.environ,
            "SIGNOFF_DATABASE_URL": f"sqlite:///{self.db}",
            "SIGNOFF_DATA_DIR": str(tmp_path / "data"),
        }

    def __call__(self, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [SIGNOFF, *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert done.returncode == code, (done.stdout, done.stderr)
        return done


@pytest.fixture(scope="session")
def _cli_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``signoff init`` and the example import, run once per session through the command line."""
    folder = tmp_path_factory.mktemp("cli-template")
    run = Cli(folder)
    run("init")
    run("import", str(PLAN), str(CONTACTS), "--now", "2011-01-10T09:00Z")
    with closing(sqlite3.connect(run.db)) as conn:  # all in the main file before it is copied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder


@pytest.fixture
def cli(tmp_path: Path, _cli_template: Path) -> Cli:
    """A database set up as ``init`` and ``import`` leave it: a copy of the session's."""
    run = Cli(tmp_path)
    shutil.copyfile(_cli_template / "cli.db", run.db)
    if (_cli_template / "data").exists():
        shutil.copytree(_cli_template / "data", tmp_path / "data")
    return run


def test_init_is_safe_to_repeat(cli: Cli) -> None:
    again = cli("init").stdout
    assert f"database ready at revision {migrate.head()}" in again
    assert "recommendation version 1 is already this content" in again
    assert "published" not in again  # issue 9: it said "published as #2" when nothing was


def test_list_json_is_stable(cli: Cli) -> None:
    data = json.loads(cli("list", "--json").stdout)
    assert data["format"] == 1
    assert len(data["items"]) == 9
    assert set(data["items"][0]) == {
        "key",
        "review",
        "ref",
        "agency",
        "title",
        "state",
        "state_label",
        "terminal",
        "outcome",
        "rag",
        "due",
        "starts",
        "pending_due",
        "workflow",
        "workflow_version",
        "version",
    }


def _sign_off_r1(cli: Cli, reason: str, meeting: str, now: str) -> None:
    """The panel signs R1 off, green, at a meeting."""
    cli(
        "fire",
        R1,
        "sign_off",
        "--actor",
        PANEL,
        "--reason",
        reason,
        "--rag",
        "green",
        "--meeting-date",
        meeting,
        "--now",
        now,
    )


def test_fire_show_and_verify(cli: Cli, tmp_path: Path) -> None:
    evidence = tmp_path / "tor.txt"
    evidence.write_text("Revised terms of reference")
    out = cli(
        "fire",
        R1,
        "submit_evidence",
        "--actor",
        BM,
        "--evidence",
        str(evidence),
        "--now",
        "2011-02-01T10:00+00:00",
    ).stdout
    assert "submit_evidence (open -> evidence_submitted)" in out
    _sign_off_r1(cli, "Good", "2011-02-01", "2011-02-02T10:00Z")
    view = json.loads(cli("show", R1, "--json").stdout)
    assert view["items"][0]["state"] == "panel_signed_off"
    assert [h["trigger"] for h in view["items"][0]["history"]] == [
        "create",
        "submit_evidence",
        "sign_off",
    ]
    assert view["items"][0]["evidence"][0]["filename"] == "tor.txt"
    assert "ok: 11 events on 9 items verify" in cli("verify-log").stdout
    assert "panel_signed_off" in cli("list", "--state", "panel_signed_off").stdout


def test_show_prints_the_text_the_action_whole_statements_and_the_meeting(cli: Cli) -> None:
    """Issue 9: show cut statements at 60 characters and left out text, action and meeting."""
    statement = "Revised terms of reference agreed by the board; " * 4
    cli("fire", R1, "submit_evidence", "--actor", BM, "--statement", statement, "--now", NOW_ISO)
    _sign_off_r1(cli, "Seen", "2011-01-10", NOW_ISO)
    view = json.loads(cli("show", R1, "--json").stdout)
    shown = cli("show", R1).stdout
    flat = " ".join(shown.split())  # wrapping aside
    assert " ".join(view["text"].split()) in flat
    assert " ".join(view["agreed_action"].split()) in flat
    assert " ".join(statement.split()) in flat
    assert (
        "sign_off (evidence_submitted -> panel_signed_off) RAG GREEN; panel meeting 2011-01-10"
        in shown
    )


def test_refused_fire_exits_1_with_the_reason(cli: Cli) -> None:
    err = cli("fire", R1, "sign_off", "--actor", PANEL, "--reason", "x", code=1).stderr
    assert "cannot 'sign_off' from 'open'; allowed here:" in err


def test_tampered_log_fails_verify(cli: Cli) -> None:
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE event SET actor = 'someone@else.org' WHERE seq = 1 AND item_id = 3")
    err = cli("verify-log", code=1).stderr
    assert "BROKEN: item 3, event 1: its content was changed" in err


def test_dry_run_import_writes_nothing(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    run("init")
    assert "would import" in run("import", str(PLAN), "--dry-run").stdout
    assert "no items" in run("list").stdout


def test_bad_import_exits_1_naming_the_row(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PLAN.read_text().replace("due: [2011-04-01]", "due: [1st April 2011]", 1))
    err = cli("import", str(bad), code=1).stderr
    assert "recommendations[0] (R1).due[0]: '1st April 2011' is not a date" in err


def test_bad_setting_names_the_variable(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    err = run("list", code=1, SIGNOFF_DATABASE_URL="mysql://x").stderr
    assert "SIGNOFF_DATABASE_URL" in err
    assert "must start with sqlite:///" in err


@pytest.mark.parametrize(
    ("local", "with_offset"),
    [
        pytest.param("2011-03-21T10:00", "2011-03-21T10:00Z", id="winter"),
        pytest.param("2011-06-01T10:00", "2011-06-01T10:00+01:00", id="summer"),
        pytest.param("2011-10-30T01:30", "2011-10-30T01:30+01:00", id="autumn_back_first"),
    ],
)
def test_now_without_a_zone_is_local_time(cli: Cli, local: str, with_offset: str) -> None:
    """Issue 9: a time without a zone is read in SIGNOFF_TIMEZONE (Europe/London here)."""
    read = cli("sweep", "--now", local, "--dry-run", "--json").stdout
    assert json.loads(read) == json.loads(
        cli("sweep", "--now", with_offset, "--dry-run", "--json").stdout
    )


def test_now_in_the_skipped_hour_is_refused(cli: Cli) -> None:
    err = cli("sweep", "--now", "2011-03-27T01:30", "--dry-run", code=2).stderr
    assert "2011-03-27T01:30 does not happen in Europe/London" in err


def test_bad_now_is_a_usage_error(cli: Cli) -> None:
    err = cli("fire", R1, "set_rag", "--actor", PANEL, "--now", "tomorrow", code=2).stderr
    assert "not an ISO date-time" in err


def test_forecast_and_sweep_show_the_chasing(cli: Cli) -> None:
    when = "2011-03-18T10:00+00:00"
    data = json.loads(cli("forecast", "--days", "7", "--now", when, "--json").stdout)
    kinds = {(e["key"].split("/")[1], e["kind"]) for e in data["emails"]}
    assert ("R1", "reminder") in kinds  # 14 days before 1 April falls on 19 March
    dry = json.loads(cli("sweep", "--now", "2011-03-21T10:00Z", "--dry-run", "--json").stdout)
    assert dry["queued"] == 0
    assert {d["kind"] for d in dry["decided"]} >= {"reminder"}
    assert "0 row(s)" in cli("outbox").stdout
    done = cli("sweep", "--now", "2011-03-21T10:00Z").stdout
    assert "queued" in done
    assert "pending" in cli("outbox", "--status", "pending").stdout


def test_start_dates_are_shown_and_never_chased(cli: Cli) -> None:
    """Issue 9: 'From January 2011' (R3) and 'From April 2011' (R5) were chased and escalated
    through every step at the first sweep. They are start dates: shown, never chased."""
    r3, r5 = f"{REVIEW}/R3", f"{REVIEW}/R5"
    swept = json.loads(cli("sweep", "--now", "2012-06-01T10:00Z", "--json").stdout)
    decided = {(d["key"], d["kind"]) for d in swept["decided"]}
    # the rest of the plan, long overdue, is chased and escalated at this first sweep
    assert {kind for _key, kind in decided} == {"chase", "escalation"}
    assert swept["queued"] > 0
    assert {key for key, _kind in decided}.isdisjoint({r3, r5})
    rows = json.loads(cli("outbox", "--json").stdout)["rows"]
    assert rows
    assert [r for r in rows if r["key"] in (r3, r5)] == []
    for key, start in ((r3, "2011-01-01"), (r5, "2011-04-01")):
        assert f"due -; starts {start} (not chased)" in cli("show", key).stdout
        view = json.loads(cli("show", key, "--json").stdout)
        assert (view["due_dates"], view["start_dates"]) == ([], [start])
        (item,) = view["items"]
        assert (item["state"], item["due"]) == ("open", None)
    listed = {i["key"]: i for i in json.loads(cli("list", "--json").stdout)["items"]}
    assert (listed[r3]["due"], listed[r3]["starts"]) == (None, "2011-01-01")
    assert (listed[r5]["due"], listed[r5]["starts"]) == (None, "2011-04-01")


def test_templates_command_refuses_an_ssti_payload(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for part in (ROOT / "notifications" / "templates").iterdir():
        (folder / part.name).write_text(part.read_text())
    with (folder / "chase.txt.j2").open("a") as f:
        f.write("{{ ''.__class__.__mro__ }}\n")
    last = len((folder / "chase.txt.j2").read_text().splitlines())  # the line just added
    run = Cli(tmp_path)
    err = run("templates", "--directory", str(folder), code=1).stderr
    assert f"template 'chase' (text) line {last}: access to '__class__' is not allowed" in err
    assert "ok (auto_answer, chase, decision, digest" in run("templates").stdout


def test_request_reissue_show_and_quarantine(cli: Cli) -> None:
    asked = cli("request", R1, "--note", "Minutes of the March meeting", "--now", NOW_ISO)
    assert f"evidence requested from {BM}" in asked.stdout
    public_id = asked.stdout.split("(request ")[1].split(";")[0]
    shown = json.loads(cli("show", R1, "--json").stdout)
    [request] = shown["items"][0]["requests"]
    assert (request["request"], request["status"], request["recipient"]) == (public_id, "open", BM)
    again = cli("reissue", public_id, "--now", NOW_ISO)
    assert "(issue 2;" in again.stdout
    assert cli("quarantine").stdout.strip() == "nothing in quarantine"
    assert json.loads(cli("quarantine", "--json").stdout) == {"format": 1, "messages": []}


def test_request_refusals_exit_1_with_the_reason(cli: Cli) -> None:
    done = cli("request", R1, "--to", "named.nurse@sept.example.org", code=1)
    assert "is not a contact of southend-lscb who may answer" in done.stderr
    assert done.stdout == ""
    done = cli("reissue", "nosuchrequest", code=1)
    assert "no evidence request 'nosuchrequest'" in done.stderr


def test_reissuing_a_closed_request_advises_a_new_one(cli: Cli, tmp_path: Path) -> None:
    asked = cli("request", R1, "--now", NOW_ISO)
    public_id = asked.stdout.split("(request ")[1].split(";")[0]
    evidence = tmp_path / "minutes.txt"
    evidence.write_text("Minutes of the March meeting")
    cli("fire", R1, "submit_evidence", "--actor", BM, "--evidence", str(evidence), "--now", NOW_ISO)
    done = cli("reissue", public_id, "--now", NOW_ISO, code=1)
    moved = "is no longer open (the item has moved on to 'evidence_submitted')"
    assert f"request {public_id} for {R1} {moved}" in done.stderr
    assert done.stderr.rstrip().endswith(f"; issue a new one with `signoff request {R1}`")


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (Refusal.CLOSED, "why; issue a new one with `signoff request R/1`"),
        (Refusal.NOBODY_TO_ASK, "why, or give --to EMAIL"),
        (Refusal.NOT_ANSWERER, "why; give one of them with --to EMAIL, or leave --to out"),
        (Refusal.FAILING, "why (--to EMAIL)"),
        (Refusal.NOT_ISSUER, "why; give --actor EMAIL of someone who holds one"),
        (Refusal.NOT_ASKED_HERE, "why"),
        (Refusal.EMPTY, "why"),
        (Refusal.WORKFLOW_CHANGED, "why"),
    ],
)
def test_request_refusals_get_command_line_advice(reason: Refusal, expected: str) -> None:
    refused = RequestRefused(reason, "why", "R/1")
    assert str(refused) + advice(refused) == expected


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        ("evidence", "; attach a file with --evidence FILE or write a --statement"),
        ("reason", "; give one with --reason"),
        ("meeting_date", "; give the panel meeting date with --meeting-date YYYY-MM-DD"),
        ("rag", "; give --rag red, amber or green"),
        ("due_date", "; give the proposed date with --due-date YYYY-MM-DD"),
    ],
)
def test_missing_inputs_get_the_option_that_gives_them(requirement: str, expected: str) -> None:
    assert advice(MissingInput("R/1", "t", requirement)) == expected


def test_a_stranding_publish_is_told_the_map_options() -> None:
    refused = PublishRefused("w", "1 item(s) would be stranded", ["R/1: in 'b'"], ["b", "a"])
    assert advice(refused) == (
        "\nmap each state the new version lacks to one it has: --map a=STATE --map b=STATE"
    )


def test_fire_without_evidence_says_how_to_give_it(cli: Cli) -> None:
    done = cli("fire", R1, "submit_evidence", "--actor", BM, "--now", NOW_ISO, code=1)
    assert done.stderr.strip() == (
        f"error: {R1}: 'submit_evidence' requires evidence; "
        "attach a file with --evidence FILE or write a --statement"
    )


def test_staff_link_prints_a_stored_single_use_link(cli: Cli) -> None:
    link = cli("staff-link", PANEL, SIGNOFF_BASE_URL="https://board.example").stdout.strip()
    assert re.fullmatch(r"https://board\.example/sign-in/[A-Za-z0-9_-]{43}", link)
    token = link.rsplit("/", 1)[1]
    with closing(sqlite3.connect(cli.db)) as conn:
        stored = conn.execute("SELECT email, token_hash FROM sign_in_link").fetchall()
    assert stored == [(PANEL, hashlib.sha256(token.encode()).hexdigest())]  # never the token


def test_a_named_actor_needs_the_tables_permission_to_import_or_publish(cli: Cli) -> None:
    refused = cli("import", str(CONTACTS), "--actor", PANEL, code=1)
    assert refused.stderr.strip() == (
        f"error: {PANEL} may not administer: the roles table gives that to business_manager "
        "only; give --actor EMAIL of someone who holds one"
    )
    workflow = ROOT / "workflows" / "recommendation.yaml"
    refused = cli("workflow", "publish", str(workflow), "--actor", PANEL, code=1)
    assert "may not administer" in refused.stderr
    assert "already this content" in cli("workflow", "publish", str(workflow), "--actor", BM).stdout
    assert "imported" in cli("import", str(CONTACTS), "--actor", BM).stdout


def test_staff_link_refuses_an_address_the_directory_does_not_know(cli: Cli) -> None:
    refused = cli("staff-link", "stranger@elsewhere.example", code=1)
    assert "stranger@elsewhere.example is not in the directory" in refused.stderr


def test_init_in_an_empty_folder_publishes_the_shipped_workflows(tmp_path: Path) -> None:
    """No workflows/ folder here and no SIGNOFF_WORKFLOWS_DIR: the packaged ones are used."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    done = subprocess.run(
        [SIGNOFF, "init"], capture_output=True, text=True, cwd=empty, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "published recommendation version 1" in done.stdout
    assert "published imr_action version 1" in done.stdout
    assert (empty / "signoff.db").exists()


def test_workflows_dir_overrides_the_shipped_workflows(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    err = run("init", code=1, SIGNOFF_WORKFLOWS_DIR=str(tmp_path / "none")).stderr
    assert "no workflow files (*.yaml) here; set SIGNOFF_WORKFLOWS_DIR" in err


def test_help_loads_neither_the_engine_nor_the_adapters() -> None:
    code = (
        "import sys\n"
        "from app.cli import app\n"
        "print(sorted(m.split('.')[0] for m in sys.modules\n"
        "  if m.split('.')[0] in {'engine', 'web', 'notifications', 'inbound', 'sqlalchemy',"
        " 'pydantic', 'rich'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_rag_option_offers_the_engine_rags() -> None:
    from app.commands.items import RagOption
    from engine.store.tables import Rag

    assert [r.value for r in RagOption] == [r.value for r in Rag]


def test_staff_confirm_a_held_reply_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    """Issue 9: a reply that does not pass DMARC is held; staff confirm it with quarantine."""
    key, domain = "c" * 32, "replies.example.org"
    env = {"SIGNOFF_SECRET_KEY": key, "SIGNOFF_REPLY_DOMAIN": domain}
    asked = cli("request", R1, "--now", NOW_ISO, **env)
    public_id = asked.stdout.split("(request ")[1].split(";")[0]
    msg = EmailMessage()
    msg["Authentication-Results"] = (
        "mx.example.org; dmarc=fail header.from=southend-lscb.example.org"
    )
    msg["From"], msg["Subject"] = BM, "RE: evidence"
    msg["To"] = reply_address(key.encode(), public_id, domain)
    msg["Message-ID"] = "<held@southend-lscb.example.org>"
    msg.set_content("The minutes are agreed.")
    database = Database(f"sqlite:///{cli.db}")
    try:
        got = receive(
            Services(db=database, data_dir=tmp_path / "data"),
            Mailbox(key=key.encode(), domain=domain, authserv_id="mx.example.org"),
            msg.as_bytes(), rcpt_tos=[str(msg["To"])], envelope_from="x@evil.example",
            now=dt.datetime(2011, 1, 10, 10, tzinfo=dt.UTC),
        )  # fmt: skip
    finally:
        database.engine.dispose()
    assert got.status == "held"
    [held] = json.loads(cli("quarantine", "--json").stdout)["messages"]
    assert (held["status"], held["sender"], held["envelope_from"]) == ("held", BM, "x@evil.example")
    refused = cli("quarantine", "--confirm", str(held["id"]), "--actor", "nobody@example.org",
                  "--now", NOW_ISO, code=1, **env)  # fmt: skip
    assert "may not manage quarantine" in refused.stderr
    done = cli("quarantine", "--confirm", str(held["id"]), "--actor", BM, "--now", NOW_ISO, **env)
    assert f"#{held['id']} confirmed: 1 evidence record(s)" in done.stdout
    assert cli("quarantine").stdout.strip() == "nothing in quarantine"
    shown = json.loads(cli("show", R1, "--json").stdout)
    assert shown["items"][0]["state"] == "evidence_submitted"


def test_verify_log_checks_the_administrators_log(cli: Cli) -> None:
    """A changed admin entry fails ``verify-log`` by name, like a changed item event."""
    from engine import adminlog

    database = Database(f"sqlite:///{cli.db}")
    with database.engine.connect() as conn:  # the import's directory changes are there too
        had = adminlog.verify(conn).entries
    assert had > 0
    for n in (1, 2):
        with database.write() as conn:
            adminlog.record(
                conn, actor=BM, at=dt.datetime(2011, 2, n, tzinfo=dt.UTC), action="email.save",
                subject="email decision", before=None, after=f"wording {n}",
            )  # fmt: skip
    database.dispose()
    assert f"ok: {had + 2} entries of the administrators' log verify" in cli("verify-log").stdout
    assert json.loads(cli("verify-log", "--json").stdout)["admin_log"] == {
        "ok": True, "entries": had + 2, "broken": None,
    }  # fmt: skip
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE admin_event SET actor = 'someone@else.org' WHERE seq = ?", (had + 1,))
    err = cli("verify-log", code=1).stderr
    assert f"BROKEN: admin log, entry {had + 1}: its content was changed" in err
