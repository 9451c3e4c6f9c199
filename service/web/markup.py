"""Small HTML helpers for the templates: highlighted words, cited sentences, answer markers.

Each escapes the text itself before adding its own tags, so the result is safe to insert.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from markupsafe import Markup, escape

QUERY_WORD = re.compile(r"\w{4,}")
MARKDOWN_SUFFIXES = (".md", ".markdown")
_HEADING_MARK = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
_EMPHASIS = re.compile(r"\*{1,3}|(?<!\w)_{1,3}|_{1,3}(?!\w)|`")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
MARKER = re.compile(r"\[(\d+)\]")
STEM_LETTERS = 5


def view_url(
    document_id: int, chunk_id: int | None = None, start: int | None = None, end: int | None = None
) -> str:
    """The document view, scrolled to a passage and, for an answer, its cited sentence."""
    params = {"chunk": chunk_id, "start": start, "end": end}
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return f"/view/documents/{document_id}" + (f"?{query}" if query else "")


def plain(text: str, filename: str) -> str:
    """A Markdown document's passage as a reader sees it, without "##", "*", "_" or link
    targets. The catalog and the API keep the exact text; only the page drops the marks."""
    if not filename.lower().endswith(MARKDOWN_SUFFIXES):
        return text
    return _EMPHASIS.sub("", _HEADING_MARK.sub("", _LINK.sub(r"\1", text)))


def highlighted(text: str, query: str) -> Markup:
    """The passage with words sharing their first letters with a query word marked: a crude
    stem that catches "кандасов" for "кандасы" and "settlement" for "settle"."""
    stems = {word.lower()[:STEM_LETTERS] for word in QUERY_WORD.findall(query or "")}
    if not stems:
        return escape(text)
    pattern = re.compile(
        r"\b(?:" + "|".join(map(re.escape, sorted(stems))) + r")\w*", re.IGNORECASE
    )
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts += [escape(text[last : match.start()]), Markup("<mark>%s</mark>") % match[0]]
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def marked(
    text: str, offset: int, start: int | None, end: int | None, filename: str = ""
) -> Markup:
    """The passage (starting at `offset` in its document) with the span start:end marked;
    Markdown marks are dropped from each part on its own, so the offsets still hold."""
    if start is None or end is None or not offset <= start < end <= offset + len(text):
        return escape(plain(text, filename))
    a, b = start - offset, end - offset
    before, cited, after = (plain(part, filename) for part in (text[:a], text[a:b], text[b:]))
    return escape(before) + Markup("<mark>%s</mark>") % cited + escape(after)


def linked_markers(answer: str, citations: list[dict]) -> Markup:
    """The answer with each marker [n] a link to the sentence it follows, in its document
    (sentences of one source share its marker; the answer holds them in citation order)."""
    hrefs = iter(
        view_url(c["citation"]["document_id"], c["chunk_id"], c["char_start"], c["char_end"])
        for c in citations
    )

    def link(match: re.Match) -> str:
        href = next(hrefs, None)
        return f'<a class="marker" href="{escape(href)}">{match[0]}</a>' if href else match[0]

    return Markup(MARKER.sub(link, str(escape(answer))))
