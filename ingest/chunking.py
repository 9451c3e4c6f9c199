"""Structure-aware chunking: headings start sections, sections are packed into passages.

Headings of legal texts in the three languages (Раздел/Глава/Параграф/Статья,
бөлім/тарау/параграф/бап, Section/Chapter/Article) and Markdown headings start a new
section and form the heading path ("Глава 2 › Статья 10"). Inside a section, sentences are
packed up to a budget counted in the embedding model's own tokens, so the model never
truncates a passage, and consecutive passages share a small overlap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

TokenCounter = Callable[[list[str]], list[int]]

NUMBER = r"(\d+(?:-\d+)*|[IVXLC]+)"

# (level, pattern on a stripped line, label format): a smaller level is a larger division.
HEADING_RULES: list[tuple[int, re.Pattern[str], str]] = [
    (1, re.compile(rf"^(?:РАЗДЕЛ|Раздел)\s+{NUMBER}(?:\.|\s|$)"), "Раздел {}"),
    (1, re.compile(rf"^{NUMBER}[ -](?:БӨЛІМ|бөлім)(?:\.|\s|$)"), "{} бөлім"),
    (1, re.compile(rf"^(?:SECTION|Section|PART|Part)\s+{NUMBER}(?:\.|\s|$)"), "Section {}"),
    (2, re.compile(rf"^(?:ГЛАВА|Глава)\s+{NUMBER}(?:\.|\s|$)"), "Глава {}"),
    (2, re.compile(rf"^{NUMBER}-(?:ТАРАУ|тарау)(?:\.|\s|$)"), "{}-тарау"),
    (2, re.compile(rf"^(?:CHAPTER|Chapter)\s+{NUMBER}(?:\.|\s|$)"), "Chapter {}"),
    (3, re.compile(r"^(?:ПАРАГРАФ|Параграф)\s+(\d+(?:-\d+)*)(?:\.|\s|$)"), "Параграф {}"),
    (3, re.compile(r"^(\d+(?:-\d+)*)-(?:ПАРАГРАФ|параграф)(?:\.|\s|$)"), "{}-параграф"),
    (4, re.compile(r"^Статья\s+(\d+(?:-\d+)*)\s*(?:\.|$)"), "Статья {}"),
    (4, re.compile(r"^(\d+(?:-\d+)*)-бап\s*(?:\.|$)"), "{}-бап"),
    (4, re.compile(r"^Article\s+(\d+(?:-\d+)*)\s*(?:\.|$)"), "Article {}"),
]
MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
MAX_HEADING_CHARS = 200  # a Markdown heading; longer is a paragraph marked up oddly
MAX_ARTICLE_HEADING_CHARS = 500  # "Статья 10-9. …": law titles run to 474 characters

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«(\[]?[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ0-9])")


@dataclass(frozen=True)
class Heading:
    level: int
    label: str


@dataclass(frozen=True)
class ChunkSpan:
    """A passage as offsets into the text, with its heading path and token count."""

    start: int
    end: int
    heading: str | None
    tokens: int


def parse_heading(line: str) -> Heading | None:
    """The heading a line starts, if it is one (legal divisions or Markdown)."""
    line = line.strip()
    if not line or len(line) > MAX_ARTICLE_HEADING_CHARS:
        return None
    markdown = MARKDOWN_HEADING.match(line)
    if markdown and len(line) <= MAX_HEADING_CHARS:
        inner = parse_heading(markdown.group(2))
        return inner or Heading(len(markdown.group(1)), markdown.group(2))
    for level, pattern, label in HEADING_RULES:
        match = pattern.match(line)
        if match:
            return Heading(level, label.format(match.group(1)))
    return None


def division_heading(line: str) -> bool:
    """Whether a line heads a legal division ("Статья 5. …", "2-тарау", "Article 3"), as
    opposed to a Markdown heading, which names a section of prose."""
    return parse_heading(line) is not None and not line.startswith("#")


@dataclass(frozen=True)
class _Section:
    start: int
    end: int
    path: tuple[Heading, ...]
    has_heading: bool


def _sections(text: str, page_starts: frozenset[int]) -> list[_Section]:
    """Split the text at heading lines and page breaks; each section knows its heading path.

    Passages never cross a page, so a citation names the one page a phrase is on."""
    sections: list[_Section] = []
    path: tuple[Heading, ...] = ()
    start, offset, has_heading = 0, 0, False
    for line in text.split("\n"):
        heading = parse_heading(line)
        if heading or offset in page_starts:
            if offset > start:
                sections.append(_Section(start, offset, path, has_heading))
            if heading:
                path = tuple(h for h in path if h.level < heading.level) + (heading,)
            start, has_heading = offset, heading is not None
        offset += len(line) + 1
    if len(text) > start:
        sections.append(_Section(start, len(text), path, has_heading))
    return sections


def _units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets) of text[start:end], lines never crossed."""
    spans = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        cursor = line.start()
        for boundary in _SENTENCE_END.finditer(line.group(0)):
            spans.append((start + cursor, start + line.start() + boundary.start()))
            cursor = line.start() + boundary.end()
        spans.append((start + cursor, start + line.end()))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _split_long(text: str, span: tuple[int, int], tokens: int, budget: int):
    """Cut an over-long sentence at spaces into pieces of roughly ``budget`` tokens."""
    a, b = span
    pieces = -(-tokens // budget)
    cuts = [a]
    for i in range(1, pieces):
        target = a + (b - a) * i // pieces
        space = text.rfind(" ", cuts[-1] + 1, target + 1)
        cuts.append(space if space > cuts[-1] else target)
    cuts.append(b)
    return [(x, y) for x, y in zip(cuts, cuts[1:], strict=False) if text[x:y].strip()]


class Chunker:
    """Packs sections into passages of at most ``max_tokens`` tokens, overlapping a little."""

    def __init__(
        self,
        count_tokens: TokenCounter,
        max_tokens: int = 256,
        overlap: int = 32,
        min_section_tokens: int = 24,
    ):
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.min_section_tokens = min_section_tokens

    def _measured_units(self, text: str, start: int, end: int) -> list[tuple[int, int, int]]:
        spans = _units(text, start, end)
        counts = self.count_tokens([text[a:b] for a, b in spans]) if spans else []
        units = []
        for span, tokens in zip(spans, counts, strict=True):
            if tokens <= self.max_tokens:
                units.append((*span, tokens))
                continue
            parts = _split_long(text, span, tokens, self.max_tokens)
            part_counts = self.count_tokens([text[a:b] for a, b in parts])
            for part, count in zip(parts, part_counts, strict=True):
                if count > self.max_tokens:  # no spaces to cut at: fall back to characters
                    step = max(1, (part[1] - part[0]) * self.max_tokens // count)
                    for x in range(part[0], part[1], step):
                        y = min(x + step, part[1])
                        units.append((x, y, self.count_tokens([text[x:y]])[0]))
                else:
                    units.append((*part, count))
        return units

    def _pack(self, units: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Greedy packing; a new passage repeats the last sentences that fit the overlap."""
        chunks, current = [], []
        for unit in units:
            if current and sum(u[2] for u in current) + unit[2] > self.max_tokens:
                chunks.append(current)
                carried = []
                for previous in reversed(current):
                    if sum(u[2] for u in carried) + previous[2] > self.overlap:
                        break
                    carried.insert(0, previous)
                if sum(u[2] for u in carried) + unit[2] > self.max_tokens:
                    carried = []
                current = carried
            current.append(unit)
        if current:
            chunks.append(current)
        return [(c[0][0], c[-1][1], sum(u[2] for u in c)) for c in chunks]

    def chunk(self, text: str, page_starts: Iterable[int] = ()) -> list[ChunkSpan]:
        """Passages of ``text``; ``page_starts`` are the offsets where PDF pages begin."""
        spans: list[ChunkSpan] = []
        carry_from: int | None = None  # start of a heading-only section merged into the next
        sections = _sections(text, frozenset(page_starts))
        for index, section in enumerate(sections):
            units = self._measured_units(text, section.start, section.end)
            if not units:
                continue
            is_last = index == len(sections) - 1
            if (
                section.has_heading
                and not is_last
                and sum(u[2] for u in units) < self.min_section_tokens
                and sections[index + 1].path[: len(section.path)] == section.path
            ):
                carry_from = units[0][0] if carry_from is None else carry_from
                continue
            heading = " › ".join(h.label for h in section.path) or None
            for a, b, tokens in self._pack(units):
                if carry_from is not None:
                    tokens += self.count_tokens([text[carry_from:a]])[0]
                    a, carry_from = carry_from, None
                spans.append(ChunkSpan(a, b, heading, tokens))
        return spans
