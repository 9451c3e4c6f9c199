"""Progress within a file, not only per file: pages read by OCR and passages encoded, with
an ETA from the job's own pace, over GET /jobs/{id} (and the web page and CLI read it)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import CORPORA, need_corpora
from test_store import HashingEmbedder, document

from index.queue import JobReport, QueuedFile
from index.store import ENCODE_BATCH, passage_for_embedding, passage_vectors
from ingest import ocr
from ingest.contained import read_contained

SCAN = "pdf/pdf_messy/scanned_image_only_en__pdfminer.six__samples__nonfree__175.pdf"


def test_passages_are_encoded_in_batches_that_report_how_far_they_are():
    long = document(" ".join(f"Статья {n}. Кандас тіркеуі, тармақ {n}." for n in range(4000)))
    reports = []
    vectors = passage_vectors(HashingEmbedder(), [long], lambda *r: reports.append(r))
    total = len(long.chunks)
    assert total > ENCODE_BATCH
    assert reports[-1] == ("encoding", total, total)
    assert [done for _, done, _ in reports] == sorted(
        {*range(ENCODE_BATCH, total, ENCODE_BATCH), total}
    )
    texts = [passage_for_embedding(c.text, c.heading) for c in long.chunks]
    assert np.array_equal(vectors, HashingEmbedder().embed(texts, "passage"))


def test_pages_read_by_ocr_are_reported_from_the_reading_process():
    need_corpora()
    if not ocr.available():
        pytest.skip("Tesseract is not installed (bin/setup installs tesseract-ocr)")
    reports = []
    scan = CORPORA / SCAN
    read = read_contained(scan.read_bytes(), scan.name, progress=lambda *r: reports.append(r))
    assert reports == [("reading", 1, 2), ("reading", 2, 2)]
    assert read.ocr_pages == (1, 2)


def queued(n: int, state: str, size: int, seconds=None, progress=None) -> QueuedFile:
    return QueuedFile("j", n, f"f{n}.pdf", {}, state, None, None, 1, size, seconds, progress, None)


def test_the_eta_goes_by_the_jobs_own_pace():
    files = [
        queued(0, "added", 2_000_000, seconds=10.0),  # 200 kB/s so far
        queued(1, "running", 1_000_000, progress={"stage": "reading", "eta_seconds": 7.0}),
        queued(2, "queued", 3_000_000),
    ]
    report = JobReport("j", "t0", "t1", None, files)
    assert report.eta_seconds == 3_000_000 / 200_000 + 7.0
    assert JobReport("j", "t0", "t1", None, files[1:]).eta_seconds is None  # no pace yet
    assert JobReport("j", "t0", "t1", None, files[:2]).eta_seconds == 7.0  # the last file


def test_a_job_reports_the_page_its_scan_is_at(client):
    need_corpora()
    if not ocr.available():
        pytest.skip("Tesseract is not installed (bin/setup installs tesseract-ocr)")
    scan = CORPORA / SCAN
    files = [("files", (scan.name, scan.read_bytes())), ("files", ("note.txt", "Кандас.".encode()))]
    job = client.post("/jobs", files=files).json()
    seen = []
    while job["state"] != "finished":
        if job["current"]:
            seen.append((job["current"]["filename"], job["current"]["stage"]))
        time.sleep(0.05)
        job = client.get(f"/jobs/{job['id']}").json()
    assert (scan.name, "reading") in seen, seen
    assert (job["current"], job["eta_seconds"], job["done"]) == (None, None, 2)
