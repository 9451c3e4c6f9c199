"""Past one machine, measured on this one, with a throwaway PostgreSQL catalog: searches/s
of one `koshqon serve` replica against two (each pinned to a core of its own), files/min of
one `koshqon worker` against two, and how long a new replica takes to join a catalog of 1M
passages, from a copy of a peer's index snapshot and from the catalog alone. Writes
docs/replicas.md.

    .venv/bin/python -m benchmarks.replicas
    .venv/bin/python -m benchmarks.replicas --join /tmp/scale-1m

``--join`` takes a collection built by benchmarks.scale (its catalog is copied into
PostgreSQL, its index snapshot serves as the peer's). ``--only join`` (or ``replicas``,
``workers``) measures that part again and keeps the others' figures (docs/replicas.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx

from benchmarks.machine import describe, started
from benchmarks.throughput import CORPORA, QUERIES, ROOT

sys.path.insert(0, str(ROOT / "tests"))
from pg_cluster import Cluster  # noqa: E402  (the tests' throwaway cluster)

KOSHQON = Path(sys.executable).with_name("koshqon")
SECONDS = 30  # of searching, per setup
CLIENTS = 8
LAWS = CORPORA / "legal" / "kz_laws_ru_kk"
JOB_FILES = 12  # the smallest laws, Russian and Kazakh
OUTPUT = ROOT / "docs" / "replicas.md"
FIGURES = OUTPUT.with_suffix(".json")
PARTS = ("replicas", "workers", "join")


def start(arguments: list[str], env: dict, core: int | None) -> subprocess.Popen:
    """A koshqon process, pinned to ``core`` (one thread for the model) or on every core."""
    pinned = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} if core is not None else {}
    return subprocess.Popen(
        [str(KOSHQON), *arguments],
        env={**os.environ, **env, **pinned},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=(lambda: os.sched_setaffinity(0, {core})) if core is not None else None,
    )


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(60)


def searches_per_second(ports: list[int]) -> dict:
    """CLIENTS threads searching the questions for SECONDS, spread over the replicas."""
    counts = [0] * CLIENTS
    deadline = time.monotonic() + SECONDS

    def client(n: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[n % len(ports)]}") as http:
            while time.monotonic() < deadline:
                question = QUERIES[(n + counts[n]) % len(QUERIES)]
                http.get("/search", params={"q": question, "k": 10}).raise_for_status()
                counts[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"searches_per_s": round(sum(counts) / SECONDS, 1)}


def replicas(cluster: Cluster, scratch: Path) -> list[dict]:
    url = cluster.new_database()
    env = {"KOSHQON_DATABASE_URL": url, "KOSHQON_SHARED_DIR": str(scratch / "shared")}
    subprocess.run(
        [str(KOSHQON), "ingest", str(ROOT / "corpus"), "--data-dir", str(scratch / "ingest")],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    rows = []
    for label, cores in (
        ("1 replica, both cores", [None]),
        ("1 replica, pinned to one core", [0]),
        ("2 replicas, pinned to a core each", [0, 1]),
    ):
        ports = [8741 + n for n in range(len(cores))]
        processes = [
            start(["serve", "--port", str(port), "--data-dir", str(scratch / f"r{n}")], env, core)
            for n, (port, core) in enumerate(zip(ports, cores, strict=True))
        ]
        try:
            for process, port in zip(processes, ports, strict=True):
                started(process, port)
                for question in QUERIES:  # warm
                    httpx.get(f"http://127.0.0.1:{port}/search", params={"q": question})
            rows.append({"setup": label, **searches_per_second(ports)})
        finally:
            stop(processes)
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


def workers(cluster: Cluster, scratch: Path) -> list[dict]:
    laws = sorted(LAWS.glob("*.txt"), key=lambda p: p.stat().st_size)[:JOB_FILES]
    rows = []
    for count in (1, 2):
        url = cluster.new_database()
        env = {
            "KOSHQON_DATABASE_URL": url,
            "KOSHQON_SHARED_DIR": str(scratch / f"shared-{count}"),
            "KOSHQON_SERVE_JOBS": "false",
        }
        port = 8751
        serve = ["serve", "--port", str(port), "--data-dir", str(scratch / "wr")]
        replica = start(serve, env, None)
        started(replica, port)
        pool = [
            start(["worker", "--data-dir", str(scratch / f"w{n}")], env, n) for n in range(count)
        ]
        time.sleep(15)  # the workers load the model
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
                files = [("files", (path.name, path.read_bytes())) for path in laws]
                began = time.monotonic()
                job = http.post("/jobs", files=files).json()
                while (report := http.get(f"/jobs/{job['id']}").json())["state"] != "finished":
                    time.sleep(0.5)
                took = time.monotonic() - began
        finally:
            stop([replica, *pool])
        added = sum(r["status"] == "added" for r in report["results"])
        rows.append(
            {
                "workers": count,
                "files": len(laws),
                "added": added,
                "megabytes": round(sum(p.stat().st_size for p in laws) / 1e6, 2),
                "seconds": round(took, 1),
                "files_per_min": round(added / took * 60, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


# --- joining at 1M ----------------------------------------------------------------------------
def copy_catalog(collection: Path, url: str) -> dict:
    """The collection's SQLite catalog copied into the PostgreSQL database at ``url``."""
    from index.backup import to_postgres

    began = time.monotonic()
    to_postgres(collection, url)
    return {"copy_s": round(time.monotonic() - began, 1)}


def join_once(data_dir: Path, url: str) -> None:
    """(In a process of its own.) A replica's start: open the store and load its indexes."""
    from index.store import Store
    from service.core import ModelNotLoaded

    began = time.monotonic()
    store = Store(data_dir, ModelNotLoaded("multilingual-e5-small", 384), url)
    indexes = store.indexes()
    took = time.monotonic() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(json.dumps({"seconds": round(took, 1), "passages": len(indexes), "peak_gb": peak}))


def joins(cluster: Cluster, collection: Path, scratch: Path) -> dict:
    url = cluster.new_database()
    figures = copy_catalog(collection, url)
    print(json.dumps(figures), flush=True)
    snapshot = collection / "index"
    figures["snapshot_gb"] = round(
        sum(p.stat().st_size for p in snapshot.rglob("*") if p.is_file()) / 1e9, 2
    )
    for label, copied in (("from a peer's snapshot", True), ("from the catalog alone", False)):
        data_dir = scratch / f"join-{copied}"
        if copied:  # what `rsync peer:DATA/index DATA/` gives a new replica
            shutil.copytree(snapshot, data_dir / "index")
        data_dir.mkdir(exist_ok=True)
        run = subprocess.run(
            [sys.executable, "-m", "benchmarks.replicas", "--join-once", str(data_dir), url],
            capture_output=True,
            text=True,
            check=True,
        )
        figures[label] = json.loads(run.stdout.strip().splitlines()[-1])
        print(label, json.dumps(figures[label]), flush=True)
    return figures


# --- the report ---------------------------------------------------------------------------------
def write(results: dict) -> None:
    lines = [
        "# Replicas and workers on one PostgreSQL catalog, measured",
        "",
        f"{results['date']}, {results['machine']}; written by "
        "`.venv/bin/python -m benchmarks.replicas` (`--join /tmp/scale-1m` for the last table). "
        "The plan these figures belong to is docs/deployment.md.",
        "",
        f"## Searches: {CLIENTS} clients for {SECONDS} s over the project's corpus/",
        "",
        "| setup | searches/s |",
        "|---|---|",
        *(f"| {r['setup']} | {r['searches_per_s']} |" for r in results["replicas"]),
        "",
        "## Workers: one job of the smallest laws (Russian and Kazakh text), a core each",
        "",
        "| workers | files | MB | seconds | files/min |",
        "|---|---|---|---|---|",
        *(
            f"| {r['workers']} | {r['added']}/{r['files']} | {r['megabytes']} | {r['seconds']} "
            f"| {r['files_per_min']} |"
            for r in results["workers"]
        ),
    ]
    if join := results.get("join"):
        lines += [
            "",
            f"## A new replica joining a catalog of {join['from the catalog alone']['passages']:,} "
            "passages",
            "",
            f"The catalog was copied into PostgreSQL in {join['copy_s']} s. A peer's snapshot is "
            f"{join['snapshot_gb']} GB to copy (rsync of its DATA/index).",
            "",
            "| how it starts | seconds to its first search | peak memory (GB) |",
            "|---|---|---|",
            *(
                f"| {label} | {join[label]['seconds']} | {join[label]['peak_gb']:.2f} |"
                for label in ("from a peer's snapshot", "from the catalog alone")
            ),
        ]
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--join", type=Path, help="a 1M collection built by benchmarks.scale")
    parser.add_argument("--only", choices=PARTS, action="append", help="measure this part")
    parser.add_argument("--join-once", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.join_once:
        join_once(Path(arguments.join_once[0]), arguments.join_once[1])
        return
    if not CORPORA.is_dir():
        sys.exit(f"{CORPORA} not found; set KOSHQON_CORPORA")
    parts = arguments.only or [p for p in PARTS if p != "join" or arguments.join]
    if "join" in parts and not arguments.join:
        parser.error("--only join needs --join COLLECTION")
    results = json.loads(FIGURES.read_text()) if FIGURES.exists() and arguments.only else {}
    results |= {"date": date.today().isoformat(), "machine": describe()}
    cluster = Cluster(8740)
    try:
        with tempfile.TemporaryDirectory(prefix="koshqon-replicas-") as scratch:
            if "replicas" in parts:
                results["replicas"] = replicas(cluster, Path(scratch))
            if "workers" in parts:
                results["workers"] = workers(cluster, Path(scratch))
            if "join" in parts:
                results["join"] = joins(cluster, arguments.join, Path(scratch))
    finally:
        cluster.stop()
    FIGURES.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    write(results)
    print(OUTPUT.read_text())


if __name__ == "__main__":
    main()
