"""Composing many rows: what rows share is built and rendered once, never a request."""

from __future__ import annotations

import datetime as dt
import email
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import default
from typing import Any

import sqlalchemy as sa

from engine import requests as evidence_requests
from engine.outbox import claim
from engine.services import Services
from engine.store.tables import Outbox
from engine.sweep import run_once
from notifications.compose import Composer
from notifications.templates import Rendered, Templates
from tests.conftest import BM, NOW, R1, REVIEW, challenge_r1, submit_r1, without_digests
from tests.notifications.test_dispatcher import settings_for

LATE = dt.datetime(2011, 4, 26, 10, tzinfo=dt.UTC)  # the plan's items are weeks overdue
LEASE = dt.timedelta(minutes=5)


class Counting(Templates):
    """The shipped templates, recording the context of every rendering."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[dict[str, object]] = []

    def render(self, name: str, context: Mapping[str, object]) -> Rendered:
        self.contexts.append(dict(context))
        return super().render(name, context)


def claim_all(services: Services, now: dt.datetime) -> list[Any]:
    return claim(services.db, now, "test", 10_000, LEASE)


def composer(services: Services, templates: Templates) -> Composer:
    return Composer(services, settings_for(25), templates)


def text_of(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def queue(services: Services, item: str, kind: str, recipient: str, **context: object) -> None:
    """An outbox row as the sweep writes one, with the context given (test data only)."""
    review, ref = item.rsplit("/", 1)
    with services.db.write() as conn:
        item_id = conn.execute(
            sa.text(
                "SELECT item.id FROM item JOIN recommendation r ON r.id = item.recommendation_id"
                " WHERE r.review_id = :review AND r.ref = :ref"
            ),
            {"review": review, "ref": ref},
        ).scalar_one()
        n = conn.execute(sa.select(sa.func.count()).select_from(Outbox)).scalar_one()
        conn.execute(
            Outbox.__table__.insert(),  # type: ignore[attr-defined]
            {
                "dedupe_key": f"test:{n}:{kind}:{recipient}",
                "item_id": item_id,
                "kind": kind,
                "template": kind,
                "recipient": recipient,
                "context": {"key": item, **context},
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": NOW,
                "created_at": NOW,
            },
        )


def test_rows_with_the_same_context_render_once_and_keep_their_own_message_id(
    demo: Services,
) -> None:
    without_digests(demo)  # one email per row
    submit_r1(demo)
    challenge_r1(demo)
    submit_r1(demo)  # the same decision again: its email renders as the first one did
    run_once(demo, LATE)  # chases and escalations for the other items, to several people
    # the challenge asked for evidence; the second submission answered it: no request to send
    rows = [r for r in claim_all(demo, LATE + dt.timedelta(days=7)) if r.kind != "request"]
    decisions = [r for r in rows if r.kind == "decision"]
    assert [r.context["trigger"] for r in decisions] == [
        "submit_evidence",
        "challenge",
        "submit_evidence",
    ]
    assert {r.recipient for r in decisions} == {BM}
    assert len({r.kind for r in rows}) >= 3  # decisions, chases, escalations
    templates = Counting()
    prepared, failed = composer(demo, templates).prepare(rows, LATE)
    assert not failed
    assert len(prepared) == len(rows)
    assert len(templates.contexts) == len(rows) - 1  # the two submit_evidence share one
    labels = [c.get("decision_label") for c in templates.contexts]
    assert labels.count("Submit evidence") == 1
    assert labels.count("Challenge the evidence") == 1
    names = {c["recipient_name"] for c in templates.contexts}
    assert {"LSCB Business Manager", "LSCB Chair"} <= names  # each recipient renders apart
    assert len({p.message_id for p in prepared}) == len(rows)
    alone = composer(demo, Templates())
    for r, p in zip(rows, prepared, strict=True):  # the same bytes as composing it alone
        again, _ = alone.prepare([r], LATE)
        assert again[0].message == p.message


def test_request_emails_are_never_rendered_from_a_cache(demo: Services) -> None:
    issued = evidence_requests.issue(demo, f"{REVIEW}/R2", actor=BM, now=NOW)
    evidence_requests.reissue(demo, issued.public_id, actor=BM, now=NOW)
    rows = claim_all(demo, NOW)
    assert [(r.kind, r.context["request"]) for r in rows] == [
        ("request", issued.public_id),
        ("request", issued.public_id),
    ]
    templates = Counting()
    prepared, failed = composer(demo, templates).prepare(rows, NOW)
    assert not failed
    links = [str(ctx["link"]) for ctx in templates.contexts]
    assert len(links) == 2
    assert links[0] != links[1]
    for link, p in zip(links, prepared, strict=True):
        assert link.startswith("https://signoff.example.org/r/")
        assert link in text_of(p.message)
        view = evidence_requests.view_by_token(demo, link.rpartition("/")[2], NOW)
        assert view is not None
        assert view.public_id == issued.public_id


def test_a_context_value_that_is_no_key_is_rendered_without_the_cache(demo: Services) -> None:
    for item in (R1, f"{REVIEW}/R2"):  # two items: two emails
        queue(demo, item, "chase", BM, days_overdue=True, due=None)
    rows = claim_all(demo, NOW)
    assert len(rows) == 2
    prepared, failed = composer(demo, Counting()).prepare(rows, NOW)
    assert not failed
    assert len(prepared) == 2
