"""A collection of N passages, built through the store's bulk write path, then measured over
HTTP: the figures of docs/scale.md.

    .venv/bin/python -m benchmarks.scale --passages 100000 --data-dir /tmp/scale-100k \\
        --json docs/scale/100k.json

**Text.** Real passages from ../shared/corpora: laws in Kazakh and Russian, the Constitution
in kk/ru/en, XQuAD paragraphs (en, ru) and KazQAD passages (kk), read and chunked by the
project's own pipeline. They are the *base*; the collection is made of numbered replicas of
the base documents (distinct titles, files and checksums) until it holds N passages.

**Vectors.** The base passages are encoded once by the real model and cached
(``--base-cache``). A replica's vector is its base vector plus Gaussian noise of norm 0.35,
renormalised (cosine ≈ 0.94 with its base), so that no two vectors are the same and the
index cannot find replicas by exact ties.

A data directory that already holds N passages is reused as it is; it stays servable by
``koshqon serve --data-dir DIR``. What the measurements add is removed again.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np

from benchmarks.machine import describe, percentile
from evaluation.tasks import _gzip_json, kazqad_data
from index import indexes as snapshots
from index.store import passage_for_embedding
from ingest.models import Metadata, PreparedDocument
from ingest.pipeline import prepare
from service.config import Settings
from service.core import Koshqon

ROOT = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("KOSHQON_CORPORA", ROOT.parent / "shared" / "corpora"))
LAWS = [
    "law_on_public_service",
    "law_on_education",
    "law_on_migration",
    "labour_code",
]
CONSTITUTION = [
    "constitution_kk__Adikkk17-block4.txt",
    "constitution_ru__Zh4nS1k-LegalRAG.txt",
    "constitution_en__Adikkk17-block4.txt",
]
NOISE = 0.35
BATCH_PASSAGES = 5_000  # passages per bulk write while building
QUERIES_PER_LANGUAGE = 20
PORT = 8799


# --- the collection -------------------------------------------------------------------------
def base_documents(koshqon: Koshqon) -> list[PreparedDocument]:
    """The real documents the collection replicates."""
    laws = CORPORA / "legal" / "kz_laws_ru_kk"
    files = [laws / f"{name}{suffix}.txt" for name in LAWS for suffix in ("", "_kz")]
    files += [CORPORA / "legal" / "constitution_kk_ru_en" / name for name in CONSTITUTION]
    texts = [(path.name, path.read_bytes()) for path in files if path.exists()]
    for lang in ("en", "ru"):
        data = _gzip_json(CORPORA / "eval" / "xquad" / f"xquad.{lang}.json.gz")["data"]
        for a, article in enumerate(data):
            body = "\n\n".join(p["context"].lstrip("\ufeff") for p in article["paragraphs"])
            texts.append((f"xquad-{lang}-{a}.txt", f"{article['title']}\n\n{body}".encode()))
    contexts = list(kazqad_data(CORPORA)[1])  # the distinct passages, in order
    for start in range(0, len(contexts), 10):
        texts.append((f"kazqad-{start}.txt", "\n\n".join(contexts[start : start + 10]).encode()))
    return [prepare(data, name, Metadata(), koshqon.chunker) for name, data in texts]


def base_vectors(koshqon: Koshqon, documents: list[PreparedDocument], cache: Path) -> np.ndarray:
    """The real model's vectors of every base passage, encoded once."""
    texts = [passage_for_embedding(c.text, c.heading) for d in documents for c in d.chunks]
    key = hashlib.sha256("\n".join([koshqon.embedder.model_id, *texts]).encode()).hexdigest()[:16]
    path = cache / f"scale-base-{key}.npy"
    if path.exists():
        return np.load(path)
    print(f"encoding {len(texts)} base passages once (cached in {path}) …", flush=True)
    vectors = koshqon.embedder.embed(texts, "passage")
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def replica(document: PreparedDocument, number: int) -> PreparedDocument:
    stem, _, suffix = document.filename.rpartition(".")
    return dataclasses.replace(
        document,
        filename=f"{stem}-{number}.{suffix}",
        title=f"{document.title} ({number})",
        sha256=hashlib.sha256(f"{document.sha256}-{number}".encode()).hexdigest(),
        original=document.original[:4096],
    )


def perturbed(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(vectors.shape).astype(np.float32)
    noise *= NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
    moved = vectors + noise
    return moved / np.linalg.norm(moved, axis=1, keepdims=True)


def build(koshqon: Koshqon, passages: int, documents, vectors) -> dict:
    """Replicas of the base documents, written in bulk until the collection holds
    ``passages`` passages."""
    store = koshqon.store
    held = store.catalog.counts()[1]
    if held >= passages:
        return {"reused": True, "passages": held}
    if held:
        raise SystemExit(f"{store.data_dir} holds {held} passages, not {passages}: use a new one")
    offsets = np.cumsum([0] + [len(d.chunks) for d in documents])
    rng = np.random.default_rng(0)
    started, written, number = time.perf_counter(), 0, 0
    batch, batch_vectors = [], []
    while written < passages:
        for i, document in enumerate(documents):
            if written >= passages:
                break
            batch.append(replica(document, number))
            batch_vectors.append(perturbed(vectors[offsets[i] : offsets[i + 1]], rng))
            written += len(document.chunks)
            if sum(len(v) for v in batch_vectors) >= BATCH_PASSAGES or written >= passages:
                store.add_many(batch, np.concatenate(batch_vectors))
                batch, batch_vectors = [], []
                print(f"  {written:,} passages, {time.perf_counter() - started:.0f} s", flush=True)
        number += 1
    store.snapshot()
    return {"reused": False, "passages": written, "build_s": time.perf_counter() - started}


# --- measuring --------------------------------------------------------------------------------
def queries() -> list[tuple[str, str]]:
    """Real questions, (language, text): XQuAD (en, ru) and KazQAD (kk)."""
    found = []
    for lang in ("en", "ru"):
        data = _gzip_json(CORPORA / "eval" / "xquad" / f"xquad.{lang}.json.gz")["data"]
        asked = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
        found += [(lang, q) for q in random.Random(lang).sample(asked, QUERIES_PER_LANGUAGE)]
    asked = [row["question"] for row in kazqad_data(CORPORA)[0]]
    found += [("kk", q) for q in random.Random("kk").sample(asked, QUERIES_PER_LANGUAGE)]
    return found


def summary(values: list[float]) -> dict:
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values), 1),
        "n": len(values),
    }


def rss_mb(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024)
    return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}


def disk_mb(data_dir: Path) -> dict:
    def size(path: Path) -> float:
        files = [path] if path.is_file() else path.rglob("*")
        return sum(f.stat().st_size for f in files if f.is_file()) / 1e6

    parts = {p.name: round(size(p)) for p in data_dir.iterdir() if not p.name.startswith(".")}
    return {"total_mb": round(size(data_dir)), **{f"{k}_mb": v for k, v in parts.items()}}


def timed(call, *args, **kwargs) -> tuple[float, object]:
    """Milliseconds ``call(*args, **kwargs)`` took, and its result."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def start_server(data_dir: Path, env: dict) -> tuple[subprocess.Popen, float]:
    """``koshqon serve`` on the collection; seconds until it answers a hybrid search."""
    koshqon_cli = Path(sys.executable).parent / "koshqon"
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(koshqon_cli), "serve", "--data-dir", str(data_dir), "--port", str(PORT)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            response = httpx.get(
                f"http://127.0.0.1:{PORT}/search", params={"q": "көші-қон"}, timeout=60
            )
            if response.status_code == 200:
                return server, time.perf_counter() - started
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise SystemExit("the server stopped before answering")
        time.sleep(0.2)


def latencies(client: httpx.Client, asked: list[tuple[str, str]]) -> dict:
    figures = {}
    for mode in ("hybrid", "dense", "keyword"):
        wall, inside = [], []
        for _, text in asked:
            ms, response = timed(client.get, "/search", params={"q": text, "k": 10, "mode": mode})
            response.raise_for_status()
            wall.append(ms)
            inside.append(response.json()["took_ms"])
        figures[mode] = {"http_ms": summary(wall), "took_ms": summary(inside)}
    return figures


def searching(asked, seconds: float, clients: int, stop: threading.Event | None = None) -> dict:
    """``clients`` threads searching (hybrid) for ``seconds`` or until ``stop``."""
    found: list[float] = []
    deadline = time.perf_counter() + seconds

    def client_loop(offset: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=120) as client:
            i = offset
            while time.perf_counter() < deadline and not (stop and stop.is_set()):
                text = asked[i % len(asked)][1]
                ms, response = timed(client.get, "/search", params={"q": text, "k": 10})
                response.raise_for_status()
                found.append(ms)
                i += 1

    threads = [threading.Thread(target=client_loop, args=(i * 7,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"searches_per_s": round(len(found) / elapsed, 1), "latency_ms": summary(found)}


def recall(koshqon: Koshqon, asked) -> dict:
    """Dense recall@10 of the indexes (as saved and replayed) against an exact scan of
    the same vectors."""
    indexes = snapshots.load(koshqon.store.index_dir, koshqon.store.catalog, koshqon.embedder.dim)
    indexes.catch_up(koshqon.store.catalog)
    query_vectors = koshqon.embedder.embed([text for _, text in asked], "query")
    exact_scores, exact_ids = [], []
    for partition in indexes.partitions.values():
        ids, vectors = partition.vectors.stored()
        scores = query_vectors @ vectors.T
        top = np.argsort(-scores, axis=1)[:, :10]
        exact_scores.append(np.take_along_axis(scores, top, axis=1))
        exact_ids.append(ids[top])
    scores, ids = np.concatenate(exact_scores, axis=1), np.concatenate(exact_ids, axis=1)
    shares = []
    for q, vector in enumerate(query_vectors):
        exact = set(ids[q][np.argsort(-scores[q])[:10]].tolist())
        approximate = sorted(
            (m for p in indexes.partitions.values() for m in p.vectors.search(vector, 10)),
            key=lambda m: -m[1],
        )[:10]
        shares.append(len(exact & {i for i, _ in approximate}) / 10)
    kinds = {
        lang: ("IVF" if p.vectors.approximate else "flat") + f" ({len(p.vectors)})"
        for lang, p in indexes.partitions.items()
    }
    return {"recall_at_10": round(float(np.mean(shares)), 3), "indexes": kinds}


def new_document(koshqon: Koshqon, documents, vectors, word: str, passages: int = 50):
    """A document of ``passages`` base passages with a word no other passage has."""
    source = max(documents, key=lambda d: len(d.chunks))
    chunks = tuple(
        dataclasses.replace(c, text=f"{c.text} {word}") for c in source.chunks[:passages]
    )
    offsets = np.cumsum([0] + [len(d.chunks) for d in documents])
    first = offsets[documents.index(source)]
    document = dataclasses.replace(replica(source, 10**6), chunks=chunks)
    document = dataclasses.replace(
        document, sha256=hashlib.sha256(word.encode()).hexdigest(), title=f"{word} {source.title}"
    )
    rng = np.random.default_rng(1)
    return document, perturbed(vectors[first : first + len(chunks)], rng)


def writes(koshqon: Koshqon, client: httpx.Client, documents, vectors) -> dict:
    """Time to be found for a document written by another process, then PATCH and DELETE."""
    word = f"scaleprobe{int(time.time())}"
    document, rows = new_document(koshqon, documents, vectors, word)
    write_ms, results = timed(koshqon.store.add_many, [document], rows)
    added = results[0].document
    started = time.perf_counter()
    while True:
        hits = client.get("/search", params={"q": word, "mode": "keyword", "k": 1}).json()
        if hits["results"]:
            break
        time.sleep(0.01)
    found_ms = (time.perf_counter() - started) * 1000
    patch_year = [
        timed(client.patch, f"/documents/{added.id}", json={"year": 1990 + y})[0] for y in range(10)
    ]
    patch_title = [
        timed(client.patch, f"/documents/{added.id}", json={"title": f"{word} v{n}"})[0]
        for n in range(10)
    ]
    deleted = []
    for n in range(10):
        other, other_rows = new_document(koshqon, documents, vectors, f"{word}x{n}", 5)
        made = koshqon.store.add_many([other], other_rows)[0].document
        deleted.append(timed(client.delete, f"/documents/{made.id}")[0])
    client.delete(f"/documents/{added.id}")
    return {
        "write_50_passages_ms": round(write_ms, 1),
        "found_after_write_ms": round(found_ms, 1),
        "patch_year_ms": summary(patch_year),
        "patch_title_50_passages_ms": summary(patch_title),
        "delete_5_passages_ms": summary(deleted),
    }


def ingest_replicas(koshqon: Koshqon, documents, vectors, passages: int) -> list[int]:
    """Replicas written document by document (a transaction each), as an ingest does."""
    rng = np.random.default_rng(2)
    offsets = np.cumsum([0] + [len(d.chunks) for d in documents])
    added, written = [], 0
    for i, document in enumerate(documents * 10):
        if written >= passages:
            break
        base = i % len(documents)
        made = replica(document, 10**7 + i)
        rows = perturbed(vectors[offsets[base] : offsets[base + 1]], rng)
        added.append(koshqon.store.add_many([made], rows)[0].document.id)
        written += len(made.chunks)
    return added


def during_ingest(koshqon: Koshqon, data_dir: Path, asked, passages: int = 20_000) -> dict:
    """Searches (1 client) while another process writes ``passages`` passages."""
    stop = threading.Event()
    result: dict = {}
    searcher = threading.Thread(
        target=lambda: result.update(searching(asked, 3600, 1, stop)), daemon=True
    )
    searcher.start()
    time.sleep(1)
    ids_file = data_dir / ".ingested.json"
    started = time.perf_counter()
    command = [sys.executable, "-m", "benchmarks.scale", "--ingest", str(passages)]
    command += ["--data-dir", str(data_dir), "--json", str(ids_file)]
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    ingest_s = time.perf_counter() - started
    stop.set()
    searcher.join()
    for document_id in json.loads(ids_file.read_text()):
        koshqon.store.remove(document_id)
    ids_file.unlink()
    return {"passages_written": passages, "ingest_process_s": round(ingest_s, 1), **result}


# --- the report --------------------------------------------------------------------------------
ROWS = [  # (measure, target at 1M, how to read it from a run's figures)
    ("passages", "", lambda f: f"{f['build']['passages']:,}"),
    ("build through the bulk write path", "", lambda f: _seconds(f["build"].get("build_s"))),
    (
        "server start to first answer",
        "≤ 30 s",
        lambda f: f"{f['server_start_to_first_answer_s']} s",
    ),
    (
        "hybrid /search, 1 client, p50 / p95 (HTTP)",
        "p95 ≤ 60 ms (≤ 40 at 100k)",
        lambda f: _p(f["search_1_client"]["hybrid"]["http_ms"]),
    ),
    (
        "  of which inside the search (took_ms)",
        "",
        lambda f: _p(f["search_1_client"]["hybrid"]["took_ms"]),
    ),
    ("dense /search, p50 / p95", "", lambda f: _p(f["search_1_client"]["dense"]["http_ms"])),
    ("keyword /search, p50 / p95", "", lambda f: _p(f["search_1_client"]["keyword"]["http_ms"])),
    (
        "hybrid searches/s, 8 clients",
        "≥ 40",
        lambda f: f"{f['search_8_clients']['searches_per_s']}",
    ),
    ("  their latency p50 / p95", "", lambda f: _p(f["search_8_clients"]["latency_ms"])),
    ("dense recall@10 against exact", "≥ 0.95", lambda f: f"{f['recall']['recall_at_10']:.3f}"),
    (
        "dense indexes (passages)",
        "",
        lambda f: ", ".join(f"{k}: {v}" for k, v in f["recall"]["indexes"].items()),
    ),
    (
        "server RSS after searches / peak",
        "≤ 4 GB",
        lambda f: (
            f"{f['memory_after_searches']['rss_mb']:,} / {f['memory_at_end']['peak_rss_mb']:,} MB"
        ),
    ),
    (
        "a 50-passage document written by another process: write",
        "",
        lambda f: f"{f['writes']['write_50_passages_ms']:.0f} ms",
    ),
    (
        "  then found by the server's next search",
        "≤ 2 s, no rebuild",
        lambda f: f"{f['writes']['found_after_write_ms']:.0f} ms",
    ),
    ("PATCH year, p50 / p95", "≤ 50 ms", lambda f: _p(f["writes"]["patch_year_ms"])),
    (
        "PATCH title (re-terms 50 passages), p50 / p95",
        "",
        lambda f: _p(f["writes"]["patch_title_50_passages_ms"]),
    ),
    ("DELETE (5 passages), p50 / p95", "", lambda f: _p(f["writes"]["delete_5_passages_ms"])),
    (
        "searches while another process ingests 20k passages: p50 / p95 / max",
        "max ≤ 1 s",
        lambda f: _p(f["during_bulk_ingest"]["latency_ms"], with_max=True),
    ),
    (
        "disk: catalog / index / originals",
        "",
        lambda f: " / ".join(
            f"{f['disk'].get(k + '_mb', 0):,} MB" for k in ("catalog.sqlite", "index", "originals")
        ),
    ),
]


def _seconds(value) -> str:
    return "reused" if value is None else f"{value:.0f} s"


def _p(figures: dict, with_max: bool = False) -> str:
    text = f"{figures['p50']:.0f} / {figures['p95']:.0f} ms"
    return f"{text} / {figures['max']:.0f} ms" if with_max else text


def report(runs: list[Path]) -> str:
    """The table of docs/scale.md: one column per run."""
    figures = [json.loads(path.read_text(encoding="utf-8")) for path in runs]
    header = "| measure | target at 1M | " + " | ".join(path.stem for path in runs) + " |"
    lines = [header, "|---|---|" + "---|" * len(runs)]
    for name, target, read in ROWS:
        lines.append(f"| {name} | {target} | " + " | ".join(read(f) for f in figures) + " |")
    machines = sorted(
        {f"{f['machine']}, model {f['model']} ({f.get('encoder', 'torch')})" for f in figures}
    )
    return "\n".join(lines) + "\n\nMeasured on " + "; ".join(machines) + ".\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--base-cache", type=Path, default=ROOT / ".cache")
    parser.add_argument("--report", type=Path, nargs="+", help="print the table of these runs")
    parser.add_argument("--ingest", type=int, help=argparse.SUPPRESS)  # during_ingest's writer
    arguments = parser.parse_args()
    if arguments.report:
        print(report(arguments.report))
        return
    if not ((arguments.passages or arguments.ingest) and arguments.data_dir and arguments.json):
        parser.error("--passages, --data-dir and --json are needed to build and measure")
    if not CORPORA.is_dir():
        raise SystemExit(f"{CORPORA} not found; set KOSHQON_CORPORA")

    settings = Settings(data_dir=arguments.data_dir)
    koshqon = Koshqon(settings)
    documents = base_documents(koshqon)
    vectors = base_vectors(koshqon, documents, arguments.base_cache)
    if arguments.ingest:
        added = ingest_replicas(koshqon, documents, vectors, arguments.ingest)
        koshqon.close()
        arguments.json.write_text(json.dumps(added))
        return
    figures: dict = {
        "date": date.today().isoformat(),
        "machine": describe(),
        "model": koshqon.embedder.model_id,
        "encoder": settings.encoder,
        "base_passages": len(vectors),
        "build": build(koshqon, arguments.passages, documents, vectors),
    }
    koshqon.close()
    env = {**os.environ, "KOSHQON_DATA_DIR": str(arguments.data_dir)}
    server, start_s = start_server(arguments.data_dir, env)
    try:
        figures["server_start_to_first_answer_s"] = round(start_s, 1)
        figures["memory_after_start"] = rss_mb(server.pid)
        asked = queries()
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=120) as client:
            for _, text in asked[:5]:  # warm-up
                client.get("/search", params={"q": text})
            figures["search_1_client"] = latencies(client, asked)
            figures["search_8_clients"] = searching(asked, 30, 8)
            figures["memory_after_searches"] = rss_mb(server.pid)
            koshqon = Koshqon(settings)  # another process's writes
            figures["writes"] = writes(koshqon, client, documents, vectors)
            figures["during_bulk_ingest"] = during_ingest(koshqon, arguments.data_dir, asked)
            figures["recall"] = recall(koshqon, asked)
            koshqon.close()
        figures["memory_at_end"] = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()
    figures["disk"] = disk_mb(arguments.data_dir)
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
