"""The sandbox's bounded ``~``, ``join`` and ``replace`` render exactly as Jinja's own do
(escaping included: a Markup stays Markup, so nothing is escaped twice), and its limits
are reported with the template's line."""

from __future__ import annotations

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import TemplateError
from notifications.sandbox import HTML, TEXT, Sandbox
from notifications.templates import TEMPLATE_DIR, validate

SOURCES = [
    "{{ a ~ b }}",
    "{{ [a, b]|join('&') }}",
    "{{ [a, b]|join(', ', attribute='x') if false else a }}",
    "{{ a|replace('<', '&') }}",
    "{{ a|replace('', '-', 3) }}",
    "{{ (a ~ '&')|e ~ b }}",
    "{{ [a|e, b]|join('<br>'|e) }}",
    "{% for c in a %}{{ loop.index }}{{ c }}{% endfor %}{{ loop is defined }}",
]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("env", [TEXT, HTML], ids=["text", "html"])
def test_bounded_operations_render_as_jinja_does(env: Sandbox, source: str) -> None:
    plain = ImmutableSandboxedEnvironment(autoescape=env.autoescape)
    values = {"a": "<x>&", "b": 'y"'}
    assert env.from_string(source).render(values) == plain.from_string(source).render(values)


def test_a_limit_names_the_template_and_the_line_in_html() -> None:
    text = (TEMPLATE_DIR / "reminder.txt.j2").read_text()
    html = (TEMPLATE_DIR / "reminder.html.j2").read_text()
    lines = html.count("\n")
    with pytest.raises(TemplateError) as info:
        validate("reminder", text, html + "{% set s = 'x' * 99999 %}\n{{ s|join(s) }}\n")
    assert (info.value.name, info.value.part, info.value.line) == ("reminder", "html", lines + 2)
