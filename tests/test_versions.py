"""Language versions of one text: each passage of an article is linked, once, to the same
place of the same-numbered article in every other version, and the links follow every
write (tests/test_api.py and tests/test_reader_view.py show them in search results)."""

from __future__ import annotations

from test_store import HashingEmbedder

from index.catalog import ChunkRecord
from index.parallel import language_free_name, name_each_other, versions
from index.store import Store
from ingest.chunking import Chunker
from ingest.models import Metadata
from ingest.pipeline import prepare

RU = "Статья {n}. Цель\nТекст статьи {n} о миграции населения."
KK = "{n}-бап. Мақсаты\nХалықтың көші-қоны туралы {n}-баптың мәтіні."


def law(pattern: str, numbers, name: str, work: str | None = None):
    text = "\n\n".join(pattern.format(n=n) for n in numbers)
    chunker = Chunker(HashingEmbedder().count_tokens)
    return prepare(text.encode(), name, Metadata(work=work), chunker)


def links(store: Store) -> set[tuple[str, str]]:
    """Every stored link, as (article heading, its counterpart's heading)."""
    chunks = store.catalog.chunks_of
    ids = [c.id for d in store.catalog.documents() for c in chunks(d.id)]
    return {
        (store.catalog.chunks_by_id([chunk_id])[chunk_id].heading, version.heading)
        for chunk_id, found in versions(store.catalog, ids).items()
        for version, _ in found
    }


def test_articles_are_linked_when_documents_become_versions_and_unlinked_when_not(tmp_path):
    store = Store(tmp_path, HashingEmbedder())
    ru, kk = (
        r.document
        for r in store.add_many(
            [law(RU, (1, 2, 3), "law.ru.txt"), law(KK, (1, 2, 3), "law.kk.txt")]
        )
    )
    assert links(store) == set()  # two laws are not versions of each other until linked
    store.update(ru.id, {"work": "migration-law"})
    store.update(kk.id, {"work": "migration-law"})
    pairs = {(f"Статья {n}", f"{n}-бап") for n in (1, 2, 3)}
    assert links(store) == pairs | {(b, a) for a, b in pairs}

    store.replace(kk.id, law(KK, (1, 2), "law.kk.txt", work="migration-law"))
    pairs = {(f"Статья {n}", f"{n}-бап") for n in (1, 2)}
    assert links(store) == pairs | {(b, a) for a, b in pairs}  # the new passages, linked

    store.update(kk.id, {"work": None})
    assert links(store) == set()


def test_a_version_added_to_a_work_is_linked_and_a_removed_one_leaves_no_links(tmp_path):
    store = Store(tmp_path, HashingEmbedder())
    ru = store.add(law(RU, (1, 2), "law.ru.txt", work="law")).document
    kk = store.add(law(KK, (2, 3), "law.kk.txt", work="law")).document
    assert links(store) == {("Статья 2", "2-бап"), ("2-бап", "Статья 2")}
    store.remove(kk.id)
    assert links(store) == set()
    assert store.catalog.document(ru.id).work == "law"


def test_a_catalog_from_before_stored_links_gets_them_when_opened(tmp_path):
    store = Store(tmp_path, HashingEmbedder())
    store.add_many([law(RU, (1,), "law.ru.txt", "law"), law(KK, (1,), "law.kk.txt", "law")])
    with store.catalog.transaction() as db:
        db.execute("DELETE FROM versions")
        db.execute("DELETE FROM meta WHERE key = 'versions'")
    store.close()
    assert links(Store(tmp_path, HashingEmbedder())) == {
        ("Статья 1", "1-бап"),
        ("1-бап", "Статья 1"),
    }


def test_file_names_that_differ_only_by_a_language_tag_name_one_text():
    """How texts without numbered articles are offered as versions of each other: the
    name is the librarian's statement, the pairing of their sections its check
    (tests/test_api.py links the project's three glossaries this way)."""
    same = [
        ("glossary-migration-terms.kk.md", "glossary-migration-terms.en.md"),
        ("law_on_banks_kz.txt", "law_on_banks.txt"),
        ("Report RU.pdf", "Report EN.pdf"),
    ]
    for left, right in same:
        assert language_free_name(left) == language_free_name(right)
    assert language_free_name("internal-migrants-rights-guide.en.txt") != language_free_name(
        "internal-migrants-rights.kk.txt"
    )
    assert language_free_name("kenya_ru.txt") == "kenya"  # "en" inside a word is no tag


def test_glossary_entries_that_name_each_others_terms_pair_off():
    """A glossary entry gives its term in the other languages; the entry that names a term
    it is not (the English "Labour migration" mentions "еңбекші көшіп-қонушы", labour
    migrant) is not named back, so only the true counterpart counts as named."""

    def entry(heading: str, text: str) -> ChunkRecord:
        return ChunkRecord(0, 0, 0, text, "xx", f"Glossary › {heading}", None, None, 0, 0, 0)

    labour_migration = entry(
        "Labour migration",
        "## Labour migration\n\nkk: еңбек көші-қоны; ru: трудовая миграция\n\nMovement whose "
        'main purpose is work. In legal usage, "labour migrant" (kk: еңбекші көшіп-қонушы)…',
    )
    enbek_koshi = entry(
        "Еңбек көші-қоны",
        "## Еңбек көші-қоны\n\n*орыс. трудовая миграция; ағыл. labour migration*\n\nЖұмыс…",
    )
    enbekshi = entry(
        "Еңбекші көшіп-қонушы",
        "## Еңбекші көшіп-қонушы\n\n*орыс. трудовой мигрант; ағыл. labour migrant*\n\nЗаң…",
    )
    assert name_each_other(labour_migration, enbek_koshi)
    assert not name_each_other(labour_migration, enbekshi)
