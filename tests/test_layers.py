"""The layer rule, read from the source: knowledge ← nlu ← bot ← connectors, never upwards.

Every ``import`` and ``from … import`` is read with :mod:`ast` (including those inside functions and
``TYPE_CHECKING`` blocks), so a lazy import that runs up the layers fails here too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
LAYERS = ["knowledge", "nlu", "bot", "connectors"]
"""Lowest first: a package may import the ones before it, never the ones after."""


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``path``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _upward(package: str) -> list[str]:
    above = set(LAYERS[LAYERS.index(package) + 1 :])
    return [
        f"{path.relative_to(REPO)}:{line} imports {target}"
        for path in sorted((REPO / package).rglob("*.py"))
        for line, target in _imports(path)
        if target in above
    ]


@pytest.mark.parametrize("package", LAYERS)
def test_no_import_runs_up_the_layers(package: str) -> None:
    assert _upward(package) == []


def test_the_check_sees_a_lazy_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text("def f():\n    from connectors.console import render\n    import nlu.types\n")
    assert _imports(module) == [(2, "connectors"), (3, "nlu")]


APP_INTERNALS = {"engine", "states", "services"}
"""What a channel must not reach into: it calls ``app.handle`` and the few services the App offers."""


def test_channels_use_the_app_contract_not_its_internals() -> None:
    reached = [
        f"{path.relative_to(REPO)}:{node.lineno} uses .{node.attr}"
        for path in sorted((REPO / "connectors").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in APP_INTERNALS
    ]
    assert reached == []
