"""The evaluation harness: metrics, units, caching, and a tiny real run through the model."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from conftest import need_corpora

import service.core
from evaluation import suite
from evaluation.__main__ import evaluate as evaluate_command
from evaluation.cache import CachedEmbedder
from evaluation.metrics import score
from evaluation.runner import Variant, evaluate, ranked_units
from evaluation.tasks import TASKS, Passage, Question, Setting
from index.embedder import load_embedder
from index.model_build import DEFAULT_MODEL_ID
from ingest.chunking import Chunker


def test_metrics_of_a_ranking():
    relevant = frozenset({"b", "z"})
    scores = score(["a", "b", "c"], relevant)
    assert scores["R@1"] == 0.0
    assert scores["R@10"] == 0.5  # one of the two relevant units was found
    assert scores["Hit@10"] == 1.0
    assert scores["MRR@10"] == 0.5
    assert 0 < scores["nDCG@10"] < 1
    assert score(["b", "z"], relevant)["nDCG@10"] == pytest.approx(1.0)
    assert score(["x"] * 10 + ["b"], relevant)["Hit@10"] == 0.0  # rank 11 is not counted


def test_reader_metrics_say_which_language_comes_first_and_how_much_is_filler():
    lang_of = {"a-en": "en", "a-ru": "ru", "b-ru": "ru", "c-en": "en", "d-kk": "kk"}
    both = frozenset({"a-en", "a-ru"})
    scores = score(["a-ru", "a-en", "c-en"], both, lang_of, "en")
    assert scores["own-first"] == 0.0  # the Russian version came first
    assert scores["own R@10"] == 1.0
    assert score(["a-en", "a-ru"], both, lang_of, "en")["own-first"] == 1.0
    only_en = frozenset({"a-en"})
    scores = score(["a-en", "b-ru", "c-en", "d-kk"], only_en, lang_of, "en")
    assert scores["filler@10"] == 0.5  # b-ru and d-kk: languages with nothing relevant
    assert scores["P@5"] == 0.2
    assert math.isnan(score(["b-ru"], only_en, lang_of, "en")["own-first"])  # nothing found
    assert math.isnan(score(["a-en"], only_en)["filler@10"])  # not a reader setting


def hit(filename: str, heading: str | None):
    return SimpleNamespace(citation=SimpleNamespace(filename=filename, heading=heading))


def test_hits_become_units_once_each_in_rank_order():
    hits = [hit("b.txt", None), hit("a.txt", None), hit("b.txt", None)]
    assert ranked_units(hits, article_units=False) == ["b", "a"]


def test_law_hits_become_articles_from_their_heading():
    hits = [
        hit("civil_code.txt", "Раздел 1 › Глава 2 › Статья 7-1"),
        hit("civil_code.txt", "Раздел 1 › Глава 2"),  # a chapter preamble: no article
        hit("labor_code.txt", "Глава 1 › Статья 7"),
    ]
    assert ranked_units(hits, article_units=True) == ["civil_code#7-1", "labor_code#7"]


def test_questions_fall_into_fixed_halves():
    halves = {Question(f"q{i}", "", frozenset()).half for i in range(40)}
    assert halves == {"dev", "test"}
    assert Question("q1", "", frozenset()).half == Question("q1", "other", frozenset()).half


@pytest.fixture(scope="module")
def model(models_dir):
    return load_embedder(DEFAULT_MODEL_ID, models_dir)


def test_the_cache_embeds_each_text_once(model, tmp_path):
    calls = []

    class Counting:
        model_id, dim, max_tokens, prefixes = model.model_id, model.dim, model.max_tokens, {}

        def embed(self, texts, kind):
            calls.append(len(texts))
            return model.embed(texts, kind)

    cached = CachedEmbedder(Counting(), tmp_path / "cache.sqlite")
    first = cached.embed(["Көші-қон", "Миграция", "Көші-қон"], "passage")
    again = CachedEmbedder(Counting(), tmp_path / "cache.sqlite").embed(["Миграция"], "passage")
    assert calls == [2]  # the repeated text was embedded once, the second run not at all
    assert (first[1] == again[0]).all()
    assert (first[0] == first[2]).all()


def test_a_tiny_cross_language_run(model, tmp_path):
    """Five English paragraphs, their Russian questions: the real path end to end."""
    paragraphs = {
        "astana": "Astana is the capital of Kazakhstan; it became the capital in 1997.",
        "apple": "Almaty is famous for its apples; the Aport variety grows in the foothills.",
        "lake": "Lake Balkhash is half fresh and half salty water.",
        "steppe": "The Kazakh Steppe is the largest dry steppe region in the world.",
        "baikonur": "Baikonur Cosmodrome was the first spaceport, leased to Russia.",
    }
    questions = {
        "astana": "Когда Астана стала столицей?",
        "apple": "Какой сорт яблок растёт возле Алматы?",
        "lake": "Какое озеро наполовину пресное, наполовину солёное?",
        "steppe": "Где находится крупнейшая сухая степь?",
        "baikonur": "Какой космодром арендует Россия?",
    }
    setting = Setting(
        "tiny",
        "ru→en",
        "tiny en",
        tuple(Passage(unit, text, "Tiny") for unit, text in paragraphs.items()),
        tuple(Question(unit, text, frozenset({unit})) for unit, text in questions.items()),
    )
    cached = CachedEmbedder(model, tmp_path / "cache.sqlite")
    results = evaluate(
        [setting],
        [Variant("dense", "dense"), Variant("hybrid", "hybrid")],
        cached,
        Chunker(model.count_tokens),
        log=lambda line: None,
    )
    assert {(r.variant, r.half) for r in results} == {
        (v, h) for v in ("dense", "hybrid") for h in ("dev", "test")
    }
    assert sum(r.questions for r in results if r.variant == "dense") == 5
    for r in results:
        assert r.scores["R@1"] == 1.0, r


def test_every_task_loads_from_the_shared_corpora():
    corpora = need_corpora()
    for name, load in TASKS.items():
        settings = load(corpora, True)
        assert settings, name
        for setting in settings:
            units = {p.unit for p in setting.passages}
            assert setting.questions, (name, setting.name)
            assert all(q.relevant <= units or setting.article_units for q in setting.questions)


def test_python_m_evaluation_is_the_command(tmp_path):
    """`python -m evaluation` (not the product CLI, which no longer imports evaluation/)."""
    root = Path(__file__).resolve().parent.parent
    run = [sys.executable, "-m", "evaluation"]
    shown = subprocess.run([*run, "--help"], capture_output=True, text=True, cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "--task" in shown.stdout and "--sweep" in shown.stdout
    wrong = subprocess.run(
        [*run, "--task", "nope", "--corpora", str(tmp_path)], capture_output=True, text=True
    )
    assert wrong.returncode == 2
    assert "unknown task(s) nope; choose from xquad" in wrong.stderr


def test_the_evaluation_command_runs_the_suite_with_the_configured_model(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(service.core, "model_and_chunker", lambda s: ("model", s.data_dir))
    monkeypatch.setattr(suite, "run", lambda *args, **kwargs: calls.append(args) or args[5])
    monkeypatch.setattr(sys, "argv", ["evaluation", "--quick", "--task", "kazqad"])
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(
        evaluate_command,
        ["--quick", "--task", "kazqad", "--corpora", str(tmp_path), "--data-dir", str(data_dir)],
    )
    assert result.exit_code == 0, result.output
    corpora, tasks, embedder, chunker, data, output, quick, sweep, command = calls[0]
    assert (corpora, tasks, data) == (tmp_path, ["kazqad"], data_dir)
    assert (embedder, chunker) == ("model", data_dir)  # from the --data-dir settings
    assert (output, quick, sweep) == (Path("docs/evaluation-quick.md"), True, False)
    assert command == ".venv/bin/python -m evaluation --quick --task kazqad"
    assert "Wrote docs/evaluation-quick.md" in result.output
