"""Keyword search: BM25 over stemmed terms, kept in step with the catalog on every write.

The store tests use the hashing embedder from test_store (the code around the model);
search quality with the real model is measured by `python -m evaluation` (docs/evaluation.md).
"""

from __future__ import annotations

import pytest
from test_store import HashingEmbedder, document

from index.analysis import ANALYZER_VERSION, analyze
from index.keyword import KeywordIndex
from index.search import Filters, fuse, language_groups, search
from index.store import Store


def test_bm25_ranks_rare_terms_above_common_ones():
    index = KeywordIndex()
    index.add([1, 2, 3], [["закон", "миграц"], ["закон", "труд"], ["закон", "образован"]])
    assert [cid for cid, _ in index.search(["закон", "миграц"], 3)] == [1, 2, 3]
    assert index.search(["закон", "миграц"], 3)[0][1] > index.search(["закон"], 3)[0][1]


def test_bm25_only_returns_matches_and_respects_allowed_ids():
    index = KeywordIndex()
    index.add([1, 2], [["виз"], ["паспорт"]])
    assert index.search(["виз"], 10) == index.search(["виз", "неизвестн"], 10)
    assert [cid for cid, _ in index.search(["виз"], 10)] == [1]
    assert index.search(["виз"], 10, allowed=[2]) == []
    index.remove([1])
    assert index.search(["виз"], 10) == []


def test_partitions_score_on_the_whole_collections_statistics():
    """Each language's passages sit in an index of their own, but scored with every
    partition's statistics they score as one index of all passages would score them, so
    the partitions' lists can be merged."""
    russian = [["виз", "закон"], ["закон", "труд"], ["виз", "срок"], ["закон"]]
    kazakh = [["виз", "заң"]]
    ru, kk, whole = KeywordIndex(), KeywordIndex(), KeywordIndex()
    ru.add([1, 2, 3, 4], russian)
    kk.add([5], kazakh)
    whole.add([1, 2, 3, 4, 5], russian + kazakh)
    every = [ru, kk]
    partitioned = dict(ru.search(["виз"], 10, collection=every))
    partitioned.update(kk.search(["виз"], 10, collection=every))
    assert partitioned == pytest.approx(dict(whole.search(["виз"], 10)))
    assert kk.search(["виз"], 10) != kk.search(["виз"], 10, collection=every)  # on its own


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("Законами о миграции", "ru", ["закон", "миграц"]),
        ("Migrants and their rights", "en", ["migrant", "right"]),
        ("Ёлка", "ru", analyze("Елка", "ru")),  # ё is read as е
        ("Бiлiм", "kk", analyze("Білім", "kk")),  # Latin i inside a Kazakh word
        ("Статья 49", "ru", ["стат", "49", "art:49"]),
        ("по ст. 7-1 ГК", "ru", ["ст", "7", "1", "гражданск", "кодекс", "art:7-1"]),
        ("49-бабында", "kk", ["49", analyze("бабында", "kk")[0], "art:49"]),
        ("Article 10", "en", ["articl", "10", "art:10"]),
        ("Labor Code art 80", "en", ["labor", "code", "art", "80", "art:80"]),  # no dot
        ("ст 26 ТК", "ru", ["ст", "26", "трудов", "кодекс", "art:26"]),
    ],
)
def test_analysis_stems_by_language_and_folds_spellings(text, lang, expected):
    assert analyze(text, lang) == expected


def test_an_article_reference_matches_across_languages():
    """ "art:N" is the same term in every language, so "Article 10" can find "10-бап"."""
    assert "art:10" in set(analyze("10-бап. Тіл", "kk")) & set(analyze("Article 10", "en"))


def test_kazakh_typed_without_kazakh_letters_matches():
    """Students often type Kazakh on a Russian keyboard: "Казакстан" for "Қазақстан"."""
    assert analyze("Қазақстан қаласы", "kk") == analyze("Казакстан каласы", "kk")


def test_inflected_kazakh_forms_share_terms():
    assert analyze("заңдарының", "kk") == analyze("заң", "kk")


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path, HashingEmbedder())
    yield store
    store.close()


def keyword_ids(store: Store, query: str, lang: str = "ru") -> set[int]:
    partition = store.indexes().partitions.get(lang)
    return (
        {cid for cid, _ in partition.keywords.search(analyze(query, lang), 100)}
        if partition
        else set()
    )


def test_keyword_index_follows_add_and_remove(store):
    added = store.add(document("Иммиграционная виза выдаётся на год.", "visa.txt")).document
    chunk_ids = {c.id for c in store.catalog.chunks_of(added.id)}
    assert keyword_ids(store, "визы") == chunk_ids
    store.remove(added.id)
    assert keyword_ids(store, "визы") == set()
    again = store.add(document("Иммиграционная виза выдаётся на год.", "visa.txt")).document
    assert keyword_ids(store, "визы") == {c.id for c in store.catalog.chunks_of(again.id)}


def test_keyword_index_notices_another_process(tmp_path):
    reader, writer = Store(tmp_path, HashingEmbedder()), Store(tmp_path, HashingEmbedder())
    assert keyword_ids(reader, "визы") == set()
    added = writer.add(document("Иммиграционная виза выдаётся на год.")).document
    assert keyword_ids(reader, "визы") == {c.id for c in reader.catalog.chunks_of(added.id)}
    writer.remove(added.id)
    assert keyword_ids(reader, "визы") == set()


def test_terms_are_recomputed_when_the_analyzer_changes(tmp_path):
    store = Store(tmp_path, HashingEmbedder())
    store.add(document("Иммиграционная виза выдаётся на год."))
    with store.catalog.transaction() as db:
        db.execute("UPDATE chunks SET terms = ''")
        store.catalog.set_meta(db, "analyzer", "an older analyzer")
    store.close()
    reopened = Store(tmp_path, HashingEmbedder())
    assert reopened.catalog.get_meta("analyzer") == ANALYZER_VERSION
    assert len(keyword_ids(reopened, "визы")) == 1


def test_search_modes(store):
    store.add_many(
        [
            document("Иммиграционная виза выдаётся на один год.", "visa.txt"),
            document("Трудовой договор заключается в письменной форме.", "labour.txt"),
        ]
    )
    for mode in ("keyword", "dense", "hybrid"):
        result = search(store, "виза выдаётся", k=5, mode=mode)
        assert result.mode == mode
        assert result.results[0].citation.filename == "visa.txt", mode
    keyword = search(store, "визы", mode="keyword").results  # stemmed: визы = виза
    assert [h.citation.filename for h in keyword] == ["visa.txt"]


def test_hybrid_uses_keyword_matches_only_in_the_query_language(store, monkeypatch):
    """Across languages BM25 only matches numbers and names; hybrid must not trust them."""
    english = [
        f"Note {n}: the article of 2020 is about the registration of a residence."
        for n in range(25)
    ]
    store.add_many(
        [document(text, f"en{n}.txt") for n, text in enumerate(english)]
        + [document("Статья 2020 о труде.", "ru.txt")]
    )
    keyword = search(store, "Статья 2020", mode="keyword", k=30).results
    assert {h.lang for h in keyword} == {"en", "ru"}  # "2020" matches both languages
    searched = []
    for lang, partition in store.indexes().partitions.items():
        original = partition.keywords.search
        monkeypatch.setattr(
            partition.keywords,
            "search",
            lambda terms, k, allowed=None, collection=(), lang=lang, original=original: (
                searched.append(lang) or original(terms, k, allowed, collection)
            ),
        )
    search(store, "Статья 2020", mode="hybrid")
    assert searched == ["ru"]


def test_a_language_with_a_handful_of_passages_is_ranked_with_the_query_language(store):
    """One mislabelled passage must not be promoted to the top as its language's best."""
    store.add_many(
        [
            document(f"Трудовой договор номер {n} заключается письменно.", f"ru{n}.txt")
            for n in range(5)
        ]
        + [document("Residence registration for migrants.", "en.txt")]
    )
    top = search(store, "Трудовой договор заключается", mode="hybrid", k=5).results
    assert {h.lang for h in top} == {"ru"}


def test_standard_scores_let_a_standout_passage_of_another_language_win():
    """The model scores every English passage of an English question higher than Russian
    ones; what matters is how far a passage stands above the rest of its own language."""
    english = [(1, 0.95), (2, 0.94), (3, 0.94), (4, 0.93)]  # a crowd of near-misses
    russian = [(10, 0.86), (11, 0.60), (12, 0.59), (13, 0.58)]  # one clear answer
    merged = {**fuse([(1.0, english)]), **fuse([(1.0, russian)])}
    assert max(merged, key=merged.get) == 10
    plain = dict(english + russian)
    assert max(plain, key=plain.get) == 1


def test_fusion_weighs_keyword_evidence_and_keeps_single_list_evidence():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    keyword = [(3, 12.0), (1, 4.0)]  # 2 has no keyword match at all
    fused = fuse([(1.0, dense), (1.0, keyword)])
    assert set(fused) == {1, 2, 3}
    assert fused[3] > fused[2]  # the strong keyword match lifts 3 above 2
    assert fuse([(1.0, dense), (0.0, keyword)]).keys() == {1, 2, 3}


def test_filters_apply_to_every_mode(store):
    store.add_many(
        [
            document("Виза выдаётся на год.", "ru.txt"),
            document("A visa is issued for a year. Виза.", "en.txt"),
        ]
    )
    for mode in ("keyword", "dense", "hybrid"):
        hits = search(store, "виза", mode=mode, filters=Filters(langs=["en"])).results
        assert {h.lang for h in hits} == {"en"}, mode


def test_stray_passages_are_ranked_with_the_query_language_or_the_largest_group():
    kazqad_like = language_groups({"kk": 100, "ru": 1}, "kk")
    assert kazqad_like == {"kk": ["kk", "ru"]}
    tatoeba_like = language_groups({"en": 100, "und": 2}, "ru")
    assert tatoeba_like == {"en": ["en", "und"]}
    mixed = language_groups({"kk": 100, "en": 100, "ru": 1}, "ru")
    assert mixed == {"kk": ["kk"], "en": ["en"], "ru": ["ru"]}


def test_a_new_title_reaches_the_keyword_index_here_and_in_other_processes(tmp_path):
    writer, reader = Store(tmp_path, HashingEmbedder()), Store(tmp_path, HashingEmbedder())
    added = writer.add(document("Иммиграционная виза выдаётся на год.")).document
    assert keyword_ids(reader, "справочник") == set()
    writer.update(added.id, {"title": "Справочник мигранта"})
    chunk_ids = {c.id for c in writer.catalog.chunks_of(added.id)}
    assert keyword_ids(writer, "справочник") == chunk_ids
    assert keyword_ids(reader, "справочник") == chunk_ids
    assert reader.catalog.document(added.id).title == "Справочник мигранта"
