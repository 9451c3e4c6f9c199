"""Hostile files and bodies sent to a real `koshqon serve`: each is refused with a reason
within 30 s, the server's memory stays under 3 GB, and searches go on being answered
within 2 s meanwhile (docs/security.md)."""

from __future__ import annotations

import io
import shutil
import statistics
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from conftest import ROOT
from test_server import server

from ingest.contained import read_contained
from ingest.errors import TooDemanding
from ingest.models import Budget
from ingest.readers import extract
from service.config import Settings

pytestmark = pytest.mark.slow  # a real server fed hostile files


def pdf_declaring(pages: int) -> bytes:
    """A 600 KB PDF whose page tree declares (and lists) ``pages`` pages: one page, over
    and over."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count %d /Kids [" % pages + b" ".join([b"3 0 R"] * pages) + b"] >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out, offsets = io.BytesIO(b"%PDF-1.4\n"), []
    out.seek(0, io.SEEK_END)
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (4, xref))
    return out.getvalue()


def docx_bomb(unpacked: int = 1_500_000_000) -> bytes:
    """A few MB of DOCX whose document.xml inflates to 1.5 GB of paragraphs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as document:
            block = b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>" * 30_000
            for _ in range(unpacked // len(block)):
                document.write(block)
    return buffer.getvalue()


HOSTILE = {
    "bomb.docx": (docx_bomb, "unpacks to 1,500 MB"),
    "deep.html": (
        lambda: b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000,
        "nests elements over",
    ),
    "pages.pdf": (lambda: pdf_declaring(100_000), "has 100000 pages"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory, library_dir, models_dir):
    """A real server over a copy of the corpus collection."""
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(library_dir, data_dir)
    with server(Settings(data_dir=data_dir, models_dir=models_dir)) as client:
        yield client


def peak_memory_mb(client) -> float:
    status = Path(f"/proc/{client.server_pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
        / 1024
    )


def while_searching(client, send) -> tuple[httpx.Response, float, list[float]]:
    """``send()``'s response and time, with a reader searching all the while."""
    latencies, done = [], threading.Event()

    def reader():
        with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
            while not done.is_set():
                started = time.perf_counter()
                assert own.get("/search", params={"q": "кандас", "k": 5}).status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.1)

    thread = threading.Thread(target=reader)
    thread.start()
    started = time.perf_counter()
    try:
        response = send()
    finally:
        took = time.perf_counter() - started
        done.set()
        thread.join()
    return response, took, latencies


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_refused_with_its_reason_and_harms_nothing(served, name):
    make, reason = HOSTILE[name]
    data = make()
    response, took, latencies = while_searching(
        served, lambda: served.post("/documents", files={"file": (name, data)})
    )
    assert 400 <= response.status_code < 500 and reason in response.json()["detail"], response.text
    assert took < 30
    assert latencies and max(latencies) < 2, statistics.median(latencies)
    assert peak_memory_mb(served) < 3 * 1024


def chunks(total: int, field: str, size: int = 1 << 20):
    """A multipart body sent without Content-Length (chunked transfer): one file that
    never ends."""
    yield (
        f'--x\r\nContent-Disposition: form-data; name="{field}"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize(
    "path, boundary",
    [("/documents", 50), ("/jobs", 500)],  # MB: KOSHQON_MAX_UPLOAD_MB, KOSHQON_MAX_JOB_MB
)
def test_a_chunked_body_is_counted_as_it_arrives(served, path, boundary):
    field = "file" if path == "/documents" else "files"
    headers = {"Content-Type": "multipart/form-data; boundary=x"}

    def send():
        try:
            body = chunks((boundary + 100) << 20, field)
            return served.post(path, content=body, headers=headers)
        except httpx.TransportError as error:  # closed on us mid-body, as it should
            return error

    response, took, latencies = while_searching(served, send)
    if isinstance(response, httpx.Response):
        assert response.status_code == 413, response.text
        assert response.json()["detail"].startswith("the request is over")  # counted, not spooled
    assert took < 30
    assert max(latencies) < 2
    assert peak_memory_mb(served) < 3 * 1024


def test_reading_is_refused_past_its_memory_or_time_budget():
    page = b"<html><body>" + b"<p><b>word</b> <i>more</i></p>" * 400_000 + b"</body></html>"
    with pytest.raises(TooDemanding, match="KOSHQON_PARSE_MEMORY_MB"):
        read_contained(page, "page.html", Budget(memory_mb=300))
    with pytest.raises(TooDemanding, match="took over 0.1 s"):
        read_contained(page, "page.html", Budget(seconds=0.1))
    assert "word more" in read_contained(page[:2000] + b"</p>", "page.html").text


def test_a_file_read_in_its_own_process_is_read_as_in_this_one(corpora):
    """Pages, titles, OCR marks and all: what crosses the process boundary is exact."""
    pdfs = sorted((corpora / "pdf" / "pdf_cyrillic").glob("*.pdf"))[:2]
    for path in [*pdfs, *sorted((ROOT / "corpus").glob("*.*"))]:
        if path.suffix in (".pdf", ".html", ".md", ".txt"):
            data = path.read_bytes()
            assert read_contained(data, path.name) == extract(data, path.name), path


def test_only_well_formed_progress_lines_are_passed_on():
    from ingest.contained import _passed_on

    seen = []
    assert _passed_on(b'{"progress": ["reading", 2, 5]}\n', lambda *r: seen.append(r))
    for line in (
        b'{"progress": [1, 2]}',
        b'{"progress": "x"}',
        b'{"progress"',
        b'{"progress": ["x", 1, 2]}',
    ):
        assert not _passed_on(line, lambda *r: seen.append(r))
    assert seen == [("reading", 2, 5)]
