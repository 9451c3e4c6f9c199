"""Extractive answers: the few sentences of the best passages that answer a question, each one
cited to its document, page, heading and exact character offsets.

Search finds the passages (hybrid, so an English question reaches a Russian law, and the
version of an article in the question's language comes first); each of the top passages is
cut into sentences, and every sentence is scored by the model's cosine between the question
and the sentence read after its passage's heading, plus a little for the rank of its passage
and a little for being in the question's language; when no passage is in the question's
language, sentences in the others get a bonus instead (the model scores a sentence across
languages lower: one threshold for both refused nearly every answer found across languages).
Cosines are kept raw rather than measured against the collection, as search does: a
threshold on standard scores tuned on XQuAD refused every answer in a small collection all
on one subject, where everything is similar to the question. The passage's own hybrid score
(how far it stands above its language's background) may add a little (``search_weight``).
The best sentences are taken, skipping any that says again what a chosen one says (the
same article in another language, a repeated definition), and put in order of passage,
then of place in the document. When no sentence scores above ``min_score``, or search
finds nothing closer than chance (index/chance.py), the answer is "not_found": unrelated
text is worse than none. The bonuses and the threshold were chosen, per built-in model,
on the development halves of XQuAD and KazQAD (docs/answers.md).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ingest.chunking import division_heading, parse_heading
from ingest.language import detect_language
from ingest.normalize import normalize_text

from .search import Filters, Hit, Mode, search
from .store import Store

Status = Literal["answered", "not_found"]

# A sentence ends at . ! ? … followed by space and a capital, digit or quote, or at a line
# break that ends it (_breaks_sentence); not after a single letter ("А. Байтұрсынұлы") or a
# common abbreviation.
_END = re.compile(r"(?<=[.!?…])[ \t]+(?=[\"«“(\[0-9A-ZА-ЯЁӘҒҚҢӨҰҮҺІ])|\n\s*")
_LIST_ITEM = re.compile(r"[-•–—*]\s|\d+(?:[.)]|-\w+\))\s|[a-zа-яәғқңөұүһі]\)\s")
SHORT_LINE = 50  # characters: a line this short that ends without a closer is a title
_ABBREVIATION = re.compile(
    r"(?:\b\w|\bст|\bп|\bпп|\bг|\bгг|\bт\.е|\bт\.д|\bт\.п|\bим|\bрис|\bсм|\bстр|\bтел|\bтг"
    r"|\bжж|\be\.g|\bi\.e|\betc|\bMr|\bDr|\bNo|\bArt|\bvs|\bPh\.D)\.$",
    re.IGNORECASE,
)
# "Who/what is X": the answer is X's definition, not what else is said about X
_ASKS_DEFINITION = re.compile(
    r"^\s*(?:who|what)\s+(?:is|are|was|were)\b|что\s+(?:такое|означает)|кто\s+так(?:ой|ая|ие)"
    r"|дегеніміз|деген(?:\s+(?:кім|не))|(?:кім|не)\s+деген|\bкімдер\b",
    re.IGNORECASE,
)
_DEFINES = re.compile(
    r"\b(?:is|are)\s+(?:a|an|the|any)\b|\s[–—-]\s|\bэто\b|понима(?:ется|ются)|является"
    r"|признается|болып\s+табыл|дегеніміз|\bдеп\b",
    re.IGNORECASE,
)
# "How many …", "in 2023": a sentence without a number, or without the year asked about,
# does not answer (an answer about kandas in general is not their number in 2023)
_ASKS_COUNT = re.compile(r"\bhow\s+(?:many|much)\b|\bсколько\b|\bқанша\b|\bнеше\b", re.I)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
MIN_SENTENCE_CHARS = 20
SENTENCE_CLOSERS = ".!?…;:)»\"”'"
TITLE_WORDS = 15


@dataclass(frozen=True)
class Answering:
    """How answers are built; defaults chosen for the plain multilingual-e5-small on the
    development halves (docs/answers.md). Cosine levels differ between models, so each
    built-in model has its own (``for_model``)."""

    passages: int = 5  # top passages whose sentences compete
    sentences: int = 3  # at most this many sentences in an answer
    min_score: float = 0.905  # below this best score (cosine plus bonuses): not_found
    rank_bonus: float = 0.02  # added to a sentence of the first passage, less further down
    language_bonus: float = 0.04  # added to sentences in the question's language
    # added to sentences in another language when no passage is in the question's: the
    # model scores a sentence across languages lower than one in the question's language
    other_language_bonus: float = 0.09
    # times the hybrid score of the sentence's passage: how far the passage stands above
    # the background of its language, which raw cosines cannot tell (0 in other modes)
    search_weight: float = 0.0
    duplicate: float = 0.93  # cosine above which two sentences say the same thing
    # added, for "who/what is X", to a sentence that defines: "X is a …", "X – это …", the
    # first sentence under a heading that names X (a glossary's entry)
    definition_bonus: float = 0.03

    @staticmethod
    def for_model(model_id: str) -> Answering:
        """The settings chosen for this model; any other model gets the plain one's."""
        return TUNED.get(model_id, Answering())


TUNED = {  # chosen on the development halves for each built-in model (docs/answers.md)
    # the adapted model spreads cosines wider: unrelated sentences fall far lower
    "multilingual-e5-small-kk-ru-law": Answering(
        min_score=0.79,
        rank_bonus=0.02,
        language_bonus=0.04,
        other_language_bonus=0.18,
        search_weight=0.02,
    ),
}


@dataclass(frozen=True)
class Supported:
    """One sentence of the answer, with where it stands in its document."""

    marker: int
    hit: Hit
    sentence: str
    char_start: int  # in the document's text, like the passage's own offsets
    char_end: int
    score: float


@dataclass(frozen=True)
class Answer:
    question: str
    status: Status
    answer: str
    citations: list[Supported]
    evidence: list[Hit]
    best_score: float
    took_ms: float
    answerer: Literal["extractive", "generative"] = "extractive"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of ``text`` with at least MIN_SENTENCE_CHARS
    characters, trimmed of surrounding space."""
    spans, start = [], 0
    for match in _END.finditer(text):
        if "\n" in match.group():
            if not _breaks_sentence(text, match):
                continue
        elif _ABBREVIATION.search(text[start : match.start()]):
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        piece = text[begin:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        sentence = piece[left:right]
        if len(sentence) >= MIN_SENTENCE_CHARS and not _not_a_sentence(sentence):
            trimmed.append((begin + left, begin + right))
    return trimmed


def _breaks_sentence(text: str, match: re.Match) -> bool:
    """Whether a line break ends a sentence. A PDF breaks its lines inside sentences ("на
    территории\nРеспублики Казахстан"); a break ends one after a blank line, after closing
    punctuation, after a heading or a short title line, or before a list item."""
    line = text[text.rfind("\n", 0, match.start()) + 1 : match.start()].strip()
    return (
        match.group().count("\n") > 1
        or not line
        or line[-1] in SENTENCE_CLOSERS
        or len(line) < SHORT_LINE
        or parse_heading(line) is not None
        or _LIST_ITEM.match(text, match.end()) is not None
    )


def _not_a_sentence(line: str) -> bool:
    """Headings ("Статья 5. Регистрация…", "# Title"), titles (a few words with no closing
    punctuation) and lines that are all emphasis (a glossary's "*каз. қандас (англ.
    kandas)*") name a topic; they answer nothing."""
    return (
        parse_heading(line) is not None
        or (line.startswith("*") and line.endswith("*"))
        or (line[-1] not in SENTENCE_CLOSERS and len(line.split()) < TITLE_WORDS)
    )


def answer(
    store: Store,
    question: str,
    filters: Filters | None = None,
    mode: Mode = "hybrid",
    settings: Answering | None = None,
) -> Answer:
    started = time.perf_counter()
    settings = settings or Answering.for_model(store.embedder.model_id)
    if mode != "hybrid":  # other modes' scores are on other scales
        settings = replace(settings, search_weight=0.0)
    found = search(store, question, settings.passages, filters, mode)
    if found.no_match:  # nothing closer than chance: no sentence of it answers
        return Answer(question, "not_found", "", [], found.results, 0.0, _ms(started))
    return compose(store, question, found.results, settings, started, found.query_lang)


def compose(
    store: Store,
    question: str,
    evidence: list[Hit],
    settings: Answering | None = None,
    started: float | None = None,
    asked_in: str | None = None,
) -> Answer:
    """The answer from passages already found (the evaluation reuses one search for many
    settings). ``asked_in`` is the question's language as search decided it."""
    started = started or time.perf_counter()
    settings = settings or Answering.for_model(store.embedder.model_id)
    evidence = evidence[: settings.passages]
    candidates = [(hit, start, end) for hit in evidence for start, end in sentence_spans(hit.text)]
    if not candidates:
        return Answer(question, "not_found", "", [], evidence, 0.0, _ms(started))
    texts = [hit.text[start:end] for hit, start, end in candidates]
    embedder = store.embedder  # one model for both, even if the store moves meanwhile
    query = embedder.embed([question], "query")[0]
    vectors = embedder.embed(
        [in_context(text, hit) for text, (hit, _, _) in zip(texts, candidates, strict=True)],
        "passage",
    )
    asked_in = asked_in or detect_language(normalize_text(question))
    own = [hit.lang == asked_in for hit, _, _ in candidates]
    across = settings.other_language_bonus * (not any(own))
    defining = settings.definition_bonus * bool(_ASKS_DEFINITION.search(question))
    scores = np.array(
        [
            float(vector @ query)
            + settings.rank_bonus / hit.rank
            + settings.search_weight * hit.score
            + (settings.language_bonus if in_own else across)
            + (defining if defining and defines(text, hit, question) else 0.0)
            if can_answer(question, text, hit)
            else -1.0
            for vector, text, (hit, _, _), in_own in zip(
                vectors, texts, candidates, own, strict=True
            )
        ]
    )
    best = float(scores.max())
    if best < settings.min_score:
        return Answer(question, "not_found", "", [], evidence, best, _ms(started))
    chosen: list[int] = []
    for i in map(int, np.argsort(-scores)):
        if scores[i] < settings.min_score:
            break
        same = next((j for j in chosen if vectors[i] @ vectors[j] >= settings.duplicate), None)
        if same is None and len(chosen) < settings.sentences:
            chosen.append(i)
        elif same is not None and own[i] and not own[same]:  # the reader's own version
            chosen[chosen.index(same)] = i
    chosen.sort(key=lambda i: (candidates[i][0].rank, candidates[i][1]))
    citations = []
    markers: dict[tuple[int, str], int] = {}  # one marker per source, however many sentences
    for i in chosen:
        hit, start, end = candidates[i]
        marker = markers.setdefault(
            (hit.citation.document_id, hit.citation.label), len(markers) + 1
        )
        offset = hit.citation.char_start
        citations.append(
            Supported(
                marker, hit, texts[i], offset + start, offset + end, round(float(scores[i]), 4)
            )
        )
    # a sentence broken across a PDF's lines reads as one line
    text = " ".join(f"{' '.join(c.sentence.split())} [{c.marker}]" for c in citations)
    return Answer(question, "answered", text, citations, evidence, best, _ms(started))


def can_answer(question: str, sentence: str, hit: Hit) -> bool:
    """A "how many" question needs a number, and a year the question names must be in the
    sentence or its passage."""
    if _ASKS_COUNT.search(question) and not any(ch.isdigit() for ch in sentence):
        return False
    return all(year in hit.text for year in _YEAR.findall(question))


def defines(sentence: str, hit: Hit, question: str) -> bool:
    """The sentence reads as a definition, or is the first under a heading that names a
    word of the question (a glossary's entry)."""
    if _DEFINES.search(sentence):
        return True
    heading = (hit.citation.heading or "").rsplit(" › ", 1)[-1].lower()
    words = {w[:5] for w in re.findall(r"\w{4,}", question.lower())}
    named = any(w[:5] in words for w in re.findall(r"\w{4,}", heading))
    return named and hit.text.lstrip().find(sentence) <= len(heading) + 80


def in_context(sentence: str, hit: Hit) -> str:
    """A sentence as it is embedded: after what its passage is about — the article's title
    line when the passage opens with it ("4-бап. Тұрғылықты жері бойынша тіркеу", where the
    heading says only "4-бап"), else its heading (a glossary's "Kandas" before "An ethnic
    Kazakh who …")."""
    first = hit.text.lstrip().split("\n", 1)[0].strip()
    if division_heading(first):
        context = first
    else:
        context = (hit.citation.heading or "").rsplit(" › ", 1)[-1]
    return f"{context}\n{sentence}" if context and context not in sentence else sentence


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
