"""Parallel versions: one text (a law, the Constitution) in Kazakh, Russian and English, its
articles linked by number — "Статья 10" ↔ "10-бап" ↔ "Article 10".

Documents are versions of one text when they share a ``work`` key. The librarian can set it
(metadata); service/core.py sets it when ``version_of`` finds that a new document in another
language has mostly the same article numbers as one already there, and that for at least
80% of them the same-numbered article is, of all, the closest in meaning (cosine of the
articles' first passages). Article numbers alone would link any two laws of similar length.
On the Constitution and four laws (ru, kk, en) true versions scored 0.95–1.00, other pairs
of laws at most 0.44, and two of the project's sample texts on one subject, written as
articles but not translations of each other, 0.67 (docs/parallel.md).

A passage inside an article then has, in each other version, the passage at the same place
in the same article. An article is the longest run of passages under its heading: laws
open with a table of contents that repeats every heading.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from .catalog import Catalog, ChunkRecord, DocumentRecord

if TYPE_CHECKING:
    from .store import Store

ARTICLE = re.compile(
    r"(?:^|› )(?:Статья (\d+(?:-\d+)*)|(\d+(?:-\d+)*)-бап|Article (\d+(?:-\d+)*))$"
)
LABELS = ("Статья {}", "{}-бап", "Article {}")
LABEL_PATTERNS = ("%Статья %", "%-бап", "%Article %")  # SQL LIKE: documents with articles
MIN_ARTICLES = 3
MIN_SHARED = 0.6  # share of the smaller document's article numbers found in the other
MIN_SCORE = 0.8  # share of articles whose closest counterpart has their number
SAMPLE = 60  # articles compared per pair of documents


def article_number(heading: str | None) -> str | None:
    match = ARTICLE.search(heading or "")
    return next(filter(None, match.groups()), None) if match else None


def articles(chunks: list[ChunkRecord]) -> dict[str, list[ChunkRecord]]:
    """Each article number's passages: the longest run of consecutive passages under it
    (by text length; passages may come without their text, from ``Catalog.outline``)."""
    runs: dict[str, list[list[ChunkRecord]]] = defaultdict(list)
    previous = None
    for chunk in sorted(chunks, key=lambda c: c.ordinal):
        number = article_number(chunk.heading)
        if number is None:
            previous = None
            continue
        if (
            previous is None
            or previous.heading != chunk.heading
            or previous.ordinal + 1 != chunk.ordinal
        ):
            runs[number].append([])
        runs[number][-1].append(chunk)
        previous = chunk
    return {
        number: max(found, key=lambda run: sum(c.char_end - c.char_start for c in run))
        for number, found in runs.items()
    }


def same_text_score(catalog: Catalog, mine: dict, theirs: dict) -> float | None:
    """The share of shared article numbers whose article in ``theirs`` is, of all the
    shared ones, the closest in meaning to the same-numbered article in ``mine`` (None when
    the documents do not share enough article numbers to tell)."""
    shared = sorted(set(mine) & set(theirs), key=_number_order)
    if len(shared) < MIN_ARTICLES or len(shared) < MIN_SHARED * min(len(mine), len(theirs)):
        return None
    shared = shared[:: max(1, len(shared) // SAMPLE)]
    left = catalog.vectors_of([mine[n][0].id for n in shared])
    right = catalog.vectors_of([theirs[n][0].id for n in shared])
    closest = (left @ right.T).argmax(axis=1)
    return float(np.mean(closest == np.arange(len(shared))))


def _number_order(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("-"))


def version_of(catalog: Catalog, document: DocumentRecord) -> DocumentRecord | None:
    """The document in another language that ``document`` is most clearly a version of."""
    if document.work:
        return None
    mine = articles(catalog.outline(document.id))
    if len(mine) < MIN_ARTICLES:
        return None
    best, best_score = None, MIN_SCORE
    for other in catalog.documents_with_headings(LABEL_PATTERNS):
        if other.id == document.id or other.language == document.language:
            continue
        score = same_text_score(catalog, mine, articles(catalog.outline(other.id)))
        if score is not None and score >= best_score:
            best, best_score = other, score
    return best


def link_versions(store: Store, document: DocumentRecord) -> DocumentRecord:
    """Give ``document`` the work key of the version of it found in another language
    ("doc-ID" of that version when it had none), so their articles are linked."""
    other = version_of(store.catalog, document)
    if other is None:
        return document
    work = other.work or f"doc-{other.id}"
    if other.work is None:
        store.update(other.id, {"work": work})
    return store.update(document.id, {"work": work})


def versions(
    catalog: Catalog, chunk: ChunkRecord, document: DocumentRecord
) -> list[tuple[ChunkRecord, DocumentRecord]]:
    """The passage at the same place of the same article in each other version."""
    number = article_number(chunk.heading)
    if not document.work or number is None:
        return []
    labels = [label.format(number) for label in LABELS]
    mine = articles(catalog.under_heading(document.id, labels)).get(number, [])
    place = next((i for i, c in enumerate(mine) if c.id == chunk.id), 0)
    found = []
    for other in catalog.documents_of_work(document.work):
        if other.id == document.id:
            continue
        theirs = articles(catalog.under_heading(other.id, labels)).get(number)
        if theirs:
            found.append((theirs[min(place, len(theirs) - 1)], other))
    return found
