"""Ingestion throughput, raw model throughput on the same passages, and /search latency.

    .venv/bin/python benchmarks/throughput.py          # writes docs/performance.md

Ingests a legal corpus from ../shared/corpora (the Constitution in kk/ru/en and two laws in
ru and kk) into a temporary data directory, then queries a real uvicorn server over HTTP.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe, percentile  # noqa: E402

CORPORA = Path(os.environ.get("KOSHQON_CORPORA", ROOT.parent / "shared" / "corpora"))
LEGAL = [
    "legal/constitution_kk_ru_en/constitution_kk__Adikkk17-block4.txt",
    "legal/constitution_kk_ru_en/constitution_ru__Zh4nS1k-LegalRAG.txt",
    "legal/constitution_kk_ru_en/constitution_en__Adikkk17-block4.txt",
    "legal/constitution_kk_ru_en/constitution_ru__adilkhan1993-MyRAGproject.pdf",
    "legal/kz_laws_ru_kk/law_on_public_service.txt",
    "legal/kz_laws_ru_kk/law_on_public_service_kz.txt",
]
QUERIES = [
    "What is the state language of Kazakhstan?",
    "Who can become a civil servant?",
    "Can a person freely choose a place of residence?",
    "How long is the President's term?",
    "Право на бесплатную медицинскую помощь",
    "Кто может поступить на государственную службу?",
    "Запрещена ли смертная казнь?",
    "Ограничения, связанные с пребыванием на госслужбе",
    "Мемлекеттік тіл қандай?",
    "Мемлекеттік қызметшінің міндеттері қандай?",
    "Азаматтық қалай алынады?",
    "Әркімнің еңбек бостандығына құқығы бар ма?",
]
ROUNDS = 5


def main() -> None:
    if not CORPORA.is_dir():
        print(f"{CORPORA} not found; set KOSHQON_CORPORA", file=sys.stderr)
        return
    import httpx
    import torch
    import uvicorn

    from index.search import MODES
    from index.store import passage_for_embedding
    from service.api.app import create_app
    from service.config import Settings
    from service.core import Koshqon

    data_dir = Path(tempfile.mkdtemp(prefix="koshqon-bench-"))
    settings = Settings(data_dir=data_dir)
    koshqon = Koshqon(settings)

    files = [CORPORA / relative for relative in LEGAL]
    started = time.perf_counter()
    outcomes = list(koshqon.ingest([(path, None, None) for path in files]))
    ingest_seconds = time.perf_counter() - started
    assert all(o.status == "added" for o in outcomes), outcomes
    documents = [o.document for o in outcomes]
    chunks = sum(d.chunks for d in documents)

    texts = [
        passage_for_embedding(c.text, c.heading)
        for d in documents
        for c in koshqon.store.catalog.chunks_of(d.id)
    ]
    started = time.perf_counter()
    koshqon.embedder.embed(texts, "passage")
    encode_seconds = time.perf_counter() - started
    tokens = koshqon.embedder.count_tokens(texts)
    koshqon.close()

    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=8765, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.1)
    latencies = {mode: [] for mode in MODES}
    took = {mode: [] for mode in MODES}
    with httpx.Client(base_url="http://127.0.0.1:8765", timeout=60) as client:
        client.get("/search", params={"q": "warm-up"})
        for _ in range(ROUNDS):
            for query in QUERIES:
                for mode in MODES:
                    begin = time.perf_counter()
                    params = {"q": query, "k": 10, "mode": mode}
                    body = client.get("/search", params=params).json()
                    latencies[mode].append((time.perf_counter() - begin) * 1000)
                    took[mode].append(body["took_ms"])
    server.should_exit = True
    thread.join()

    rows = [
        ("documents / passages ingested", f"{len(documents)} / {chunks}"),
        ("passage length, median tokens (max)", f"{statistics.median(tokens):.0f} ({max(tokens)})"),
        (
            "ingestion end to end (read, chunk, detect, embed, store)",
            f"{chunks / ingest_seconds:.1f} passages/s ({ingest_seconds:.0f} s)",
        ),
        (
            "raw model encode, same passages",
            f"{chunks / encode_seconds:.1f} passages/s ({encode_seconds:.0f} s)",
        ),
        ("ingestion overhead beyond encoding", f"{(ingest_seconds / encode_seconds - 1):.0%}"),
    ]
    for mode in MODES:
        rows += [
            (
                f"GET /search?mode={mode} over HTTP, k=10 ({len(latencies[mode])} requests)",
                f"median {statistics.median(latencies[mode]):.0f} ms, "
                f"p95 {percentile(latencies[mode], 0.95):.0f} ms",
            ),
            (
                "  of which inside the search (took_ms)",
                f"median {statistics.median(took[mode]):.0f} ms, "
                f"p95 {percentile(took[mode], 0.95):.0f} ms",
            ),
        ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    report = f"""# Performance

Measured {date.today().isoformat()} on {describe()}, torch
{torch.__version__} with {torch.get_num_threads()} threads, model {koshqon.embedder.model_id}
(fp32 compute), passage budget {settings.chunk_tokens} tokens.

Reproduce: `.venv/bin/python benchmarks/throughput.py` (needs ../shared/corpora).

Corpus: {", ".join(Path(f).name for f in LEGAL)}.

| measure | value |
|---|---|
{table}

Latency is one client, sequential requests to a real uvicorn server on localhost: {len(QUERIES)}
questions in kk/ru/en, {ROUNDS} rounds, each mode in turn. Dense time is almost all the query
embedding (the exact FAISS search over a few thousand vectors takes well under a millisecond);
keyword mode needs no model; hybrid adds a FAISS search per language of the collection, the
BM25 ranking and the fusion.
"""
    (ROOT / "docs" / "performance.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
