"""The workflow diagram: Graphviz's layout, rebuilt from an allowlist, with its text alternative."""

from __future__ import annotations

from engine.spec import load_spec
from tests.conftest import WORKFLOWS
from web.diagram import _clean, svg, transitions

SPEC = load_spec((WORKFLOWS / "recommendation.yaml").read_text(), "recommendation.yaml")


def test_the_diagram_names_every_state_marks_paused_and_final_ones() -> None:
    drawn = svg(SPEC)
    assert drawn.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert 'role="img"' in drawn
    assert '<title id="diagram-title">Diagram of the Review recommendation' in drawn
    assert "The clock pauses in: Evidence submitted, awaiting panel, Implementation" in drawn
    for name in SPEC.states:
        assert f">({name})</text>" in drawn
    assert drawn.count(">clock paused</text>") == 2
    assert drawn.count(">final</text>") == 3
    assert "by Case review panel" in drawn


def test_the_same_workflow_draws_the_same_diagram() -> None:
    assert svg(SPEC) == svg(SPEC)


def test_fitted_the_diagram_is_as_wide_as_the_page() -> None:
    head = svg(SPEC, fit=True).split(">", 1)[0]
    assert 'width="100%"' in head
    assert "height=" not in head
    assert "viewBox=" in head


def test_scripts_links_handlers_and_outside_references_are_dropped() -> None:
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="10pt" height="10pt" viewBox="0 0 10 10" onload="alert(1)">'
        "<script>alert(2)</script>"
        '<g id="a" class="node" style="fill:url(https://evil.example/x)">'
        '<a xlink:href="javascript:alert(3)"><text x="1" y="2">link</text></a>'
        '<polygon fill="url(#p)" stroke="black" points="0,0 1,1"/>'
        '<image href="https://evil.example/i.png"/>'
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'
        '<text x="1" y="2" onclick="alert(4)">kept</text>'
        "</g></svg>"
    )
    out = _clean(hostile, SPEC, "d", False)
    for gone in ("script", "alert", "evil", "href", "style", "url(", "foreignObject", "image",
                 ">link<", "onload", "onclick", "DOCTYPE"):  # fmt: skip
        assert gone not in out, gone
    assert '<text x="1" y="2">kept</text>' in out
    assert '<polygon stroke="black" points="0,0 1,1" />' in out


def test_the_table_lists_every_transition_with_who_may_fire_it() -> None:
    rows = {r.trigger: r for r in transitions(SPEC)}
    assert list(rows) == [t.trigger for t in SPEC.model.transitions]
    assert rows["submit_evidence"].sources == ("open", "challenged")
    assert rows["submit_evidence"].roles == ("Agency lead officer",)
    assert rows["set_rag"].dest is None
    assert rows["sign_off"].requires == ("meeting date", "rag", "reason")


def test_roles_the_workflow_does_not_label_are_named_in_words() -> None:
    spec = load_spec((WORKFLOWS / "imr_action.yaml").read_text(), "imr_action.yaml")
    shown = {t.trigger: t.roles for t in transitions(spec)}
    assert shown["close_without_assurance"] == ("Business manager",)
