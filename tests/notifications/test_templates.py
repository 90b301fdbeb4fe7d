"""Notification templates: the shipped ones render, and hostile admin edits are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import notifications.templates as module
from engine.errors import SignoffError
from notifications.templates import (
    ALLOWED_VARIABLES,
    DIGEST_ITEM_KEYS,
    KINDS,
    MAX_SIZE,
    SAMPLE_CONTEXT,
    TEMPLATE_DIR,
    TemplateError,
    Templates,
    available,
    kind_of,
    template_version,
    validate,
)

HTML = "<p>{{ ref }}</p>\n"
REMINDER_ALLOWED = (
    "allowed: ['agency_name', 'board_name', 'days_overdue', 'due', 'expected', 'link', "
    "'overdue_since', 'owed', 'owed_by', 'recipient_name', 'ref', 'reply_to', 'review_name', "
    "'review_ref', 'sender_name', 'sender_role', 'state_label', 'summary', 'urgent']"
)
PRIVATE = "(names starting with '_' or containing '__' are private)"


def sources(name: str) -> tuple[str, str]:
    return (
        (TEMPLATE_DIR / f"{name}.txt.j2").read_text(encoding="utf-8"),
        (TEMPLATE_DIR / f"{name}.html.j2").read_text(encoding="utf-8"),
    )


def sample_items() -> list[dict[str, object]]:
    items = SAMPLE_CONTEXT["digest"]["items"]
    assert isinstance(items, list)
    return [dict(item) for item in items]


SAMPLE_ITEMS = sample_items()


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates()


# -- the shipped templates -------------------------------------------------------------------


def test_every_kind_ships_with_both_parts() -> None:
    assert available() == frozenset(KINDS)


@pytest.mark.parametrize("name", KINDS)
def test_shipped_template_passes_validate(name: str) -> None:
    validate(name, *sources(name))


@pytest.mark.parametrize("name", KINDS)
def test_shipped_template_renders_its_sample(templates: Templates, name: str) -> None:
    r = templates.render(name, SAMPLE_CONTEXT[name])
    assert r.subject
    assert r.subject == r.subject.strip()
    assert not re.search(r"[\r\n]", r.subject)
    assert not r.subject.startswith("Subject:")
    assert not r.text.startswith(("\n", "Subject:"))
    assert r.text.endswith("\n")
    assert "LSCB Business Manager" in r.text
    assert "LSCB Business Manager" in r.html
    assert r.html.startswith("<!DOCTYPE html>")
    assert '<html lang="en-GB">' in r.html
    # Self-contained: no remote or embedded assets, no script, no stylesheet links.
    for banned in ("src=", "<link", "<script", "@import", "url("):
        assert banned not in r.html
    assert r.template_version == template_version(*sources(name))
    assert re.fullmatch(r"[0-9a-f]{12}", r.template_version)


# a receipt has no link: the request's link is spent once it is answered; a sign-in email is
# about no item
@pytest.mark.parametrize(
    "name", [k for k in KINDS if k not in ("digest", "failures", "receipt", "sign_in")]
)
def test_single_item_emails_carry_the_link_and_the_reference(
    templates: Templates, name: str
) -> None:
    context = SAMPLE_CONTEXT[name]
    r = templates.render(name, context)
    for part in (r.text, r.html):
        assert str(context["link"]) in part
        assert "R1" in part
    assert "R1" in r.subject


def test_receipt_says_what_arrived_and_what_happens_next(templates: Templates) -> None:
    r = templates.render("receipt", SAMPLE_CONTEXT["receipt"])
    assert r.subject.startswith("Evidence received: R1")
    for part in (r.text, r.html):
        assert "1 file" in part
        assert "a written statement" in part
        assert "The panel will review the evidence" in part
        assert "Evidence submitted, awaiting panel" in part


def test_request_says_what_by_when_and_how(templates: Templates) -> None:
    r = templates.render("request", SAMPLE_CONTEXT["request"])
    assert r.subject == "Evidence needed by 1 April 2011: R1 Panel terms of reference"
    assert "What we need\nThe revised terms of reference" in r.text
    assert "By 1 April 2011." in r.text
    assert "reply to this email and attach your evidence" in r.text


@pytest.mark.parametrize(
    ("days_overdue", "expected"),
    [
        (-3, "is due in 3 days, on 1 April 2011."),
        (-1, "is due in 1 day, on 1 April 2011."),
        (0, "is due today, 1 April 2011."),
        (2, "was due on 1 April 2011. It has been overdue since 2 April 2011."),
    ],
)
def test_reminder_counts_the_days(templates: Templates, days_overdue: int, expected: str) -> None:
    r = templates.render("reminder", {**SAMPLE_CONTEXT["reminder"], "days_overdue": days_overdue})
    assert f"recommendation R1 {expected}" in r.text


def test_chase_and_escalation_say_how_late(templates: Templates) -> None:
    chase = templates.render("chase", SAMPLE_CONTEXT["chase"])
    assert "It has been overdue since 2 April 2011." in chase.text
    escalation = templates.render("escalation", SAMPLE_CONTEXT["escalation"])
    assert escalation.subject.startswith("Urgent: Escalation step 2: R1 overdue since 2 April 2011")
    assert escalation.text.startswith("Dear Chief Executive,")
    assert "This is step 2 of the board's escalation process." in escalation.text


def test_digest_lists_every_item(templates: Templates) -> None:
    r = templates.render("digest", SAMPLE_CONTEXT["digest"])
    assert r.subject == "Urgent: Southend LSCB: 2 overdue items escalated to you"
    assert "Due: 1 April 2011, overdue since 2 April 2011\n" in r.text
    assert "R4: Referral form audit (urgent)\n" in r.text
    assert "These items are overdue and have been escalated to you." in r.text
    assert r.html.count("/items/southend-iawg-scr-audit-2010/R") == 2
    sample = SAMPLE_CONTEXT["digest"]["items"]
    items = [{**i, "days_overdue": -3, "urgent": False} for i in sample]  # type: ignore[attr-defined]
    soon = templates.render(
        "digest", {**SAMPLE_CONTEXT["digest"], "kind": "reminder", "urgent": False, "items": items}
    )
    assert soon.subject == "Southend LSCB: 2 items due soon"
    assert "Due: in 3 days, on 30 April 2011\n" in soon.text
    empty = templates.render("digest", {**SAMPLE_CONTEXT["digest"], "items": [], "urgent": False})
    assert empty.subject == "Southend LSCB: 0 overdue items escalated to you"
    assert "Nothing needs your attention" in empty.text


def test_decision_points_to_the_reasons_instead_of_quoting_them(templates: Templates) -> None:
    r = templates.render("decision", SAMPLE_CONTEXT["decision"])
    assert r.subject.startswith("Evidence challenged by the panel: R1 ")
    assert "has moved to: Challenged by the panel." in r.text
    assert "read the reasons for this decision" in r.text


def test_html_escapes_context_and_text_does_not(templates: Templates) -> None:
    title = "<script>alert('x')</script> & co"
    r = templates.render("request", {**SAMPLE_CONTEXT["request"], "summary": title})
    assert "<script>" not in r.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in r.html
    assert title in r.text
    assert title in r.subject


# -- the allowed variables -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sample_context_gives_exactly_the_allowed_variables(kind: str) -> None:
    assert set(SAMPLE_CONTEXT[kind]) == ALLOWED_VARIABLES[kind]


def test_digest_sample_items_have_exactly_the_item_keys() -> None:
    items = SAMPLE_CONTEXT["digest"]["items"]
    assert isinstance(items, list)
    assert all(set(item) == DIGEST_ITEM_KEYS for item in items)


def test_module_docstring_documents_every_variable() -> None:
    doc = module.__doc__ or ""
    for name in set().union(*ALLOWED_VARIABLES.values(), DIGEST_ITEM_KEYS):
        assert f"``{name}``" in doc, name


def test_no_kind_offers_case_detail_or_reasons() -> None:
    everything = set().union(*ALLOWED_VARIABLES.values(), DIGEST_ITEM_KEYS)
    for word in ("child", "name_of", "dob", "address", "reason", "case", "text", "comment"):
        assert not [v for v in everything if word in v], word


# -- hostile and broken templates ------------------------------------------------------------

HOSTILE_TEXT = [
    pytest.param(
        "Subject: x\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n",
        f"line 2: access to '__class__' is not allowed {PRIVATE}",
        id="mro-subclasses",
    ),
    pytest.param(
        "Subject: x\n{{ ''.__class__.__mro__ }}\n",
        f"line 2: access to '__class__' is not allowed {PRIVATE}",
        id="class-mro",
    ),
    pytest.param(
        "Subject: x\n\n{{ cycler.__init__.__globals__ }}\n",
        f"line 3: access to '__init__' is not allowed {PRIVATE}",
        id="cycler-globals",
    ),
    pytest.param(
        "Subject: x\n{{ lipsum.__globals__['os'] }}\n",
        f"line 2: access to '__globals__' is not allowed {PRIVATE}",
        id="lipsum-globals",
    ),
    pytest.param(
        "Subject: x\n{{ self._TemplateReference__context }}\n",
        f"line 2: access to '_TemplateReference__context' is not allowed {PRIVATE}",
        id="self-context",
    ),
    pytest.param("Subject: x\n{{ self }}\n", "line 2: 'self' is not allowed", id="self"),
    pytest.param(
        "Subject: x\n{{ ref['__class__'] }}\n",
        f"line 2: access to '__class__' is not allowed {PRIVATE}",
        id="getitem-dunder",
    ),
    pytest.param(
        "Subject: x\n{{ ref|attr('__class__') }}\n",
        "line 2: the 'attr' filter is not allowed",
        id="attr-filter",
    ),
    pytest.param(
        "Subject: x\n{{ ref|attr('upper') }}\n",
        "line 2: the 'attr' filter is not allowed",
        id="attr-filter-harmless-name",
    ),
    pytest.param(
        "Subject: x\n{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}\n",
        f"line 2: access to '__class__' is not allowed {PRIVATE}",
        id="for-subclasses",
    ),
    pytest.param(
        "Subject: x\n{{ config }}\n",
        "line 2: unknown variable 'config'; " + REMINDER_ALLOWED,
        id="config",
    ),
    pytest.param(
        "Subject: x\n{{ request.application }}\n",
        "line 2: unknown variable 'request'; " + REMINDER_ALLOWED,
        id="flask-request",
    ),
    pytest.param(
        "Subject: x\n{{ range(10**9)|list }}\n",
        "line 2: '**' is not allowed",
        id="huge-range",
    ),
    pytest.param(
        "Subject: x\n{{ range(100)|list }}\n",
        "line 2: calling functions or methods is not allowed",
        id="range-call",
    ),
    pytest.param(
        "Subject: x\n{{ 10**10**10 }}\n",
        "line 2: '**' is not allowed",
        id="power",
    ),
    pytest.param(
        "Subject: x\n{{ 'a' * 1000000000 }}\n",
        f"line 2: not allowed in the sandbox: '*' would build a value longer than {MAX_SIZE} "
        "(with the sample context)",
        id="string-bomb",
    ),
    pytest.param(
        "Subject: x\n{{ summary.upper() }}\n",
        "line 2: calling functions or methods is not allowed",
        id="method-call",
    ),
    pytest.param(
        "Subject: x\n{% include '/etc/passwd' %}\n",
        "line 2: the 'include' tag is not allowed: templates stand alone",
        id="include",
    ),
    pytest.param(
        "Subject: x\n{% import 'macros.j2' as m %}\n",
        "line 2: the 'import' tag is not allowed: templates stand alone",
        id="import",
    ),
    pytest.param(
        "Subject: x\n{% from 'macros.j2' import m %}\n",
        "line 2: the 'from ... import' tag is not allowed: templates stand alone",
        id="from-import",
    ),
    pytest.param(
        "Subject: x\n{% extends '/etc/passwd' %}\n",
        "line 2: the 'extends' tag is not allowed: templates stand alone",
        id="extends",
    ),
    pytest.param(
        "Subject: x\n{% macro m() %}{{ ref }}{% endmacro %}\n",
        "line 2: the 'macro' tag is not allowed: templates stand alone",
        id="macro",
    ),
    pytest.param(
        "Subject: x\n{% block b %}{% endblock %}\n",
        "line 2: the 'block' tag is not allowed: templates stand alone",
        id="block",
    ),
    pytest.param(
        "Subject: x\n{{ summary[ref] }}\n",
        "line 2: only literal subscripts are allowed, such as items[0] or item['ref']",
        id="dynamic-subscript",
    ),
    pytest.param(
        "Subject: x\n{{ summary|format(ref) }}\n",
        "line 2: the 'format' filter is not allowed",
        id="format-filter",
    ),
    pytest.param(
        "Subject: x\n{{ [ref]|join(attribute='__class__') }}\n",
        f"line 2: access to '__class__' is not allowed {PRIVATE}",
        id="attribute-keyword",
    ),
    pytest.param(
        "Subject: x\n{% for a in ref %}{% for b in ref %}{% for c in ref %}"
        "{% endfor %}{% endfor %}{% endfor %}\n",
        "line 2: loops may be nested at most 2 deep",
        id="nested-loops",
    ),
    pytest.param(
        "Subject: x\n\n{% if ref %}\n{{ ref }\n",
        "line 4: syntax error: unexpected '}'",
        id="syntax-error",
    ),
    pytest.param(
        "Subject: {{ ref\n\nbody\n",
        "line 1: syntax error: unexpected end of template",
        id="syntax-error-in-subject",
    ),
    pytest.param(
        "Subject: x\n\n\n{{ ref_no }}\n",
        "line 4: unknown variable 'ref_no'; did you mean 'ref'?; " + REMINDER_ALLOWED,
        id="unknown-variable",
    ),
    pytest.param(
        "Dear {{ recipient_name }},\n",
        "line 1: the first line must be the subject, 'Subject: ...'; "
        "found 'Dear {{ recipient_name }},'",
        id="missing-subject",
    ),
    pytest.param(
        "\nSubject: x\n",
        "line 1: the first line must be the subject",
        id="subject-not-first",
    ),
    pytest.param(
        "Subject: {{ '\\r\\nBcc: victim@example.org' }}\nbody\n",
        "line 1: the subject contains a line break",
        id="line-break-in-subject-literal",
    ),
    pytest.param(
        "Subject: {{ '' }}\nbody\n",
        "line 1: the subject is empty (with the sample context)",
        id="empty-subject",
    ),
    pytest.param(
        "Subject: x\n{{ 1 // 0 }}\n",
        "line 2: cannot render: ZeroDivisionError",
        id="runtime-error",
    ),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE_TEXT)
def test_validate_refuses_hostile_text(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        validate("reminder", text, HTML)
    assert str(info.value).startswith(f"template 'reminder' (text) {message}")
    assert info.value.name == "reminder"
    assert info.value.part == "text"
    assert info.value.line == int(message.split(":")[0].removeprefix("line "))


HOSTILE_HTML = [
    pytest.param("<p>{{ ref|safe }}</p>", "line 1: the 'safe' filter is not allowed", id="safe"),
    pytest.param(
        "<p>\n{% autoescape false %}{{ summary }}{% endautoescape %}</p>",
        "line 2: the 'autoescape' tag is not allowed: templates stand alone",
        id="autoescape-off",
    ),
    pytest.param(
        "<p>{{ link.__class__ }}</p>",
        f"line 1: access to '__class__' is not allowed {PRIVATE}",
        id="dunder",
    ),
    pytest.param(
        "<p>{{ child_name }}</p>",
        "line 1: unknown variable 'child_name'",
        id="child-name",
    ),
]


@pytest.mark.parametrize(("html", "message"), HOSTILE_HTML)
def test_validate_refuses_hostile_html(html: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(f"template 'reminder' (html) {message}")):
        validate("reminder", "Subject: {{ ref }}\n", html)


def test_the_sandbox_refuses_mutating_methods_at_sample_render() -> None:
    with pytest.raises(TemplateError) as info:
        validate("digest", "Subject: x\n{{ items.append }}\n", HTML.replace("ref", "board_name"))
    assert str(info.value) == (
        "template 'digest' (text) line 2: not allowed in the sandbox: access to attribute "
        "'append' of 'list' object is unsafe. (with the sample context)"
    )


def test_unknown_digest_item_key_is_named_with_a_suggestion() -> None:
    text = "Subject: x\n{% for item in items %}\n{{ item.ref_no }}\n{% endfor %}\n"
    with pytest.raises(TemplateError) as info:
        validate("digest", text, "<p></p>")
    assert str(info.value) == (
        "template 'digest' (text) line 3: undefined variable: 'dict object' has no attribute "
        "'ref_no'; did you mean 'ref'?; item keys: ['agency_name', 'days_overdue', 'due', "
        "'link', 'overdue_since', 'ref', 'review_ref', 'summary', 'urgent'] (with the sample "
        "context)"
    )


def test_variables_of_another_kind_are_unknown() -> None:
    with pytest.raises(TemplateError, match=r"unknown variable 'step'"):
        validate("reminder", "Subject: step {{ step }}\n", HTML)
    validate("escalation", "Subject: step {{ step }}\n", HTML)


def test_literal_subscripts_and_sort_by_attribute_are_fine() -> None:
    validate(
        "digest",
        "Subject: {{ items[0]['ref'] }} and {{ items|length - 1 }} more\n"
        "{{ items[-1].ref }} {{ items[:1]|length }}\n"
        "{{ items|sort(attribute='due')|join(', ', attribute='ref') }}\n",
        "<p>{{ board_name|upper }}</p>",
    )


def test_variants_take_their_kinds_variables() -> None:
    validate("reminder_panel", "Subject: {{ ref }}\n", HTML)
    assert kind_of("reminder_panel") == "reminder"
    with pytest.raises(TemplateError) as info:
        validate("remindr", "Subject: {{ ref }}\n", HTML)
    assert info.value.part == "name"
    assert "unknown kind 'remindr'; did you mean 'reminder'?" in str(info.value)


def test_template_error_is_a_signoff_value_error() -> None:
    error = TemplateError("chase", "html", "broken", 4)
    assert isinstance(error, SignoffError)
    assert isinstance(error, ValueError)
    assert str(error) == "template 'chase' (html) line 4: broken"
    assert (error.name, error.part, error.problem, error.line) == ("chase", "html", "broken", 4)
    assert str(TemplateError("chase", "context", "broken")) == "template 'chase' (context): broken"


# -- rendering: context checks ---------------------------------------------------------------


@pytest.mark.parametrize("key", ["summary", "ref", "due"])
def test_line_break_in_a_subject_value_is_refused(templates: Templates, key: str) -> None:
    context = {**SAMPLE_CONTEXT["request"], key: "R1\r\nBcc: everyone@example.org"}
    with pytest.raises(TemplateError) as info:
        templates.render("request", context)
    assert info.value.part == "context"
    assert str(info.value).startswith(
        f"template 'request' (context): {key!r} contains a line break ('R1\\r\\nBcc: "
    )
    assert "must be a single line" in str(info.value)


@pytest.mark.parametrize("key", ["recipient_name", "sender_name", "reply_to"])
def test_line_break_in_a_header_value_is_refused(templates: Templates, key: str) -> None:
    context = {**SAMPLE_CONTEXT["chase"], key: "someone\nX-Injected: yes"}
    with pytest.raises(TemplateError, match=rf"'{key}' contains a line break"):
        templates.render("chase", context)


def test_line_break_in_a_body_only_value_is_fine(templates: Templates) -> None:
    context = {**SAMPLE_CONTEXT["request"], "expected": "The minutes\nand the action log"}
    r = templates.render("request", context)
    assert "The minutes\nand the action log" in r.text


def test_unicode_line_separators_count_as_line_breaks(templates: Templates) -> None:
    with pytest.raises(TemplateError, match="contains a line break"):
        templates.render("request", {**SAMPLE_CONTEXT["request"], "summary": "a\u2028b"})


def test_line_break_in_a_digest_item_used_in_the_subject_is_refused() -> None:
    overridden = Templates(
        overrides={"digest": ("Subject: first: {{ items[0].summary }}\n", "<p></p>")}
    )
    items = [{**item, "summary": "x\nBcc: a@example.org"} for item in SAMPLE_ITEMS]
    with pytest.raises(TemplateError, match="'items' contains a line break"):
        overridden.render("digest", {**SAMPLE_CONTEXT["digest"], "items": items})


def test_missing_variable_is_named(templates: Templates) -> None:
    context = {k: v for k, v in SAMPLE_CONTEXT["reminder"].items() if k != "due"}
    with pytest.raises(TemplateError) as info:
        templates.render("reminder", context)
    assert str(info.value) == (
        "template 'reminder' (context): undefined variable 'due': the template uses ['due'] "
        "and the context does not give them"
    )


def test_strict_undefined_inside_items(templates: Templates) -> None:
    items = [{k: v for k, v in SAMPLE_ITEMS[0].items() if k != "due"}]
    with pytest.raises(TemplateError) as info:
        templates.render("digest", {**SAMPLE_CONTEXT["digest"], "items": items})
    assert info.value.part == "text"
    assert str(info.value) == (
        "template 'digest' (text) line 20: undefined variable: 'dict object' has no attribute "
        "'due': an item in 'items' has no 'due'"
    )


def test_context_key_outside_the_kind_is_refused(templates: Templates) -> None:
    context = {**SAMPLE_CONTEXT["decision"], "decision_reason": "free text from the panel"}
    with pytest.raises(TemplateError) as info:
        templates.render("decision", context)
    assert str(info.value).startswith(
        "template 'decision' (context): 'decision_reason' is not a variable of 'decision' "
        "templates; did you mean 'decision_label'?; allowed: ["
    )


def test_extra_item_key_is_refused(templates: Templates) -> None:
    items = [{**SAMPLE_ITEMS[0], "child_initials": "AB"}]
    with pytest.raises(TemplateError, match=r"items\[0\] has key 'child_initials'"):
        templates.render("digest", {**SAMPLE_CONTEXT["digest"], "items": items})


def test_items_must_be_a_list_of_mappings(templates: Templates) -> None:
    with pytest.raises(TemplateError, match="'items' must be a list of mappings, not str"):
        templates.render("digest", {**SAMPLE_CONTEXT["digest"], "items": "R1"})
    with pytest.raises(TemplateError, match=r"items\[0\] must be a mapping, not str"):
        templates.render("digest", {**SAMPLE_CONTEXT["digest"], "items": ["R1"]})


def test_wrong_type_is_a_template_error(templates: Templates) -> None:
    context = {**SAMPLE_CONTEXT["reminder"], "days_overdue": "three"}
    with pytest.raises(TemplateError, match=r"\(text\) line \d+: cannot render: TypeError"):
        templates.render("reminder", context)


def test_unknown_template_name_suggests_one(templates: Templates) -> None:
    with pytest.raises(TemplateError) as info:
        templates.render("escalaton", {})
    assert str(info.value) == (
        "template 'escalaton' (name): no template 'escalaton'; did you mean 'escalation'?; "
        "templates: ['chase', 'decision', 'digest', 'escalation', 'failures', 'receipt', "
        "'reminder', 'request', 'sign_in']"
    )


# -- versions and overrides ------------------------------------------------------------------


def test_template_version_follows_the_sources(templates: Templates) -> None:
    text, html = sources("reminder")
    assert templates.version("reminder") == template_version(text, html)
    assert template_version(text + " ", html) != template_version(text, html)
    assert template_version(text, html + " ") != template_version(text, html)
    # The separator keeps moving text between the parts from colliding.
    assert template_version("ab", "c") != template_version("a", "bc")
    edited = Templates(overrides={"reminder": (text.replace("Reminder:", "Reminder -"), html)})
    r = edited.render("reminder", SAMPLE_CONTEXT["reminder"])
    assert r.template_version != templates.version("reminder")
    assert r.subject.startswith("Reminder - R1")


def test_overrides_take_precedence_and_add_variants(templates: Templates) -> None:
    overrides = {
        "chase": ("Subject: Still waiting for {{ ref }}\n\nHello.\n", "<p>Hello.</p>\n"),
        "chase_panel": ("Subject: Panel: {{ ref }}\n", "<p>{{ summary }}</p>\n"),
    }
    custom = Templates(overrides=overrides)
    assert custom.names == templates.names | {"chase_panel"}
    chase = custom.render("chase", SAMPLE_CONTEXT["chase"])
    assert (chase.subject, chase.text, chase.html) == (
        "Still waiting for R1",
        "Hello.\n",
        "<p>Hello.</p>\n",
    )
    panel = custom.render("chase_panel", SAMPLE_CONTEXT["chase"])
    assert panel.subject == "Panel: R1"
    assert custom.render("request", SAMPLE_CONTEXT["request"]) == templates.render(
        "request", SAMPLE_CONTEXT["request"]
    )


def test_a_bad_override_stops_the_build() -> None:
    with pytest.raises(TemplateError, match=r"template 'chase' \(text\) line 1: unknown variable"):
        Templates(overrides={"chase": ("Subject: {{ config }}\n", "<p></p>")})


def test_crlf_sources_are_accepted() -> None:
    custom = Templates(overrides={"chase": ("Subject: {{ ref }}\r\n\r\nBody\r\n", "<p></p>")})
    r = custom.render("chase", SAMPLE_CONTEXT["chase"])
    assert r.subject == "R1"
    assert r.text == "Body\n"  # Jinja writes every newline as '\n'; the mailer encodes it


def test_templates_from_another_directory(tmp_path: Path) -> None:
    (tmp_path / "request.txt.j2").write_text("Subject: Please: {{ ref }}\n", encoding="utf-8")
    (tmp_path / "request.html.j2").write_text("<p>{{ summary }}</p>", encoding="utf-8")
    (tmp_path / "chase.txt.j2").write_text("Subject: half a template\n", encoding="utf-8")
    assert available(tmp_path) == frozenset({"request"})
    custom = Templates(tmp_path)
    assert custom.names == frozenset({"request"})
    assert custom.render("request", SAMPLE_CONTEXT["request"]).subject == "Please: R1"


def test_failure_summary_lists_each_failed_delivery(templates: Templates) -> None:
    r = templates.render("failures", {**SAMPLE_CONTEXT["failures"], "unreachable": []})
    assert r.subject == "1 email from signoff could not be delivered"
    for part in (r.text, r.html):
        assert "named.nurse@sept.example.org" in part
        assert "550 mailbox unavailable" in part


def test_failure_summary_names_each_role_nobody_is_reachable_for(templates: Templates) -> None:
    context = {**SAMPLE_CONTEXT["failures"], "count": 0, "failures": []}
    r = templates.render("failures", context)
    assert r.subject == "Nobody reachable for 1 role"
    for part in (r.text, r.html):
        assert "agency: southend-iawg-scr-audit-2010 R3" in part
        assert "could not deliver" not in part
    both = templates.render("failures", SAMPLE_CONTEXT["failures"])
    assert both.subject == (
        "1 email from signoff could not be delivered; nobody reachable for 1 role"
    )
