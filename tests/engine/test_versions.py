"""Publishing: immutable versions, items stay on theirs, explicit mapping, no stranding."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.errors import PublishRefused, SpecError
from engine.fire import FireRequest, fire
from engine.hashchain import verify
from engine.queries import list_items, show
from engine.services import Services
from engine.spec import WorkflowSpec, load_spec
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
