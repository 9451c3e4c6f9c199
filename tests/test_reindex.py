"""Reindex: the collection's passages rebuilt for another model or passage size while it is
searched and written, and switched to in one commit. Nothing else changes: documents and
their ids, access keys, sessions and jobs.

Two small deterministic embedders stand in for two models (the code around the model is
under test); tests/test_cli.py runs the real command with the real model, with and without
a real server."""

from __future__ import annotations

import io
import time

import pytest
from test_store import HashingEmbedder, document, in_step

from index.queue import JobQueue
from index.reindex import BATCH, ReindexRunning, reindex
from index.search import search
from index.store import Store, open_catalog
from ingest.errors import ModelMismatch
from service.access import Access


class SmallerModel(HashingEmbedder):
    model_id, dim = "another-model", 32


MODELS = {model.model_id: model for model in (HashingEmbedder(), SmallerModel())}


def load(generation):
    """What a server loads when the collection moves to another model."""
    return MODELS[generation.model_id]


def rebuild(store: Store, model=None, passage_size=(256, 32)):
    """`koshqon reindex`, as another process would run it: a catalog connection of its own."""
    catalog = open_catalog(store.data_dir, store.url)
    try:
        yield from reindex(catalog, store.index_dir, model or SmallerModel(), passage_size)
    finally:
        catalog.close()


def kept_tables(store: Store) -> dict:
    """What a rebuild must never touch."""
    catalog = store.catalog
    return {
        "documents": [(d.id, d.title, d.added_at, d.sha256) for d in catalog.documents()],
        "keys": catalog.access_keys(),
        "sessions": [tuple(r) for r in catalog.query("SELECT * FROM sessions ORDER BY digest")],
        "jobs": [tuple(r) for r in catalog.query("SELECT id, created_at FROM jobs ORDER BY id")],
        "files": [tuple(r) for r in catalog.query("SELECT filename, state FROM job_files")],
    }


def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path, database_url):
    """A collection being served (a Store following the catalog, as `koshqon serve` does),
    with documents, a gap in its ids, an edited title, a key, a session and a queued job."""
    store = Store(tmp_path / "data", HashingEmbedder(), database_url, models=load)
    ids = [
        store.add(document(text, name)).document.id
        for text, name in [
            ("Виза выдаётся на один год.", "visa.txt"),
            ("Трудовой договор заключается письменно.", "labour.txt"),
            ("Кандас — этнический казах.", "kandas.txt"),
        ]
    ]
    store.remove(ids[1])  # a gap in the ids
    store.update(ids[2], {"title": "Кто такие кандасы"})
    access = Access(store.catalog)
    access.sign_in(access.add("aigerim", "admin"))
    JobQueue(store.catalog, store.blobs).submit([("a.txt", io.BytesIO(b"text"), {})])
    store.follow(every_s=0.05)
    store.url = database_url  # for the rebuild's own connection
    yield store
    store.close()


def test_reindex_moves_a_served_collection_to_another_model_and_keeps_all_else(served):
    before = kept_tables(served)
    done = list(rebuild(served))
    assert sorted(done) == [d[0] for d in before["documents"]]
    until(lambda: served.embedder.model_id == "another-model")
    assert served.indexes().dim == 32 and in_step(served)
    assert kept_tables(served) == before
    hits = search(served, "кандасы", mode="keyword").results
    assert [h.citation.document_id for h in hits] == [before["documents"][1][0]]
    assert search(served, "виза выдаётся", mode="dense").results[0].citation.filename == "visa.txt"
    assert [(g.number, g.model_id, g.state) for g in served.catalog.generations()] == [
        (1, "hashing-test", "retired"),
        (2, "another-model", "active"),
    ]
    old = served.catalog.query("SELECT COUNT(*) FROM chunks WHERE generation = 1")[0][0]
    assert old == 0  # deleted once the server had moved


def test_searches_go_on_during_reindex_and_writes_made_meanwhile_are_rebuilt(served):
    many = [
        served.add(document(f"Статья {n}. Регистрация иностранцев {n}.", f"{n}.txt"))
        for n in range(BATCH)
    ]
    rebuilding = rebuild(served)
    first = next(rebuilding)  # the first batch is in the new generation, unsearched
    assert search(served, "регистрация", k=3, mode="keyword").results  # the old one answers
    assert served.embedder.model_id == "hashing-test"
    added = served.add(document("Разрешение на работу выдаётся акиматом.", "permit.txt"))
    served.update(first, {"title": "Правила выдачи виз"})
    served.remove(many[0].document.id)
    replaced = served.replace(many[1].document.id, document("Новая редакция статьи.", "1.txt"))
    rest = list(rebuilding)
    until(lambda: served.embedder.model_id == "another-model")
    assert added.document.id in rest and first in rest  # rebuilt again after its edit
    assert in_step(served)
    found = search(served, "акиматом", mode="keyword").results
    assert [h.citation.document_id for h in found] == [added.document.id]
    assert search(served, "правила", mode="keyword").results[0].citation.document_id == first
    found = search(served, "иностранцев", mode="keyword", k=50).results
    assert many[0].document.id not in {h.citation.document_id for h in found}
    texts = [c.text for c in served.catalog.chunks_of(replaced.document.id)]
    assert texts == ["Новая редакция статьи."]


def test_an_interrupted_reindex_resumes_where_it_stopped(served):
    for n in range(BATCH + 2):
        served.add(document(f"Документ номер {n} о миграции.", f"doc-{n}.txt"))
    total = len(served.catalog.documents())
    stopped = rebuild(served)
    first_batch = [next(stopped) for _ in range(BATCH)]
    stopped.close()  # interrupted (the process stopped)
    assert served.catalog.generations()[-1].state == "building"
    rest = list(rebuild(served))
    assert len(rest) == total - BATCH and not set(rest) & set(first_batch)
    assert [g.number for g in served.catalog.generations()] == [1, 2]
    until(lambda: served.embedder.model_id == "another-model")
    assert in_step(served)


def test_a_second_reindex_at_once_is_refused(served):
    running = rebuild(served)
    next(running)
    with pytest.raises(ReindexRunning, match="another `koshqon reindex`"):
        list(rebuild(served))
    running.close()


def test_a_new_passage_size_keeps_the_model_and_the_process_moves_without_loading(served):
    model = served.embedder
    list(rebuild(served, HashingEmbedder(), passage_size=(64, 8)))
    until(lambda: served.generation.number == 2)
    assert served.generation.chunk_tokens == 64 and served.embedder is model
    assert in_step(served)


def test_a_collection_moved_while_no_server_ran_opens_with_its_new_model(tmp_path):
    store = Store(tmp_path, HashingEmbedder())
    added = store.add(document("Виза выдаётся на один год.", "visa.txt")).document
    store.close()
    catalog = open_catalog(tmp_path)
    list(reindex(catalog, tmp_path / "index", SmallerModel(), (256, 32)))
    catalog.close()
    with pytest.raises(ModelMismatch, match="built with the model 'another-model'"):
        Store(tmp_path, HashingEmbedder())  # a process that cannot load it says so
    reopened = Store(tmp_path, HashingEmbedder(), models=load)
    assert reopened.embedder.model_id == "another-model" and in_step(reopened)
    assert reopened.add(document("Новый документ.", "new.txt")).document.id == added.id + 1


def test_a_write_prepared_with_the_old_model_is_refused_until_its_process_has_moved(served):
    """A process that has not seen the switch yet (the CLI ingesting beside the server)
    would store passages of the old model: its write is refused with Switching (503 over
    HTTP, tried again by a job runner), and once it has moved it writes in the new one."""
    from index.store import Switching

    writer = Store(served.data_dir, HashingEmbedder(), served.url, models=load)
    list(rebuild(served))
    with pytest.raises(Switching, match="moved to the model another-model"):
        writer.add(document("Разрешение на работу выдаётся акиматом.", "permit.txt"))
    until(lambda: writer.embedder.model_id == "another-model")
    added = writer.add(document("Разрешение на работу выдаётся акиматом.", "permit.txt"))
    until(lambda: served.embedder.model_id == "another-model")
    found = search(served, "акиматом", mode="keyword").results
    assert [h.citation.document_id for h in found] == [added.document.id]
    assert in_step(served)
    writer.close()
