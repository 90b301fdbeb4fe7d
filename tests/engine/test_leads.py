"""Lead officers found in the directory by name or email, case and punctuation ignored, with
close matches suggested for the rest (issue 12)."""

from __future__ import annotations

import pytest

from engine.leads import Person, match

PEOPLE = [
    Person(name="Jane O'Neill-Smith", email="jane.smith@sept.example.org", agency="sept"),
    Person(name="Safeguarding Lead", email="lead@probation.example.org", agency="probation"),
    Person(name="Safeguarding Lead", email="lead@homes.example.org", agency="homes"),
    Person(
        name="Designated Nurse Safeguarding Children",
        email="designated.nurse@nhs.example.org",
        agency="nhs",
    ),
]


@pytest.mark.parametrize(
    "written",
    [
        "Jane O'Neill-Smith",
        "jane oneill smith",  # punctuation and case ignored
        "JANE O NEILL SMITH",
        "Jane.Smith@SEPT.example.org",  # an address, case ignored
        "Jane Smith <jane.smith@sept.example.org>",  # a name and an address: the address counts
    ],
)
def test_a_lead_is_found_by_name_or_email(written: str) -> None:
    found = match(written, PEOPLE)
    assert found.person is not None
    assert found.person.email == "jane.smith@sept.example.org"
    assert found.problem is None


def test_a_shared_name_is_the_row_agencys_contact() -> None:
    found = match("Safeguarding Lead", PEOPLE, ["homes"])
    assert found.person is not None
    assert found.person.email == "lead@homes.example.org"


def test_a_shared_name_of_another_agency_is_ambiguous_and_says_so() -> None:
    found = match("safeguarding lead", PEOPLE, ["sept"])
    assert found.person is None
    assert found.problem is not None
    assert "several contacts are called this" in found.problem
    assert "lead@probation.example.org" in found.problem
    assert "lead@homes.example.org" in found.problem
    assert "email address instead" in found.problem


def test_a_misspelt_name_gets_the_close_match() -> None:
    found = match("Jane ONeil-Smith", PEOPLE)
    assert found.person is None
    assert found.suggestions == ("Jane O'Neill-Smith <jane.smith@sept.example.org> (sept)",)
    assert found.problem is not None
    assert "did you mean Jane O'Neill-Smith" in found.problem


def test_a_job_title_written_short_suggests_the_contact_it_is_part_of() -> None:
    found = match("Designated Nurse", PEOPLE)
    assert found.person is None
    assert found.suggestions == (
        "Designated Nurse Safeguarding Children <designated.nurse@nhs.example.org> (nhs)",
    )


def test_an_unknown_address_gets_the_close_address() -> None:
    found = match("jane.smyth@sept.example.org", PEOPLE)
    assert found.person is None
    assert found.problem is not None
    assert "by address" in found.problem
    assert "jane.smith@sept.example.org" in found.problem


def test_nothing_close_is_kept_as_written_with_no_suggestion() -> None:
    found = match("Head of Midwifery", PEOPLE)
    assert found.person is None
    assert found.suggestions == ()
    assert found.problem == (
        "lead officer not found in the directory by name; kept as written (add them to the "
        "directory with a contacts file)"
    )
