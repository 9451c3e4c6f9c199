"""What happens to every real PDF, how fast text and OCR pages are read, how fast whole
documents go in, and how much memory a large PDF takes.

    .venv/bin/python benchmarks/ingestion.py      # writes docs/ingestion-measured.md

Needs ../shared/corpora and Tesseract. About ten minutes on two cores: reading every PDF
three times (the medians are quoted), ingesting the text PDFs once with the real model,
and one `koshqon ingest` process per large PDF for its peak memory.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import describe  # noqa: E402

CORPORA = Path(os.environ.get("KOSHQON_CORPORA", ROOT.parent / "shared" / "corpora"))
FOLDERS = ["pdf/pdf_messy", "pdf/pdf_cyrillic", "pdf/pdf_large"]
ROUNDS = 3
KOSHQON = Path(sys.executable).with_name("koshqon")


def read_every_pdf():
    """(file, outcome, pages, OCR pages, median seconds) for each PDF of the corpora."""
    from ingest.errors import KoshqonError
    from ingest.readers import extract

    rows = []
    for folder in FOLDERS:
        for path in sorted((CORPORA / folder).glob("*.pdf")):
            data, seconds = path.read_bytes(), []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                try:
                    extracted = extract(data, path.name)
                    outcome = None
                except KoshqonError as error:
                    extracted, outcome = None, str(error)
                seconds.append(time.perf_counter() - started)
            pages = len(extracted.pages) if extracted else 0
            ocr_pages = len(extracted.ocr_pages) if extracted else 0
            chars = len(extracted.text) if extracted else 0
            rows.append((path, outcome, pages, ocr_pages, chars, statistics.median(seconds)))
    return rows


def ingest_text_pdfs(rows) -> tuple[int, int, int, float]:
    """Documents, pages and passages of the text PDFs ingested end to end, and seconds."""
    from service.config import Settings
    from service.core import Koshqon

    files = [(path, None, None) for path, outcome, _, ocr, _, _ in rows if not outcome and not ocr]
    koshqon = Koshqon(Settings(data_dir=Path(tempfile.mkdtemp(prefix="koshqon-ingest-"))))
    started = time.perf_counter()
    outcomes = list(koshqon.ingest(files))
    seconds = time.perf_counter() - started
    added = [o.document for o in outcomes if o.status == "added"]
    koshqon.close()
    pages = sum(d.page_count for d in added)
    return len(added), pages, sum(d.chunks for d in added), seconds


def peak_memory(*args: str) -> tuple[float, float]:
    """Peak resident memory (MB) and wall seconds of one `koshqon` process. Linux keeps a
    child's peak across exec, so the parent must still be small when it calls this."""
    env = {**os.environ, "KOSHQON_DATA_DIR": tempfile.mkdtemp(prefix="koshqon-memory-")}
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(KOSHQON), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise RuntimeError(f"koshqon {' '.join(args)} failed ({status})")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def outcome_text(outcome, pages, ocr_pages, chars) -> str:
    if outcome:
        return f"refused: {outcome}"
    read = f"{pages} page{'s' * (pages != 1)}, {chars:,} characters"
    return f"read: {read}, {ocr_pages} by OCR" if ocr_pages else f"read: {read}"


def main() -> None:
    from ingest import ocr

    if not CORPORA.is_dir() or not ocr.available():
        print("needs ../shared/corpora (KOSHQON_CORPORA) and Tesseract", file=sys.stderr)
        return
    # first, while this process is small: a child's peak memory starts at its parent's
    large = sorted((CORPORA / "pdf" / "pdf_large").glob("*.pdf"))
    baseline, _ = peak_memory("health")
    memory = [(path.name, *peak_memory("ingest", str(path))) for path in large]
    rows = read_every_pdf()
    pages_of = {path.name: pages for path, _, pages, *_ in rows}
    text_rows = [r for r in rows if not r[1] and not r[3]]
    ocr_rows = [r for r in rows if r[3] and r[3] == r[2]]  # scans: every page by OCR
    text_pages, text_seconds = sum(r[2] for r in text_rows), sum(r[5] for r in text_rows)
    ocr_pages = sum(r[3] for r in ocr_rows)
    ocr_seconds = sum(r[5] for r in ocr_rows)
    documents, pages, passages, ingest_seconds = ingest_text_pdfs(rows)

    table = "\n".join(
        f"| {path.parent.name} | `{path.name}` | {outcome_text(outcome, p, o, c)} | {s:.2f} |"
        for path, outcome, p, o, c, s in rows
    )
    memory_table = "\n".join(
        f"| `{name}` | {pages_of[name]} | {mb:,.0f} MB | +{mb - baseline:,.0f} MB | {s:.0f} s |"
        for name, mb, s in memory
    )
    throughput = "\n".join(
        f"| {name} | {value} |"
        for name, value in [
            (
                "text PDFs read (pypdf, cleaning, page spans)",
                f"{text_pages / text_seconds:.0f} pages/s "
                f"({text_pages} pages, {len(text_rows)} files)",
            ),
            (
                "scanned pages read by OCR",
                f"{ocr_pages / ocr_seconds:.2f} pages/s ({ocr_pages} pages, {len(ocr_rows)} files)",
            ),
            (
                "text PDFs ingested end to end (read, chunk, detect language, embed, store)",
                f"{passages / ingest_seconds:.1f} passages/s, {pages / ingest_seconds:.1f} pages/s "
                f"({documents} files, {pages} pages, {passages} passages, {ingest_seconds:.0f} s)",
            ),
        ]
    )
    report = f"""# Ingestion, measured

Measured {date.today().isoformat()} on {describe()}, with Tesseract at {ocr.DPI} dpi.
Reproduce: `.venv/bin/python benchmarks/ingestion.py` (needs ../shared/corpora).

## Throughput (medians of {ROUNDS} readings)

| measure | value |
|---|---|
{throughput}

## Peak memory of `koshqon ingest FILE`

The process with the model loaded and nothing ingested (`koshqon health`) peaks at
{baseline:,.0f} MB. Pages are read one at a time and only their text is kept; passages are
embedded 32 at a time. What comes above the loaded model is mostly the working memory of an
embedding batch, plus the document's text, passages and vectors: it grows little with length.

| file | pages | peak memory | above the loaded model | wall time |
|---|---|---|---|---|
{memory_table}

## Every PDF of the corpora

| folder | file | outcome | seconds to read |
|---|---|---|---|
{table}
"""
    (ROOT / "docs" / "ingestion-measured.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
