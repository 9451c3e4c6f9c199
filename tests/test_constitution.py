"""The Constitution in Kazakh, Russian and English: headings name the articles, and a
question in any of the three languages finds the right article in the other two."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # the Constitution in three languages, ingested

ARTICLE_LABEL = {"kk": "{}-бап", "ru": "Статья {}", "en": "Article {}"}

QUESTIONS = [
    ("en", "What is the state language of Kazakhstan?", 7),
    ("en", "Can a person lawfully residing in Kazakhstan freely choose where to live?", 21),
    ("en", "For how many years is the President elected?", 41),
    ("ru", "Имеют ли граждане право на бесплатную медицинскую помощь?", 29),
    ("ru", "Гарантируется ли бесплатное среднее образование?", 30),
    ("ru", "Запрещена ли смертная казнь?", 15),
    ("kk", "Қазақстан Республикасының азаматтығы қалай алынады?", 10),
    ("kk", "Әркімнің жұмысты және кәсіпті еркін таңдауға құқығы бар ма?", 24),
    ("kk", "Балаларға қамқорлық жасау және оларды тәрбиелеу кімнің міндеті?", 27),
]


def test_every_language_version_is_chunked_by_article(constitution):
    documents = constitution.get("/documents").json()["documents"]
    assert sorted(d["language"] for d in documents) == ["en", "kk", "ru"]
    for document in documents:
        passages = constitution.get(f"/documents/{document['id']}").json()["passages"]
        label = ARTICLE_LABEL[document["language"]]
        headings = {p["heading"].rsplit(" › ", 1)[-1] for p in passages if p["heading"]}
        assert {label.format(n) for n in range(1, 100)} <= headings, document["filename"]


def test_headings_carry_the_full_structural_path(constitution):
    hits = constitution.get(
        "/search", params={"q": "Мемлекеттік тіл - қазақ тілі", "lang": "kk", "k": 3}
    ).json()["results"]
    assert hits[0]["citation"]["heading"] == "I бөлім › 7-бап"
    assert hits[0]["citation"]["label"].endswith(", 7-бап")


@pytest.mark.parametrize(
    ("lang", "question", "article"), QUESTIONS, ids=[f"{q[0]}-art{q[2]}" for q in QUESTIONS]
)
def test_question_finds_the_article_in_the_other_languages(constitution, lang, question, article):
    for target in {"kk", "ru", "en"} - {lang}:
        response = constitution.get("/search", params={"q": question, "lang": target, "k": 10})
        assert response.status_code == 200
        body = response.json()
        assert body["query_lang"] == lang
        assert all(hit["lang"] == target for hit in body["results"])
        found = [(hit["citation"]["heading"] or "").rsplit(" › ", 1)[-1] for hit in body["results"]]
        assert ARTICLE_LABEL[target].format(article) in found, (target, found)


def test_the_three_versions_are_found_to_be_one_text(constitution):
    documents = constitution.get("/documents").json()["documents"]
    works = {d["work"] for d in documents}
    assert len(works) == 1 and None not in works, works


def test_a_hit_lists_the_same_article_in_the_other_languages(constitution):
    hits = constitution.get(
        "/search", params={"q": "свобода передвижения и выбора места жительства", "lang": "ru"}
    ).json()["results"]
    hit = next(h for h in hits if h["citation"]["heading"].endswith("Статья 21"))
    versions = {v["lang"]: v for v in hit["parallel"]}
    assert set(versions) == {"kk", "en"}
    assert versions["kk"]["citation"]["heading"].endswith("21-бап")
    assert versions["en"]["citation"]["heading"].endswith("Article 21")
    assert "the right to return to the Republic" in versions["en"]["text"]
