"""``.venv/bin/python -m evaluation`` (evaluation/__main__.py): run the tasks, write
docs/evaluation.md (or the tuning table).

The reported variants are fixed; the sweep variants are only ever scored on the development
halves, and the default fusion was chosen from them (docs/evaluation-tuning.md).
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from index.embedder import Embedder
from index.search import DEFAULT_FUSION, Fusion
from ingest.chunking import Chunker

from .cache import CachedEmbedder, cache_path
from .report import full_table, headline_table
from .runner import Variant, evaluate
from .tasks import TASKS

METHOD = """\
## How this is measured

Every corpus is ingested through Koshqon's own path (`ingest.pipeline.prepare`: normalisation,
language detection, 256-token passages) into a real store (SQLite catalog, FAISS, BM25), and
every question goes through `index.search` for 100 passages, which are grouped into units
(the first passage of a unit gives its rank). Questions are split into a development half and
a test half by a hash of their id; only the development half was used to choose settings
(`.venv/bin/python -m evaluation --quick --sweep` → docs/evaluation-tuning.md).

- **xquad**: 240 paragraphs, 1,190 questions, en and ru. "mixed" indexes all 480 paragraphs
  and counts both language versions as relevant (R@10 is the share of the two found).
  "en→ru among en" indexes the Russian version of the even-numbered articles and the English
  version of the others, and asks the English questions about the Russian ones: the answer
  exists only in Russian, next to English distractors.
- **kazqad**: the 764 KazQAD validation questions against its 697 distinct passages.
- **law-titles**: the article-aligned law pairs; the Kazakh title against the Russian
  articles and the reverse, heading lines removed from the article text.
- **tatoeba**: kk→en and ru→en sentence matching (acc@1 = R@1).
- **legalrag**: the real Russian legal questions over the Russian texts of the laws they
  cite, ingested as whole files; a hit counts for the article named in its heading path.
  Hit@10: any gold article in the top 10.
- **legal-dev** (issue 23): the 60 checked questions of `eval/legal-dev` (24 en, 24 kk,
  12 ru; 36 answered only in another language) over its nine law files and the English
  Constitution as a distractor, ingested whole. A hit counts for an article named in its
  heading path, or for a passage holding the gold answer's anchor text; a question is
  found when either language version of a gold article is (R@10), **both@10** is the
  share of two-version questions with both found. All 60 are reported as the test half:
  nothing was tuned on them alone.
- **legal-refs**: 326 references to articles ("ст. 26 ТК", "Labor Code art 80",
  "Еңбек кодексінің 26-бабы") built from the article headings of the same laws and the
  Labour Code: R@1 is the share whose first result is the article (index/references.py).

- **What a reader sees** (issue 9), in settings that name the question's language:
  - *own language first*: every language version is indexed and relevant ("xquad
    en→mixed", "law-titles kk→kk+ru"): **own-first** is the share of questions whose first
    relevant hit is in the question's language, **own R@10** the recall of that version.
  - *no filler*: the answer exists in the question's language only, and the other language
    holds unrelated passages ("xquad en→en among ru": the split corpus above; "law-titles
    kk→kk among ru": the Kazakh articles of half the laws, the Russian ones of the others;
    "kazqad kk→kk among en+ru": KazQAD with the XQuAD paragraphs in English and Russian).
    **P@5** is precision at 5 (at most 0.2 with one relevant passage); **filler@10** the
    share of the top 10 in languages with no relevant passage.

Variants: **keyword** is BM25 over stemmed terms; **dense** is the embedding model alone;
**per-language z (before)** is the
previous default (standard scores within each language's top list, keyword evidence only in
the query's language); **hybrid (default)** is what Koshqon serves: the same order within each
language, put onto where its candidates stand against all passages of their language
(index/calibration.py), so that languages share one scale — the n-th passage of a language
gets the n-th best cosine level of its candidates, so keyword matches reorder a language
but cannot lift it above its best cosine (`Fusion.placement`); a passage in another
language than the question's must also be more similar to it than the best of that many
unrelated passages would be by chance, or it is pushed down, but only as far as the
question's own language holds a passage above its own bar of chance (`Fusion.own_gate`,
issue 23): when the reader's language has nothing on the subject, the answer in another
language is not pushed under unrelated text; the question's language gets a bonus at equal
relevance (index/search.py `calibrated`). **penalty always (issue 23's before)** is the
same with the penalty applied whatever the question's language holds, the default before
issue 23; **stretched (issue 23's second before)** maps each language's order linearly
onto its levels' spread, with a language bonus of 0.25, the default before issue 23's
second round.
**hybrid, with lexicon** also matches the other language's passages by keyword in Kazakh
and Russian, with the question's stems translated by a lexicon induced from aligned law
articles (index/lexicon.py; docs/adaptation.md).
Baselines and targets are those of issues 3 and 9 (a plain implementation on the same data).
"""

PER_LANGUAGE_Z = Fusion(method="zscore", lexicon_weight=0.0)
LAW_FIRST = Fusion(document_weight=0.3)
WITH_LEXICON = Fusion(lexicon_weight=1.0)
PENALTY_ALWAYS = Fusion(own_gate=None, placement="stretch", language_bonus=0.25)
STRETCHED = Fusion(placement="stretch", language_bonus=0.25)
REPORTED = [
    Variant("keyword", "keyword"),
    Variant("dense", "dense"),
    Variant("per-language z (issue 9's before)", "hybrid", PER_LANGUAGE_Z),
    Variant("penalty always (issue 23's before)", "hybrid", PENALTY_ALWAYS),
    Variant("stretched (issue 23's second before)", "hybrid", STRETCHED),
    Variant("hybrid (default)", "hybrid", DEFAULT_FUSION),
    Variant("hybrid, with lexicon", "hybrid", WITH_LEXICON),
]
SWEEP = [
    Variant("dense", "dense"),
    Variant("keyword", "keyword"),
    Variant("per-language z (before)", "hybrid", PER_LANGUAGE_Z),
    *(
        Variant(
            f"calibrated penalty={p} margin={m} lang={b}",
            "hybrid",
            Fusion(foreign_penalty=p, chance_margin=m, language_bonus=b),
        )
        for p, m, b in (
            (4, 0.0, 0.25),
            (4, 0.25, 0.25),
            (4, 0.25, 0.5),
            (4, 0.75, 0.25),
            (8, 0.0, 0),
        )
    ),
    Variant("calibrated, law first 0.3", "hybrid", LAW_FIRST),
    # issue 23: the penalty only as far as the question's language has an answer
    Variant("penalty always", "hybrid", PENALTY_ALWAYS),
    Variant("no penalty, no bonus", "hybrid", Fusion(foreign_penalty=0, language_bonus=0)),
    *(Variant(f"own gate {g}", "hybrid", Fusion(own_gate=g)) for g in (0.5, 1.0, 2.0)),
    # issue 23, second round: keyword matches cannot lift a language above its cosines
    Variant("stretched, bonus 0.25", "hybrid", STRETCHED),
    *(Variant(f"levels, bonus {b}", "hybrid", Fusion(language_bonus=b)) for b in (0.5, 0.75, 1)),
]


def run(
    corpora: Path,
    tasks: list[str],
    embedder: Embedder,
    chunker: Chunker,
    data_dir: Path,
    output: Path,
    quick: bool,
    sweep: bool,
    command: str,
    log=print,
) -> Path:
    started = time.perf_counter()
    cached = CachedEmbedder(embedder, cache_path(data_dir, embedder))
    settings = [s for task in tasks for s in TASKS[task](corpora, quick)]
    variants = SWEEP if sweep else REPORTED
    results = evaluate(settings, variants, cached, chunker, log)
    names = [v.name for v in variants]
    half = "dev" if sweep else "test"
    minutes = (time.perf_counter() - started) / 60
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs"
    notes = [f"- {s.task} {s.name}: {note}" for s in settings for note in s.notes]
    text = "\n\n".join(
        [
            f"# Retrieval evaluation{' (tuning, development halves)' if sweep else ''}",
            f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d}: model "
            f"`{embedder.model_id}`, {'quick sample' if quick else 'full sets'}, "
            f"{minutes:.1f} min ({machine}). Figures are means "
            f"over the questions of the {half} half.",
            METHOD,
            f"## Headline ({half} half)",
            headline_table(results, names, half),
            "Notes:\n" + "\n".join(dict.fromkeys(notes)) if notes else "",
            f"## All metrics, {half} half",
            full_table(results, half),
            *([] if sweep else ["## All metrics, development half", full_table(results, "dev")]),
        ]
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    return output
