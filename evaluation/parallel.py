"""How well language versions are found and their parts linked (index/parallel.py).

    .venv/bin/python -m evaluation.parallel       # writes docs/parallel.md

The Constitution (kk, ru, en), the Russian and Kazakh texts of four laws and the project's
sample texts (corpus/: a glossary in kk, ru and en, and seven texts that are versions of
nothing) are ingested through Koshqon's own path, each new document linked to its version
in another language as the service does. Then: is each document linked to exactly its
other versions; for each gold article pair (../shared/corpora/eval/derived, articles
aligned by their headings), is the passage offered as the parallel of the article's first
passage the start of the gold article in the other language; and for each glossary entry,
is its parallel the entry for the same term (the English glossary names each term's
Kazakh and Russian forms: "kk: ішкі көші-қон; ru: внутренняя миграция")?
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from index.parallel import LABELS, MIN_SCORE, articles, link_versions, same_text_score, versions
from index.store import Store
from ingest.models import Metadata
from ingest.normalize import normalize_text
from ingest.pipeline import prepare

from .cache import cached_model
from .tasks import _gzip_json

CONSTITUTION = {
    "kk": "legal/constitution_kk_ru_en/constitution_kk__Adikkk17-block4.txt",
    "ru": "legal/constitution_kk_ru_en/constitution_ru__Zh4nS1k-LegalRAG.txt",
    "en": "legal/constitution_kk_ru_en/constitution_en__Adikkk17-block4.txt",
}
LAWS = [
    "law_on_digital_assets",
    "law_on_valuation_activity",
    "law_on_personal_data_protection",
    "law_on_legal_entities_registration",
]
PREFIX = 80  # characters of the gold article that the linked passage must begin with
SAMPLES = Path(__file__).resolve().parents[1] / "corpus"
GLOSSARY = "glossary-migration-terms.{}.md"
TERMS = re.compile(r"^## (.+)\n\nkk: ([^;\n]+); ru: ([^\n]+)$", re.MULTILINE)


def _flat(text: str) -> str:
    return " ".join(normalize_text(text).split())


def ingest(store: Store, chunker, corpora: Path) -> dict[tuple[str, str], int]:
    """(work, language) → document id, adding each file and linking it as the service does."""
    files = [(("constitution", lang), corpora / path) for lang, path in CONSTITUTION.items()]
    for law in LAWS:
        folder = corpora / "legal/kz_laws_ru_kk"
        files += [((law, "ru"), folder / f"{law}.txt"), ((law, "kk"), folder / f"{law}_kz.txt")]
    ids = {}
    for key, path in files:
        prepared = prepare(path.read_bytes(), path.name, Metadata(), chunker)
        document = store.add(prepared).document
        ids[key] = link_versions(store, document).id
    return ids


def ingest_samples(store: Store, chunker) -> dict[tuple[str, str], int]:
    """(work, language) → document id for the project's sample texts: the three glossaries
    are one work, every other text a work of its own."""
    ids = {}
    for name, fields in json.loads((SAMPLES / "metadata.json").read_text()).items():
        prepared = prepare((SAMPLES / name).read_bytes(), name, Metadata(**fields), chunker)
        document = store.add(prepared).document
        work = "glossary" if name.startswith("glossary-") else name
        ids[(work, document.language)] = link_versions(store, document).id
    return ids


def glossary_pairs() -> list[tuple[str, str, str, str]]:
    """(language, term, other language, its term) for every entry of the English glossary
    whose Kazakh or Russian form heads an entry of that glossary, both ways."""
    headings = {
        lang: re.findall(r"^## (.+)$", (SAMPLES / GLOSSARY.format(lang)).read_text(), re.M)
        for lang in ("kk", "ru")
    }
    pairs = []
    for english, kk, ru in TERMS.findall((SAMPLES / GLOSSARY.format("en")).read_text()):
        for lang, term in (("kk", kk), ("ru", ru)):
            found = [h for h in headings[lang] if h.casefold().startswith(term.casefold())]
            if found:
                pairs += [("en", english, lang, found[0]), (lang, found[0], "en", english)]
    return pairs


def entry_linked(store: Store, ids: dict, pair) -> bool:
    source, term, target, counterpart = pair
    entry = next(
        c
        for c in store.catalog.chunks_of(ids[("glossary", source)])
        if (c.heading or "").endswith(f" › {term}")
    )
    linked = versions(store.catalog, [entry.id]).get(entry.id, [])
    offered = {d.id: c for c, d in linked}.get(ids[("glossary", target)])
    return offered is not None and (offered.heading or "").endswith(f" › {counterpart}")


def linking(store: Store, ids: dict) -> tuple[int, int]:
    """Documents whose versions are exactly the true ones, and wrong links found."""
    right = wrong = 0
    for (work, _), document_id in ids.items():
        truth = {i for (w, _), i in ids.items() if w == work} - {document_id}
        record = store.catalog.document(document_id)
        found = (
            set(store.catalog.documents_of_work(record.work)) - {document_id}
            if record.work
            else set()
        )
        right += found == truth
        wrong += len(found - truth)
    return right, wrong


def separation(store: Store, ids: dict) -> tuple[list[float], list[float]]:
    """``same_text_score`` of every cross-language pair of documents: true versions, others."""
    work_of = {document_id: work for (work, _), document_id in ids.items()}
    outline = {i: articles(store.catalog.outline(i)) for i in ids.values()}
    true, other = [], []
    for (work, lang), a in ids.items():
        for (_, other_lang), b in ids.items():
            if a < b and lang != other_lang:
                score = same_text_score(store.catalog, outline[a], outline[b])
                if score is not None:
                    (true if work_of[b] == work else other).append(score)
    return true, other


def gold_pairs(corpora: Path) -> list[tuple[str, str, str, str, str, str]]:
    """(work, article, from language, to language, from text, to text)."""
    derived = corpora / "eval/derived"
    pairs = []
    for row in _gzip_json(derived / "kz_laws_ru_kk_article_pairs.jsonl.gz"):
        if row["law"] in LAWS:
            pairs.append((row["law"], row["article"], "ru", "kk", row["ru"], row["kk"]))
            pairs.append((row["law"], row["article"], "kk", "ru", row["kk"], row["ru"]))
    for row in _gzip_json(derived / "constitution_kk_ru_en_article_triples.jsonl.gz"):
        for a in ("kk", "ru", "en"):
            for b in ("kk", "ru", "en"):
                if a != b:
                    pairs.append(("constitution", row["article"], a, b, row[a], row[b]))
    return pairs


def aligned(store: Store, ids: dict, pair) -> bool:
    work, number, source, target, _, gold = pair
    document = store.catalog.document(ids[(work, source)])
    labels = [label.format(number) for label in LABELS]
    article = articles(store.catalog.under_heading(document.id, labels)).get(number)
    if not article:
        return False
    linked = versions(store.catalog, [article[0].id]).get(article[0].id, [])
    offered = {d.id: c for c, d in linked}.get(ids[(work, target)])
    return offered is not None and _flat(gold)[:PREFIX] in _flat(offered.text)


def main() -> None:
    corpora = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/corpora")
    started = time.perf_counter()
    cached, chunker = cached_model()
    with tempfile.TemporaryDirectory(prefix="koshqon-parallel-") as scratch:
        store = Store(Path(scratch), cached)
        ids = ingest(store, chunker, corpora)
        true, other = separation(store, ids)
        ids |= ingest_samples(store, chunker)
        right, wrong = linking(store, ids)
        rows = []
        by_setting: dict[str, list[bool]] = {}
        for pair in gold_pairs(corpora):
            name = f"{'Constitution' if pair[0] == 'constitution' else 'laws'} {pair[2]}→{pair[3]}"
            by_setting.setdefault(name, []).append(aligned(store, ids, pair))
        for name, results in by_setting.items():
            rows.append(f"| {name} | {len(results)} | {sum(results) / len(results):.3f} |")
        entries: dict[str, list[bool]] = {}
        for pair in glossary_pairs():
            name = f"glossary entries {pair[0]}→{pair[2]}"
            entries.setdefault(name, []).append(entry_linked(store, ids, pair))
        for name, results in entries.items():
            rows.append(f"| {name} | {len(results)} | {sum(results) / len(results):.3f} |")
        store.close()
    minutes = (time.perf_counter() - started) / 60
    text = f"""# Parallel articles

Written by `.venv/bin/python -m evaluation.parallel` on {datetime.now(UTC):%Y-%m-%d}
({minutes:.0f} min on 2 CPUs).

The Constitution (kk, ru, en), the Russian and Kazakh texts of {len(LAWS)} laws
({", ".join(LAWS)}) and the project's sample texts (corpus/: the glossary in kk, ru and
en, and seven texts in one language each, two of them on one subject written as articles)
are added one by one through `prepare` → `Store.add` → `index.parallel.link_versions`, as
the service adds files: no version is declared, each is detected. Laws are versions when
their articles match by number and meaning; other texts when their file names differ only
by a language tag and their sections pair off (index/parallel.py).

**Documents linked to exactly their other versions: {right} of {len(ids)}**; links to a
wrong document: {wrong}.

The laws' detector score (the share of shared article numbers whose closest article in the
other document has the same number; linked from {MIN_SCORE}): true versions
{min(true):.2f}–{max(true):.2f} ({len(true)} pairs), other cross-language pairs
{min(other):.2f}–{max(other):.2f} ({len(other)} pairs).

**Article alignment** against `eval/derived` (articles aligned by their headings, spot-checked
by its authors): for each gold pair, the first passage of the article in one language must
have, as its parallel in the other language's document, a passage that begins with the
first {PREFIX} characters of the gold article (whitespace and Unicode normalised).
**Glossary entries**: the English glossary names each term's Kazakh and Russian forms; an
entry is linked right when its parallel in the other language is the entry headed by that
form (entries one glossary has and the other lacks are not counted).

| setting | gold pairs | accuracy |
|---|---|---|
{chr(10).join(rows)}
"""
    output = Path(__file__).resolve().parent.parent / "docs" / "parallel.md"
    output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
