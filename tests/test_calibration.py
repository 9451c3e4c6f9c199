"""The per-language background that puts hybrid scores on one scale (index/calibration.py)."""

from __future__ import annotations

import numpy as np
import pytest

from index.calibration import Background


def unit_rows(rng, n: int, dim: int) -> np.ndarray:
    rows = rng.normal(size=(n, dim))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_scale_is_the_mean_and_spread_of_the_query_over_a_language():
    rng = np.random.default_rng(0)
    kk, ru = unit_rows(rng, 50, 8), unit_rows(rng, 30, 8) + 0.5
    query = unit_rows(rng, 1, 8)[0]
    background = Background(8)
    background.add(np.vstack([kk, ru]), ["kk"] * 50 + ["ru"] * 30)
    for lang, rows in (("kk", kk), ("ru", ru)):
        mean, spread = background.scale(query, lang)
        assert mean == pytest.approx((rows @ query).mean())
        assert spread == pytest.approx((rows @ query).std())
    assert background.count("kk") == 50


def test_removing_passages_gives_the_scale_without_them():
    rng = np.random.default_rng(1)
    rows, query = unit_rows(rng, 40, 8), unit_rows(rng, 1, 8)[0]
    background = Background(8)
    background.add(rows, ["en"] * 40)
    background.remove(rows[:10], ["en"] * 10)
    assert background.scale(query, "en") == pytest.approx(
        ((rows[10:] @ query).mean(), (rows[10:] @ query).std())
    )
    assert background.count("en") == 30


def test_a_language_with_too_few_passages_borrows_the_whole_collections_scale():
    """One stray passage is not a background: measured against itself it would stand at
    its own mean, and measured against nothing (mean 0) far above every other language."""
    rng = np.random.default_rng(2)
    kk, stray, query = unit_rows(rng, 60, 8), unit_rows(rng, 1, 8), unit_rows(rng, 1, 8)[0]
    background = Background(8)
    background.add(np.vstack([kk, stray]), ["kk"] * 60 + ["en"])
    everything = np.vstack([kk, stray]) @ query
    assert background.scale(query, "en") == pytest.approx((everything.mean(), everything.std()))
    assert background.scale(query, "ru") == pytest.approx((everything.mean(), everything.std()))
    assert background.scale(query, "kk") == pytest.approx(((kk @ query).mean(), (kk @ query).std()))


def test_a_collection_of_one_passage_leaves_scores_as_they_are():
    background = Background(4)
    background.add(np.eye(4)[:1], ["kk"])
    assert background.scale(np.ones(4) / 2, "kk") == (0.0, 1.0)
