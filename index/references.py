"""A question that cites an article of a code or law — "статья 517 КоАП", "ст. 26 ТК РК",
"Article 26 of the Labour Code", "Еңбек кодексінің 26-бабы" — gets that article first, in
the reader's language version when the collection has one (index/search.py); a reference
to an article the collection does not hold says so rather than offer look-alikes.

The article number is read as the keyword analyser reads it ("art:26", index/analysis.py).
The code or law is recognised by its names in Kazakh, Russian and English and by the
abbreviations lawyers write (``NAMES``), compared stem by stem, so "Трудового кодекса" and
"Еңбек кодексінің" are the Labour Code; the most specific name wins (УПК is not УК). A
document is that code or law when its title or file name carries one of its names, in
any of the three languages, so a Russian question finds "labor_code.txt".
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.language import KAZAKH_LETTERS

from .analysis import analyze
from .catalog import Catalog
from .parallel import LABELS, articles

# the codes and laws of Kazakhstan a reference may name: Russian, Kazakh and English names
# (titles as their official texts write them, the usual short forms and abbreviations)
NAMES: dict[str, tuple[str, ...]] = {
    "the Code of Administrative Offences": (
        "кодекс об административных правонарушениях", "коап",
        "әкімшілік құқық бұзушылық туралы кодекс", "әкбтк",
        "code of administrative offences", "code of administrative offenses",
        "administrative offences code", "administrative offenses code",
    ),
    "the Criminal Code": ("уголовный кодекс", "ук", "қылмыстық кодекс", "criminal code"),
    "the Code of Criminal Procedure": (
        "уголовно-процессуальный кодекс", "упк", "қылмыстық-процестік кодекс",
        "criminal procedure code", "code of criminal procedure",
    ),
    "the Civil Code": ("гражданский кодекс", "гк", "азаматтық кодекс", "civil code"),
    "the Code of Civil Procedure": (
        "гражданский процессуальный кодекс", "гпк", "азаматтық процестік кодекс",
        "civil procedure code", "code of civil procedure",
    ),
    "the Labour Code": ("трудовой кодекс", "тк", "еңбек кодексі", "labour code", "labor code"),
    "the Code on Marriage and Family": (
        "кодекс о браке (супружестве) и семье", "кодекс о браке и семье", "кобс",
        "неке (ерлі-зайыптылық) және отбасы туралы кодекс", "неке және отбасы туралы кодекс",
        "code on marriage and family", "marriage and family code",
    ),
    "the Land Code": ("земельный кодекс", "зк", "жер кодексі", "land code"),
    "the Tax Code": ("налоговый кодекс", "нк", "салық кодексі", "tax code"),
    "the Entrepreneurial Code": (
        "предпринимательский кодекс", "кәсіпкерлік кодекс", "entrepreneurial code",
    ),
    "the Social Code": ("социальный кодекс", "әлеуметтік кодекс", "social code"),
    "the Code on Public Health": (
        "кодекс о здоровье народа и системе здравоохранения",
        "халық денсаулығы және денсаулық сақтау жүйесі туралы кодекс",
        "code on public health", "public health code", "health code",
    ),
    "the Code on Administrative Procedures": (
        "административный процедурно-процессуальный кодекс", "аппк",
        "әкімшілік рәсімдік-процестік кодекс", "code on administrative procedures",
        "code of administrative procedure",
    ),
    "the Constitution": ("конституция", "конституциясы", "constitution"),
    "the Law on Migration of Population": (
        "закон о миграции населения", "халықтың көші-қоны туралы заң",
        "law on migration of population", "migration law",
    ),
    "the Law on Military Service": (
        "закон о воинской службе и статусе военнослужащих", "закон о воинской службе",
        "әскери қызмет және әскери қызметшілердің мәртебесі туралы заң",
        "әскери қызмет туралы заң", "law on military service",
    ),
    "the Law on Personal Data": (
        "закон о персональных данных и их защите", "закон о персональных данных",
        "дербес деректер және оларды қорғау туралы заң", "дербес деректер туралы заң",
        "law on personal data protection", "law on personal data", "personal data law",
    ),
    "the Law on Consumer Protection": (
        "закон о защите прав потребителей", "тұтынушылардың құқықтарын қорғау туралы заң",
        "law on consumer protection", "consumer protection law",
    ),
}  # fmt: skip
MOST_ARTICLES = 3  # articles pinned first, of one question


def _language(text: str) -> str:
    if text.isascii():
        return "en"
    return "kk" if not KAZAKH_LETTERS.isdisjoint(text) else "ru"


def _stems(text: str, lang: str) -> frozenset[str]:
    return frozenset(t for t in analyze(text, lang) if not t.startswith("art:"))


STEMS = {code: [_stems(n, _language(n)) for n in names] for code, names in NAMES.items()}


def named(stems: frozenset[str]) -> str | None:
    """The code or law whose name ``stems`` hold (the most specific, by its stems)."""
    found = [(len(name), code) for code, names in STEMS.items() for name in names if name <= stems]
    return max(found)[1] if found else None


@dataclass(frozen=True)
class Reference:
    """An article of a code or law, as a question names it, and what the collection has."""

    article: str
    code: str  # the code or law, in English ("the Labour Code")
    chunk_ids: tuple[int, ...]  # its passages in the collection, first first
    document_ids: tuple[int, ...]  # its documents (language versions) in the collection

    @property
    def found(self) -> bool:
        return bool(self.chunk_ids)

    @property
    def note(self) -> str:
        if self.found:
            return f"Article {self.article} of {self.code}"
        if not self.document_ids:
            return f"{self.code} is not in this collection"
        return f"{self.code} in this collection has no article {self.article}"


def cited(catalog: Catalog, query: str, query_lang: str) -> list[Reference]:
    """The articles ``query`` cites by number and code or law (none when it names no code
    or law: "статья 5" alone could be any document's)."""
    terms = analyze(query, query_lang)
    numbers = list(dict.fromkeys(t[4:] for t in terms if t.startswith("art:")))
    code = named(frozenset(t for t in terms if not t.startswith("art:"))) if numbers else None
    if code is None:
        return []
    documents = [
        (document_id, lang)
        for document_id, title, filename, lang in catalog.titles()
        if named(_stems(title, _language(title)) | _stems(_words(filename), "en")) == code
    ]
    documents.sort(key=lambda d: (d[1] != query_lang, d[0]))  # the reader's version first
    references = []
    for number in numbers[:MOST_ARTICLES]:
        runs = [
            run
            for document_id, _ in documents
            if (run := articles(catalog.under_heading(document_id, _labels(number))).get(number))
        ]
        first = tuple(run[0].id for run in runs[:1])
        references.append(Reference(number, code, first, tuple(d for d, _ in documents)))
    return references


def _labels(number: str) -> list[str]:
    return [label.format(number) for label in LABELS]


def _words(filename: str) -> str:
    """A file's name as words: "labor_code.txt" → "labor code"."""
    return filename.rsplit(".", 1)[0].replace("_", " ").replace("-", " ")
