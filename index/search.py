"""Search: a question in, ranked passages with their citations out.

Three modes. ``dense``: the query, embedded with the model's query prefix, against every
chunk's vector in FAISS. ``keyword``: BM25 over the stemmed terms of every chunk. ``hybrid``
(the default) combines them, with two corrections measured in docs/evaluation.md:

- Keyword evidence only counts between a query and passages in the same language: across
  languages BM25 matches only numbers and names, and fusing that noise ruins cross-language
  results.
- The model prefers passages in the query's own language, so in a collection that mixes
  languages the dense ranking is taken per language and each ranking is turned into standard
  scores (how far a passage stands above the others of its language) before the merge; an
  English question still finds the Russian law that answers it.

Filters (languages, documents, types) restrict every ranking. Each hit is joined with its
catalog row, so every result carries the exact passage and where it is.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ingest.language import SUPPORTED_LANGUAGES, detect_language
from ingest.normalize import normalize_text

from .analysis import analyze
from .catalog import ChunkRecord, DocumentRecord
from .parallel import versions
from .store import Indexes, Store

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "keyword")
Ranking = list[tuple[int, float]]  # (chunk id, score), best first
MIN_LANGUAGE_GROUP = 20  # passages a language needs to be ranked on its own in hybrid mode


@dataclass(frozen=True)
class Citation:
    document_id: int
    title: str
    filename: str
    page_start: int | None
    page_end: int | None
    heading: str | None
    char_start: int
    char_end: int
    label: str
    ocr: bool  # the passage was read from a page image by OCR


@dataclass(frozen=True)
class Parallel:
    """The same place of the same article in another language version of the document."""

    chunk_id: int
    lang: str
    text: str
    citation: Citation


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk_id: int
    text: str
    lang: str
    citation: Citation
    parallel: tuple[Parallel, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    query: str
    query_lang: str
    mode: Mode
    took_ms: float
    results: list[Hit]


@dataclass(frozen=True)
class Filters:
    langs: list[str] | None = None
    document_ids: list[int] | None = None
    doc_types: list[str] | None = None

    def __bool__(self) -> bool:
        return bool(self.langs or self.document_ids or self.doc_types)


def citation_label(
    title: str, heading: str | None, page_start: int | None, page_end: int | None
) -> str:
    """ "Constitution of the Republic of Kazakhstan, Article 10, p. 4" — what a reader quotes."""
    parts = [title]
    if heading:
        parts.append(heading.rsplit(" › ", 1)[-1])
    if page_start is not None:
        same = page_end in (None, page_start)
        parts.append(f"p. {page_start}" if same else f"pp. {page_start}–{page_end}")
    return ", ".join(parts)


def cite(chunk: ChunkRecord, document: DocumentRecord) -> Citation:
    return Citation(
        document_id=document.id,
        title=document.title,
        filename=document.filename,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        heading=chunk.heading,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        label=citation_label(document.title, chunk.heading, chunk.page_start, chunk.page_end),
        ocr=chunk.page_start is not None
        and any(chunk.page_start <= page <= chunk.page_end for page in document.ocr_pages),
    )


@dataclass(frozen=True)
class Fusion:
    """How hybrid search combines its rankings. The defaults were chosen on the development
    halves of the evaluation tasks (docs/evaluation-tuning.md)."""

    depth: int = 100  # candidates taken from each ranking
    keyword_weight: float = 1.0  # BM25 in the query's language, relative to dense's 1
    cross_keyword_weight: float = 0.0  # BM25 in other languages (numbers, names)
    feedback_weight: float = 0.0  # BM25 seeded by the top dense hits of each language
    feedback_seeds: int = 3
    feedback_terms: int = 20
    method: Literal["rrf", "zscore"] = "zscore"
    rrf_k: int = 60
    balance_languages: bool = True  # normalise each language's ranking before the merge


DEFAULT_FUSION = Fusion()


def _normalised(ranking: Ranking, fusion: Fusion) -> dict[int, float]:
    """Scores on a common scale: reciprocal rank, or standard score within the list."""
    if fusion.method == "rrf":
        return {cid: 1.0 / (fusion.rrf_k + rank) for rank, (cid, _) in enumerate(ranking, 1)}
    scores = np.array([score for _, score in ranking])
    spread = scores.std() or 1.0
    return {cid: (score - scores.mean()) / spread for cid, score in ranking}


def fuse(weighted_rankings: list[tuple[float, Ranking]], fusion: Fusion) -> dict[int, float]:
    """Weighted mean of normalised scores; a chunk missing from a list gets that list's
    lowest score, so evidence from one list alone is not punished below the list's tail."""
    weighted_rankings = [(w, r) for w, r in weighted_rankings if w > 0]
    total = sum(weight for weight, _ in weighted_rankings)
    fused: dict[int, float] = defaultdict(float)
    normalised = [(w, _normalised(r, fusion)) for w, r in weighted_rankings if r]
    candidates = {cid for _, scores in normalised for cid in scores}
    for weight, scores in normalised:
        floor = min(scores.values())
        for cid in candidates:
            fused[cid] += weight * scores.get(cid, floor) / total
    return fused


def language_groups(by_language: dict[str, list[int]], query_lang: str) -> dict[str, list[int]]:
    """The languages ranked on their own in hybrid mode: the query's, and kk, ru and en with
    enough passages. The rest (a mislabelled list of numbers, "und", a stray sentence) is
    ranked with the query's language, or else with the largest group, so it is never
    promoted as the best of a language of its own."""
    groups = {
        lang: list(ids)
        for lang, ids in by_language.items()
        if lang == query_lang or (lang in SUPPORTED_LANGUAGES and len(ids) >= MIN_LANGUAGE_GROUP)
    }
    rest = [cid for lang, ids in by_language.items() if lang not in groups for cid in ids]
    if rest:
        home = (
            query_lang
            if query_lang in groups
            else max(groups, key=lambda g: len(groups[g]), default=query_lang)
        )
        groups.setdefault(home, []).extend(rest)
    return groups


def rank(
    store: Store,
    indexes: Indexes,
    query: str,
    query_lang: str,
    vector: np.ndarray | None,
    k: int,
    filters: Filters,
    mode: Mode,
    fusion: Fusion = DEFAULT_FUSION,
) -> Ranking:
    """Chunk ids and scores for ``query``, best first. For keyword matching the query is
    analysed in the language of the passages it is matched against, so a short query whose
    language is uncertain ("кандастар": Kazakh or Russian?) still meets the right stems."""
    languages = (
        store.catalog.chunk_languages(filters.langs, filters.document_ids, filters.doc_types)
        if filters
        else indexes.languages
    )
    by_language: dict[str, list[int]] = defaultdict(list)
    for chunk_id, lang in languages.items():
        by_language[lang].append(chunk_id)
    depth = max(fusion.depth, k)

    def scope(ids: list[int]) -> list[int] | None:
        """None (no filtering, much faster) when the ids are every passage there is."""
        return None if len(ids) == len(indexes.languages) and not filters else ids

    def keyword(lang: str, ids: list[int], limit: int = depth) -> Ranking:
        return indexes.keywords.search(analyze(query, lang), limit, scope(ids)) if ids else []

    if mode == "keyword":
        matches = [m for lang, ids in by_language.items() for m in keyword(lang, ids, k)]
        return sorted(matches, key=lambda item: -item[1])[:k]
    allowed = list(languages) if filters else None
    if mode == "dense":
        return indexes.vectors.search(vector, k, allowed)

    def feedback(dense: Ranking, ids: list[int] | None) -> Ranking:
        seeds = [chunk_id for chunk_id, _ in dense[: fusion.feedback_seeds]]
        terms = indexes.keywords.feedback_terms(seeds, fusion.feedback_terms)
        return indexes.keywords.search(terms, depth, ids)

    if not fusion.balance_languages:
        same = by_language.pop(query_lang, [])
        dense = indexes.vectors.search(vector, depth, allowed)
        lists = [(1.0, dense), (fusion.keyword_weight, keyword(query_lang, same))]
        if fusion.cross_keyword_weight:
            lists += [
                (fusion.cross_keyword_weight, keyword(other, ids))
                for other, ids in by_language.items()
            ]
        if fusion.feedback_weight:
            lists.append((fusion.feedback_weight, feedback(dense, allowed)))
        return sorted(fuse(lists, fusion).items(), key=lambda item: -item[1])[:k]

    fused = {}
    for lang, ids in language_groups(by_language, query_lang).items():
        weight = fusion.keyword_weight if lang == query_lang else fusion.cross_keyword_weight
        dense = indexes.vectors.search(vector, depth, scope(ids))
        lists = [(1.0, dense), (weight, keyword(lang, ids) if weight else [])]
        if fusion.feedback_weight:
            lists.append((fusion.feedback_weight, feedback(dense, scope(ids))))
        fused.update(fuse(lists, fusion))
    return sorted(fused.items(), key=lambda item: -item[1])[:k]


def search(
    store: Store,
    query: str,
    k: int = 10,
    filters: Filters | None = None,
    mode: Mode = "hybrid",
    fusion: Fusion = DEFAULT_FUSION,
) -> SearchResult:
    started = time.perf_counter()
    filters = filters or Filters()
    text = normalize_text(query)  # as passages were at ingest
    query_lang = detect_language(text)
    vector = None if mode == "keyword" else store.embedder.embed([text], "query")[0]
    with store.reading() as indexes:  # passages read before any write can remove them
        matches = rank(store, indexes, text, query_lang, vector, k, filters, mode, fusion)
        chunks = store.catalog.chunks_by_id([chunk_id for chunk_id, _ in matches])
        documents: dict[int, DocumentRecord] = {
            document_id: store.catalog.document(document_id)
            for document_id in {chunk.document_id for chunk in chunks.values()}
        }
    hits = []
    for chunk_id, score in matches:
        chunk = chunks.get(chunk_id)
        if chunk is None:  # deleted by another process after the ranking
            continue
        hits.append(
            Hit(
                rank=len(hits) + 1,
                score=round(score, 6),
                chunk_id=chunk_id,
                text=chunk.text,
                lang=chunk.lang,
                citation=cite(chunk, documents[chunk.document_id]),
                parallel=tuple(
                    Parallel(version.id, version.lang, version.text, cite(version, document))
                    for version, document in versions(
                        store.catalog, chunk, documents[chunk.document_id]
                    )
                ),
            )
        )
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    return SearchResult(
        query=query, query_lang=query_lang, mode=mode, took_ms=took_ms, results=hits
    )
