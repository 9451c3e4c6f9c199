"""Structure-aware chunking of legal texts and plain documents."""

from __future__ import annotations

import pytest

from ingest.chunking import Chunker, Heading, parse_heading


def words(texts: list[str]) -> list[int]:
    """A stand-in token counter for unit tests: one token per word."""
    return [len(text.split()) for text in texts]


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("Раздел I. Общие положения", Heading(1, "Раздел I")),
        ("I бөлім", Heading(1, "I бөлім")),
        ("Section II", Heading(1, "Section II")),
        ("Глава 2. ПРАВОВОЕ ПОЛОЖЕНИЕ", Heading(2, "Глава 2")),
        ("3-тарау. ЖАЛПЫ ЕРЕЖЕЛЕР", Heading(2, "3-тарау")),
        ("Chapter 4", Heading(2, "Chapter 4")),
        ("Статья 10. Основные обязанности", Heading(4, "Статья 10")),
        ("3-1-бап. Осы Заңның мақсаты", Heading(4, "3-1-бап")),
        ("10-бап", Heading(4, "10-бап")),
        ("Article 10", Heading(4, "Article 10")),
        ("## Кандас", Heading(2, "Кандас")),
        (  # real titles of articles run to nearly 500 characters
            "Статья 10-9. Государственный контроль в пределах границ населенных пунктов "
            + "на объектах социальной инфраструктуры, " * 8,
            Heading(4, "Статья 10-9"),
        ),
    ],
)
def test_headings_in_three_languages(line, heading):
    assert parse_heading(line) == heading


@pytest.mark.parametrize(
    "line",
    [
        "69-баптан",  # a cross-reference, "from article 69"
        "Статья 49 Закона РК «О миграции населения»",  # a reference inside a sentence
        "Article 10 of the Constitution guarantees citizenship.",
        "Главное — регистрация.",
    ],
)
def test_references_are_not_headings(line):
    assert parse_heading(line) is None


LAW = """Преамбула закона.

Глава 1. ОБЩИЕ ПОЛОЖЕНИЯ
Статья 1. Основные понятия

1. Кандас — этнический казах, переселившийся в Казахстан.
Статья 2. Регистрация

Граждане регистрируются по месту жительства. Регистрация бесплатна.
Глава 2. ПРАВА
Статья 3. Право на труд

Каждый имеет право на свободу труда."""


def test_sections_become_passages_with_their_heading_path():
    chunks = Chunker(words, max_tokens=50, min_section_tokens=0).chunk(LAW)
    assert [c.heading for c in chunks] == [
        None,
        "Глава 1",
        "Глава 1 › Статья 1",
        "Глава 1 › Статья 2",
        "Глава 2",
        "Глава 2 › Статья 3",
    ]
    assert LAW[chunks[2].start : chunks[2].end].startswith("Статья 1. Основные понятия")


def test_a_heading_alone_joins_the_section_below_it():
    chunks = Chunker(words, max_tokens=50).chunk(LAW)
    assert [c.heading for c in chunks] == [
        None,
        "Глава 1 › Статья 1",
        "Глава 1 › Статья 2",
        "Глава 2 › Статья 3",
    ]
    assert LAW[chunks[1].start :].startswith("Глава 1. ОБЩИЕ ПОЛОЖЕНИЯ\nСтатья 1.")


def test_long_sections_are_packed_within_budget_with_overlap():
    sentences = [f"Предложение номер {i} о внутренней миграции." for i in range(40)]
    text = "Статья 5. Миграция\n" + " ".join(sentences)
    chunks = Chunker(words, max_tokens=40, overlap=12).chunk(text)
    assert len(chunks) > 3
    assert all(c.tokens <= 40 for c in chunks)
    assert all(c.heading == "Статья 5" for c in chunks)
    for previous, current in zip(chunks, chunks[1:], strict=False):
        assert current.start < previous.end  # consecutive passages share a sentence
    assert chunks[-1].end == len(text)


def test_a_sentence_longer_than_the_budget_is_cut_at_spaces():
    text = " ".join(["слово"] * 100)
    chunks = Chunker(words, max_tokens=30, overlap=0).chunk(text)
    assert all(c.tokens <= 30 for c in chunks)
    assert "".join(text[c.start : c.end] for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_passages_do_not_cross_page_breaks():
    text = "Первая страница, первый абзац.\n\nВторая страница."
    chunks = Chunker(words, max_tokens=100).chunk(text, page_starts=[0, 32])
    assert [text[c.start : c.end] for c in chunks] == [
        "Первая страница, первый абзац.",
        "Вторая страница.",
    ]
