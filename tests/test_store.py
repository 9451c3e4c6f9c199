"""The store keeps catalog and FAISS in step: a document is added whole or not at all.

These tests are about the code around the model, so a small deterministic embedder
stands in for it; user-facing behaviour is tested with the real model elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from index import indexes as snapshots
from index.database import CatalogUnavailable
from index.migrations import CatalogTooNew
from index.search import search
from index.store import CATALOG_FILE as CATALOG
from index.store import Store
from ingest.chunking import Chunker
from ingest.errors import InvalidParameter, ModelMismatch
from ingest.models import Metadata
from ingest.pipeline import prepare


class HashingEmbedder:
    """Deterministic unit vectors from word hashes: similar words, similar vectors."""

    model_id, dim, max_tokens = "hashing-test", 64, 512

    def embed(self, texts, kind):
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]


def document(text: str, name: str = "note.txt"):
    return prepare(text.encode(), name, Metadata(), Chunker(HashingEmbedder().count_tokens))


def in_step(store: Store) -> bool:
    """The dense and keyword indexes hold exactly the catalog's passages."""
    indexes, catalog = store.indexes(), store.catalog.chunk_ids().tolist()
    return indexes.ids().tolist() == indexes.keyword_ids().tolist() == catalog


@pytest.fixture
def open_store(tmp_path, database_url):
    """Stores on ``tmp_path`` with each engine's catalog (SQLite, and a PostgreSQL database
    of the test's own), closed at the end."""
    opened = []

    def open_store(data_dir=tmp_path):
        opened.append(Store(data_dir, HashingEmbedder(), database_url, tmp_path / "shared"))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


def test_a_failed_write_leaves_no_trace(open_store, tmp_path, monkeypatch):
    store = open_store()
    store.add(document("Кандас — этнический казах."))

    def broken(db, doc, vectors, term_lists, kept=None):
        db.execute(
            "INSERT INTO documents (sha256, filename, media_type, title, doc_type, "
            "language, languages, text, pages, added_at) "
            "VALUES ('x', 'f', 't', 't', 'other', 'ru', '[]', '', '[]', '')"
        )
        raise OSError("disk full")

    monkeypatch.setattr(store.catalog, "insert_document", broken)
    with pytest.raises(OSError):
        store.add(document("Регистрация по месту жительства.", "second.txt"))
    assert store.catalog.counts() == (1, 1)
    assert len(store.indexes()) == 1
    assert in_step(store)
    assert len(list(store.blobs.listed("originals"))) == 1


def test_originals_are_kept_by_content_and_go_with_their_document(open_store, tmp_path):
    store = open_store()
    first = document("Кандас — этнический казах.", "kandas.txt")
    added = store.add(first).document
    assert store.originals.get(added.sha256) == "Кандас — этнический казах.".encode()
    second = document("Кандас — этнический казах, вернувшийся на родину.", "kandas.txt")
    store.replace(added.id, second)
    assert not store.originals.exists(first.sha256)
    assert store.originals.get(second.sha256) == second.original
    store.remove(added.id)
    assert not store.originals.exists(second.sha256)


def test_another_process_writing_is_noticed(open_store, tmp_path):
    reader, writer = open_store(), open_store()
    assert len(reader.indexes()) == 0
    added = writer.add(document("Ішкі көші-қон және еңбек нарығы.")).document
    assert reader.indexes().ids().tolist() == [c.id for c in reader.catalog.chunks_of(added.id)]
    assert in_step(reader)
    writer.remove(added.id)
    assert len(reader.indexes()) == 0


def test_replicas_with_indexes_of_their_own_follow_one_shared_catalog(tmp_path, postgres):
    """Two machines' stores on one PostgreSQL catalog, each with its own indexes: a write
    through either shows through the other at once, and without a search within a
    second. A replica that goes away keeps its snapshot's part of the change log while
    the other saves snapshots, so it comes back by replaying, not rebuilding."""
    url, shared = postgres.new_database(), tmp_path / "shared"
    a = Store(tmp_path / "a", HashingEmbedder(), url, shared)
    b = Store(tmp_path / "b", HashingEmbedder(), url, shared)
    added = a.add(document("Ішкі көші-қон және еңбек нарығы.")).document
    assert b.catalog.document(added.id).title == added.title
    assert b.indexes().ids().tolist() == a.indexes().ids().tolist() != []
    b.follow(every_s=0.1)
    b.remove(added.id)
    a.add(document("Кандастарға арналған квота.", "quota.txt"))
    deadline = time.monotonic() + 1
    while b._indexes.seq != a.catalog.last_change() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b._indexes.seq == a.catalog.last_change(), "followed without a search"
    assert in_step(b) and in_step(a)
    b.snapshot()
    away = b._indexes.seq
    b.close()
    for n in range(3):
        a.add(document(f"Регистрация мигрантов, выпуск {n}.", f"{n}.txt"))
        a.snapshot()
    assert 0 < a.catalog.forgotten() <= away, "the log b needs is kept"
    b = Store(tmp_path / "b", HashingEmbedder(), url, shared)
    b_build = snapshots.build
    try:
        snapshots.build = None  # coming back must not rebuild from the catalog
        assert in_step(b) and len(b.indexes()) == 4
    finally:
        snapshots.build = b_build
    a.close()
    b.close()


def test_an_unreachable_postgresql_is_named_without_its_password(tmp_path):
    with pytest.raises(CatalogUnavailable) as refused:
        Store(tmp_path, HashingEmbedder(), "postgresql://koshqon:secret@127.0.0.1:1/catalog")
    assert "cannot reach the catalog's PostgreSQL" in str(refused.value)
    assert "host=127.0.0.1" in str(refused.value) and "secret" not in str(refused.value)


def test_changes_a_build_already_read_are_not_added_twice(open_store):
    """A build reads the log's position, then the passages; a write committed in between
    is in both, and replaying it must not hold its passages twice."""
    store = open_store()
    for n in range(3):
        store.add(document(f"Кандас {n} тіркеуі.", f"{n}.txt"))
    indexes = store.indexes()
    indexes.seq = 0  # as if every change came after the build's read of the position
    assert indexes.catch_up(store.catalog) > 0
    assert in_step(store) and len(indexes) == store.catalog.counts()[1]


def test_an_embedded_collection_moves_to_postgresql_whole(tmp_path, postgres, monkeypatch):
    """`koshqon copy-to-postgres`: documents, passages, vectors, keys and the change log
    copied; the same rankings; the index snapshot still valid (loaded, not rebuilt); new
    documents numbered after every one given, deleted ones too; a database that holds
    documents refused."""
    from index.backup import to_postgres
    from index.search import search
    from service.access import Access

    store = Store(tmp_path / "data", HashingEmbedder())
    added = [store.add(document(f"Кандас {n} визасы мен тіркеуі.", f"{n}.txt")) for n in range(5)]
    store.remove(added[1].document.id)
    store.remove(added[-1].document.id)  # the last id given: never given again
    store.snapshot()
    Access(store.catalog).add("admin", "admin")
    before = [(h.chunk_id, h.score) for h in search(store, "кандас тіркеуі").results]
    store.close()
    url, shared = postgres.new_database(), tmp_path / "shared"
    assert to_postgres(tmp_path / "data", url, shared).documents == 3
    monkeypatch.setattr(snapshots, "build", None)  # the snapshot must serve
    moved = Store(tmp_path / "data", HashingEmbedder(), url, shared)
    assert [(h.chunk_id, h.score) for h in search(moved, "кандас тіркеуі").results] == before
    assert in_step(moved) and [k[0] for k in moved.catalog.access_keys()] == ["admin"]
    assert all(moved.originals.exists(d.sha256) for d in moved.catalog.documents())
    new = moved.add(document("Жаңа құжат.", "new.txt")).document
    assert new.id == added[-1].document.id + 1
    moved.close()
    with pytest.raises(InvalidParameter, match="already holds documents"):
        to_postgres(tmp_path / "data", url, shared)


def test_a_documents_id_is_never_given_again(open_store, tmp_path):
    """Not after its document is deleted, nor after a restart, on either engine: a saved
    citation never points at another text."""
    store = open_store()
    ids = [store.add(document(f"Документ {n}.", f"{n}.txt")).document.id for n in range(3)]
    store.remove(ids[-1])
    store.close()
    reopened = open_store()
    assert reopened.add(document("Другой документ.", "other.txt")).document.id == ids[-1] + 1


def test_opening_with_another_model_says_how_to_reindex(tmp_path):
    Store(tmp_path, HashingEmbedder()).close()
    other = HashingEmbedder()
    other.model_id = "BAAI/bge-m3"
    with pytest.raises(ModelMismatch, match="built with the model 'hashing-test'.*koshqon reindex"):
        Store(tmp_path, other)


def test_searches_during_replacement_see_one_version_whole(open_store, tmp_path):
    """Readers racing a writer see the old passages or the new ones, never a mix."""
    import threading

    from index.search import search

    store = open_store()
    versions = [
        "\n\n".join(f"Edition {v}. Section {n}: виза и регистрация." for n in range(12))
        for v in ("one", "two")
    ]
    document_id = store.add(document(versions[0], "policy.txt")).document.id
    seen, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            hits = search(store, "виза регистрация", k=50, mode="keyword").results
            seen.append({h.text.split(".")[0] for h in hits})

    thread = threading.Thread(target=reader)
    thread.start()
    for round_ in range(40):
        store.replace(document_id, document(versions[(round_ + 1) % 2], "policy.txt"))
    stop.set()
    thread.join()
    assert seen and all(len(editions) == 1 for editions in seen), seen
    assert in_step(store)


def test_a_catalog_from_an_older_version_opens_with_its_documents(tmp_path):
    """A catalog from before numbered migrations, and before edit times and OCR pages, is
    migrated on open (its page counts computed); nothing is lost."""
    store = Store(tmp_path, HashingEmbedder())
    added = store.add(document("Регистрация по месту жительства.")).document
    store.close()
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        db.execute("DELETE FROM meta WHERE key = 'schema'")
        db.execute("UPDATE documents SET pages = '[[1, 0, 20], [2, 20, 32]]'")  # two pages
        db.execute("DROP TABLE index_holders")
        for table, column in [
            ("documents", "ocr_pages"),
            ("documents", "updated_at"),
            ("documents", "page_count"),
            ("job_files", "worker"),
            ("job_files", "lease_until"),
        ]:
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    reopened = Store(tmp_path, HashingEmbedder()).catalog.document(added.id)
    assert (reopened.title, reopened.ocr_pages, reopened.updated_at) == (added.title, [], None)
    assert reopened.page_count == 2


def test_a_catalog_from_a_newer_koshqon_is_refused_not_misread(tmp_path):
    Store(tmp_path, HashingEmbedder()).close()
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(CatalogTooNew, match="schema 99"):
        Store(tmp_path, HashingEmbedder())


def test_each_languages_background_kept_on_writes_is_the_one_rebuilt_from_the_index(tmp_path):
    """Adds and removes keep the per-language sums up to date; a process opening the same
    collection loads them from the saved snapshot (or rebuilds them from the catalog) and
    gets the same scale."""
    store = Store(tmp_path, HashingEmbedder())
    store.add(document("Қандастар солтүстік өңірлерге қоныстанады.", "a.txt"))
    removed = store.add(document("Кандасы переселяются в северные регионы.", "b.txt"))
    store.add(document("Кандасы получают субсидию на аренду жилья.", "c.txt"))
    store.add(document("Кандасы регионы выбирают сами.", "d.txt"))
    store.add(document("Қандастарға жалдау субсидиясы беріледі.", "e.txt"))
    store.remove(removed.document.id)
    query = HashingEmbedder().embed(["кандасы регионы"], "query")[0]
    kept = store.indexes().background
    loaded = Store(tmp_path, HashingEmbedder()).indexes().background
    shutil.rmtree(tmp_path / "index")
    rebuilt = Store(tmp_path, HashingEmbedder()).indexes().background
    for lang in ("kk", "ru"):
        assert kept.count(lang) == loaded.count(lang) == rebuilt.count(lang) == 2
        assert kept.scale(query, lang) == pytest.approx(loaded.scale(query, lang))
        assert kept.scale(query, lang) == pytest.approx(rebuilt.scale(query, lang))


def test_a_process_behind_a_dropped_log_reloads_from_the_snapshot(open_store, tmp_path):
    """The change log is dropped up to the previous snapshot; a process that had not
    replayed that far loads the current snapshot instead of missing changes."""
    reader, writer = open_store(), open_store()
    assert len(reader.indexes()) == 0
    for n in range(3):
        writer.add(document(f"Регистрация мигрантов, выпуск {n}.", f"{n}.txt"))
        writer.snapshot()
    assert reader.catalog.forgotten() > 0
    assert in_step(reader) and len(reader.indexes()) == 3


def test_live_saved_and_rebuilt_indexes_rank_alike(open_store, tmp_path):
    """The indexes as written, as loaded from the snapshot plus the log, and as rebuilt
    from the catalog alone give the same rankings."""
    from index.search import search

    store = open_store()
    added = store.add_many(
        [
            document(f"Кандас {n} получает визу и регистрацию номер {n}.", f"{n}.txt")
            for n in range(30)
        ]
    )
    store.snapshot()
    store.remove(added[3].document.id)
    store.update(added[5].document.id, {"title": "Справочник по визам"})

    def rankings(store: Store) -> list:
        return [
            [(h.chunk_id, h.score) for h in search(store, "виза справочник", mode=mode).results]
            for mode in ("keyword", "dense", "hybrid")
        ]

    live = rankings(store)
    store.close()
    assert rankings(open_store()) == live
    shutil.rmtree(tmp_path / "index")
    assert rankings(open_store()) == live


def test_originals_without_a_document_are_collected_when_old_enough(tmp_path):
    """A process killed between storing a file and committing its row leaves the file;
    the next opening removes it once it is an hour old (a younger one may be a write
    under way in another process)."""
    store = Store(tmp_path, HashingEmbedder())
    kept = store.add(document("Кандас — этнический казах.")).document
    store.originals.put("ab" * 32, b"orphan")
    store.originals.put("cd" * 32, b"recent orphan")
    old = time.time() - 7200
    os.utime(store.originals.path("ab" * 32), (old, old))
    os.utime(store.originals.path(kept.sha256), (old, old))
    store.close()
    reopened = Store(tmp_path, HashingEmbedder())
    assert not reopened.originals.exists("ab" * 32)
    assert reopened.originals.exists("cd" * 32)
    assert reopened.originals.get(kept.sha256)


def test_a_catalog_of_the_previous_release_keeps_everything_and_its_numbers(tmp_path):
    """tests/fixtures/catalog-schema-2.sqlite was written by the release before generations
    (two language versions of a law, linked; document 3 added then deleted; an admin key;
    11 passages and 12 changes numbered). Opening it migrates it in place."""
    shutil.copy(Path(__file__).parent / "fixtures" / "catalog-schema-2.sqlite", tmp_path / CATALOG)
    store = Store(tmp_path, HashingEmbedder())
    assert [d.filename for d in store.catalog.documents()] == ["law.ru.txt", "law.kk.txt"]
    assert store.catalog.access_keys()[0][:2] == ("aigerim", "admin")
    assert store.catalog.query("SELECT COUNT(*) FROM versions")[0][0] == 10
    assert store.generation.number == 1 and in_step(store)
    added = store.add(document("Новый документ.", "new.txt")).document
    assert added.id == 4  # never 3, the deleted one's
    assert store.catalog.chunks_of(added.id)[0].id == 12
    assert store.catalog.last_change() == 13
    hits = search(store, "регистрации", mode="keyword").results
    assert hits and hits[0].parallel  # its Kazakh version still linked
