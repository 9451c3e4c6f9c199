"""Every process of a collection reaches its files (originals, queued uploads): in the data
folder of an embedded collection; for a shared PostgreSQL catalog, in PostgreSQL itself, or
in a shared folder that each process checks it really shares (index/blobs.py)."""

from __future__ import annotations

import io

import pytest
from test_store import HashingEmbedder, document

from index.blobs import MARKER, PIECE, DatabaseBlobs, FilesUnreachable, FolderBlobs
from index.queue import JobQueue
from index.store import Store


@pytest.fixture
def url(postgres) -> str:
    return postgres.new_database()


def test_without_a_shared_folder_replicas_on_other_machines_read_each_others_files(tmp_path, url):
    """Two processes with data folders of their own (two machines): what one stores, the
    other reads, through PostgreSQL."""
    here = Store(tmp_path / "here", HashingEmbedder(), url)
    there = Store(tmp_path / "there", HashingEmbedder(), url)
    assert isinstance(here.blobs, DatabaseBlobs)
    added = here.add(document("Кандас — этнический казах.", "kandas.txt")).document
    assert there.originals.get(added.sha256) == "Кандас — этнический казах.".encode()
    job = JobQueue(here.catalog, here.blobs).submit([("a.txt", io.BytesIO(b"upload"), {})])
    claimed = JobQueue(there.catalog, there.blobs).claim("there", 60)
    assert claimed.job_id == job
    assert JobQueue(there.catalog, there.blobs).upload(claimed) == b"upload"
    here.close()
    there.close()


def test_a_large_file_is_stored_and_read_in_pieces(tmp_path, url):
    store = Store(tmp_path, HashingEmbedder(), url)
    data = bytes(range(256)) * (PIECE * 5 // 2 // 256)  # two and a half pieces
    store.blobs.put("originals/ab/big", io.BytesIO(data))
    rows = store.catalog.query("SELECT COUNT(*) FROM blobs WHERE key = 'originals/ab/big'")
    assert rows[0][0] == 3
    assert [len(piece) for piece in store.blobs.pieces("originals/ab/big")] == [
        PIECE,
        PIECE,
        PIECE // 2,
    ]
    assert store.blobs.read("originals/ab/big") == data
    store.close()


def test_a_shared_folder_that_is_not_the_same_is_refused_at_start(tmp_path, url):
    first = Store(tmp_path / "a", HashingEmbedder(), url, tmp_path / "nfs")
    assert (tmp_path / "nfs" / MARKER).is_file()
    same = Store(tmp_path / "b", HashingEmbedder(), url, tmp_path / "nfs")
    with pytest.raises(FilesUnreachable, match="KOSHQON_SHARED_DIR=.*other.*marker.*missing"):
        Store(tmp_path / "c", HashingEmbedder(), url, tmp_path / "other")
    with pytest.raises(FilesUnreachable, match="keeps its originals and uploads in a shared"):
        Store(tmp_path / "d", HashingEmbedder(), url)  # no shared folder at all
    first.close()
    same.close()


def test_a_runner_claims_nothing_while_the_shared_folder_is_gone(tmp_path, url):
    """The folder unmounted under a running worker: it leaves the file queued for a
    runner that can read it, and takes it once the folder is back."""
    store = Store(tmp_path / "a", HashingEmbedder(), url, tmp_path / "nfs")
    queue = JobQueue(store.catalog, store.blobs)
    queue.submit([("a.txt", io.BytesIO(b"upload"), {})])
    marker = (tmp_path / "nfs" / MARKER).read_text()
    (tmp_path / "nfs" / MARKER).unlink()
    assert "no longer holds this catalog's marker" in store.blobs.reachable()
    assert queue.claim("a", 60) is None
    (tmp_path / "nfs" / MARKER).write_text(marker)
    assert queue.upload(queue.claim("a", 60)) == b"upload"
    store.close()


def test_an_embedded_collection_keeps_its_files_in_its_folder(tmp_path):
    store = Store(tmp_path, HashingEmbedder())
    added = store.add(document("Кандас — этнический казах.", "kandas.txt")).document
    assert isinstance(store.blobs, FolderBlobs) and store.blobs.token is None
    assert store.originals.path(added.sha256) == tmp_path / "originals" / added.sha256[:2] / (
        added.sha256
    )
    store.close()
