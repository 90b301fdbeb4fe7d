"""Composing many rows: what rows share is built and rendered once, never a request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

import pytest

from engine.services import Services
from notifications import compose
from notifications.compose import Composer
from notifications.templates import Rendered, Templates
from tests.notifications.test_dispatcher import settings_for

NOW = dt.datetime(2011, 4, 1, 9, 30, tzinfo=dt.UTC)


class Counting(Templates):
    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[dict[str, object]] = []

    def render(self, name: str, context: Mapping[str, object]) -> Rendered:
        self.contexts.append(dict(context))
        return super().render(name, context)


def facts() -> dict[str, Any]:
    item = SimpleNamespace(
        id=1,
        state="open",
        agency_id="nhs",
        due=dt.date(2011, 4, 1),
        workflow_version_id=7,
        ref="R1",
        text="Revise the terms of reference. More.",
        review_id="scr-2010",
        review_title="An audit",
        board="Southend LSCB",
        agency_name="NHS South East Essex",
    )
    spec = SimpleNamespace(
        states={"open": SimpleNamespace(label="Open"), "done": SimpleNamespace(label="Done")},
        model=SimpleNamespace(transitions=[SimpleNamespace(trigger="accept", label="Accepted")]),
    )
    people = {
        ("a@example.org", "nhs"): SimpleNamespace(name="Ann", role="named_nurse"),
        ("b@example.org", "nhs"): SimpleNamespace(name="Bob", role="chief_executive"),
    }
    return {"items": {1: item}, "people": people, "specs": {7: spec}}


def row(i: int, kind: str, recipient: str, **context: object) -> Any:
    return SimpleNamespace(
        id=i,
        item_id=1,
        kind=kind,
        template=kind,
        recipient=recipient,
        dedupe_key=f"k{i}",
        attempts=0,
        context=context,
    )


def test_rows_with_the_same_context_render_once_and_keep_their_own_message_id() -> None:
    templates = Counting()
    c = Composer(cast(Services, None), settings_for(25), templates)
    rows = [
        row(1, "decision", "a@example.org", trigger="accept", to_state="done", seq=2),
        row(2, "decision", "a@example.org", trigger="accept", to_state="done", seq=3),
        row(3, "decision", "b@example.org", trigger="accept", to_state="done", seq=4),
        row(4, "chase", "a@example.org", days_overdue=3),
        row(5, "chase", "a@example.org", days_overdue=3),
        row(6, "chase", "a@example.org", days_overdue=4),
    ]
    prepared, failed = c.prepare(rows, NOW, facts=facts())
    assert not failed
    assert len(templates.contexts) == 4  # 1 = 2, 3, 4 = 5, 6
    assert [c["recipient_name"] for c in templates.contexts[:2]] == ["Ann", "Bob"]
    assert [c["days_overdue"] for c in templates.contexts[2:]] == [3, 4]
    assert len({p.message_id for p in prepared}) == 6
    alone = Composer(cast(Services, None), settings_for(25), Templates())
    for r, p in zip(rows, prepared, strict=True):  # the same bytes as composing it alone
        again, _ = alone.prepare([r], NOW, facts=facts())
        assert again[0].message == p.message


def test_request_emails_are_never_rendered_from_a_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = iter(["tok-1", "tok-2"])
    monkeypatch.setattr(compose.evidence_requests, "mint_token", lambda *a: next(tokens))
    monkeypatch.setattr(compose.evidence_requests, "asked", lambda *a: "The minutes")
    monkeypatch.setattr(Composer, "_reply_key", b"k" * 32)
    templates = Counting()
    c = Composer(cast(Services, None), settings_for(25), templates)
    rows = [row(i, "request", "a@example.org", request="req-1") for i in (1, 2)]
    prepared, failed = c.prepare(rows, NOW, facts=facts())
    assert not failed
    assert [ctx["link"] for ctx in templates.contexts] == [
        "https://signoff.example.org/r/tok-1",
        "https://signoff.example.org/r/tok-2",
    ]
    assert b"tok-1" in prepared[0].message
    assert b"tok-2" in prepared[1].message


def test_a_context_value_that_is_no_key_is_rendered_without_the_cache() -> None:
    templates = Counting()
    c = Composer(cast(Services, None), settings_for(25), templates)
    rows = [row(i, "chase", "a@example.org", days_overdue=True, due=None) for i in (1, 2)]
    prepared, failed = c.prepare(rows, NOW, facts=facts())
    assert not failed
    assert len(prepared) == 2
