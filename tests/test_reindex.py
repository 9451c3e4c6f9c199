"""Reindex: the collection rebuilt from its stored originals, e.g. for another model.

Two small deterministic embedders stand in for two models (the code around the model is
under test); tests/test_cli.py runs the real command with the real model."""

from __future__ import annotations

import pytest
from test_store import HashingEmbedder, document, in_step

from index.reindex import reindex
from index.search import search
from index.store import Store
from ingest.chunking import Chunker
from ingest.errors import KoshqonError, ModelMismatch
from ingest.models import Metadata
from ingest.pipeline import prepare


class SmallerModel(HashingEmbedder):
    model_id, dim = "another-model", 32


def rebuild_with(embedder):
    def rebuild(record, data):
        kept = Metadata(record.title, record.author, record.year, record.doc_type)
        return prepare(data, record.filename, kept, Chunker(embedder.count_tokens))

    return rebuild


@pytest.fixture
def collection(tmp_path):
    store = Store(tmp_path, HashingEmbedder())
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
    before = {d.id: d for d in store.catalog.documents()}
    store.close()
    return tmp_path, before


def test_reindex_moves_a_collection_to_another_model_keeping_ids_and_metadata(collection):
    data_dir, before = collection
    with pytest.raises(ModelMismatch):
        Store(data_dir, SmallerModel())
    done = list(reindex(data_dir, SmallerModel(), rebuild_with(SmallerModel())))
    assert [d.id for d in done] == list(before)
    store = Store(data_dir, SmallerModel())
    after = {d.id: d for d in store.catalog.documents()}
    assert after.keys() == before.keys()
    for key in after:
        assert (after[key].title, after[key].added_at, after[key].sha256) == (
            before[key].title,
            before[key].added_at,
            before[key].sha256,
        )
    assert store.indexes().dim == 32
    assert in_step(store)
    hits = search(store, "кандасы", mode="keyword").results
    assert [h.citation.document_id for h in hits] == [list(before)[1]]
    assert not (data_dir / ".reindex").exists()


def test_reindex_without_originals_refuses_and_changes_nothing(collection):
    data_dir, before = collection
    for original in (data_dir / "originals").rglob("*"):
        if original.is_file():
            original.unlink()
    with pytest.raises(KoshqonError, match="2 documents have no stored original"):
        list(reindex(data_dir, SmallerModel(), rebuild_with(SmallerModel())))
    store = Store(data_dir, HashingEmbedder())
    assert {d.id for d in store.catalog.documents()} == set(before)
