"""/admin/workflows over real HTTP: drafts, the YAML page's messages at their lines, the diff,
the diagram, and every refusal of a save or a publish (issue 11)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine import drafts
from engine.services import Services
from engine.versions import history
from tests.conftest import BM, PANEL, PANEL_CHAIR, R1, WORKFLOWS, challenge_r1, submit_r1
from tests.web.conftest import Clock, csrf_of, row_counts, sign_in

SHIPPED = (WORKFLOWS / "recommendation.yaml").read_text()
CHASE_7 = "      chase_every: 7 days\n      # 'ladder'"
CHASE_14 = "      chase_every: 14 days\n      # 'ladder'"
BROKEN = SHIPPED.replace(CHASE_7, "      chase_every: 7 dayz\n      # 'ladder'")
_TEXTAREA = re.compile(r'<textarea[^>]*name="text"[^>]*>(.*?)</textarea>', re.S)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _words(page: str) -> str:
    """The page's text, tags removed and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def manager(demo: Services, clock: Clock, make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(post_limit="1000/minute")
    sign_in(client, demo, BM, clock)
    return client


def _new_draft(client: TestClient) -> str:
    listing = client.get("/admin/workflows")
    made = client.post(
        "/admin/workflows/recommendation/drafts", data={"csrf_token": csrf_of(listing.text)}
    )
    assert made.status_code == 303, made.text
    return str(made.headers["location"])


def _save(client: TestClient, draft: str, text: str, revision: int | None = None) -> int:
    page = client.get(draft + "/yaml")
    if revision is None:
        revision = int(re.search(r'name="revision" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    saved = client.post(
        draft + "/yaml",
        data={"csrf_token": csrf_of(page.text), "revision": str(revision), "text": text},
    )
    return saved.status_code


def _publish(client: TestClient, draft: str, **form: str) -> tuple[int, str]:
    page = client.get(draft + "/publish")
    done = client.post(draft + "/publish", data={"csrf_token": csrf_of(page.text), **form})
    return done.status_code, done.text


def _versions(demo: Services) -> int:
    with demo.db.engine.connect() as conn:
        return len(history(conn, "recommendation"))


def test_the_list_shows_each_workflow_its_version_and_open_drafts(
    demo: Services, manager: TestClient
) -> None:
    draft = _new_draft(manager)
    page = _words(manager.get("/admin/workflows").text)
    assert "Review recommendation (panel sign-off, internal audit, re-audit)" in page
    assert "Published Version 1, 10 January 2011, 9:00am by test" in page
    assert f"Draft {draft.rsplit('/', 1)[1]} {BM}" in page
    assert "Single-agency action" in page or "imr_action" in page


def test_every_page_is_the_plain_404_for_anyone_but_the_business_manager(
    demo: Services, manager: TestClient, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    draft = _new_draft(manager)
    panel = make_client()
    sign_in(panel, demo, PANEL, clock)
    missing = panel.get("/no-such-page")
    for path in (
        "/admin/workflows",
        "/admin/workflows/recommendation/versions",
        draft,
        draft + "/yaml",
        draft + "/publish",
        draft + "/diagram.svg",
    ):
        got = panel.get(path)
        assert (got.status_code, got.text) == (404, missing.text), path


@pytest.mark.parametrize("bad", ["999999", "abc", "1e3", "-1"])
def test_an_unknown_draft_is_the_plain_404(manager: TestClient, bad: str) -> None:
    missing = manager.get("/no-such-page").text
    for part in ("", "/yaml", "/publish", "/diagram.svg"):
        got = manager.get(f"/admin/workflows/drafts/{bad}{part}")
        assert (got.status_code, got.text) == (404, missing), part


def test_an_invalid_draft_is_saved_and_each_message_is_beside_its_line(
    demo: Services, manager: TestClient
) -> None:
    draft = _new_draft(manager)
    assert _save(manager, draft, BROKEN) == 303
    page = manager.get(draft + "/yaml?saved=1").text
    line = _line_of(BROKEN, "7 dayz")
    message = "states.open.deadline.chase_every: cannot read '7 dayz' as a duration"
    start = page.index("govuk-error-summary")
    summary = page[start : page.index("</ul>", start)]
    assert f'href="#line-{line}"' in summary
    assert f"Line {line}: {message}" in html.unescape(summary)
    row = page[page.index(f'id="line-{line}"') :]
    assert "chase_every: 7 dayz" in row[: row.index("</tr>")]
    under = row[row.index("</tr>") : row.index("</tr>", row.index("</tr>") + 5)]
    assert message in html.unescape(under)
    assert 'class="govuk-error-message' in under
    assert html.unescape(_TEXTAREA.search(page).group(1)).lstrip("\n") == BROKEN  # type: ignore[union-attr]
    assert "Draft saved (revision 2)" in _words(page)
    with demo.db.engine.connect() as conn:
        assert drafts.get(conn, int(draft.rsplit("/", 1)[1])).text == BROKEN


def test_a_stale_save_is_refused_naming_who_saved_first_and_keeping_the_text(
    demo: Services, manager: TestClient, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    draft = _new_draft(manager)
    chair = make_client()
    sign_in(chair, demo, PANEL_CHAIR, clock)
    with demo.db.write() as conn:  # the chair is not a business manager: saved through the engine
        drafts.save_text(
            conn, int(draft.rsplit("/", 1)[1]), text=SHIPPED.replace(CHASE_7, CHASE_14),
            author=PANEL_CHAIR, now=clock.now, expected_revision=1,
        )  # fmt: skip
    mine = SHIPPED.replace("Open, awaiting evidence", "Open")
    page = manager.get(draft + "/yaml")
    refused = manager.post(
        draft + "/yaml", data={"csrf_token": csrf_of(page.text), "revision": "1", "text": mine}
    )
    assert refused.status_code == 409
    words = _words(refused.text)
    assert f"{PANEL_CHAIR} saved this draft at 10 January 2011, 10:00am" in words
    assert "your text was not saved" in words
    assert html.unescape(_TEXTAREA.search(refused.text).group(1)).lstrip("\n") == mine  # type: ignore[union-attr]
    with demo.db.engine.connect() as conn:
        assert "chase_every: 14 days" in drafts.get(conn, int(draft.rsplit("/", 1)[1])).text


def test_a_save_with_an_expired_form_keeps_the_text_and_saves_nothing(
    demo: Services, manager: TestClient
) -> None:
    draft = _new_draft(manager)
    before = row_counts(demo)
    refused = manager.post(draft + "/yaml", data={"csrf_token": "forged", "revision": "1",
                                                  "text": BROKEN})  # fmt: skip
    assert refused.status_code == 400
    assert "open too long to save safely" in _words(refused.text)
    assert html.unescape(_TEXTAREA.search(refused.text).group(1)).lstrip("\n") == BROKEN  # type: ignore[union-attr]
    assert row_counts(demo) == before


def test_a_text_too_large_is_refused_and_kept(demo: Services, manager: TestClient) -> None:
    draft = _new_draft(manager)
    huge = SHIPPED + "#" + "x" * (1024 * 1024)
    page = manager.get(draft + "/yaml")
    refused = manager.post(
        draft + "/yaml", data={"csrf_token": csrf_of(page.text), "revision": "1", "text": huge}
    )
    assert refused.status_code == 422
    assert "The YAML is larger than 1024 KiB" in _words(refused.text)
    assert html.unescape(_TEXTAREA.search(refused.text).group(1)).lstrip("\n") == huge  # type: ignore[union-attr]
    with demo.db.engine.connect() as conn:
        assert drafts.get(conn, int(draft.rsplit("/", 1)[1])).revision == 1


def test_the_draft_page_shows_changes_diff_and_an_accessible_diagram(
    manager: TestClient,
) -> None:
    draft = _new_draft(manager)
    assert _save(manager, draft, SHIPPED.replace(CHASE_7, CHASE_14)) == 303
    page = manager.get(draft).text
    words = _words(page)
    assert "Ready to publish" in words
    assert f"{BM} State open: chase every 7 days → 14 days" in words  # who changed what
    assert "Differences from version 1, in words State open: chase every 7 days → 14 days" in words
    line = _line_of(SHIPPED, "chase_every: 7 days")
    assert f"− Removed {line} chase_every: 7 days" in words
    assert f"+ Added {line} chase_every: 14 days" in words
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg
    assert 'aria-labelledby="draft-diagram-title"' in svg
    assert '<title id="draft-diagram-title">Diagram of the Review recommendation' in svg
    assert "clock paused" in svg
    assert "<script" not in page.split("<svg")[1].split("</svg>")[0]
    table = page[page.index('id="transitions"') :]
    assert "Submit evidence" in table
    assert "Evidence submitted, awaiting panel (clock paused)" in table


def test_the_full_size_diagram_is_an_image_that_runs_nothing(manager: TestClient) -> None:
    draft = _new_draft(manager)
    got = manager.get(draft + "/diagram.svg")
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/svg+xml"
    assert got.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert got.text.startswith('<svg xmlns="http://www.w3.org/2000/svg"')


def test_publishing_records_the_note_and_shows_the_version(
    demo: Services, manager: TestClient
) -> None:
    draft = _new_draft(manager)
    _save(manager, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    status, _text = _publish(manager, draft, note="Agencies asked for fortnightly chasing")
    assert status == 303
    page = _words(manager.get("/admin/workflows/recommendation/versions?published=2").text)
    assert "Version 2 is published" in page
    assert f"2 (published now) 10 January 2011, 10:00am {BM} Agencies asked for" in page
    with demo.db.engine.connect() as conn:
        assert history(conn, "recommendation")[0].note == "Agencies asked for fortnightly chasing"


def test_the_publish_page_previews_the_emails_that_change(
    demo: Services, manager: TestClient
) -> None:
    draft = _new_draft(manager)
    _save(manager, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    page = _words(manager.get(draft + "/publish").text)
    assert "What publishing will do Emails in the next 30 days" in page
    assert re.search(r"\d+ fewer emails? in the next 30 days", page), page


@pytest.mark.parametrize("note", ["", "   "])
def test_publish_without_a_note_is_refused_inline(
    demo: Services, manager: TestClient, note: str
) -> None:
    draft = _new_draft(manager)
    _save(manager, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    status, text = _publish(manager, draft, note=note)
    assert status == 422
    assert 'href="#note">Enter why the workflow is changing' in text
    assert 'id="note-error"' in text
    assert _versions(demo) == 1


def test_publish_of_an_invalid_draft_lists_its_problems(
    demo: Services, manager: TestClient
) -> None:
    draft = _new_draft(manager)
    _save(manager, draft, BROKEN)
    status, text = _publish(manager, draft, note="Try")
    assert status == 422
    line = _line_of(BROKEN, "7 dayz")
    assert f'href="{draft}/yaml#line-{line}">Line {line}: states.open.deadline' in text
    assert _versions(demo) == 1


def test_publish_that_would_strand_items_lists_them_and_asks_where(
    demo: Services, manager: TestClient
) -> None:
    submit_r1(demo, "x")
    challenge_r1(demo)
    draft = _new_draft(manager)
    _save(manager, draft, SHIPPED.replace("challenged", "returned"))
    before = row_counts(demo)
    status, text = _publish(manager, draft, note="Rename")
    assert status == 422
    words = _words(text)
    assert "1 item(s) would be left in a state the new version lacks" in words
    assert f"{R1}@southend-lscb: in 'challenged', which the version being published lacks" in words
    assert 'id="map-challenged-error"' in text
    assert row_counts(demo) == before
    status, _ = _publish(manager, draft, note="Rename", **{"map-challenged": "returned"})
    assert status == 303
    assert _versions(demo) == 2


def test_a_mapping_to_a_state_the_draft_lacks_is_refused(
    demo: Services, manager: TestClient
) -> None:
    submit_r1(demo, "x")
    challenge_r1(demo)
    draft = _new_draft(manager)
    _save(manager, draft, SHIPPED.replace("challenged", "returned"))
    status, text = _publish(manager, draft, note="Rename", **{"map-challenged": "retuned"})
    assert status == 422
    assert "Unknown state 'retuned'; did you mean 'returned'?" in _words(text)
    assert 'id="map-challenged-error"' in text
    assert _versions(demo) == 1


def test_publish_after_someone_else_published_is_a_conflict_naming_them(
    demo: Services, manager: TestClient, clock: Clock
) -> None:
    mine, theirs = _new_draft(manager), _new_draft(manager)
    _save(manager, mine, SHIPPED.replace(CHASE_7, CHASE_14))
    with demo.db.write() as conn:
        drafts.save_text(
            conn, int(theirs.rsplit("/", 1)[1]), text=SHIPPED.replace("Open, awaiting evidence",
            "Open"), author=PANEL_CHAIR, now=clock.now, expected_revision=1,
        )  # fmt: skip
        drafts.publish(conn, demo, int(theirs.rsplit("/", 1)[1]), author=PANEL_CHAIR,
                       note="Shorter", mapping={}, now=clock.now)  # fmt: skip
    status, text = _publish(manager, mine, note="Fortnightly")
    assert status == 409
    assert (
        f"{PANEL_CHAIR} published version 2 on 10 January 2011, 10:00am, after this draft was "
        "started from version 1"
    ) in _words(text)
    assert _versions(demo) == 2


def test_publish_of_an_unchanged_draft_is_refused(demo: Services, manager: TestClient) -> None:
    draft = _new_draft(manager)
    status, text = _publish(manager, draft, note="Nothing")
    assert status == 422
    assert "The draft is the same as version 1, the published one" in _words(text)
    assert _versions(demo) == 1


def test_a_discarded_draft_cannot_be_published(demo: Services, manager: TestClient) -> None:
    draft = _new_draft(manager)
    _save(manager, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    page = manager.get(draft)
    assert (
        manager.post(draft + "/discard", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    )
    status, text = _publish(manager, draft, note="Late")
    assert status == 409
    assert "is discarded; create a new draft" in _words(text)
    assert _versions(demo) == 1


def test_publish_with_an_expired_form_publishes_nothing(
    demo: Services, manager: TestClient
) -> None:
    draft = _new_draft(manager)
    _save(manager, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    before = row_counts(demo)
    refused = manager.post(draft + "/publish", data={"csrf_token": "x", "note": "Typed"})
    assert refused.status_code == 400
    assert ">Typed</textarea>" in refused.text
    assert row_counts(demo) == before


def test_republishing_an_earlier_version_rolls_back(demo: Services, manager: TestClient) -> None:
    draft = _new_draft(manager)
    _save(manager, draft, SHIPPED.replace(CHASE_7, CHASE_14))
    _publish(manager, draft, note="Fortnightly")
    versions_page = manager.get("/admin/workflows/recommendation/versions")
    made = manager.post(
        "/admin/workflows/recommendation/versions/1/republish",
        data={"csrf_token": csrf_of(versions_page.text)},
    )
    assert made.status_code == 303
    back = made.headers["location"]
    assert back.endswith("/publish")
    assert "State open: chase every 14 days → 7 days" in _words(manager.get(back).text)
    status, _ = _publish(manager, back.removesuffix("/publish"), note="Back to weekly")
    assert status == 303
    with demo.db.engine.connect() as conn:
        newest, _, first = history(conn, "recommendation")
        assert (newest.version, newest.sha256, newest.note) == (3, first.sha256, "Back to weekly")
        assert conn.execute(sa.text("SELECT count(*) FROM workflow_draft")).scalar_one() == 2


def test_republishing_a_version_that_does_not_exist_is_the_plain_404(
    manager: TestClient,
) -> None:
    page = manager.get("/admin/workflows/recommendation/versions")
    got = manager.post(
        "/admin/workflows/recommendation/versions/7/republish",
        data={"csrf_token": csrf_of(page.text)},
    )
    assert got.status_code == 404


def test_a_draft_not_yet_changed_says_so_rather_than_ready_to_publish(
    manager: TestClient,
) -> None:
    draft = _new_draft(manager)
    words = _words(manager.get(draft).text)
    assert "No changes yet the same as version 1" in words
    assert "Ready to publish" not in words
    assert _save(manager, draft, SHIPPED.replace(CHASE_7, CHASE_14)) == 303
    assert "Ready to publish" in _words(manager.get(draft).text)
