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
open with a table of contents that repeats every heading. These links are computed when a
work's documents change (added, replaced, linked, unlinked) and stored in the catalog's
``versions`` table, so a search reads them instead of comparing articles per hit.
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


def passage_links(outlines: dict[int, list[ChunkRecord]]) -> list[tuple[int, int]]:
    """(passage, counterpart) for every passage of an article in each document of one work:
    the passage at the same place of the same-numbered article in each other document (the
    first, for a passage outside the article's longest run, such as a table of contents)."""
    runs = {document_id: articles(outline) for document_id, outline in outlines.items()}
    links = []
    for document_id, outline in outlines.items():
        mine = runs[document_id]
        for chunk in outline:
            number = article_number(chunk.heading)
            if number is None:
                continue
            run = mine.get(number, [])
            place = next((i for i, c in enumerate(run) if c.id == chunk.id), 0)
            for other_id, theirs in runs.items():
                if other_id != document_id and number in theirs:
                    links.append((chunk.id, theirs[number][min(place, len(theirs[number]) - 1)].id))
    return links


def relink(catalog: Catalog, db, works: set[str], generation: int | None = None) -> None:
    """Store the passage links of each of ``works`` between its passages of ``generation``
    (the active one), inside the write transaction that changed them: computed once per
    change, so a search reads a hit's versions with one lookup. A document that left a
    work loses its links when that work is relinked."""
    for work in sorted(works - {None}):
        document_ids = catalog.documents_of_work(work, db)
        outlines = {i: catalog.outline(i, db, generation) for i in document_ids}
        catalog.set_versions(db, document_ids, passage_links(outlines), generation)


Version = tuple[ChunkRecord, DocumentRecord]


def versions(catalog: Catalog, chunk_ids: list[int]) -> dict[int, list[Version]]:
    """Each passage's counterparts in the other language versions of its document, as
    stored when the versions were linked: three lookups for a whole list of hits."""
    linked = catalog.versions_of(chunk_ids)
    chunks = catalog.chunks_by_id(sorted({v for found in linked.values() for v in found}))
    documents = catalog.documents_by_id(sorted({c.document_id for c in chunks.values()}))
    return {
        chunk_id: sorted(
            ((chunks[v], documents[chunks[v].document_id]) for v in found if v in chunks),
            key=lambda version: version[1].id,
        )
        for chunk_id, found in linked.items()
    }
