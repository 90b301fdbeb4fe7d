"""The personal-data lint, and no template variable that could carry a plan's free text."""

from __future__ import annotations

import dataclasses

import pytest

from engine.errors import TemplateError
from engine.mail_facts import ItemFacts
from engine.privacy import Field, Severity, check, looks_like
from notifications.templates import ALLOWED_VARIABLES, DIGEST_ITEM_KEYS, validate


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Child D (Ellie Butler)", "a child's name"),
        ("Baby Ellie", "a child's name"),
        ("child Tom's referral", "a child's name"),
        ("DOB 12/03/2015", "a date of birth"),
        ("d.o.b. unknown", "a date of birth"),
        ("born in Southend", "a date of birth"),
        ("seen 3 March 2014", "a full date"),
        ("seen on 2014-03-03", "a full date"),
        ("lives in SS1 2AB", "a UK postcode"),
        ("postcode ss12ab", "a UK postcode"),
        ("14 Acacia Avenue", "a street address"),
        ("2 High St", "a street address"),
        ("Flat 3", "a street address"),
        ("call 01702 123456", "a phone number"),
        ("+44 20 7946 0958", "a phone number"),
        ("07700-900123", "a phone number"),
        ("mum is jo@example.org", "an email address"),
    ],
)
def test_likely_personal_data_is_named(text: str, kind: str) -> None:
    assert any(found.startswith(kind) for found in looks_like(text)), looks_like(text)


@pytest.mark.parametrize(
    "text",
    [
        "Baby R",
        "Child A",
        "Children BB and CC",
        "Panel terms of reference",
        "SCR follow-up audit 2010",
        "Report by March 2012",
        "Training for 250 staff by 2012",
        "Section 11 audit, 2011-2012",
        "Recommendations 1 to 3",
        "R4.2 multi-agency training",
    ],
)
def test_what_boards_write_anyway_passes(text: str) -> None:
    assert looks_like(text) == []


def test_an_email_field_warns_and_other_text_informs_and_neither_repeats_the_text() -> None:
    found = check(
        [
            Field(row="review", field="email_name", text="Ellie B 12/03/2015", in_email=True),
            Field(row="review", field="title", text="Child D (Ellie Butler)", in_email=False),
            Field(row="r[0] (R1)", field="email_summary", text="Supervision", in_email=True),
            Field(row="r[1] (R2)", field="email_summary", text=None, in_email=True),
        ]
    )
    assert [(f.row, f.field, f.severity) for f in found] == [
        ("review", "email_name", Severity.WARNING),
        ("review", "title", Severity.INFO),
    ]
    assert "goes into emails" in found[0].message
    assert "never goes into emails" in found[1].message
    for f in found:
        assert "Ellie" not in f.message
        assert "12/03/2015" not in f.message


FREE_TEXT = {
    "title",
    "review_title",
    "text",
    "agreed_action",
    "risk_if_not_actioned",
    "note",
    "statement",
    "reason",
    "asked",
    "lead",
    "source_document",
    "evidence",
}


def test_no_template_variable_carries_a_plan_s_free_text() -> None:
    for kind, allowed in ALLOWED_VARIABLES.items():
        assert not allowed & FREE_TEXT, kind
    assert not DIGEST_ITEM_KEYS & FREE_TEXT
    facts = {f.name for f in dataclasses.fields(ItemFacts)}
    assert not facts & FREE_TEXT


@pytest.mark.parametrize("name", ["title", "review_title", "agreed_action", "note"])
def test_a_template_asking_for_free_text_is_refused(name: str) -> None:
    with pytest.raises(TemplateError) as info:
        validate("reminder", f"Subject: x\n{{{{ {name} }}}}\n", "<p></p>")
    assert f"unknown variable {name!r}" in str(info.value)
