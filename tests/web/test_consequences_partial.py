"""The ``_consequences.html`` partial shows a preview as a page includes it: the total in
words, each person's added, removed and moved emails, the items moving and the stranded."""

from __future__ import annotations

from pathlib import Path

from engine.consequences import Consequences, preview
from engine.services import Services
from tests.engine.test_consequences import (
    CHASE_14,
    LSCB,
    NHS,
    NOW,
    NURSE,
    REVIEW,
    WITHOUT_CHALLENGED,
    candidate,
    challenge,
    hand_built,
)
from web.pages import Pages


def render(c: Consequences, **extra: object) -> str:
    return Pages().env.get_template("_consequences.html").render(consequences=c, **extra)


def text_of(html: str) -> str:
    return " ".join(html.split())


def test_the_partial_lists_fewer_emails_per_person(published: Services, tmp_path: Path) -> None:
    hand_built(published, tmp_path, [("N1", NHS, "2011-02-01")])
    c = preview(published, workflow="recommendation", candidate=candidate(CHASE_14), mapping={},
                now=NOW, days=60)  # fmt: skip
    page = text_of(render(c))
    assert "3 fewer emails in the next 60 days" in page
    assert f"{NURSE}: 0 added, 3 removed, 2 moved" in page
    item = f"{REVIEW}/N1@{NHS}"
    assert (
        f'<td class="govuk-table__cell">Moved</td> <td class="govuk-table__cell">Chase, in a '
        f'digest</td> <td class="govuk-table__cell">{item}</td> <td class="govuk-table__cell">'
        "16 February 2011, 9:00am (was 9 February 2011, 9:00am)</td>"
    ) in page
    assert page.count('<td class="govuk-table__cell">Removed</td>') == 3
    assert "1 open item moves to the new version, each keeping its state." in page
    assert "stranded" not in page
    assert "And 1 more not shown." in text_of(render(c, consequences_limit=2))


def test_the_partial_warns_of_stranded_items(published: Services, tmp_path: Path) -> None:
    hand_built(published, tmp_path, [("B1", LSCB, "2011-03-01")])
    challenge(published, "B1")
    c = preview(published, workflow="recommendation", candidate=candidate(WITHOUT_CHALLENGED),
                mapping={}, now=NOW)  # fmt: skip
    page = text_of(render(c))
    assert "1 item is in a state the new version does not have (challenged)" in page
    assert "Items that would be stranded" in page
    cell = '<td class="govuk-table__cell">'
    assert f"{REVIEW}/B1@{LSCB}</td> {cell}Challenged by the panel (challenged)" in page
    assert "The same number of emails in the next 30 days" in page
    moved = preview(published, workflow="recommendation", candidate=candidate(WITHOUT_CHALLENGED),
                    mapping={"challenged": "open"}, now=NOW)  # fmt: skip
    page = text_of(render(moved))
    assert "1 open item moves to the new version; 1 changes state." in page
    assert "Challenged by the panel (challenged)</td> <td" in page
    assert "Open, awaiting evidence (open)</td>" in page
