"""Bad files get a clear problem-details error and leave the catalog and index unchanged."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import need_corpora
from fastapi.testclient import TestClient
from test_store import in_step

from index.vectors import VectorIndex
from service.api.app import create_app

ROOT = Path(__file__).resolve().parent.parent
MESSY = "pdf/pdf_messy/"


def messy(name: str) -> tuple[str, bytes]:
    path = need_corpora() / MESSY / name
    return path.name, path.read_bytes()


def truncated(relative: str) -> tuple[str, bytes]:
    data = (need_corpora() / relative).read_bytes()
    return "truncated.pdf", data[: len(data) // 3]


def state(client, settings):
    """Everything a failed upload must not change: catalog counts, indexed ids, a search."""
    hits = client.get("/search", params={"q": "registration", "k": 5}).json()["results"]
    store = client.app.state.koshqon.store
    assert in_step(store)
    return (
        client.get("/health").json(),
        store.indexes().ids().tolist(),
        [h["chunk_id"] for h in hits],
    )


@pytest.fixture
def stocked(client, settings):
    path = ROOT / "corpus" / "internal-migrants-rights-guide.en.txt"
    assert client.post("/documents", files={"file": (path.name, path.read_bytes())}).is_success
    return client, state(client, settings)


CASES = {
    "empty": (lambda: ("empty.txt", b""), 400, "the file is empty"),
    "blank": (lambda: ("blank.md", b"  \n\t\n"), 400, "the file is empty"),
    "wrong type": (
        lambda: ("table.xlsx", b"PK\x03\x04 spreadsheet"),
        415,
        "'.xlsx' files are not supported",
    ),
    "not a pdf": (lambda: ("fake.pdf", b"hello, I am text"), 400, "not a PDF file"),
    "corrupted pdf": (
        lambda: messy(
            "malformed_no_startxref__pdfminer.six__samples__contrib__issue-1113-evil-xobjects.pdf"
        ),
        400,
        "damaged",
    ),
    "truncated pdf": (
        lambda: truncated(
            "pdf/pdf_cyrillic/ru__Russian-Phd-LaTeX-Dissertation-"
            "Template__Documents__Def_positions.pdf"
        ),
        400,
        "damaged",
    ),
    "image too small for OCR": (
        lambda: messy("image_only_ccittfax__pypdf__resources__imagemagick-CCITTFaxDecode.pdf"),
        400,
        "nothing to index",
    ),
    "encrypted pdf": (
        lambda: messy(
            "encrypted_user_password__py-pdf-sample-files__005__libreoffice-writer-password.pdf"
        ),
        400,
        "encrypted with a password",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_file_is_refused_and_changes_nothing(stocked, settings, case):
    client, before = stocked
    make, status, reason = CASES[case]
    name, data = make()
    response = client.post("/documents", files={"file": (name, data)})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.json()["detail"]
    assert state(client, settings) == before


def test_file_above_the_size_limit_is_413(settings, models_dir):
    settings = settings.model_copy(update={"max_upload_mb": 0.01})
    with TestClient(create_app(settings)) as client:
        response = client.post("/documents", files={"file": ("big.txt", b"word " * 5000)})
        assert response.status_code == 413
        assert "limit is 0.01 MB" in response.json()["detail"]
        assert client.get("/health").json()["documents"] == 0


def test_index_files_are_rebuilt_when_missing_truncated_or_out_of_step(stocked, settings):
    client, before = stocked
    client.app.state.koshqon.store.snapshot()
    index = settings.data_dir / "index"
    snapshot = index / (index / "CURRENT").read_text()
    faiss_file = next(snapshot.glob("vectors-*.faiss"))
    data = faiss_file.read_bytes()
    faiss_file.unlink()  # a new file, not the linked one
    faiss_file.write_bytes(data[: len(data) // 2])
    with TestClient(create_app(settings)) as restarted:
        assert state(restarted, settings) == before
    snapshot = index / (index / "CURRENT").read_text()
    faiss_file = next(snapshot.glob("vectors-*.faiss"))
    faiss_file.unlink()
    VectorIndex.build(384, np.array([12345]), np.ones((1, 384), np.float32)).save(faiss_file)
    with TestClient(create_app(settings)) as restarted:
        assert state(restarted, settings) == before
    shutil.rmtree(index)
    with TestClient(create_app(settings)) as restarted:
        assert state(restarted, settings) == before


def test_a_repairable_pdf_is_repaired_not_refused(client):
    name, data = messy("corrupted__pdfminer.six__samples__zen_of_python_corrupted.pdf")
    response = client.post("/documents", files={"file": (name, data)})
    assert response.status_code == 201
    hits = client.get("/search", params={"q": "Beautiful is better than ugly"}).json()["results"]
    assert "Beautiful is better than ugly." in hits[0]["text"]


BEYOND_SQLITE = 2**63  # one more than SQLite's largest integer


def test_ids_beyond_sqlite_integers_are_invalid_parameters(client):
    requests = [
        client.get(f"/documents/{BEYOND_SQLITE}"),
        client.patch(f"/documents/{BEYOND_SQLITE}", json={"year": 2020}),
        client.delete(f"/documents/{BEYOND_SQLITE}"),
        client.get("/search", params={"q": "виза", "doc_id": BEYOND_SQLITE}),
        client.post("/ask", json={"question": "виза?", "doc_id": [BEYOND_SQLITE]}),
        client.get(f"/view/documents/{BEYOND_SQLITE}"),
    ]
    assert [r.status_code for r in requests] == [422] * len(requests)
    assert all(r.headers["content-type"] == "application/problem+json" for r in requests)


@pytest.mark.parametrize("name", ["..", ".", "\x00\x00", "../../etc/passwd"])
def test_odd_file_names_are_refused_with_a_reason_and_leave_no_files(client, name, settings):
    added = client.post("/documents", files={"file": (name, b"Kandas.", "text/plain")})
    assert added.status_code == 415, added.text
    assert "not supported" in added.json()["detail"]
    job = client.post("/jobs", files=[("files", (name, b"Kandas.", "text/plain"))])
    assert job.status_code == 202
    while (status := client.get(f"/jobs/{job.json()['id']}").json())["state"] != "finished":
        time.sleep(0.05)
    assert [r["status"] for r in status["results"]] == ["failed"]
    queue = client.app.state.jobs.queue
    assert len(list(queue.blobs.listed("queue"))) == 1, "kept for a retry while reported"
    with queue.catalog.transaction() as db:  # the report expires
        db.execute("UPDATE jobs SET finished_at = '2020-01-01T00:00:00+00:00'")
    assert queue.expire(days=30) == 1
    assert not list(queue.blobs.listed("queue")), "the stored upload is left behind"


def test_a_wrong_method_is_a_problem_that_says_which_are_allowed(client):
    response = client.put("/search")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.headers["content-type"] == "application/problem+json"


def test_health_says_whether_the_indexes_hold_the_catalogs_passages(client):
    note = ("note.txt", "Кандас — этнический казах.".encode(), "text/plain")
    client.post("/documents", files={"file": note})
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["chunks"] == health["dense_passages"] == health["keyword_passages"] > 0
    store = client.app.state.koshqon.store
    (partition,) = store.indexes().partitions.values()
    partition.vectors.remove(partition.keywords.ids()[:1])  # as a bug or a bad disk might
    health = client.get("/health").json()
    assert health["status"] == "out of step"
    assert health["dense_passages"] == health["chunks"] - 1


def test_a_job_file_may_have_a_name_longer_than_the_file_system_allows(client):
    name = "Қазақстан Республикасының көші-қон туралы заңына түсініктеме " * 3 + ".txt"
    assert len(name.encode()) > 255
    job = client.post("/jobs", files=[("files", (name, "Кандас туралы.".encode()))])
    assert job.status_code == 202, job.text
    while (status := client.get(f"/jobs/{job.json()['id']}").json())["state"] != "finished":
        time.sleep(0.05)
    assert [(r["filename"], r["status"]) for r in status["results"]] == [(name, "added")]
    document = client.get(f"/documents/{status['results'][0]['document_id']}").json()
    assert document["filename"] == name


def test_a_language_the_collection_does_not_have_is_a_mistake_not_an_empty_answer(client):
    for response in (
        client.get("/search", params={"q": "кандас", "lang": "kk,de"}),
        client.post("/ask", json={"question": "кандас кім?", "lang": ["de"]}),
    ):
        assert response.status_code == 422, response.text
        assert "no passages in de; this collection has en, kk, ru" in response.json()["detail"]
    assert client.get("/search", params={"q": "кандас", "lang": "kk"}).status_code == 200
