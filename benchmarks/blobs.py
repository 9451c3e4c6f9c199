"""Where a shared catalog keeps its files, measured: queued uploads and originals in
PostgreSQL (the blobs table, in 1 MiB pieces) against a folder (the shared folder's way:
written, fsynced, renamed), on this machine, with a PostgreSQL of its own (fsync on, as in
production). Writes docs/blobs.md.

    .venv/bin/python -m benchmarks.blobs

- upload: `JobQueue.submit` of a job of FILES files of SIZE_MB each (what POST /jobs does
  once the request is read), MB/s;
- claim and read: a runner's claim of each file and the read of its upload, MB/s;
- originals: an original stored and read back (what an added document and GET
  /documents/{id}/original cost);
- a worker end to end: the real model adding SMALL small files (a law's articles) from
  the queue, files/min, where encoding is most of the time.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.machine import describe
from benchmarks.throughput import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from conftest import free_port  # noqa: E402
from pg_cluster import Cluster  # noqa: E402

FILES, SIZE_MB, ROUNDS, SMALL = 10, 5, 3, 8
OUTPUT = ROOT / "docs" / "blobs.md"


def median_rate(megabytes: float, runs: list[float]) -> str:
    return f"{megabytes / statistics.median(runs):.0f} MB/s (median of {len(runs)})"


def queue_figures(make_store) -> dict:
    """Upload, claim-and-read and original store/read rates for one way of keeping files."""
    from index.queue import JobQueue

    payload = os.urandom(SIZE_MB << 20)
    uploads, reads, puts, gets = [], [], [], []
    for round_ in range(ROUNDS):
        store = make_store(round_)
        queue = JobQueue(store.catalog, store.blobs)
        started = time.perf_counter()
        queue.submit([(f"f{n}.pdf", io.BytesIO(payload), {}) for n in range(FILES)])
        uploads.append(time.perf_counter() - started)
        started = time.perf_counter()
        while (file := queue.claim("bench", 60)) is not None:
            assert len(queue.upload(file)) == len(payload)
            queue.finish(file, "bench", ("added", None, None), 0)
        reads.append(time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(FILES):
            store.originals.put(f"{round_:02x}{n:062x}", payload)
        puts.append(time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(FILES):
            b"".join(store.originals.pieces(f"{round_:02x}{n:062x}"))
        gets.append(time.perf_counter() - started)
        store.close()
    total = FILES * SIZE_MB
    return {
        "upload": median_rate(total, uploads),
        "claim and read": median_rate(total, reads),
        "original stored": median_rate(total, puts),
        "original read": median_rate(total, gets),
    }


def worker_figure(settings) -> str:
    """Files/min of one runner adding SMALL files queued at once (the real model)."""
    from service.core import Koshqon
    from service.jobs import Jobs

    texts = (ROOT / "corpus").iterdir()
    laws = sorted(p for p in texts if p.suffix in (".md", ".txt") and p.stem != "README")
    laws = laws[:SMALL]
    koshqon = Koshqon(settings, searching=False)
    started = time.perf_counter()
    jobs = Jobs(koshqon)
    job = jobs.submit([(law.name, law.open("rb"), None) for law in laws]).id
    while jobs.queue.report(job).finished_at is None:
        time.sleep(0.2)
    minutes = (time.perf_counter() - started) / 60
    jobs.close()
    koshqon.close()
    return f"{len(laws) / minutes:.1f} files/min ({len(laws)} files of corpus/)"


def main() -> None:
    from test_store import HashingEmbedder

    from index.store import Store
    from service.config import Settings

    cluster = Cluster(free_port(), durable=True)
    scratch = Path(tempfile.mkdtemp(prefix="koshqon-blobs-"))
    try:
        ways = {
            "PostgreSQL (blobs table)": lambda n: Store(
                scratch / f"pg-{n}", HashingEmbedder(), cluster.new_database()
            ),
            "shared folder (local disk)": lambda n: Store(
                scratch / f"folder-{n}", HashingEmbedder(), cluster.new_database(),
                scratch / f"shared-{n}",
            ),
        }  # fmt: skip
        figures = {way: queue_figures(make) for way, make in ways.items()}
        for way, shared in (("PostgreSQL (blobs table)", None), ("shared folder (local disk)", 1)):
            settings = Settings(
                data_dir=scratch / f"worker-{way[:3]}",
                database_url=cluster.new_database(),
                shared_dir=scratch / "worker-shared" if shared else None,
            )
            figures[way]["worker, end to end"] = worker_figure(settings)
    finally:
        cluster.stop()
    write(figures)


def write(figures: dict) -> None:
    rows = list(next(iter(figures.values())))
    lines = [
        "# Files of a shared catalog: PostgreSQL or a shared folder",
        "",
        f"Measured {date.today()} by `.venv/bin/python -m benchmarks.blobs` on {describe()};",
        "PostgreSQL 15 on the same machine, with fsync on. A job of "
        f"{FILES} files of {SIZE_MB} MB, {ROUNDS} rounds.",
        "",
        "| | " + " | ".join(figures) + " |",
        "|---|" + "---|" * len(figures),
        *(f"| {row} | " + " | ".join(f[row] for f in figures.values()) + " |" for row in rows),
        "",
    ]
    OUTPUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
