"""Imports run one way: ingest → index → service, with evaluation/ and benchmarks/ as
clients above the service (issue 10). Read from the source with ``ast``, so an import inside
a function counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = {"evaluation", "benchmarks"}
MAY_NOT_IMPORT = {
    "ingest": {"index", "service", *CLIENTS},
    "index": {"service", *CLIENTS},
    "service": CLIENTS,
}


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports, relative imports resolved."""
    package = path.relative_to(ROOT).parent.parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add(node.module.split(".")[0])
            else:
                base = package[: len(package) - (node.level - 1)]
                name = [*base, *(node.module.split(".") if node.module else [])]
                found.add(name[0] if name else "")
    return found


@pytest.mark.parametrize("layer", sorted(MAY_NOT_IMPORT))
def test_a_layer_imports_nothing_above_it(layer):
    modules = sorted((ROOT / layer).rglob("*.py"))
    assert modules, f"no modules under {layer}/"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported(path) & MAY_NOT_IMPORT[layer])
        for path in modules
    }
    assert not {path: names for path, names in wrong.items() if names}, (
        f"{layer}/ may not import {', '.join(sorted(MAY_NOT_IMPORT[layer]))}"
    )


def test_the_check_sees_relative_and_nested_imports(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    module = tmp_path / "service" / "api" / "routes" / "x.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from ...config import Settings\n"
        "def f():\n"
        "    from evaluation.suite import run\n"
        "    import benchmarks.scale\n"
    )
    assert imported(module) == {"service", "evaluation", "benchmarks"}
