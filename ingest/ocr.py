"""OCR for PDF pages without a usable text layer: scans, and text drawn in fonts that have
no Unicode mapping.

A page is rendered at 300 dpi by PDFium (pypdfium2) and read by the Tesseract command, one
process per page with one thread each (Tesseract's own threads made it five times slower on
two cores), as many pages at once as there are cores; PDFium itself is called from one
thread at a time. Tesseract's orientation and script detection first says how the page is
turned and in which script it is written: Latin pages are read as English, Cyrillic ones as
Russian and Kazakh together (Russian first: with Kazakh first, Russian words ran together;
the Russian model alone loses ә, ғ, қ, ң, ө, ұ, ү, һ, і). The figures are in docs/ingestion.md.

Script detection can be wrong on a page of small print (a Russian page of the GOST 7.0.5
scan was called Latin and came out as "Bacwnur Crenaxosnva"), so each page's reading keeps
Tesseract's mean word confidence: below ``RETRY_BELOW`` the page is read again in the other
script and the more confident reading wins; a page still below ``DOUBTFUL_BELOW`` is
doubtful, and search keeps its passages out of the top unless nothing else matches. On
that page the Latin reading scored 33 and the Cyrillic one 79; readable scans score 75–90.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DPI = 300
SCAN_COVERAGE = 0.25  # images over a quarter of a page with little text: a scan (often shrunk)
LANGUAGES = {"Latin": "eng", "Cyrillic": "rus+kaz"}
ALL_LANGUAGES = "kaz+rus+eng"
TIMEOUT_S = 120  # per page; a page Tesseract cannot finish in two minutes reads as empty
RETRY_BELOW = 70.0  # mean word confidence under which the other script is tried too
DOUBTFUL_BELOW = 50.0  # mean word confidence under which a page's reading is doubtful
# PDFium allows one call at a time in a process, whatever the document: uploads and jobs
# run in different threads, so every PDFium call takes this lock (Tesseract runs outside it).
PDFIUM = threading.Lock()


class RenderError(Exception):
    """PDFium could not open the file (pypdf may still have read its text layer)."""


@lru_cache(maxsize=1)
def available() -> bool:
    """Tesseract is installed with the Kazakh, Russian and English models."""
    if shutil.which("tesseract") is None:
        return False
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    return {"kaz", "rus", "eng"} <= set(listed.stdout.split())


@dataclass(frozen=True)
class Reading:
    """A page's OCR text and Tesseract's mean word confidence (0–100, by word length)."""

    text: str
    confidence: float

    @property
    def doubtful(self) -> bool:
        return self.confidence < DOUBTFUL_BELOW


def _run(image: bytes, *args: str, output: str = "stdout") -> str:
    try:
        result = subprocess.run(
            ["tesseract", "stdin", output, *args],
            input=image,
            capture_output=True,
            timeout=TIMEOUT_S,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
    except subprocess.TimeoutExpired:
        return ""
    return result.stdout.decode("utf-8", errors="replace") if result.returncode == 0 else ""


def _read(image: bytes, languages: str) -> Reading:
    """Tesseract's text and its word table from one run."""
    with tempfile.TemporaryDirectory(prefix="koshqon-ocr-") as folder:
        base = Path(folder) / "page"
        _run(image, "-l", languages, "txt", "tsv", output=str(base))
        read = [base.with_suffix(suffix) for suffix in (".txt", ".tsv")]
        text, table = (p.read_text("utf-8", errors="replace") if p.exists() else "" for p in read)
    return Reading(text, mean_confidence(table))


def mean_confidence(tsv: str) -> float:
    """Mean confidence of the words in Tesseract's TSV output, weighted by their length."""
    total = weight = 0.0
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12 or not fields[11].strip():
            continue
        confidence = float(fields[10])
        if confidence >= 0:
            total += confidence * len(fields[11].strip())
            weight += len(fields[11].strip())
    return total / weight if weight else 0.0


def _pgm(pixels: np.ndarray) -> bytes:
    """A grayscale PGM image, which Tesseract reads from stdin (no Pillow needed)."""
    height, width = pixels.shape
    return f"P5\n{width} {height}\n255\n".encode() + np.ascontiguousarray(pixels).tobytes()


def read_image(pixels: np.ndarray) -> Reading:
    """Text of one page rendered in grayscale, turned upright first if it lies sideways,
    read in the detected script, and in the other one too when Tesseract is unsure."""
    image = _pgm(pixels)
    detected = _run(image, "--psm", "0")  # orientation and script
    rotate = re.search(r"Rotate: (\d+)", detected)
    script = re.search(r"Script: (\w+)", detected)
    if rotate and int(rotate.group(1)) % 360:
        image = _pgm(np.rot90(pixels, -int(rotate.group(1)) // 90))  # Tesseract: clockwise
    languages = LANGUAGES.get(script.group(1), ALL_LANGUAGES) if script else ALL_LANGUAGES
    best = _read(image, languages)
    for other in LANGUAGES.values():
        if best.confidence < RETRY_BELOW and other != languages:
            best = max(best, _read(image, other), key=lambda reading: reading.confidence)
    return best


def _image_share(page) -> float:
    """How much of the page its images cover (overlaps counted twice, capped at 1)."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    covered = 0.0
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        left, bottom, right, top = image.get_bounds()
        covered += max(0.0, right - left) * max(0.0, top - bottom)
    return min(1.0, covered / (width * height)) if width and height else 0.0


def _rendered(document, number: int, undecodable: set[int]) -> np.ndarray | None:
    """The page as grayscale pixels if it needs OCR; None if not, or if PDFium cannot load
    it (its text layer is kept)."""
    import pypdfium2 as pdfium

    with PDFIUM:
        try:
            page = document[number]
            if number not in undecodable and _image_share(page) < SCAN_COVERAGE:
                return None
            return page.render(scale=DPI / 72, grayscale=True).to_numpy().copy()
        except pdfium.PdfiumError:
            return None


def read_pages(
    data: bytes, numbers: Iterable[int], undecodable: set[int]
) -> Iterator[tuple[int, Reading]]:
    """OCR text of the pages (0-based) that need it: those in ``undecodable`` always, the
    others when images cover at least a quarter of the page (a scan, perhaps with a stamp or
    watermark as its only text). Yields (page number, reading) in page order; only a few
    rendered pages are held at a time."""
    import pypdfium2 as pdfium

    with PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            raise RenderError(str(error)) from error
    workers = os.cpu_count() or 1
    try:
        with ThreadPoolExecutor(workers) as pool:
            pending: list[tuple[int, Future]] = []
            for number in numbers:
                pixels = _rendered(document, number, undecodable)
                if pixels is not None:
                    pending.append((number, pool.submit(read_image, pixels)))
                while len(pending) > workers:
                    done, future = pending.pop(0)
                    yield done, future.result()
            for done, future in pending:
                yield done, future.result()
    finally:
        with PDFIUM:
            document.close()
