"""The layering rule, read from the source with ``ast``: dependencies point inwards.

app -> {web, notifications, inbound} -> engine -> engine.store. The adapters never import
each other; the engine imports nothing above it and engine.store nothing else of the
engine; no module imports a name starting with ``_`` from another module; no import cycle,
counting imports made inside functions too (that is how cycles hide).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "web", "notifications", "inbound", "reports", "engine")
ADAPTERS = frozenset({"web", "notifications", "inbound"})


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name imported, or from which names are imported
    names: tuple[str, ...]  # names imported from target ("" for ``import target``)
    line: int


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    """Every import in ``path``, at any depth (module level, functions, TYPE_CHECKING)."""
    name = _module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, ("",), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, path.name == "__init__.py", node)
            yield Import(name, target, tuple(a.name for a in node.names), node.lineno)


def product_files(root: Path = ROOT) -> list[Path]:
    return sorted(
        p
        for package in PACKAGES
        for p in (root / package).rglob("*.py")
        if "node_modules" not in p.parts
    )


def _layer(module: str) -> str | None:
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if module == "engine.store" or module.startswith("engine.store."):
        return "engine.store"
    return top


# which layers each layer may import (itself included)
ALLOWED = {
    "app": {"app", "web", "notifications", "inbound", "reports", "engine", "engine.store"},
    # reports renders the engine's report figures (HTML, xlsx, CSV) for app and web alike
    "web": {"web", "reports", "engine", "engine.store"},
    "reports": {"reports", "engine", "engine.store"},
    "notifications": {"notifications", "engine", "engine.store"},
    "inbound": {"inbound", "engine", "engine.store"},
    "engine": {"engine", "engine.store"},
    "engine.store": {"engine.store"},
}


def _expand(imp: Import, modules: set[str]) -> list[str]:
    """The product modules an import makes Python load: ``from pkg import mod`` loads pkg.mod."""
    found = [imp.target] if imp.target in modules else []
    for n in imp.names:
        if n and f"{imp.target}.{n}" in modules:
            found.append(f"{imp.target}.{n}")
    return found


def layering_problems(root: Path = ROOT) -> list[str]:
    """Every import against the rule, as 'file:line: what'."""
    files = product_files(root)
    problems = []
    for path in files:
        for imp in imports_of(path, root):
            where = f"{path.relative_to(root)}:{imp.line}"
            mine, theirs = _layer(imp.importer), _layer(imp.target)
            if mine and theirs and theirs not in ALLOWED[mine]:
                problems.append(f"{where}: {mine} imports {imp.target} ({theirs})")
            if theirs and imp.target != imp.importer:
                private = [n for n in imp.names if n.startswith("_") and n != "__future__"]
                if private and imp.target != "__future__":
                    problems.append(f"{where}: imports private {private} from {imp.target}")
    return problems


def import_cycles(root: Path = ROOT) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), sorted."""
    files = product_files(root)
    modules = {_module_name(p, root) for p in files}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for path in files:
        for imp in imports_of(path, root):
            for target in _expand(imp, modules):
                if target != imp.importer and not imp.importer.startswith(target + "."):
                    # a package's submodule importing its own package's __init__ is how Python
                    # loads it anyway; not a dependency between concepts
                    edges[imp.importer].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return sorted(groups)


def test_every_import_points_inwards() -> None:
    assert layering_problems() == []


def test_no_import_cycles() -> None:
    assert import_cycles() == []


def test_tests_import_privates_only_of_the_module_they_test() -> None:
    problems = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tested = path.stem.removeprefix("test_")
        for imp in imports_of(path):
            private = [n for n in imp.names if n.startswith("_")]
            if private and _layer(imp.target) and imp.target.split(".")[-1] != tested:
                problems.append(f"{path.relative_to(ROOT)}:{imp.line}: {private} of {imp.target}")
    assert problems == []


# --- the rule itself is checked on small trees that break it ------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


@pytest.mark.parametrize(
    ("importer", "source", "problem"),
    [
        ("engine/fire.py", "from web.app import create_app\n", "engine imports web.app (web)"),
        ("engine/sweep.py", "def f():\n    import notifications.dispatcher\n", "engine imports"),
        ("web/reply.py", "from inbound import receive\n", "web imports inbound (inbound)"),
        ("notifications/x.py", "import web.pages\n", "notifications imports web.pages"),
        ("engine/store/db.py", "from engine.fire import fire\n", "engine.store imports"),
        ("inbound/r.py", "from app.cli import main\n", "inbound imports app.cli (app)"),
        ("web/a.py", "from engine.fire import _authorise\n", "imports private ['_authorise']"),
    ],
    ids=[
        "up_engine_web",
        "up_in_function",
        "sideways",
        "sideways_import",
        "store_up",
        "to_app",
        "private",
    ],
)
def test_the_rule_catches_a_bad_import(
    tmp_path: Path, importer: str, source: str, problem: str
) -> None:
    root = _tree(tmp_path, {importer: "from __future__ import annotations\n" + source})
    found = layering_problems(root)
    assert len(found) == 1
    assert problem in found[0]
    assert found[0].startswith(f"{importer}:")


def test_the_rule_allows_inward_imports(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "app/cli.py": "import web.app\nimport engine.fire\nfrom engine.store import db\n",
            "web/app.py": "from engine import fire\nfrom engine.store.db import Database\n",
            "engine/fire.py": "from engine.store import db\nfrom engine import history\n",
            "engine/history.py": "",
            "engine/store/db.py": "import sqlalchemy\n",
        },
    )
    assert layering_problems(root) == []
    assert import_cycles(root) == []


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "engine/a.py": "from engine.b import x\n",
            "engine/b.py": "from engine.c import y\n",
            "engine/c.py": "def f():\n    from engine.a import z\n",
            "engine/d.py": "from engine import a\n",
        },
    )
    assert import_cycles(root) == [["engine.a", "engine.b", "engine.c"]]
