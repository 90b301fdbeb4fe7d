"""Publishing: immutable versions, items stay on theirs, explicit mapping, no stranding."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from engine.errors import PublishRefused, SpecError
from engine.fire import FireRequest, fire
from engine.forecast import forecast
from engine.hashchain import verify
from engine.queries import list_items, show
from engine.services import Services
from engine.spec import WorkflowSpec, load_spec
from engine.store.tables import Item, Outbox, Recommendation
from engine.sweep import run_once
from engine.versions import Published, publish
from tests.conftest import BM, NOW, PANEL, R1, REVIEW, WORKFLOWS, challenge_r1, submit_r1

SHIPPED = (WORKFLOWS / "recommendation.yaml").read_text()
RENAMED = SHIPPED.replace("challenged", "returned")


def _spec(text: str) -> WorkflowSpec:
    return load_spec(text, "recommendation.yaml")


def _publish(services: Services, text: str, **kw: object) -> Published:
    with services.db.write() as conn:
        return publish(conn, _spec(text), actor=BM, now=NOW, **kw)  # type: ignore[arg-type]


def _versions(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        return {i["ref"]: i["workflow_version"] for i in list_items(conn, services.specs)}


def _challenge_r1(services: Services) -> None:
    submit_r1(services, "x")
    challenge_r1(services)


def test_same_content_publishes_nothing(demo: Services) -> None:
    done = _publish(demo, SHIPPED)
    assert (done.created, done.version) == (False, 1)


def test_new_version_leaves_items_in_flight_on_theirs(demo: Services) -> None:
    done = _publish(demo, SHIPPED.replace("Open, awaiting evidence", "Open (awaiting evidence)"))
    assert (done.created, done.version, done.migrated) == (True, 2, 0)
    assert set(_versions(demo).values()) == {1}


def test_migration_keeps_states_that_still_exist(demo: Services) -> None:
    done = _publish(
        demo, SHIPPED.replace("Open, awaiting evidence", "Open (new wording)"), migrate=True
    )
    assert done.migrated == 9
    assert set(_versions(demo).values()) == {2}
    with demo.db.engine.connect() as conn:
        history = show(conn, demo.specs, R1)["items"][0]["history"]
        assert history[-1]["trigger"] == "migrate_workflow"
        assert verify(conn).ok


def test_publish_that_would_strand_items_is_refused_listing_them(demo: Services) -> None:
    _challenge_r1(demo)
    with pytest.raises(PublishRefused) as info:
        _publish(demo, RENAMED, migrate=True)
    assert info.value.items == [
        f"{R1}@southend-lscb: in 'challenged', which the version being published lacks"
    ]
    assert info.value.unmapped == ["challenged"]
    with demo.db.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM workflow_version")).scalar_one()
    assert count == 2  # the two shipped workflows; nothing new was stored


def test_explicit_mapping_moves_items(demo: Services) -> None:
    _challenge_r1(demo)
    done = _publish(demo, RENAMED, migrate=True, mapping={"challenged": "returned"})
    assert done.migrated == 9
    with demo.db.engine.connect() as conn:
        view = show(conn, demo.specs, R1)["items"][0]
    assert (view["state"], view["workflow_version"]) == ("returned", 2)
    assert view["history"][-1]["from"] == "challenged"


def test_mapping_to_an_unknown_state_is_refused(demo: Services) -> None:
    with pytest.raises(SpecError, match="unknown state 'retuned'.*did you mean 'returned'"):
        _publish(demo, RENAMED, migrate=True, mapping={"challenged": "retuned"})


def test_finished_items_stay_on_their_version(demo: Services) -> None:
    fire(
        demo,
        FireRequest(
            item=f"{REVIEW}/R2",
            trigger="close_without_assurance",
            actor=PANEL,
            now=NOW,
            reason="No further assurance received",
        ),
    )
    _publish(demo, SHIPPED.replace("Open, awaiting evidence", "Open (v2)"), migrate=True)
    versions = _versions(demo)
    assert versions["R2"] == 1
    assert versions["R1"] == 2


def test_items_keep_firing_on_an_old_version(demo: Services) -> None:
    _publish(demo, RENAMED)
    _challenge_r1(demo)  # 'challenged' exists only in version 1, where R1 lives
    with demo.db.engine.connect() as conn:
        assert show(conn, demo.specs, R1)["items"][0]["state"] == "challenged"


def _r1_chasing(services: Services) -> list[tuple[str, str]]:
    o, i, r = (t.__table__ for t in (Outbox, Item, Recommendation))  # type: ignore[attr-defined]
    query = (
        sa.select(o.c.kind, o.c.status)
        .join(i, i.c.id == o.c.item_id)
        .join(r, r.c.id == i.c.recommendation_id)
        .where(r.c.ref == "R1", o.c.kind.in_(["reminder", "chase", "escalation"]))
        .order_by(o.c.id)
    )
    with services.db.engine.connect() as conn:
        return [(k, s) for k, s in conn.execute(query)]


def _publish_at(services: Services, text: str, now: dt.datetime) -> Published:
    with services.db.write() as conn:
        return publish(
            conn, _spec(text), actor=BM, now=now, migrate=True, calendar=services.calendar
        )


def _r1_forecast(services: Services, now: dt.datetime, days: int) -> list[str]:
    return [e["kind"] for e in forecast(services, now, days) if e["key"].endswith("/R1")]


def test_migrating_into_a_state_that_gains_a_deadline_replans_the_item(demo: Services) -> None:
    start = SHIPPED.index("    deadline:\n      due: item_due\n")
    stop = SHIPPED.index("    templates: {request: request, reminder")
    no_deadline = SHIPPED[:start] + SHIPPED[stop:]
    t1 = dt.datetime(2011, 3, 1, 10, tzinfo=dt.UTC)
    assert _publish_at(demo, no_deadline, t1).migrated > 0
    assert _r1_forecast(demo, t1, 60) == []
    run_once(demo, dt.datetime(2011, 4, 25, 10, tzinfo=dt.UTC))
    assert _r1_chasing(demo) == []
    t2 = dt.datetime(2011, 4, 26, 10, tzinfo=dt.UTC)  # 24 days overdue under version 3
    assert _publish_at(demo, SHIPPED.replace("Open, awaiting", "Open (v3), awaiting"), t2).migrated
    assert {"chase", "escalation"} <= set(_r1_forecast(demo, t2, 10))
    run_once(demo, t2)
    assert {k for k, _s in _r1_chasing(demo)} == {"chase", "escalation"}


def test_a_changed_plan_cancels_what_the_old_one_decided(demo: Services) -> None:
    now = dt.datetime(2011, 3, 21, 10, tzinfo=dt.UTC)
    run_once(demo, now)
    assert _r1_chasing(demo) == [("reminder", "pending")]
    later = now + dt.timedelta(minutes=5)
    _publish_at(demo, SHIPPED.replace("Open, awaiting", "Open (v2), awaiting"), later)
    assert _r1_chasing(demo) == [("reminder", "pending")]  # same plan: nothing cancelled
    changed = SHIPPED.replace(
        "remind_before: [14 days, 3 days]", "remind_before: [14 days, 10 days, 3 days]", 1
    )
    _publish_at(demo, changed, later)
    assert _r1_chasing(demo) == [("reminder", "cancelled")]
    # the new plan's reminder 10 days before R1's due moment (2 April 00:00): 23 March
    assert _r1_forecast(demo, later, 1) == []
    assert _r1_forecast(demo, later, 2) == ["reminder"]
    run_once(demo, dt.datetime(2011, 3, 23, 10, tzinfo=dt.UTC))
    assert _r1_chasing(demo) == [("reminder", "cancelled"), ("reminder", "pending")]
