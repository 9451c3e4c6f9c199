"""README.md's example /search response is what the current code returns for its query over
corpus/ (docs/readme_example.py writes it; ``took_ms`` and float noise are ignored)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("readme_example", ROOT / "docs" / "readme_example.py")
readme_example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_example)


def test_the_readme_search_example_is_what_the_code_returns(library):
    produced = readme_example.example(library)
    shown = readme_example.shown(readme_example.README.read_text(encoding="utf-8"))
    assert produced["results"], "the README's query found nothing in corpus/"
    assert readme_example.same(shown, produced), (
        "README.md's example /search response is stale; rewrite it with "
        f"`{readme_example.COMMAND}` and review the diff"
    )


def test_the_comparison_ignores_took_ms_and_float_noise_only():
    same = readme_example.same
    body = {"took_ms": 24.0, "results": [{"score": 3.448147, "ocr": False, "rank": 1}]}
    assert same(body, {"took_ms": 3.1, "results": [{"score": 3.44812, "ocr": False, "rank": 1}]})
    assert not same(
        body, {"took_ms": 24.0, "results": [{"score": 3.4483, "ocr": False, "rank": 1}]}
    )
    assert not same(body, {"took_ms": 24.0, "results": [{"score": 3.448147, "ocr": 0, "rank": 1}]})
    assert not same(body, {"took_ms": 24.0, "results": []})
    assert not same(body, {"results": [{"score": 3.448147, "ocr": False, "rank": 1, "x": None}]})


def test_the_example_is_rewritten_between_its_markers_only():
    block = '<!-- search-example -->\n```json\n{"old": 1}\n```\n<!-- /search-example -->'
    readme = f"before\n{block}\nafter\n"
    written = readme_example.with_example(readme, {"query": "кандас"})
    assert written.startswith("before\n<!-- search-example -->\n```json\n{\n")
    assert written.endswith("}\n```\n<!-- /search-example -->\nafter\n")
    assert readme_example.shown(written) == {"query": "кандас"}
    with pytest.raises(ValueError, match="search-example"):
        readme_example.with_example("no markers", {})
