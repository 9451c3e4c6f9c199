"""Search: a question in, ranked passages with their citations out.

Three modes. ``dense``: the query, embedded with the model's query prefix, against every
chunk's vector in FAISS. ``keyword``: BM25 over the stemmed terms of every chunk. ``hybrid``
(the default) combines them, with two corrections measured in docs/evaluation.md:

- Keyword evidence counts between a query and passages in the same language: across
  languages BM25 matches only numbers and names, and fusing that noise ruins results.
  Between Kazakh and Russian a lexicon of legal stems can translate the query
  (index/lexicon.py, ``Fusion.lexicon_weight``; measured in docs/adaptation.md, off).
- The model prefers passages in the query's own language, so in a collection that mixes
  languages each language is ranked on its own, and the rankings are put on one scale
  against each language's background (``calibrated``) before the merge; an English
  question still finds the Russian law that answers it, and a language with nothing on
  the subject stays out of the top.

Filters (languages, documents, types) restrict every ranking. Each hit is joined with its
catalog row, so every result carries the exact passage and where it is.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal
from weakref import WeakKeyDictionary

import numpy as np

from ingest.filler import lists
from ingest.language import SUPPORTED_LANGUAGES, detect_language, undecided
from ingest.normalize import normalize_text

from .analysis import analyze
from .calibration import MIN_PASSAGES
from .catalog import ChunkRecord, DocumentRecord
from .chance import ChanceBar
from .indexes import Indexes
from .lexicon import translate
from .parallel import Version, versions
from .references import Reference, cited
from .store import Store

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
    ocr_doubtful: bool  # ... and OCR was unsure of that page


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
    references: list[Reference] = field(default_factory=list)  # articles the query cites
    # the closest passage is no closer than those of questions the collection cannot be
    # about (index/chance.py); the closest passages are still the results
    no_match: bool = False
    # the query's words that no passage has, in any language's analysis ("weather",
    # "tomorrow"): results that match the rest are not about them; only when the first
    # result is in the query's language
    missing: list[str] = field(default_factory=list)


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
        ocr=_on_pages(chunk, document.ocr_pages),
        ocr_doubtful=_on_pages(chunk, document.ocr_doubtful),
    )


def _on_pages(chunk: ChunkRecord, pages: list[int]) -> bool:
    return chunk.page_start is not None and any(
        chunk.page_start <= page <= chunk.page_end for page in pages
    )


def filler_last(
    matches: Ranking, chunks: dict[int, ChunkRecord], documents: dict[int, DocumentRecord]
) -> Ranking:
    """Filler goes after every other match, in its order: passages on pages that OCR was
    unsure of (misread text, "Bacwnur Crenaxosnva", matches anything a little and nothing
    well), and passages that list rather than say (tables of contents, titles alone, word
    lists: ingest/filler.py)."""

    def filler(chunk_id: int) -> bool:
        chunk = chunks.get(chunk_id)
        return chunk is not None and (
            _on_pages(chunk, documents[chunk.document_id].ocr_doubtful) or lists(chunk.text)
        )

    return sorted(matches, key=lambda match: filler(match[0]))


@dataclass(frozen=True)
class Fusion:
    """How hybrid search combines its rankings. The defaults were chosen on the development
    halves of the evaluation tasks (docs/evaluation-tuning.md)."""

    depth: int = 100  # candidates taken from each ranking
    keyword_weight: float = 1.0  # BM25 in the query's language, relative to dense's 1
    # BM25 in another language with the query translated (kk↔ru): off, because it lifts the
    # other language's version above the reader's own (docs/adaptation.md)
    lexicon_weight: float = 0.0
    # "zscore": each language's standard scores merged as they are (the default before
    # issue 9, kept for comparison); "calibrated": put on one scale first
    method: Literal["calibrated", "zscore"] = "calibrated"
    # calibrated: other languages must beat chance (index/search.py calibrated())
    foreign_penalty: float = 4.0  # per standard deviation short of the bar
    chance_margin: float = 0.25  # standard deviations above the expected best of chance
    language_bonus: float = 0.5  # added to passages in the query's language
    # … and it applies in full only when the query's language holds a passage this many
    # standard deviations above that language's own bar of chance, in proportion below it:
    # when the reader's language has nothing on the subject, the answer in another
    # language is not pushed under its unrelated passages (None: always in full)
    own_gate: float | None = 1.0
    # calibrated: weight of the document's best passages in each passage's score (first the
    # law, then the article)
    document_weight: float = 0.0
    document_passages: int = 3
    # calibrated: how a language's order is put on the common scale: "levels" gives its
    # n-th passage the n-th best cosine level among its candidates; "stretch" (before issue
    # 23's second round) maps the order's standard scores onto the levels' spread, which
    # lifted a passage matched by keywords alone above every cosine of its language
    placement: Literal["levels", "stretch"] = "levels"


DEFAULT_FUSION = Fusion()
_QUERY_WORD = re.compile(r"\w[\w'’-]*\w|\w")


def _normalised(ranking: Ranking) -> dict[int, float]:
    """Scores on a common scale: standard scores within the list."""
    scores = np.array([score for _, score in ranking])
    spread = scores.std() or 1.0
    return {cid: (score - scores.mean()) / spread for cid, score in ranking}


def fuse(weighted_rankings: list[tuple[float, Ranking]]) -> dict[int, float]:
    """Weighted mean of normalised scores; a chunk missing from a list gets that list's
    lowest score, so evidence from one list alone is not punished below the list's tail."""
    weighted_rankings = [(w, r) for w, r in weighted_rankings if w > 0]
    total = sum(weight for weight, _ in weighted_rankings)
    fused: dict[int, float] = defaultdict(float)
    normalised = [(w, _normalised(r)) for w, r in weighted_rankings if r]
    candidates = {cid for _, scores in normalised for cid in scores}
    for weight, scores in normalised:
        floor = min(scores.values())
        for cid in candidates:
            fused[cid] += weight * scores.get(cid, floor) / total
    return fused


def query_language(text: str, indexes: Indexes) -> str:
    """The query's language; when its spelling does not tell Kazakh from Russian
    ("кандастар"), the language whose passages use its words most, analysed as that
    language: Kazakh "қандастар" and "кандастар" share the stem "кандас", Russian stems it
    "кандастар", which no Russian passage has."""
    detected = detect_language(text)
    if not undecided(text):
        return detected
    rates = {}
    for lang in ("kk", "ru"):
        partition = indexes.partitions.get(lang)
        if partition is None or not len(partition):
            rates[lang] = 0.0
            continue
        terms = set(analyze(text, lang))
        found = sum(partition.keywords.document_frequency(t) for t in terms)
        rates[lang] = found / len(partition)
    return max(rates, key=rates.get) if rates["kk"] != rates["ru"] else detected


def language_groups(sizes: dict[str, int], query_lang: str) -> dict[str, list[str]]:
    """The languages ranked on their own in hybrid mode (each with the partitions it
    covers): the query's, and kk, ru and en with enough passages. The rest (a mislabelled
    list of numbers, "und", a stray sentence) is ranked with the query's language, or else
    with the largest group, so it is never promoted as the best of a language of its own."""
    groups = {
        lang: [lang]
        for lang, size in sizes.items()
        if lang == query_lang or (lang in SUPPORTED_LANGUAGES and size >= MIN_LANGUAGE_GROUP)
    }
    rest = [lang for lang in sizes if lang not in groups]
    if rest:
        home = (
            query_lang
            if query_lang in groups
            else max(groups, key=lambda g: sizes[g], default=query_lang)
        )
        groups.setdefault(home, []).extend(rest)
    return groups


def best_of_chance(passages: int) -> float:
    """How many standard deviations above their mean the best of this many unrelated
    passages stands, as expected: √(2 ln N)."""
    return math.sqrt(2 * math.log(max(passages, 2)))


def calibrated(
    indexes: Indexes,
    query_lang: str,
    vector: np.ndarray,
    fused_by_language: dict[str, dict[int, float]],
    fusion: Fusion,
    partition_of: dict[int, str],
) -> dict[int, float]:
    """Per-language fused scores put on one scale across languages.

    Within a language, standard scores of the top lists (dense, and BM25 in the query's
    language) give the best order measured (docs/evaluation.md), but their scale is the
    list's own: the best passage of every language looks relevant, relevant or not, and a
    language with many relevant passages looks worse than one with a single lucky one. So
    each language's order is put onto where its candidates stand against *all* its
    passages (index/calibration.py): their cosines minus the language's mean similarity to
    the query, in the query's language's standard deviations; the language's n-th passage
    gets the n-th best of its candidates' levels. Keyword evidence thus reorders a language
    but cannot lift it above its best cosine: stretched linearly instead, BM25 matches in
    the reader's language (which only that language gets) put unrelated Kazakh articles
    above the Russian article that answers a Kazakh question.

    A passage in another language must also be more similar to the query than chance
    allows: the best of N unrelated passages stands about √(2 ln N) of its language's own
    standard deviations above their mean, and a passage short of that bar plus
    ``chance_margin`` loses ``foreign_penalty`` for each deviation it lacks. A Russian
    article that answers an English question clears it; the best of unrelated Russian
    passages does not. That penalty keeps unrelated passages of other languages below the
    reader's own only when the reader's language has an answer to rank first: it applies in
    full when the query's language holds a passage ``own_gate`` deviations above its own
    bar of chance, in proportion below that, and not at all when that language holds
    nothing on the subject, where a law in another language is the answer itself and a
    cross-lingual match (a lower cosine than a same-language one) would otherwise fall
    under the bar (issue 23: held-out questions answered by Russian laws went from .52 to
    .17 with the penalty always on). The query's language gets ``language_bonus`` at
    equal relevance.
    A language with only a handful of passages (a stray Russian paragraph in a Kazakh
    library) has no background of its own: its passages must clear the bar of the whole
    collection, in the query's language too, or they would head every list."""
    counts = {lang: indexes.background.count(lang) for lang in fused_by_language}
    if not counts:  # an empty collection
        return {}
    unit = indexes.background.scale(vector, query_lang)[1]
    total = sum(indexes.background.count(lang) for lang in indexes.background.languages())
    placed_of: dict[str, tuple[list[int], np.ndarray, np.ndarray]] = {}
    for lang, fused in fused_by_language.items():
        if not fused:
            continue
        ids = list(fused)
        mean, spread = indexes.background.scale(vector, lang)
        cosines = stored_vectors(indexes, ids, partition_of) @ vector
        order = np.array([fused[i] for i in ids])
        level = (cosines - mean) / unit
        if fusion.placement == "levels":
            placed = np.empty_like(level)
            placed[np.argsort(-order, kind="stable")] = np.sort(level)[::-1]
        else:
            stretch = level.std() / order.std() if order.std() > 0 else 0.0
            placed = level.mean() + (order - order.mean()) * stretch if stretch else level
        placed_of[lang] = (ids, placed, (cosines - mean) / spread)
    own = query_lang in placed_of and counts[query_lang] >= MIN_PASSAGES
    gate = 1.0
    if fusion.own_gate is not None:
        if own:
            above = placed_of[query_lang][2].max() - best_of_chance(counts[query_lang])
            gate = float(np.clip(above / fusion.own_gate, 0, 1))
        else:
            gate = 0.0
    scores: dict[int, float] = {}
    for lang, (ids, placed, z) in placed_of.items():
        if lang == query_lang and own:
            placed = placed + fusion.language_bonus
        else:  # a handful of passages is judged against the whole collection's chance
            drawn_from = counts[lang] if counts[lang] >= MIN_PASSAGES else total
            chance = best_of_chance(drawn_from) + fusion.chance_margin
            shortfall = np.maximum(0.0, chance - z)
            placed = placed - gate * fusion.foreign_penalty * shortfall
        scores.update(zip(ids, placed.tolist(), strict=True))
    return scores


def stored_vectors(indexes: Indexes, ids: list[int], partition_of: dict[int, str]) -> np.ndarray:
    """The vectors of these passages, each read from its language's index."""
    vectors = np.zeros((len(ids), indexes.dim), dtype=np.float32)
    rows: dict[str, list[int]] = defaultdict(list)
    for row, chunk_id in enumerate(ids):
        rows[partition_of[chunk_id]].append(row)
    for lang, found in rows.items():
        vectors[found] = indexes.vectors_of(lang, [ids[r] for r in found])
    return vectors


def with_documents(store: Store, scores: dict[int, float], fusion: Fusion) -> dict[int, float]:
    """Each passage's score mixed with its document's: the mean of the document's best
    ``document_passages`` scores among the candidates. A long law whose articles match
    the question in several places lifts its articles above a lone passage elsewhere."""
    document_of = store.catalog.documents_of_chunks(list(scores))
    best: dict[int, list[float]] = defaultdict(list)
    for chunk_id, score in sorted(scores.items(), key=lambda item: -item[1]):
        found = best[document_of.get(chunk_id, -1)]
        if len(found) < fusion.document_passages:
            found.append(score)
    weight = fusion.document_weight
    return {
        chunk_id: (1 - weight) * score
        + weight * float(np.mean(best[document_of.get(chunk_id, -1)]))
        for chunk_id, score in scores.items()
    }


def best_first(rankings: list[Ranking], k: int) -> Ranking:
    """The top k of several rankings whose scores are on one scale."""
    return sorted((match for ranking in rankings for match in ranking), key=lambda m: -m[1])[:k]


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
    """Chunk ids and scores for ``query``, best first. Each language is searched in its own
    partition. For keyword matching the query is analysed in the language of the passages it
    is matched against, so a short query whose language is uncertain ("кандастар": Kazakh or
    Russian?) still meets the right stems."""
    sizes = {
        lang: size
        for lang, size in indexes.sizes().items()
        if not filters.langs or lang in filters.langs
    }
    allowed = (
        store.catalog.chunk_ids(document_ids=filters.document_ids, doc_types=filters.doc_types)
        if filters.document_ids or filters.doc_types
        else None
    )
    depth = max(fusion.depth, k)
    partition_of: dict[int, str] = {}

    def found_in(lang: str, ranking: Ranking) -> Ranking:
        partition_of.update((chunk_id, lang) for chunk_id, _ in ranking)
        return ranking

    def dense(langs: list[str], limit: int = depth) -> Ranking:
        return best_first(
            [
                found_in(g, indexes.partitions[g].vectors.search(vector, limit, allowed))
                for g in langs
            ],
            limit,
        )

    def keyword(langs: list[str], limit: int = depth, terms_in=None) -> Ranking:
        """BM25 in each language's partition, on the whole collection's statistics so that
        partitions compare; ``terms_in(lang)`` gives the query's terms there (by default the
        query analysed as that language)."""
        terms_in = terms_in or (lambda lang: analyze(query, lang))
        every = [partition.keywords for partition in indexes.partitions.values()]
        return best_first(
            [
                found_in(
                    g,
                    indexes.partitions[g].keywords.search(
                        terms_in(g), limit, allowed, collection=every
                    ),
                )
                for g in langs
            ],
            limit,
        )

    def translated(lang: str) -> list[str]:
        """The query's stems translated into ``lang`` (index/lexicon.py)."""
        return translate(analyze(query, query_lang), query_lang, lang)

    if mode == "keyword":
        return keyword(list(sizes), k)
    if mode == "dense":
        return dense(list(sizes), k)
    by_group = {}
    for lang, members in language_groups(sizes, query_lang).items():
        if lang == query_lang:
            sparse = (fusion.keyword_weight, keyword(members) if fusion.keyword_weight else [])
        else:
            sparse = (
                fusion.lexicon_weight,
                keyword(members, terms_in=translated) if fusion.lexicon_weight else [],
            )
        by_group[lang] = fuse([(1.0, dense(members)), sparse])
    if fusion.method == "calibrated":
        fused = calibrated(indexes, query_lang, vector, by_group, fusion, partition_of)
    else:
        fused = {i: score for scores in by_group.values() for i, score in scores.items()}
    if fusion.document_weight and fused:
        fused = with_documents(store, fused, fusion)
    return sorted(fused.items(), key=lambda item: -item[1])[:k]


def cited_first(matches: Ranking, cited: list[int]) -> Ranking:
    """The passages of the articles the query cites, first (index/references.py)."""
    if not cited:
        return matches
    top = max((score for _, score in matches), default=0.0)
    first = [(chunk_id, top + len(cited) - n) for n, chunk_id in enumerate(cited)]
    return first + [match for match in matches if match[0] not in set(cited)]


def primary_version(
    found: Version, others: list[Version], query_lang: str, filters: Filters
) -> tuple[Version, list[Version]]:
    """The version of an article to show first: the one in the query's language when the
    filters allow it, with the others attached; otherwise the one the ranking found."""
    if found[0].lang == query_lang:
        return found, others
    for i, (chunk, document) in enumerate(others):
        if chunk.lang == query_lang and _passes(chunk, document, filters):
            return (chunk, document), [found, *others[:i], *others[i + 1 :]]
    return found, others


def _passes(chunk: ChunkRecord, document: DocumentRecord, filters: Filters) -> bool:
    return (
        (not filters.langs or chunk.lang in filters.langs)
        and (not filters.document_ids or document.id in filters.document_ids)
        and (not filters.doc_types or document.doc_type in filters.doc_types)
    )


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
    generation, embedder = store.model
    vector = None if mode == "keyword" else embedder.embed([text], "query")[0]
    bar = None if vector is None else chance_bar(store, embedder)  # its first use embeds
    with store.reading() as indexes:  # passages read before any write can remove them
        if vector is not None and indexes.generation != generation.number:
            embedder = store.embedder  # it moved meanwhile: its model
            vector = embedder.embed([text], "query")[0]
            bar = chance_bar(store, embedder)
        query_lang = query_language(text, indexes)
        # room for versions of the top results, which are shown as one result each
        room = k + 2 * min(k, 10)
        matches = rank(store, indexes, text, query_lang, vector, room, filters, mode, fusion)
        references = cited(store.catalog, text, query_lang)
        matches = cited_first(matches, [i for r in references for i in r.chunk_ids])
        chunks = store.catalog.chunks_by_id([chunk_id for chunk_id, _ in matches])
        documents = store.catalog.documents_by_id(
            list({chunk.document_id for chunk in chunks.values()})
        )
        linked = versions(store.catalog, list(chunks))
        no_match = bar is not None and nothing_close(bar, indexes, text, vector, chunks)
        nowhere = words_nowhere(indexes, text)
    hits: list[Hit] = []
    matches = filler_last(matches, chunks, documents)
    shown: set[int] = set()
    for chunk_id, score in matches:
        chunk = chunks.get(chunk_id)
        if len(hits) == k:
            break
        if chunk is None or chunk_id in shown:  # deleted meanwhile, or shown as a version
            continue
        if filters and not _passes(chunk, documents[chunk.document_id], filters):
            continue  # a cited article outside the filters
        primary, others = primary_version(
            (chunk, documents[chunk.document_id]), linked.get(chunk_id, []), query_lang, filters
        )
        shown.update(version.id for version, _ in (primary, *others))
        hits.append(
            Hit(
                rank=len(hits) + 1,
                score=round(score, 6),
                chunk_id=primary[0].id,
                text=primary[0].text,
                lang=primary[0].lang,
                citation=cite(*primary),
                parallel=tuple(
                    Parallel(version.id, version.lang, version.text, cite(version, document))
                    for version, document in others
                ),
            )
        )
    # across languages a question's words are not expected in the passage that answers it
    missing = nowhere if hits and hits[0].lang == query_lang else []
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    return SearchResult(
        query=query,
        query_lang=query_lang,
        mode=mode,
        took_ms=took_ms,
        results=hits,
        references=references,
        no_match=no_match,
        missing=missing,
    )


_BARS: WeakKeyDictionary[Store, ChanceBar] = WeakKeyDictionary()


def chance_bar(store: Store, embedder) -> ChanceBar:
    """The store's bar of chance for this model (index/chance.py), made on first use."""
    bar = _BARS.get(store)
    if bar is None or bar.embedder is not embedder:
        bar = _BARS[store] = ChanceBar(embedder)
    return bar


def words_nowhere(indexes: Indexes, text: str) -> list[str]:
    """The query's words (stop-words aside) that no passage has, analysed as each
    language of the collection."""
    missing = []
    for word in dict.fromkeys(_QUERY_WORD.findall(text)):
        terms = [(lang, analyze(word, lang)) for lang in indexes.partitions]
        if not all(found for _, found in terms):
            continue  # a stop-word ("для", "in"), in one language is enough
        if not any(
            indexes.partitions[lang].keywords.document_frequency(term)
            for lang, found in terms
            for term in found
        ):
            missing.append(word)
    return missing


def nothing_close(
    bar: ChanceBar,
    indexes: Indexes,
    text: str,
    vector: np.ndarray,
    chunks: dict[int, ChunkRecord],
) -> bool:
    """Whether the closest of the passages found is below the collection's bar of chance
    for this model."""
    bars = bar.bars(indexes)
    if bars is None:
        return False
    known = any(
        partition.keywords.document_frequency(term)
        for lang, partition in indexes.partitions.items()
        for term in analyze(text, lang)
    )
    level = bars[0] if known else bars[1]
    rows: dict[str, list[int]] = defaultdict(list)
    for chunk_id, chunk in chunks.items():
        if chunk is not None and chunk.lang in indexes.partitions:
            rows[chunk.lang].append(chunk_id)
    cosines = [indexes.vectors_of(lang, ids) @ vector for lang, ids in rows.items()]
    closest = max((float(c.max()) for c in cosines if len(c)), default=None)
    return closest is not None and closest < level
