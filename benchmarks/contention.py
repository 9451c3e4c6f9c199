"""Searches while a job ingests: /search latency at rest and while `POST /jobs` reads, OCRs
and encodes real files on the same machine, with ingestion at its default priority
(KOSHQON_INGEST_NICENESS=10) and at the searches' (0). Writes docs/load.md.

    .venv/bin/python -m benchmarks.contention

The collection is the project's corpus/; the job is six files from ../shared/corpora
(laws and the Constitution as text, and two PDFs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.machine import describe, percentile, started
from benchmarks.throughput import CORPORA, QUERIES, ROOT

JOB = [
    "legal/constitution_kk_ru_en/constitution_ru__adilkhan1993-MyRAGproject.pdf",
    "legal/kz_laws_ru_kk/law_on_public_service.txt",
    "legal/kz_laws_ru_kk/law_on_public_service_kz.txt",
    "legal/constitution_kk_ru_en/constitution_kk__Adikkk17-block4.txt",
    "legal/constitution_kk_ru_en/constitution_en__Adikkk17-block4.txt",
    "pdf/pdf_cyrillic/ru__Russian-Phd-LaTeX-Dissertation-Template__OutputExample__dissertation.pdf",
]
KOSHQON = Path(sys.executable).with_name("koshqon")


def serve(data_dir: Path, port: int, niceness: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "KOSHQON_DATA_DIR": str(data_dir),
        "KOSHQON_INGEST_NICENESS": str(niceness),
    }
    process = subprocess.Popen(
        [str(KOSHQON), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return started(process, port)


def latencies(client: httpx.Client, until) -> list[float]:
    """Search the questions in turn until ``until()`` says stop; each search's seconds."""
    found = []
    while not until():
        question = QUERIES[len(found) % len(QUERIES)]
        started = time.perf_counter()
        client.get("/search", params={"q": question, "k": 10}).raise_for_status()
        found.append(time.perf_counter() - started)
    return found


def measure(data_dir: Path, niceness: int, port: int) -> dict:
    process = serve(data_dir, port, niceness)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for question in QUERIES:  # warm
                client.get("/search", params={"q": question})
            started = time.perf_counter()
            idle = latencies(client, lambda: time.perf_counter() - started > 30)
            files = [("files", (Path(p).name, (CORPORA / p).read_bytes())) for p in JOB]
            job = client.post("/jobs", files=files).json()
            finished = threading.Event()

            def watch():
                while client.get(f"/jobs/{job['id']}").json()["state"] != "finished":
                    time.sleep(1)
                finished.set()

            started = time.perf_counter()
            threading.Thread(target=watch, daemon=True).start()
            busy = latencies(client, finished.is_set)
            took = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)
    p95_idle, p95_busy = percentile(idle, 0.95), percentile(busy, 0.95)
    return {
        "niceness": niceness,
        "idle_p50_ms": round(percentile(idle, 0.5) * 1000, 1),
        "idle_p95_ms": round(p95_idle * 1000, 1),
        "busy_p50_ms": round(percentile(busy, 0.5) * 1000, 1),
        "busy_p95_ms": round(p95_busy * 1000, 1),
        "busy_max_ms": round(max(busy) * 1000, 1),
        "p95_ratio": round(p95_busy / p95_idle, 2),
        "searches_during_job": len(busy),
        "job_seconds": round(took, 1),
    }


def main() -> None:
    if not CORPORA.is_dir():
        sys.exit(f"{CORPORA} not found; set KOSHQON_CORPORA")
    with tempfile.TemporaryDirectory(prefix="koshqon-contention-") as scratch:
        base = Path(scratch) / "base"
        subprocess.run(
            [str(KOSHQON), "ingest", str(ROOT / "corpus"), "--data-dir", str(base)],
            check=True,
            capture_output=True,
        )
        rows = []
        for port, niceness in ((8731, 10), (8732, 0)):
            data_dir = Path(scratch) / f"nice-{niceness}"
            shutil.copytree(base, data_dir)
            rows.append(measure(data_dir, niceness, port))
            print(json.dumps(rows[-1]))
    write(rows)


def write(rows: list[dict]) -> None:
    lines = [
        "# Searches while a job ingests",
        "",
        "Written by `.venv/bin/python -m benchmarks.contention` on "
        f"{time.strftime('%Y-%m-%d')} ({describe()}). One reader searches the 12 questions of",
        "benchmarks/throughput.py in turn: 30 s at rest, then while `POST /jobs` ingests six",
        "files of ../shared/corpora (laws and the Constitution as text, and two PDFs) into a",
        "server over the project's corpus/.",
        "",
        "| ingestion niceness | at rest p50 / p95 | during the job p50 / p95 / max | p95 ratio |"
        " searches during the job | job |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['niceness']} | {row['idle_p50_ms']} / {row['idle_p95_ms']} ms | "
            f"{row['busy_p50_ms']} / {row['busy_p95_ms']} / {row['busy_max_ms']} ms | "
            f"{row['p95_ratio']}× | {row['searches_during_job']} | {row['job_seconds']} s |"
        )
    lines += [
        "",
        "Ingestion's niceness (`KOSHQON_INGEST_NICENESS`, default 10) applies to the process",
        "that reads each file (and to Tesseract, which it starts) and to the job's thread in",
        "the server, which encodes the passages; the encoder's other threads are shared with",
        "searches and keep their priority. Target (issue 11): p95 during the job within 2× of",
        "p95 at rest.",
        "",
    ]
    (ROOT / "docs" / "load.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
