"""Evidence requests: issuing, link tokens, answering, reissuing, and what closes them."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import types
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import requests as er
from engine.errors import (
    Refusal,
    RequestNotFound,
    RequestRefused,
    RoleNotAllowed,
    UploadRefused,
)
from engine.fire import FireRequest, fire
from engine.hashchain import verify
from engine.requests.answer import Upload, answer, answer_by_token
from engine.requests.tokens import token_hash
from engine.services import Services
from engine.store.tables import Evidence, EvidenceRequest, Item, Outbox, RequestToken
from engine.uploads import UploadLimits
from tests.conftest import (
    BM,
    DEPUTY,
    NOW,
    PANEL,
    R1,
    ROOT,
    make_item,
    sept_lead_officer,
    submit_r1,
)
from tests.files import pdf

LIMITS = UploadLimits()
NURSE = "named.nurse@sept.example.org"  # sept's lead officer
SEPT_DIRECTOR = "director.nursing@sept.example.org"
PDF = pdf()  # a real one-page PDF: the upload check opens it


def _count(services: Services, table: type) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _state(services: Services, item_id: int) -> str:
    with services.db.engine.connect() as conn:
        return str(conn.execute(sa.select(Item.state).where(Item.id == item_id)).scalar_one())


@pytest.fixture
def sept_item(demo: Services) -> int:
    return make_item(demo, ref="T1", due=dt.date(2011, 3, 1), agency="sept")


def _ask(services: Services, key: str = "southend-iawg-scr-audit-2010/T1", **kw: object) -> str:
    issued = er.issue(services, key, actor=BM, now=NOW, **kw)  # type: ignore[arg-type]
    return issued.public_id


def _link(services: Services, public_id: str, now: dt.datetime = NOW) -> str:
    token = er.mint_token(services, public_id, None, now)
    assert token is not None
    return token


def test_issue_writes_request_email_and_event(demo: Services, sept_item: int) -> None:
    issued = er.issue(demo, "southend-iawg-scr-audit-2010/T1", actor=BM, now=NOW, note="By March")
    assert (issued.recipient, issued.issues) == (NURSE, 1)
    assert issued.expires_at == NOW + dt.timedelta(days=28)
    with demo.db.engine.connect() as conn:
        req = conn.execute(sa.select(EvidenceRequest)).one()
        mail = conn.execute(sa.select(Outbox).where(Outbox.kind == "request")).one()
        assert (req.state, req.agency_id, req.status, req.due) == (
            "open",
            "sept",
            "open",
            dt.date(2011, 3, 1),
        )
        assert req.asked.endswith("By March")
        assert "audit results" in req.asked
        assert mail.dedupe_key == f"request:{issued.public_id}:1"
        assert (mail.recipient, mail.context["request"]) == (NURSE, issued.public_id)
        assert verify(conn).ok
    assert len(issued.public_id) == 16
    assert issued.public_id.isalnum()


def test_issue_to_a_named_contact_of_the_agency(demo: Services, sept_item: int) -> None:
    assert er.issue(demo, "southend-iawg-scr-audit-2010/T1", actor=BM, now=NOW, to=SEPT_DIRECTOR)


@pytest.mark.parametrize(
    ("to", "needle"),
    [
        ("designated.nurse@nhs-see.example.org", "is not a contact of sept who may answer"),
        ("nobody@sept.example.org", "is not a contact of sept who may answer"),
        ("internal.audit@sept.example.org", "is not a contact of sept who may answer"),
    ],
)
def test_issue_refuses_recipients_outside_the_agency(
    demo: Services, sept_item: int, to: str, needle: str
) -> None:
    with pytest.raises(RequestRefused, match=needle) as info:
        _ask(demo, to=to)
    assert NURSE in str(info.value)  # says who may be asked
    assert _count(demo, EvidenceRequest) == 0
    assert _count(demo, Outbox) == 0


def test_issue_refuses_a_failing_address(demo: Services, sept_item: int) -> None:
    with demo.db.write() as conn:
        conn.execute(sa.text("UPDATE contact SET failing = true WHERE email = :e"), {"e": NURSE})
    with pytest.raises(RequestRefused, match="marked failing"):
        _ask(demo, to=NURSE)
    # by default the next contact who may answer is asked instead
    assert er.issue(demo, "southend-iawg-scr-audit-2010/T1", actor=BM, now=NOW).recipient != NURSE


def test_an_agency_contact_may_not_issue(demo: Services, sept_item: int) -> None:
    with pytest.raises(RequestRefused, match="needs one of the board's roles"):
        er.issue(demo, "southend-iawg-scr-audit-2010/T1", actor=NURSE, now=NOW)


def test_issue_refused_where_the_state_takes_no_evidence(demo: Services) -> None:
    submit_r1(demo)
    with pytest.raises(
        RequestRefused, match=r"evidence is requested only in \['challenged', 'open'"
    ):
        er.issue(demo, R1, actor=BM, now=NOW)


def test_token_opens_its_request_only_while_live(demo: Services, sept_item: int) -> None:
    public_id = _ask(demo)
    token = _link(demo, public_id)
    view = er.view_by_token(demo, token, NOW)
    assert view is not None
    assert (view.public_id, view.recipient, view.agency_name) == (
        public_id,
        NURSE,
        "South Essex Partnership Foundation NHS Trust (SEPT)",
    )
    assert view.ref == "T1"
    assert view.due == dt.date(2011, 3, 1)
    # only the hash is stored
    with demo.db.engine.connect() as conn:
        stored = conn.execute(sa.select(RequestToken.token_hash)).scalar_one()
    assert stored == token_hash(token)
    assert token not in stored
    assert len(token) >= 43  # 256 bits, URL-safe base64
    # wrong, truncated, altered: all the same None
    for bad in ("", token[:-1], token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 500):
        assert er.view_by_token(demo, bad, NOW) is None
    # expired
    assert er.view_by_token(demo, token, NOW + dt.timedelta(days=28)) is None
    assert er.view_by_token(demo, token, NOW + dt.timedelta(days=27, hours=23)) is not None


def test_moving_on_closes_the_request(demo: Services, sept_item: int) -> None:
    public_id = _ask(demo)
    token = _link(demo, public_id)
    fire(
        demo,
        FireRequest(
            item=sept_item,
            trigger="close_without_assurance",
            actor=PANEL,
            now=NOW,
            reason="No further assurance received",
        ),
    )
    assert er.view_by_token(demo, token, NOW) is None
    assert er.mint_token(demo, public_id, None, NOW) is None
    with pytest.raises(RequestRefused, match="moved on to 'closed_no_assurance'"):
        answer(
            demo, public_id, actor=NURSE, statement="late", uploads=[], now=NOW,
            limits=LIMITS, channel="web",
        )  # fmt: skip


def test_answer_by_token_submits_evidence(demo: Services, sept_item: int) -> None:
    public_id = _ask(demo)
    token = _link(demo, public_id)
    done = answer_by_token(
        demo,
        token,
        statement="Training delivered to 40 staff.",
        uploads=[Upload(filename="minutes.pdf", data=PDF)],
        now=NOW,
        limits=LIMITS,
    )
    assert done is not None
    assert done.to_state == "evidence_submitted"
    assert len(done.evidence_ids) == 2
    with demo.db.engine.connect() as conn:
        rows = conn.execute(sa.select(Evidence).order_by(Evidence.id)).all()
        req = conn.execute(sa.select(EvidenceRequest)).one()
        chasing = conn.execute(
            sa.select(Outbox.status).where(Outbox.kind.in_(["reminder", "chase", "escalation"]))
        ).all()
        assert verify(conn).ok
    assert [(r.filename, r.content_type, r.channel, r.submitted_by) for r in rows] == [
        ("minutes.pdf", "application/pdf", "web", NURSE),
        (None, "text/plain", "web", NURSE),
    ]
    assert all(r.request_id == req.id for r in rows)
    assert (req.status, req.closed_reason) == ("answered", "web")
    assert all(c.status != "pending" for c in chasing)
    # the link is spent: opening or answering again does nothing
    assert er.view_by_token(demo, token, NOW) is None
    again = answer_by_token(demo, token, statement="x", uploads=[], now=NOW, limits=LIMITS)
    assert again is None
    assert _count(demo, Evidence) == 2


@pytest.mark.parametrize(
    ("statement", "uploads", "error", "needle"),
    [
        ("", [], RequestRefused, "nothing was submitted"),
        ("   \n ", [], RequestRefused, "nothing was submitted"),
        ("ok", [Upload(filename="report.pdf", data=b"<html><body>hi</body></html>")],
         UploadRefused, "is not a PDF"),
        ("ok", [Upload(filename="../../etc/passwd", data=b"root:x")], UploadRefused, "folder"),
        ("ok", [Upload(filename="a.pdf", data=PDF)] * 11, UploadRefused, "at most 10"),
        ("ok", [Upload(filename="tool.exe", data=b"MZ" + b"\0" * 200)], UploadRefused, "program"),
    ],
)  # fmt: skip
def test_bad_answers_store_nothing(
    demo: Services,
    sept_item: int,
    statement: str,
    uploads: list[Upload],
    error: type[Exception],
    needle: str,
) -> None:
    token = _link(demo, _ask(demo))
    with pytest.raises(error, match=needle):
        answer_by_token(demo, token, statement=statement, uploads=uploads, now=NOW, limits=LIMITS)
    assert _count(demo, Evidence) == 0
    assert _state(demo, sept_item) == "open"
    assert er.view_by_token(demo, token, NOW) is not None  # still usable after fixing it
    assert not (demo.data_dir / "evidence").exists() or not any(
        p.is_file() for p in (demo.data_dir / "evidence").rglob("*") if ".incoming" not in p.name
    )


def test_only_contacts_of_the_agency_may_answer(demo: Services, sept_item: int) -> None:
    public_id = _ask(demo)
    with pytest.raises(RoleNotAllowed):
        answer(
            demo, public_id, actor="designated.nurse@nhs-see.example.org", statement="mine",
            uploads=[], now=NOW, limits=LIMITS, channel="email",
        )  # fmt: skip
    assert _count(demo, Evidence) == 0
    with demo.db.engine.connect() as conn:
        assert conn.execute(sa.select(EvidenceRequest.status)).scalar_one() == "open"


def test_reissue_revokes_earlier_links(demo: Services, sept_item: int) -> None:
    public_id = _ask(demo)
    first = _link(demo, public_id)
    later = NOW + dt.timedelta(days=20)
    again = er.reissue(demo, public_id, actor=BM, now=later)
    assert (again.issues, again.expires_at) == (2, later + dt.timedelta(days=28))
    assert er.view_by_token(demo, first, later) is None
    second = _link(demo, public_id, later)
    assert er.view_by_token(demo, second, later + dt.timedelta(days=27)) is not None
    with demo.db.engine.connect() as conn:
        keys = conn.execute(
            sa.select(Outbox.dedupe_key).where(Outbox.kind == "request").order_by(Outbox.id)
        ).scalars()
        assert list(keys) == [f"request:{public_id}:1", f"request:{public_id}:2"]
        assert verify(conn).ok


def test_reissue_refused_once_answered_or_unknown(demo: Services, sept_item: int) -> None:
    public_id = _ask(demo)
    answer(
        demo, public_id, actor=NURSE, statement="done", uploads=[], now=NOW, limits=LIMITS,
        channel="web",
    )  # fmt: skip
    with pytest.raises(RequestRefused, match="no longer open"):
        er.reissue(demo, public_id, actor=BM, now=NOW)
    with pytest.raises(RequestNotFound):
        er.reissue(demo, "nosuchrequest", actor=BM, now=NOW)


def test_a_challenge_asks_again_and_shows_its_reason(demo: Services, sept_item: int) -> None:
    answer(
        demo, _ask(demo), actor=NURSE, statement="done", uploads=[], now=NOW, limits=LIMITS,
        channel="web",
    )  # fmt: skip
    fire(
        demo,
        FireRequest(
            item=sept_item,
            trigger="challenge",
            actor=PANEL,
            now=NOW,
            reason="Minutes do not show the audit was completed",
            meeting_date=NOW.date(),
        ),
    )
    with demo.db.engine.connect() as conn:
        asked = conn.execute(
            sa.select(EvidenceRequest).where(EvidenceRequest.state == "challenged")
        ).one()
    assert asked.recipient == NURSE
    assert "challenge" in asked.asked
    view = er.view_by_token(demo, _link(demo, asked.public_id), NOW)
    assert view is not None
    assert [c.reason for c in view.challenges] == ["Minutes do not show the audit was completed"]
    assert [s.what for s in view.submissions] == ["Written statement"]
    # the panel's decision later records the evidence it was taken on
    done = answer(
        demo, asked.public_id, actor=NURSE, statement="audit attached", uploads=[], now=NOW,
        limits=LIMITS, channel="email",
    )  # fmt: skip
    assert done.to_state == "evidence_submitted"


def test_a_refused_extension_is_shown_and_a_granted_one_is_not(
    demo: Services, sept_item: int
) -> None:
    def go(trigger: str, actor: str, reason: str, **kw: object) -> None:
        request = FireRequest(item=sept_item, trigger=trigger, actor=actor, now=NOW, reason=reason)
        fire(demo, dataclasses.replace(request, **kw))  # type: ignore[arg-type]

    go("request_extension", NURSE, "Busy", due_date=dt.date(2011, 4, 1))
    go("refuse_extension", PANEL, "Not this time")
    go("request_extension", NURSE, "Still busy", due_date=dt.date(2011, 4, 1))
    go("grant_extension", PANEL, "Granted")
    view = er.view_by_token(demo, _link(demo, _ask(demo)), NOW)
    assert view is not None
    assert [(c.label, c.reason) for c in view.challenges] == [
        ("Refuse the extension", "Not this time")
    ]


def test_reissue_refusal_carries_its_reason_and_no_command(demo: Services, sept_item: int) -> None:
    public_id = _ask(demo)
    answer(
        demo, public_id, actor=NURSE, statement="done", uploads=[], now=NOW, limits=LIMITS,
        channel="web",
    )  # fmt: skip
    with pytest.raises(RequestRefused) as info:
        er.reissue(demo, public_id, actor=BM, now=NOW)
    assert info.value.reason is Refusal.CLOSED
    assert info.value.key == "southend-iawg-scr-audit-2010/T1"
    assert "signoff" not in str(info.value)


def test_nobody_to_ask_names_no_command_line_option(demo: Services, sept_item: int) -> None:
    with demo.db.write() as conn:
        conn.execute(sa.text("UPDATE contact SET failing = true WHERE agency_id = 'sept'"))
    with pytest.raises(RequestRefused, match="sept has no contact who may answer") as info:
        _ask(demo)
    assert info.value.reason is Refusal.NOBODY_TO_ASK
    assert "--to" not in str(info.value)
    assert _count(demo, EvidenceRequest) == 0


def test_answering_a_closed_request_says_why(demo: Services, sept_item: int) -> None:
    public_id = _ask(demo)
    later = NOW + dt.timedelta(days=29)
    with pytest.raises(RequestRefused, match="can no longer be answered .it expired on") as info:
        answer(
            demo, public_id, actor=NURSE, statement="late", uploads=[], now=later, limits=LIMITS,
            channel="email",
        )  # fmt: skip
    assert info.value.reason is Refusal.CLOSED


def test_the_package_lists_its_public_names() -> None:
    exported = set(er.__all__)
    public = {n for n in vars(er) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if isinstance(getattr(er, n), types.ModuleType)}
    assert exported == public - submodules


def test_issuing_builds_on_nothing_that_fires() -> None:
    """engine.fire imports engine.requests.issue, so issue (and what it imports) must not.

    ``engine``'s own front door is left out: it is loaded before any of its modules.
    """

    def source(module: str) -> Path | None:
        path = ROOT.joinpath(*module.split("."))
        for candidate in (path.with_suffix(".py"), path / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    seen: set[str] = set()
    todo = ["engine.requests.issue", "engine.requests"]
    while todo:
        name = todo.pop()
        file = source(name)
        if name in seen or name == "engine" or file is None:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                todo += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                todo += [a.name for a in node.names]
    assert "engine.requests.tokens" in seen
    assert "engine.fire" not in seen
    assert "engine.requests.answer" not in seen


def test_issue_to_an_absent_contact_or_their_deputy_asks_the_deputy(
    demo: Services, sept_item: int, tmp_path: Path
) -> None:
    sept_lead_officer(demo, tmp_path, absent=True)
    for to in (NURSE, DEPUTY.upper()):
        issued = er.issue(demo, "southend-iawg-scr-audit-2010/T1", actor=BM, now=NOW, to=to)
        assert issued.recipient == DEPUTY
    sept_lead_officer(demo, tmp_path, absent=False)
    with pytest.raises(RequestRefused, match="is not a contact of sept who may answer"):
        _ask(demo, to=DEPUTY)
