"""What an email may say about an item, read for a batch of rows in one pass."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from engine.mail_facts import read_mail_facts
from engine.services import Services
from tests.conftest import BM, OTHER_AGENCY, REVIEW, make_item


def r1_id(services: Services) -> int:
    with services.db.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT item.id FROM item JOIN recommendation r"
                    " ON r.id = item.recommendation_id WHERE r.ref = 'R1'"
                )
            ).scalar_one()
        )


def test_an_item_comes_with_its_email_safe_names_and_spec(demo: Services) -> None:
    item_id = r1_id(demo)
    facts = read_mail_facts(demo, [item_id, item_id], [BM])
    item = facts.items[item_id]
    assert (item.ref, item.state, item.due) == ("R1", "open", dt.date(2011, 4, 1))
    assert (item.review_id, item.agency_id) == (REVIEW, "southend-lscb")
    assert item.agency_name
    assert item.board
    # no email name or summary marked safe: the review's id, and no summary; never the
    # review's title or the recommendation's text
    assert (item.review_name, item.summary) == (REVIEW, "")
    assert not hasattr(item, "title")
    assert not hasattr(item, "review_title")
    assert item.board_item  # the LSCB's own item: its agency holds the business manager
    assert facts.signer == "LSCB Business Manager"
    assert item.spec.states[item.state].label


def test_an_agency_item_is_not_the_board_s(demo: Services) -> None:
    new = make_item(demo, ref="T1", due=None, agency="sept")
    assert not read_mail_facts(demo, [new], []).items[new].board_item


def test_a_person_is_found_in_the_item_agency_or_else_anywhere(demo: Services) -> None:
    facts = read_mail_facts(demo, [], [BM, OTHER_AGENCY, "nobody@example.org"])
    assert facts.items == {}
    found = facts.person(BM, "southend-lscb")
    assert found is not None
    assert (found.name, found.role) == ("LSCB Business Manager", "business_manager")
    assert facts.person(BM, "sept") == found  # listed elsewhere only: the first listing
    assert facts.person(BM) == found
    nurse = facts.person(OTHER_AGENCY, "sept")
    assert nurse is not None
    assert nurse.agency_id == "sept"
    assert facts.person("nobody@example.org") is None
    assert facts.person("chair@southend-lscb.example.org") is None  # not asked for


def test_items_that_do_not_exist_are_left_out(demo: Services) -> None:
    new = make_item(demo, ref="T1", due=None, agency="sept")
    facts = read_mail_facts(demo, [new, 10_000], [])
    assert set(facts.items) == {new}
    assert facts.items[new].due is None
    assert facts.people == {}
