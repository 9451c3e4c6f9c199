"""The bulk import: one machine reads and encodes files into a bundle (`koshqon encode`),
another adds them with those vectors (`koshqon import`), encoding nothing itself."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from test_cli import ROOT, run  # noqa: F401 (a fixture)
from test_store import HashingEmbedder, document, in_step

from index.bundle import BadBundle, BundleWriter, read_bundle
from index.store import Store, passage_vectors
from ingest.errors import ModelMismatch

MODEL = HashingEmbedder()


def bundled(path: Path, documents, vectors=None) -> Path:
    with BundleWriter(path, MODEL.model_id, MODEL.dim) as bundle:
        for doc in documents:
            bundle.add(doc, passage_vectors(MODEL, [doc]) if vectors is None else vectors)
    return path


def imported(path: Path, data_dir: Path) -> Store:
    store = Store(data_dir, MODEL)
    for documents, vectors in read_bundle(path, MODEL.model_id, MODEL.dim):
        store.add_many(documents, vectors)
    return store


def rows(data_dir: Path) -> list[tuple]:
    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        return db.execute(
            "SELECT d.sha256, c.ordinal, c.text, c.heading, c.vector FROM chunks c "
            "JOIN documents d ON d.id = c.document_id ORDER BY d.sha256, c.ordinal"
        ).fetchall()


def test_an_imported_bundle_is_the_collection_ingesting_the_files_makes(tmp_path):
    docs = [document("Кандас — этнический казах.", "a.txt"), document("Виза на год.", "b.txt")]
    direct = Store(tmp_path / "direct", MODEL)
    direct.add_many(docs)
    store = imported(bundled(tmp_path / "docs.zip", docs), tmp_path / "imported")
    assert rows(tmp_path / "imported") == rows(tmp_path / "direct")
    assert in_step(store)
    assert store.originals.get(docs[0].sha256) == docs[0].original


def test_a_bundle_is_written_whole_or_not_at_all(tmp_path):
    path = tmp_path / "docs.zip"
    with pytest.raises(RuntimeError), BundleWriter(path, MODEL.model_id, MODEL.dim) as bundle:
        bundle.add(document("Виза на год."), passage_vectors(MODEL, [document("Виза на год.")]))
        raise RuntimeError("the encoding machine went down")
    assert list(tmp_path.iterdir()) == []


def tampered(doc):
    """Ways a bundle can lie about its content, each refused with its reason."""
    chunk = doc.chunks[0]
    return {
        "not the text at its offsets": dataclasses.replace(
            doc, chunks=(dataclasses.replace(chunk, text="Другой текст."),)
        ),
        "does not match its checksum": dataclasses.replace(doc, original=b"another file"),
        "malformed document": dataclasses.replace(doc, year="2020"),
    }


@pytest.mark.parametrize("reason", list(tampered(document("Виза на год."))))
def test_a_bundle_that_lies_about_its_documents_is_refused_and_adds_nothing(tmp_path, reason):
    good = document("Кандас — этнический казах.", "good.txt")
    bad = tampered(document("Виза на год."))[reason]
    path = bundled(tmp_path / "docs.zip", [good, bad], passage_vectors(MODEL, [good]))
    with pytest.raises(BadBundle, match=reason):
        imported(path, tmp_path / "data")
    assert Store(tmp_path / "data", MODEL).catalog.counts() == (0, 0)


def test_vectors_that_are_not_unit_vectors_or_from_another_model_are_refused(tmp_path):
    doc = document("Виза на год.")
    path = bundled(tmp_path / "docs.zip", [doc], 2 * passage_vectors(MODEL, [doc]))
    with pytest.raises(BadBundle, match="not finite unit vectors"):
        imported(path, tmp_path / "data")
    with pytest.raises(ModelMismatch, match="KOSHQON_MODEL=multilingual-e5-small"):
        next(read_bundle(bundled(tmp_path / "ok.zip", [doc]), "multilingual-e5-small", 384))
    (tmp_path / "notes.zip").write_bytes(b"not a zip")
    with pytest.raises(BadBundle, match="not a bundle"):
        next(read_bundle(tmp_path / "notes.zip", MODEL.model_id, MODEL.dim))


@pytest.mark.slow
def test_koshqon_encode_then_import_with_the_real_model(run, tmp_path, library_dir):  # noqa: F811
    """The corpus encoded into a bundle by one command and imported by another is the
    collection that ingesting it makes: same passages, same vectors, found alike."""
    bundle = tmp_path / "corpus.zip"
    encoded = run("encode", str(ROOT / "corpus"), "--output", str(bundle))
    assert encoded.returncode == 0, encoded.stderr
    assert "Encoded 10 files" in encoded.stdout
    first = run("import", str(bundle))
    assert first.returncode == 0, first.stderr
    assert "Added 10, skipped 0" in first.stdout
    again = run("import", str(bundle))
    assert "Added 0, skipped 10" in again.stdout
    data_dir = Path(tmp_path / "data")
    mine, theirs = rows(data_dir), rows(library_dir)
    assert [r[:4] for r in mine] == [r[:4] for r in theirs]
    vectors = [np.frombuffer(r[4], np.float32) for r in mine]
    expected = [np.frombuffer(r[4], np.float32) for r in theirs]
    assert np.allclose(vectors, expected, atol=1e-5)
