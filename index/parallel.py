"""Parallel versions: one text (a law, the Constitution, a glossary) in Kazakh, Russian and
English, its parts linked — "Статья 10" ↔ "10-бап" ↔ "Article 10", "Internal migration" ↔
"Ішкі көші-қон" ↔ "Внутренняя миграция".

Documents are versions of one text when they share a ``work`` key. The librarian can set it
(metadata); service/core.py sets it when ``version_of`` finds a version of a new document
in another language:

- a law (numbered articles): another document with mostly the same article numbers, where
  for at least 80% of them the same-numbered article is, of all, the closest in meaning
  (cosine of the articles' first passages). Article numbers alone would link any two laws
  of similar length. On the Constitution and four laws (ru, kk, en) true versions scored
  0.95–1.00, other pairs of laws at most 0.44, and two of the project's sample texts on one
  subject, written as articles but not translations of each other, 0.67 (docs/parallel.md);
- any other text (a glossary, a report): a document whose file name is the same but for a
  language tag ("glossary.kk.md" ↔ "glossary.ru.md", "law_on_banks_kz.txt" ↔
  "law_on_banks.txt") and whose sections mostly pair off by meaning. Meaning alone cannot
  tell a translation here: sections have no numbers to check, and the sample texts on one
  subject paired off as well as the glossaries did (0.75 against 0.73–0.75 of sections
  mutually closest); the shared name is the librarian's statement, the pairing its check.

A passage then has, in each other version, the passage at the same place of the
counterpart part: the same-numbered article, or for texts without numbers the section
(passages under one heading) that it and it alone is closest to in meaning. A part is the
longest run of passages under its heading: laws open with a table of contents that repeats
every heading. These links are computed when a work's documents change (added, replaced,
linked, unlinked) and stored in the catalog's ``versions`` table, so a search reads them
instead of comparing parts per hit.
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
# a language tag between separators of a file name: "glossary.kk.md", "law_on_banks_kz.txt"
LANGUAGE_TAG = re.compile(r"(?<![^._\- ])(?:kk|kz|kaz|qaz|ru|rus|en|eng)(?![^._\- ])", re.I)
MIN_PAIRED = 0.6  # share of the smaller text's sections paired off by meaning with the other's
MAX_SECTIONS = 2000  # texts with more (long, without headings) are not paired by meaning
WORD = re.compile(r"\w{3,}")


def article_number(heading: str | None) -> str | None:
    match = ARTICLE.search(heading or "")
    return next(filter(None, match.groups()), None) if match else None


def _longest_runs(chunks: list[ChunkRecord], key) -> dict[str, list[ChunkRecord]]:
    """Each ``key``'s passages: the longest run of consecutive passages under one heading
    with that key (by text length; passages may come without their text, from
    ``Catalog.outline``)."""
    runs: dict[str, list[list[ChunkRecord]]] = defaultdict(list)
    previous = None
    for chunk in sorted(chunks, key=lambda c: c.ordinal):
        name = key(chunk)
        if name is None:
            previous = None
            continue
        if (
            previous is None
            or previous.heading != chunk.heading
            or previous.ordinal + 1 != chunk.ordinal
        ):
            runs[name].append([])
        runs[name][-1].append(chunk)
        previous = chunk
    return {
        name: max(found, key=lambda run: sum(c.char_end - c.char_start for c in run))
        for name, found in runs.items()
    }


def articles(chunks: list[ChunkRecord]) -> dict[str, list[ChunkRecord]]:
    """Each article number's passages."""
    return _longest_runs(chunks, lambda chunk: article_number(chunk.heading))


def sections(chunks: list[ChunkRecord]) -> dict[str, list[ChunkRecord]]:
    """Each heading's passages; each passage on its own in a text with few headings."""
    if len({chunk.heading for chunk in chunks} - {None}) >= MIN_ARTICLES:
        return _longest_runs(chunks, lambda chunk: chunk.heading)
    return {str(chunk.ordinal): [chunk] for chunk in chunks}


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


def paired_sections(catalog: Catalog, mine: dict, theirs: dict, db=None) -> list[tuple]:
    """(section, counterpart): the sections of two texts that are each other's closest, so
    that each is paired at most once. Closeness is the cosine of their first passages plus
    the share of words they have in common, plus one when each names the other's heading:
    glossaries name each term's translations ("*каз. ішкі көші-қон (англ. internal
    migration)*"), translations share numbers and names, and the model alone put
    "Внутренняя миграция" closest to "Сыртқы көші-қон" (external migration) in the
    project's glossaries."""
    if not mine or not theirs or max(len(mine), len(theirs)) > MAX_SECTIONS:
        return []
    firsts = [[run[0].id for run in runs.values()] for runs in (mine, theirs)]
    texts = catalog.chunks_by_id(firsts[0] + firsts[1], db)
    words = [[set(WORD.findall(texts[i].text.casefold())) for i in ids] for ids in firsts]
    shared = np.array(
        [[len(a & b) / max(1, len(a | b)) for b in words[1]] for a in words[0]], dtype=np.float32
    )
    folded = [[_folded(texts[i]) for i in ids] for ids in firsts]  # once per section
    named = np.array([[_each_names(a, b) for b in folded[1]] for a in folded[0]], np.float32)
    similarity = (
        catalog.vectors_of(firsts[0], db) @ catalog.vectors_of(firsts[1], db).T + shared + named
    )
    across, back = similarity.argmax(axis=1), similarity.argmax(axis=0)
    names, counterparts = list(mine), list(theirs)
    return [(names[i], counterparts[j]) for i, j in enumerate(across) if back[j] == i]


def name_each_other(a: ChunkRecord, b: ChunkRecord) -> bool:
    """Whether each passage names the other's heading: a glossary's entry gives its term in
    the other languages ("kk: еңбек көші-қоны; ru: трудовая миграция"), and the adapted
    model alone put "Labour migration" closest to "Еңбекші көшіп-қонушы" (labour migrant),
    which the English entry also mentions but which does not name "labour migration"."""
    return _each_names(_folded(a), _folded(b))


def _folded(chunk: ChunkRecord) -> tuple[str, str]:
    """(the last part of its heading, its text), casefolded."""
    return (chunk.heading or "").rsplit(" › ", 1)[-1].casefold(), chunk.text.casefold()


def _each_names(a: tuple[str, str], b: tuple[str, str]) -> bool:
    (title_a, text_a), (title_b, text_b) = a, b
    return bool(title_a and title_b) and title_a in text_b and title_b in text_a


def _number_order(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("-"))


def language_free_name(filename: str) -> str:
    """A file name without its extension and language tags: what versions share."""
    stem = filename.rsplit(".", 1)[0].casefold()
    return re.sub(r"[._\- ]+", "-", LANGUAGE_TAG.sub("", stem)).strip("-")


def version_of(catalog: Catalog, document: DocumentRecord) -> DocumentRecord | None:
    """The document in another language that ``document`` is most clearly a version of."""
    if document.work:
        return None
    outline = catalog.outline(document.id)
    return _same_articles(catalog, document, articles(outline)) or _same_name(
        catalog, document, sections(outline)
    )


def _same_articles(catalog: Catalog, document: DocumentRecord, mine: dict):
    """The law in another language whose articles match these by number and meaning."""
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


def _same_name(catalog: Catalog, document: DocumentRecord, mine: dict):
    """The document in another language named like this one but for the language tag,
    whose sections mostly pair off with these by meaning (one scan of the file names)."""
    name = language_free_name(document.filename)
    for other_id, _, filename, language in catalog.titles():
        if other_id == document.id or language == document.language:
            continue
        if language_free_name(filename) != name:
            continue
        theirs = sections(catalog.outline(other_id))
        paired = paired_sections(catalog, mine, theirs)
        if len(paired) >= MIN_PAIRED * min(len(mine), len(theirs)) > 0:
            return catalog.document(other_id)
    return None


def link_versions(store: Store, document: DocumentRecord) -> DocumentRecord:
    """Give ``document`` the work key of the version of it found in another language
    ("doc-ID" of that version when it had none), so their parts are linked."""
    other = version_of(store.catalog, document)
    if other is None:
        return document
    work = other.work or f"doc-{other.id}"
    if other.work is None:
        store.update(other.id, {"work": work})
    return store.update(document.id, {"work": work})


def passage_links(
    catalog: Catalog, outlines: dict[int, list[ChunkRecord]], db=None
) -> list[tuple[int, int]]:
    """(passage, counterpart) between each two documents of one work, both ways: the passage
    at the same place of the counterpart part. Laws that share article numbers pair their
    articles by number (a passage outside an article's longest run, such as a table of
    contents, links to the first of the counterpart); other texts pair their sections."""
    links = []
    documents = sorted(outlines)
    for n, left in enumerate(documents):
        for right in documents[n + 1 :]:
            mine, theirs = articles(outlines[left]), articles(outlines[right])
            if set(mine) & set(theirs):
                links += _article_links(outlines[left], mine, theirs)
                links += _article_links(outlines[right], theirs, mine)
                continue
            mine, theirs = sections(outlines[left]), sections(outlines[right])
            for section, counterpart in paired_sections(catalog, mine, theirs, db):
                links += _run_links(mine[section], theirs[counterpart])
                links += _run_links(theirs[counterpart], mine[section])
    return links


def _article_links(outline: list[ChunkRecord], mine: dict, theirs: dict) -> list[tuple]:
    links = []
    for chunk in outline:
        number = article_number(chunk.heading)
        if number is None or number not in theirs:
            continue
        run = mine.get(number, [])
        place = next((i for i, c in enumerate(run) if c.id == chunk.id), 0)
        links.append((chunk.id, theirs[number][min(place, len(theirs[number]) - 1)].id))
    return links


def _run_links(run: list[ChunkRecord], counterpart: list[ChunkRecord]) -> list[tuple]:
    return [(chunk.id, counterpart[min(i, len(counterpart) - 1)].id) for i, chunk in enumerate(run)]


def relink(catalog: Catalog, db, works: set[str], generation: int | None = None) -> None:
    """Store the passage links of each of ``works`` between its passages of ``generation``
    (the active one), inside the write transaction that changed them: computed once per
    change, so a search reads a hit's versions with one lookup. A document that left a
    work loses its links when that work is relinked."""
    for work in sorted(works - {None}):
        document_ids = catalog.documents_of_work(work, db)
        outlines = {i: catalog.outline(i, db, generation) for i in document_ids}
        catalog.set_versions(db, document_ids, passage_links(catalog, outlines, db), generation)


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
