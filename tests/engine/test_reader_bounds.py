"""The YAML reader's bounds hold on both of its paths: libyaml's events (the quick pre-scan)
and PyYAML's own composer (the authority, and all there is without libyaml)."""

from __future__ import annotations

import pytest
import yaml

from engine.spec import reader

CASES = {
    "anchor_alone": ("a: &x 1\n", "anchors and aliases"),
    "alias": ("a: &x [1]\nb: *x\n", "anchors and aliases"),
    "recursive_anchor": ("a: &a [*a]\n", "anchors and aliases"),
    "deep_flow": ("a: " + "[" * 20_000 + "]" * 20_000 + "\n", "values nest more than 32 deep"),
    "deep_block": ("- " * 20_000 + "x\n", "values nest more than 32 deep"),
    "deep_mapping": ("".join(" " * i + f"k{i}:\n" for i in range(40)), "nest more than 32"),
    "many_values": ("a: [" + ", ".join(["1"] * 100_001) + "]\n", "more than 100,000 values"),
    "long_value": ("a: '" + "x" * 100_001 + "'\n", "a value of 100,001 characters"),
    "merge_key": ("a:\n  <<: {p: H}\n  p: M\n", "merge keys (<<) are not allowed"),
    "too_large": ("#" * (4 * reader.MIB + 1), "the file is larger than 4 MiB"),
}


@pytest.fixture(params=["libyaml", "python_only"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python_only":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML built without libyaml")
    return str(request.param)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_yaml_is_refused_on_both_paths(path: str, case: str) -> None:
    text, expected = CASES[case]
    with pytest.raises(reader.YamlProblem) as info:
        reader.load(text)
    assert expected in info.value.problem


def test_within_bounds_is_read(path: str) -> None:
    text = (
        "a: ["
        + ", ".join(["1"] * 99_900)
        + "]\n"
        + "b:\n"
        + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(30))
    )
    assert len(reader.load(text).data["a"]) == 99_900


def test_limits_are_per_format(path: str, tmp_path: object) -> None:
    small = reader.Limits(max_bytes=100, max_values=5, max_depth=2)
    with pytest.raises(reader.YamlProblem, match="more than 5 values"):
        reader.load("[1, 2, 3, 4, 5, 6]", small)
    with pytest.raises(reader.YamlProblem, match="nest more than 2 deep"):
        reader.load("[[[1]]]", small)
