"""Readers: bytes of a file in, normalised text with page spans and file metadata out.

One function per format, chosen from a table by file extension. Every failure a user can
meet (empty file, wrong type, corrupted or password-protected PDF) becomes an error that
names the reason.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

from . import ocr
from .errors import UnreadableFile, UnsupportedFileType
from .models import DEFAULT_LIMITS, Extracted, Limits, PageSpan, Progress
from .normalize import normalize_text

PAGE_SEPARATOR = "\n\n"


UNDECODABLE_SHARE = 0.05  # control/private-use characters that make a page's text garbage
SCAN_LETTERS = 100  # fewer letters on a page: perhaps a scan with a stamp or watermark


@dataclass
class RawText:
    """What a reader found before normalisation: one string per page (one page if unpaged)."""

    pages: list[str]
    paged: bool
    title: str | None = None
    author: str | None = None
    year: int | None = None
    undecodable_pages: int = 0  # pages whose text layer was garbage
    ocr_pages: tuple[int, ...] = ()  # 1-based numbers of the pages read by OCR
    ocr_doubtful: tuple[int, ...] = ()  # those whose reading Tesseract is unsure of


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1251 (legacy Cyrillic)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def read_text(data: bytes, limits: Limits) -> RawText:
    return RawText(pages=[_decode(data)], paged=False)


def read_markdown(data: bytes, limits: Limits) -> RawText:
    text = _decode(data)
    heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    return RawText(pages=[text], paged=False, title=heading.group(1).strip() if heading else None)


_BLOCK_TAGS = [
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "dt",
    "dd",
    "main",
]
_NOT_CONTENT = [
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "template",
    "svg",
    "button",
]


def read_html(data: bytes, limits: Limits) -> RawText:
    """Main text of a page: <main> or <article> when present, never menus or footers."""
    from bs4 import BeautifulSoup

    _check_depth(data, limits.html_depth)
    soup = BeautifulSoup(data, "lxml")
    title = _html_title(soup)
    for tag in soup.find_all(_NOT_CONTENT):
        tag.decompose()
    body = soup.find("main") or soup.find("article") or soup.body or soup
    for tag in body.find_all(_BLOCK_TAGS):
        tag.insert_after("\n")
        if tag.name.startswith("h") and len(tag.name) == 2:
            tag.insert_before("\n\n")
    return RawText(pages=[body.get_text()], paged=False, title=title or None)


class _TooDeep(Exception):
    pass


class _Depth(HTMLParser):
    """Counts open elements in one linear pass. Elements that close without an end tag
    (<br>, <img>) or whose end tag may be left out (<p>, <li>, <td>) do not count, so
    ordinary sloppy pages stay shallow."""

    UNCOUNTED = frozenset(
        [
            "area",
            "base",
            "br",
            "col",
            "embed",
            "hr",
            "img",
            "input",
            "link",
            "meta",
            "source",
            "track",
            "wbr",
            "p",
            "li",
            "dt",
            "dd",
            "tr",
            "td",
            "th",
            "option",
            "optgroup",
            "thead",
            "tbody",
            "tfoot",
            "colgroup",
            "rb",
            "rt",
            "rp",
        ]
    )

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.depth = limit, 0

    def handle_starttag(self, tag, attrs):
        if tag not in self.UNCOUNTED:
            self.depth += 1
            if self.depth > self.limit:
                raise _TooDeep

    def handle_endtag(self, tag):
        if tag not in self.UNCOUNTED:
            self.depth = max(0, self.depth - 1)


def _check_depth(data: bytes, limit: int) -> None:
    """Refuse a page nested deeper than ``limit`` before building its tree: the tree walk
    that follows costs more than linear time in the depth (and libxml2 silently stops
    at 256 levels, so its own parser cannot be asked)."""
    counter = _Depth(limit)
    try:
        counter.feed(_decode(data))
        counter.close()
    except _TooDeep:
        raise UnreadableFile(
            f"the page nests elements over {limit} deep (KOSHQON_MAX_HTML_DEPTH)"
        ) from None


def _html_title(soup) -> str | None:
    """The page's <title>, without the site name that usually follows it ("… — Site"):
    the <h1> is taken instead when the title starts with it."""
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    heading = soup.h1.get_text(" ", strip=True) if soup.h1 else ""
    if heading and (not title or title.startswith(heading)):
        return heading
    return title or None


def read_docx(data: bytes, limits: Limits) -> RawText:
    import zipfile

    import docx

    try:
        unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise UnreadableFile(f"not a readable DOCX file ({error})") from error
    if unpacked > limits.unpacked_mb * 1e6:
        raise UnreadableFile(
            f"the DOCX unpacks to {unpacked / 1e6:,.0f} MB; the limit is "
            f"{limits.unpacked_mb:g} MB (KOSHQON_MAX_UNPACKED_MB)"
        )
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises zipfile/KeyError/lxml errors alike
        raise UnreadableFile(f"not a readable DOCX file ({error})") from error
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        blocks.extend(" | ".join(cell.text for cell in row.cells) for row in table.rows)
    props = document.core_properties
    return RawText(
        pages=["\n\n".join(blocks)],
        paged=False,
        title=props.title or None,
        author=props.author or None,
        year=props.created.year if props.created else None,
    )


def read_pdf(data: bytes, limits: Limits, progress: Progress | None = None) -> RawText:
    """Text of each page with pypdf; PDFs encrypted with an empty password are opened.
    Pages read by OCR are reported to ``progress`` one by one (the slow part)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise UnreadableFile("not a PDF file (it does not start with %PDF)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("the PDF is encrypted with a password; remove it and try again")
        tree = reader.trailer["/Root"]["/Pages"]
        declared = tree["/Count"] if "/Count" in tree else 0  # noqa: SIM401 ([] resolves references)
        for pages in (declared, len(reader.pages)):  # the declared count costs nothing
            if not isinstance(pages, int) or pages > limits.pages:
                raise UnreadableFile(
                    f"the PDF has {pages} pages; the limit is {limits.pages} (KOSHQON_MAX_PAGES)"
                )
        texts = [_page_text(page) for page in reader.pages]
        info = reader.metadata
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UnreadableFile(f"the PDF is damaged and cannot be read ({error})") from error
    title = author = year = None
    if info is not None:
        title = (info.title or "").strip() or None
        author = (info.author or "").strip() or None
        created = info.get("/CreationDate")
        match = re.match(r"D?:?(\d{4})", str(created or ""))
        year = int(match.group(1)) if match else None
    undecodable = {number for number, text in enumerate(texts) if _undecodable(text)}
    texts, ocr_pages, doubtful = _with_ocr(data, texts, undecodable, progress)
    return RawText(
        texts,
        True,
        title,
        author,
        year,
        undecodable_pages=len(undecodable),
        ocr_pages=ocr_pages,
        ocr_doubtful=doubtful,
    )


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


def _with_ocr(
    data: bytes, texts: list[str], undecodable: set[int], progress: Progress | None
) -> tuple[list[str], tuple[int, ...], tuple[int, ...]]:
    """Pages whose text layer is garbage or nearly empty are read by OCR where Tesseract is
    installed (else they read as empty or as what little they had); OCR text replaces the
    layer only when it has more letters. Returns the texts, the pages read by OCR and
    those of them whose reading is doubtful (1-based)."""
    texts = ["" if number in undecodable else text for number, text in enumerate(texts)]
    thin = [n for n, text in enumerate(texts) if _letters(text) < SCAN_LETTERS]
    if not thin or not ocr.available():
        return texts, (), ()
    read, doubtful = [], []
    try:
        for done, (number, reading) in enumerate(ocr.read_pages(data, thin, undecodable), 1):
            if progress:
                progress("reading", done, len(thin))
            if _letters(reading.text) > _letters(texts[number]):
                texts[number] = reading.text
                read.append(number + 1)
                if reading.doubtful:
                    doubtful.append(number + 1)
    except ocr.RenderError:  # PDFium cannot open what pypdf repaired: keep the text layer
        pass
    return texts, tuple(read), tuple(doubtful)


def _undecodable(text: str) -> bool:
    """A text layer drawn with fonts that have no Unicode mapping comes out as control and
    private-use characters (pypdf gives "3HQČåQt\x03SURVW…"); indexing it would be noise."""
    visible = [c for c in text if not c.isspace()]
    odd = sum(1 for c in visible if unicodedata.category(c) in ("Cc", "Co") or c == "\ufffd")
    return bool(visible) and odd / len(visible) > UNDECODABLE_SHARE


def _page_text(page) -> str:
    try:
        return page.extract_text() or ""
    except Exception:  # one broken page must not lose the others; it reads as empty
        return ""


READERS: dict[str, tuple[str, Callable[[bytes, Limits], RawText]]] = {
    ".pdf": ("application/pdf", read_pdf),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", read_docx),
    ".html": ("text/html", read_html),
    ".htm": ("text/html", read_html),
    ".txt": ("text/plain", read_text),
    ".md": ("text/markdown", read_markdown),
    ".markdown": ("text/markdown", read_markdown),
}


def media_type_of(filename: str) -> str:
    """The media type for a file name, or UnsupportedFileType naming what is accepted."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in READERS:
        accepted = ", ".join(sorted(READERS))
        kind = f"'{suffix}' files are" if suffix else "files without an extension are"
        raise UnsupportedFileType(f"{kind} not supported (accepted: {accepted})")
    return READERS[suffix][0]


def extract(
    data: bytes, filename: str, limits: Limits = DEFAULT_LIMITS, progress: Progress | None = None
) -> Extracted:
    """Read and normalise a file; pages are joined by a blank line and keep their numbers.
    A PDF reports its pages read by OCR to ``progress``."""
    media_type_of(filename)
    if not data.strip():
        raise UnreadableFile("the file is empty")
    read = READERS[PurePath(filename).suffix.lower()][1]
    raw = read(data, limits, progress) if read is read_pdf else read(data, limits)
    text, spans = "", []
    for number, page in enumerate(raw.pages, start=1):
        cleaned = normalize_text(page)
        if text and cleaned:
            text += PAGE_SEPARATOR
        spans.append(PageSpan(number, len(text), len(text) + len(cleaned)))
        text += cleaned
    if not text.strip():
        if raw.paged and not ocr.available():
            problem = "undecodable text" if raw.undecodable_pages else "no text layer"
            reason = (
                f"{problem} and needs OCR, but Tesseract is not installed "
                "(bin/setup installs tesseract-ocr with Kazakh, Russian and English)"
            )
        elif raw.paged:
            reason = "no text layer, and OCR found no text in it"
        else:
            reason = "no text"
        raise UnreadableFile(f"nothing to index: the file has {reason}")
    return Extracted(
        text=text,
        pages=tuple(spans) if raw.paged else (),
        title=normalize_text(raw.title) if raw.title else None,
        author=raw.author,
        year=raw.year,
        ocr_pages=raw.ocr_pages,
        ocr_doubtful=raw.ocr_doubtful,
    )
