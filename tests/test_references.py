"""A question that cites an article by number and code or law gets that article first, in
the reader's language version when there is one, and a missing article is said to be
missing (index/references.py). The hashing embedder stands in for the model: the code
around it is under test; evaluation/tasks.py ("legal-refs") measures the real thing."""

from __future__ import annotations

import pytest
from test_store import HashingEmbedder

from index.references import _stems, named
from index.search import search
from index.store import Store
from ingest.chunking import Chunker
from ingest.models import Metadata
from ingest.pipeline import prepare


def law(heading: str, articles: range, topic: str) -> str:
    return "\n\n".join(
        f"{heading.format(n)}. {topic} {n}\n\n{n}. Текст нормы номер {n} о {topic}, {n * 7} дней."
        for n in articles
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("laws"), HashingEmbedder())
    chunker = Chunker(HashingEmbedder().count_tokens, 64, 8)
    for text, name, title, work in [
        (law("Статья {}", range(1, 31), "труде"), "labor_code.txt", None, "labour"),
        (law("{}-бап", range(1, 31), "еңбек"), "енбек.txt", "Еңбек кодексі", "labour"),
        (law("Статья {}", range(1, 40), "браке"), "code_on_marriage_and_family.txt", None, None),
        (law("Статья {}", range(1, 600), "нарушениях"), "koap.txt", "КоАП РК", None),
    ]:
        store.add(prepare(text.encode(), name, Metadata(title=title, work=work), chunker))
    yield store
    store.close()


@pytest.mark.parametrize(
    ("query", "filename", "heading"),
    [
        ("ст. 26 ТК РК", "labor_code.txt", "Статья 26"),
        ("Статья 26 Трудового кодекса Республики Казахстан", "labor_code.txt", "Статья 26"),
        ("What does Article 26 of the Labour Code say?", "labor_code.txt", "Статья 26"),
        ("Еңбек кодексінің 26-бабы", "енбек.txt", "26-бап"),  # the reader's version
        ("статья 517 КоАП", "koap.txt", "Статья 517"),
        ("Кодекс о браке и семье, статья 12", "code_on_marriage_and_family.txt", "Статья 12"),
    ],
)
def test_a_cited_article_comes_first(store, query, filename, heading):
    found = search(store, query, k=5)
    first = found.results[0]
    assert (first.citation.filename, first.citation.heading.rsplit(" › ")[-1]) == (
        filename,
        heading,
    )
    assert [r.found for r in found.references] == [True]


def test_a_missing_article_or_code_is_said_to_be_missing(store):
    missing = search(store, "Article 99 of the Labour Code", k=5).references
    assert [r.note for r in missing] == ["the Labour Code in this collection has no article 99"]
    absent = search(store, "статья 5 Налогового кодекса", k=5).references
    assert [r.note for r in absent] == ["the Tax Code is not in this collection"]
    assert search(store, "статья 5", k=5).references == []  # whose article 5?


def test_the_most_specific_name_is_the_one_named():
    assert named(_stems("ст. 5 УПК РК", "ru")) == "the Code of Criminal Procedure"
    assert named(_stems("ст. 5 УК РК", "ru")) == "the Criminal Code"
    assert named(_stems("Қылмыстық кодекстің 5-бабы", "kk")) == "the Criminal Code"
    assert named(_stems("code of administrative offenses", "en")) == (
        "the Code of Administrative Offences"
    )
    assert named(_stems("рецепт борща", "ru")) is None
