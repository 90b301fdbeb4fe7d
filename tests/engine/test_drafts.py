"""Workflow drafts: saved valid or not, concurrency by revision, published with a note, never
over someone else's publish, rolled back by publishing an earlier version."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from engine import drafts
from engine.errors import (
    DraftChanged,
    DraftInvalid,
    DraftNotFound,
    DraftRefused,
    PublishConflict,
    PublishRefused,
)
from engine.queries import show
from engine.services import Services
from engine.versions import history, require_latest
from tests.conftest import BM, NOW, PANEL_CHAIR, R1, WORKFLOWS, challenge_r1, submit_r1

SHIPPED = (WORKFLOWS / "recommendation.yaml").read_text()
LATER = NOW + dt.timedelta(hours=1)
CHASE_7 = "      chase_every: 7 days\n      # 'ladder'"
CHASE_14 = "      chase_every: 14 days\n      # 'ladder'"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _create(services: Services, author: str = BM, **kw: object) -> drafts.Draft:
    with services.db.write() as conn:
        return drafts.create(conn, workflow="recommendation", author=author, now=NOW, **kw)  # type: ignore[arg-type]


def _save(services: Services, draft: drafts.Draft, text: str, **kw: object) -> drafts.Draft:
    args: dict[str, object] = {"author": BM, "now": LATER, "expected_revision": draft.revision}
    args.update(kw)
    with services.db.write() as conn:
        return drafts.save_text(conn, draft.id, text=text, **args)  # type: ignore[arg-type]


def _publish(
    services: Services,
    draft: drafts.Draft,
    note: str = "Chase monthly",
    mapping: dict[str, str] | None = None,
    author: str = BM,
) -> int:
    with services.db.write() as conn:
        done = drafts.publish(
            conn, services, draft.id, author=author, note=note, mapping=mapping or {}, now=LATER
        )
    return done.version


def _version_count(services: Services) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM workflow_version")).scalar_one())


def _get(services: Services, draft_id: int) -> drafts.Draft:
    with services.db.engine.connect() as conn:
        return drafts.get(conn, draft_id)


def test_a_new_draft_is_a_copy_of_the_published_version(published: Services) -> None:
    draft = _create(published)
    with published.db.engine.connect() as conn:
        base = require_latest(conn, "recommendation")
    assert (draft.text, draft.base_version_id, draft.revision) == (SHIPPED, base, 1)
    assert (draft.author, draft.status, draft.published_version_id) == (
        BM,
        drafts.DraftStatus.OPEN,
        None,
    )
    assert [c.summary for c in draft.changes] == [("Started from version 1, the published one",)]


def test_a_draft_of_an_unpublished_workflow_is_refused(published: Services) -> None:
    with (
        published.db.write() as conn,
        pytest.raises(LookupError, match="recommendaton .did you mean 'recommendation'"),
    ):
        drafts.create(conn, workflow="recommendaton", author=BM, now=NOW)


def test_a_draft_from_a_version_of_another_workflow_is_refused(published: Services) -> None:
    with published.db.engine.connect() as conn:
        other = require_latest(conn, "imr_action")
    with pytest.raises(DraftRefused, match="no version #.* of workflow 'recommendation'") as info:
        _create(published, from_version_id=other)
    assert info.value.field == "version"


def test_an_invalid_draft_is_saved_and_its_problems_are_at_their_lines(
    published: Services,
) -> None:
    draft = _create(published)
    broken = SHIPPED.replace(CHASE_7, "      chase_every: 7 dayz\n      # 'ladder'")
    saved = _save(published, draft, broken)
    assert (saved.text, saved.revision) == (broken, 2)
    problems = drafts.check(saved.text)
    assert len(problems) == 1
    assert problems[0].line == _line_of(broken, "chase_every: 7 dayz")
    assert problems[0].path == "states.open.deadline.chase_every"
    assert "cannot read '7 dayz' as a duration" in problems[0].message
    assert saved.changes[-1].summary[-1] == (
        "The draft has problems to fix before it can be published"
    )


def test_check_reports_every_problem_of_a_layer_each_at_its_line() -> None:
    text = SHIPPED.replace(CHASE_7, "      chase_every: 7 dayz\n      # 'ladder'")
    text = text.replace("label: Challenged by the panel", "labl: Challenged by the panel")
    problems = {(p.line, p.path): p.message for p in drafts.check(text)}
    assert (
        "cannot read '7 dayz' as a duration"
        in problems[(_line_of(text, "7 dayz"), "states.open.deadline.chase_every")]
    )
    assert problems[(_line_of(text, "labl: Challenged"), "states.challenged.labl")].startswith(
        "unknown key 'labl'; did you mean 'label'?"
    )


def test_a_graph_problem_is_at_its_line() -> None:
    text = SHIPPED.replace("    to: evidence_submitted\n", "    to: evidence_submited\n", 1)
    (problem,) = drafts.check(text)
    assert problem.line == _line_of(text, "to: evidence_submited")
    assert "did you mean 'evidence_submitted'" in problem.message


def test_a_yaml_syntax_error_is_at_its_line() -> None:
    text = SHIPPED.replace("  challenged:\n", "  challenged: [\n", 1)
    (problem,) = drafts.check(text)
    assert problem.message.startswith("not valid YAML")
    assert problem.line is not None
    assert problem.line >= _line_of(text, "  challenged: [")


def test_a_draft_must_keep_its_workflow_name(published: Services) -> None:
    text = SHIPPED.replace("name: recommendation", "name: recommendations")
    (problem,) = drafts.check(text, workflow="recommendation")
    assert (problem.line, problem.path) == (_line_of(text, "name: recommendations"), "name")
    assert "must stay 'recommendation'" in problem.message


def test_a_save_records_who_changed_what_in_words(published: Services) -> None:
    draft = _create(published)
    saved = _save(published, draft, SHIPPED.replace(CHASE_7, CHASE_14), author=PANEL_CHAIR)
    last = saved.changes[-1]
    assert (last.revision, last.author, last.at) == (2, PANEL_CHAIR, LATER)
    assert last.summary == ("State open: chase every 7 days → 14 days",)
    assert (saved.updated_by, saved.updated_at) == (PANEL_CHAIR, LATER)


def test_a_stale_save_is_refused_naming_who_saved_first(published: Services) -> None:
    draft = _create(published)
    _save(published, draft, SHIPPED.replace(CHASE_7, CHASE_14), author=PANEL_CHAIR)
    with pytest.raises(DraftChanged) as info:
        _save(published, draft, SHIPPED.replace("Open, awaiting evidence", "Open"))
    err = info.value
    assert (err.expected, err.revision, err.by) == (1, 2, PANEL_CHAIR)
    assert f"saved by {PANEL_CHAIR}" in str(err)
    assert "nothing was saved" in str(err)
    assert "chase_every: 14 days" in _get(published, draft.id).text


def test_saving_the_same_text_changes_nothing(published: Services) -> None:
    draft = _create(published)
    again = _save(published, draft, SHIPPED)
    assert (again.revision, len(again.changes)) == (1, 1)


def test_a_text_too_large_is_refused(published: Services) -> None:
    draft = _create(published)
    with pytest.raises(DraftRefused, match="larger than 1024 KiB") as info:
        _save(published, draft, "#" * (1024 * 1024 + 1))
    assert info.value.field == "text"
    assert _get(published, draft.id).revision == 1


def test_open_drafts_are_listed_newest_first_by_workflow(published: Services) -> None:
    first, second = _create(published), _create(published)
    _save(published, first, SHIPPED.replace(CHASE_7, CHASE_14))
    other = None
    with published.db.write() as conn:
        other = drafts.create(conn, workflow="imr_action", author=BM, now=NOW)
        drafts.discard(conn, second.id, author=BM, now=LATER)
    with published.db.engine.connect() as conn:
        assert [d.id for d in drafts.list_open(conn, "recommendation")] == [first.id]
        assert [d.id for d in drafts.list_open(conn)] == [first.id, other.id]


def test_a_discarded_draft_cannot_be_saved_or_published(published: Services) -> None:
    draft = _create(published)
    with published.db.write() as conn:
        drafts.discard(conn, draft.id, author=BM, now=LATER)
    with pytest.raises(DraftRefused, match="is discarded; create a new draft"):
        _save(published, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    with pytest.raises(DraftRefused, match="is discarded"):
        _publish(published, draft)


def test_an_unknown_draft_is_not_found(published: Services) -> None:
    with published.db.engine.connect() as conn, pytest.raises(DraftNotFound, match="#999"):
        drafts.get(conn, 999)


def test_publish_records_who_when_and_why(demo: Services) -> None:
    draft = _create(demo)
    _save(demo, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    assert _publish(demo, draft, note="  Chase fortnightly: agencies asked  ") == 2
    with demo.db.engine.connect() as conn:
        newest = history(conn, "recommendation")[0]
        assert (newest.version, newest.published_by, newest.published_at, newest.note) == (
            2,
            BM,
            LATER,
            "Chase fortnightly: agencies asked",
        )
        done = drafts.get(conn, draft.id)
        assert (done.status, done.published_version_id) == (
            drafts.DraftStatus.PUBLISHED,
            newest.id,
        )
        assert show(conn, demo.specs, R1)["items"][0]["workflow_version"] == 2


@pytest.mark.parametrize("note", ["", "   "])
def test_publish_without_a_note_is_refused(demo: Services, note: str) -> None:
    draft = _create(demo)
    _save(demo, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    with pytest.raises(DraftRefused, match="the note is required") as info:
        _publish(demo, draft, note=note)
    assert info.value.field == "note"
    assert _version_count(demo) == 2
    assert _get(demo, draft.id).is_open


def test_publish_of_an_invalid_draft_is_refused_with_its_problems(demo: Services) -> None:
    draft = _create(demo)
    broken = SHIPPED.replace(CHASE_7, "      chase_every: 7 dayz\n      # 'ladder'")
    _save(demo, draft, broken)
    with pytest.raises(DraftInvalid) as info:
        _publish(demo, draft)
    (problem,) = info.value.problems
    assert isinstance(problem, drafts.Problem)
    assert problem.line == _line_of(broken, "7 dayz")
    assert _version_count(demo) == 2


def test_publish_of_an_unchanged_draft_is_refused(demo: Services) -> None:
    draft = _create(demo)
    with pytest.raises(DraftRefused, match="the same as version 1"):
        _publish(demo, draft)
    assert _version_count(demo) == 2


def test_publish_over_someone_elses_publish_is_a_conflict_naming_them(demo: Services) -> None:
    mine, theirs = _create(demo), _create(demo, author=PANEL_CHAIR)
    _save(demo, mine, SHIPPED.replace(CHASE_7, CHASE_14))
    _save(demo, theirs, SHIPPED.replace("Open, awaiting evidence", "Open"), author=PANEL_CHAIR)
    _publish(demo, theirs, author=PANEL_CHAIR, note="Shorter label")
    with pytest.raises(PublishConflict) as info:
        _publish(demo, mine)
    err = info.value
    assert (err.base, err.latest, err.by, err.at) == (1, 2, PANEL_CHAIR, LATER)
    assert f"{PANEL_CHAIR} published version 2" in str(err)
    assert _version_count(demo) == 3
    assert _get(demo, mine.id).is_open


def test_publish_that_would_strand_items_is_refused_listing_them(demo: Services) -> None:
    submit_r1(demo, "x")
    challenge_r1(demo)
    draft = _create(demo)
    renamed = SHIPPED.replace("challenged", "returned")
    _save(demo, draft, renamed)
    with demo.db.engine.connect() as conn:
        spec = drafts._load(renamed, None)
        assert drafts.states_to_map(conn, demo, _get(demo, draft.id), spec) == [
            drafts.StateToMap(state="challenged", label="Challenged by the panel", items=1)
        ]
    with pytest.raises(PublishRefused) as info:
        _publish(demo, draft)
    assert info.value.items == [
        f"{R1}@southend-lscb: in 'challenged', which the version being published lacks"
    ]
    assert _version_count(demo) == 2
    assert _publish(demo, draft, mapping={"challenged": "returned"}) == 2
    with demo.db.engine.connect() as conn:
        assert show(conn, demo.specs, R1)["items"][0]["state"] == "returned"


def test_rolling_back_is_publishing_an_earlier_version(demo: Services) -> None:
    draft = _create(demo)
    _save(demo, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    _publish(demo, draft)
    with demo.db.engine.connect() as conn:
        first = history(conn, "recommendation")[-1]
    back = _create(demo, from_version_id=first.id)
    assert back.text == SHIPPED
    assert back.changes[0].summary == (
        "Started from version 1, to publish it again over version 2",
    )
    assert _publish(demo, back, note="Back to weekly chasing") == 3
    with demo.db.engine.connect() as conn:
        versions = history(conn, "recommendation")
        assert versions[0].sha256 == first.sha256
        assert versions[0].note == "Back to weekly chasing"
        assert show(conn, demo.specs, R1)["items"][0]["workflow_version"] == 3


def test_two_publishers_at_once_one_succeeds_one_conflicts(demo: Services) -> None:
    """The first holds its transaction open until the second has begun publishing; the
    second waits for it (SQLite's write lock, PostgreSQL's row locks) and then conflicts."""
    a, b = _create(demo), _create(demo, author=PANEL_CHAIR)
    _save(demo, a, SHIPPED.replace(CHASE_7, CHASE_14))
    _save(demo, b, SHIPPED.replace("Open, awaiting evidence", "Open"), author=PANEL_CHAIR)
    b_started = threading.Event()
    results: dict[str, object] = {}
    committed_at: list[float] = []

    def first() -> None:
        try:
            with demo.db.write() as conn:
                results["a"] = drafts.publish(
                    conn, demo, a.id, author=BM, note="A", mapping={}, now=LATER
                ).version
                b_started.wait(10)
                time.sleep(0.5)  # the second is now waiting on the lock
            committed_at.append(time.monotonic())
        except Exception as exc:  # the assertion below names it
            results["a"] = exc

    def second() -> None:
        b_started.set()
        try:
            with demo.db.write() as conn:
                results["b"] = drafts.publish(
                    conn, demo, b.id, author=PANEL_CHAIR, note="B", mapping={}, now=LATER
                ).version
        except Exception as exc:
            results["b"] = exc
        results["b_done"] = time.monotonic()

    one = threading.Thread(target=first)
    one.start()
    while "a" not in results and one.is_alive():  # the first has published, not committed
        time.sleep(0.01)
    two = threading.Thread(target=second)
    two.start()
    one.join(20)
    two.join(20)
    assert results["a"] == 2
    assert isinstance(results["b"], PublishConflict), results["b"]
    assert results["b"].by == BM
    assert results["b_done"] >= committed_at[0]  # type: ignore[operator]
    assert _version_count(demo) == 3
    assert _get(demo, b.id).is_open
