"""The "legalrag" task: 642 real Russian legal questions with a lawyer's citations as gold.

Each question cites articles as ";"-separated strings such as
"ч. 1 ст. 7 Закона РК «О валютном регулировании и валютном контроле»" or "ст. 683 ГК РК".
A citation is read as: optional part/point qualifiers (ч., п., пп., подп.), which are ignored
because retrieval is judged per article; "ст. N" with N like "7" or "7-1" (or a range such as
"ст. 953–960", which gives every article of the range that the law has); then the law's name.

The name is normalised (case, ё/е, quotes, "РК"/"Республики Казахстан", spaces, a leading
"Закона"/"Кодекса" before a «О …» title) and looked up in LAW_FILES, which maps the names
citations use (official titles from LAW_TITLES, abbreviations, variants) to the Russian files
of legal/kz_laws_ru_kk. The titles are written into LAW_TITLES rather than read from the files
because these adilet exports lack their title line: they start with editorial notes or the
first article. Each file was identified by the scope articles it opens with ("Законодательство
Республики Казахстан о …"); law_on_advertising.txt holds the Law "On the Securities Market",
so «О рекламе» maps nowhere.

The Civil Code is split in two files: civil_code.txt holds the General Part (articles
1–405) and civil_code2.txt the Special Part (articles 406–1124). A gold pair names the file
whose article headings ("Статья 7." / "Статья 7-1.") hold the cited article, so a cited
article that no file of its law has (a wrong number, a repealed article) is dropped and
counted. Laws with no file here (the Tax Code and many single laws) are counted by name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

LAWS_DIR = Path("legal") / "kz_laws_ru_kk"
SHEET = Path("eval") / "legalrag" / "642_questions_with_citations.xlsx"
TOP_MISSING_LAWS = 10

CIVIL_CODE = ("civil_code", "civil_code2")

# Russian file stem -> the law's official title, as adilet gives it (the files lack it).
LAW_TITLES: dict[str, str] = {
    "civil_code": "Гражданский кодекс Республики Казахстан (Общая часть)",
    "civil_code2": "Гражданский кодекс Республики Казахстан (Особенная часть)",
    "civil_procedure_code": "Гражданский процессуальный кодекс Республики Казахстан",
    "code_of_administrative_offenses": (
        "Кодекс Республики Казахстан об административных правонарушениях"
    ),
    "code_on_administrative_procedures": (
        "Административный процедурно-процессуальный кодекс Республики Казахстан"
    ),
    "code_on_marriage_and_family": "Кодекс Республики Казахстан «О браке (супружестве) и семье»",
    "code_on_public_health": (
        "Кодекс Республики Казахстан «О здоровье народа и системе здравоохранения»"
    ),
    "constitution": "Конституция Республики Казахстан",
    "criminal_code": "Уголовный кодекс Республики Казахстан",
    "criminal_procedure_code": "Уголовно-процессуальный кодекс Республики Казахстан",
    "entrepreneurial_code": "Предпринимательский кодекс Республики Казахстан",
    "labor_code": "Трудовой кодекс Республики Казахстан",
    "land_code": "Земельный кодекс Республики Казахстан",
    "social_code": "Социальный кодекс Республики Казахстан",
    # The file's name is wrong: it holds the securities market law, not «О рекламе».
    "law_on_advertising": "Закон Республики Казахстан «О рынке ценных бумаг»",
    "law_on_banks": (
        "Закон Республики Казахстан «О банках и банковской деятельности в Республике Казахстан»"
    ),
    "law_on_child_rights": "Закон Республики Казахстан «О правах ребенка в Республике Казахстан»",
    "law_on_citizen_bankruptcy": (
        "Закон Республики Казахстан «О восстановлении платежеспособности и банкротстве граждан "
        "Республики Казахстан»"
    ),
    "law_on_collection_activity": "Закон Республики Казахстан «О коллекторской деятельности»",
    "law_on_consumer_protection": "Закон Республики Казахстан «О защите прав потребителей»",
    "law_on_credit_bureaus": (
        "Закон Республики Казахстан «О кредитных бюро и формировании кредитных историй "
        "в Республике Казахстан»"
    ),
    "law_on_currency_regulation": (
        "Закон Республики Казахстан «О валютном регулировании и валютном контроле»"
    ),
    "law_on_digital_assets": (
        "Закон Республики Казахстан «О цифровых активах в Республике Казахстан»"
    ),
    "law_on_education": "Закон Республики Казахстан «Об образовании»",
    "law_on_enforcement": (
        "Закон Республики Казахстан «Об исполнительном производстве и статусе судебных "
        "исполнителей»"
    ),
    "law_on_housing_relations": "Закон Республики Казахстан «О жилищных отношениях»",
    "law_on_legal_entities_registration": (
        "Закон Республики Казахстан «О государственной регистрации юридических лиц и учетной "
        "регистрации филиалов и представительств»"
    ),
    "law_on_llp": (
        "Закон Республики Казахстан «О товариществах с ограниченной и дополнительной "
        "ответственностью»"
    ),
    "law_on_microfinance": "Закон Республики Казахстан «О микрофинансовой деятельности»",
    "law_on_military_service": (
        "Закон Республики Казахстан «О воинской службе и статусе военнослужащих»"
    ),
    "law_on_notariat": "Закон Республики Казахстан «О нотариате»",
    "law_on_personal_data_protection": (
        "Закон Республики Казахстан «О персональных данных и их защите»"
    ),
    "law_on_public_procurement": "Закон Республики Казахстан «О государственных закупках»",
    "law_on_public_service": (
        "Закон Республики Казахстан «О государственной службе Республики Казахстан»"
    ),
    "law_on_real_estate_registration": (
        "Закон Республики Казахстан «О государственной регистрации прав на недвижимое имущество»"
    ),
    "law_on_rehabilitation_bankruptcy": "Закон Республики Казахстан «О реабилитации и банкротстве»",
    "law_on_road_traffic": "Закон Республики Казахстан «О дорожном движении»",
    "law_on_valuation_activity": (
        "Закон Республики Казахстан «Об оценочной деятельности в Республике Казахстан»"
    ),
    "law_on_vehicle_liability_insurance": (
        "Закон Республики Казахстан «Об обязательном страховании гражданско-правовой "
        "ответственности владельцев транспортных средств»"
    ),
}

# How citations name a law -> the Russian file stem(s) holding its text: each title above
# (the Civil Code's two by name only), then abbreviations and the other names in the sheet.
# Names are compared after _law_name(), so case, quotes, "РК" and a leading "Закона" or
# "Кодекса" before «О …» do not matter; descriptive names are in the genitive, as they
# follow "ст. N" in a citation.
LAW_FILES: dict[str, tuple[str, ...]] = {
    **{title: (stem,) for stem, title in LAW_TITLES.items() if stem not in CIVIL_CODE},
    "ГК": CIVIL_CODE,
    "Гражданского кодекса": CIVIL_CODE,
    "ГПК": ("civil_procedure_code",),
    "Гражданского процессуального кодекса": ("civil_procedure_code",),
    "КоАП": ("code_of_administrative_offenses",),
    "АППК": ("code_on_administrative_procedures",),
    "Административного процедурно-процессуального кодекса": ("code_on_administrative_procedures",),
    "КоБС": ("code_on_marriage_and_family",),
    "Конституции": ("constitution",),
    "УК": ("criminal_code",),
    "Уголовного кодекса": ("criminal_code",),
    "УПК": ("criminal_procedure_code",),
    "Уголовно-процессуального кодекса": ("criminal_procedure_code",),
    "Предпринимательского кодекса": ("entrepreneurial_code",),
    "ТК": ("labor_code",),
    "Трудового кодекса": ("labor_code",),
    "ЗК": ("land_code",),
    "Земельного кодекса": ("land_code",),
    "Социального кодекса": ("social_code",),
    "ЗПП": ("law_on_consumer_protection",),
    "Закона «О правах потребителей»": ("law_on_consumer_protection",),
    "Закона «Об исполнительном производстве»": ("law_on_enforcement",),
    "Закона «Об исполнительном производстве и статусе частных судебных исполнителей»": (
        "law_on_enforcement",
    ),
    "Закона «Об исполнительном производстве и статусе судебного исполнителя»": (
        "law_on_enforcement",
    ),
    "Закона «О жилищных отношения»": ("law_on_housing_relations",),  # misspelt in the sheet
    "Закона «О жилищный отношениях»": ("law_on_housing_relations",),  # misspelt in the sheet
    "Закона «О ТОО»": ("law_on_llp",),
    "Закона «О воинской службе»": ("law_on_military_service",),
    "Закона «О страховании ответственности владельцев транспортных средств»": (
        "law_on_vehicle_liability_insurance",
    ),
}

_QUOTES = str.maketrans("", "", '«»"“”„')
_REPUBLIC = re.compile(r"\b(?:в\s+)?(?:республик[аеиу]\s+казахстан|рк)\b")
_DOC_WORD = re.compile(r"^(?:конституционн\w*\s+)?(?:закон|кодекс)\w*\s+(?=об?\b)")
# "ст. 7", "ст.7-1", "ст. 8–1", and ranges "ст. 953–960" or "ст. 683-686".
_ARTICLE = re.compile(r"(?<![а-яё])ст\.\s*(\d+)(?:\s*[-–—]\s*(\d+))?", re.IGNORECASE)
# Article headings start a line ("Статья 7." / " Статья 7-1" / "Статья 2 Законодательство"),
# once after a chapter heading on the same line; indented notes ("Статья 913 предусмат…") don't.
_HEADING = re.compile(
    r"^ ?(?:Глава [^\n]*? )?Статья[ \xa0]+(\d+(?:-\d+)*)(?=[.\s]|$)", re.MULTILINE
)


def _law_name(text: str) -> str:
    """Normalise a law's name so that the spellings lawyers use for one law compare equal."""
    name = text.lower().replace("ё", "е").translate(_QUOTES)
    name = " ".join(_REPUBLIC.sub(" ", name).split()).strip(" .,")
    return _DOC_WORD.sub("", name)


# Normalised name -> law key, the stem of the law's first file ("civil_code" for both parts).
_LAW_KEYS = {_law_name(name): stems[0] for name, stems in LAW_FILES.items()}
_KEY_FILES = {stems[0]: stems for stems in LAW_FILES.values()}


def parse_citation(text: str) -> tuple[str, str] | None:
    """One citation -> (law key, article number), or None when it names no article or law.

    The law key is the LAW_FILES law's first file stem when the name is known, else the
    normalised name itself, so that laws missing from the corpus can be counted by name.
    "ст. 7-1" and "ст. 8–1" give "7-1" and "8-1"; so does a range ("ст. 953–960" gives
    "953-960"), which only the law's headings can tell apart (see _cited_articles).
    """
    match = _ARTICLE.search(text)
    if match is None:
        return None
    number, suffix = match.groups()
    name = _law_name(text[match.end() :])
    if not name:
        return None
    article = number if suffix is None else f"{number}-{suffix}"
    return _LAW_KEYS.get(name, name), article


@dataclass(frozen=True)
class LegalQuestion:
    id: str
    text: str
    gold: frozenset[tuple[str, str]]  # (Russian law file stem, article number)


@dataclass(frozen=True)
class LoadReport:
    """What load_questions read and why questions or citations did not count.

    questions_read = questions_kept + questions_without_law + questions_without_article, and
    citations = citations_matched + citations_unparsed + citations_without_law
    + articles_missing.
    """

    questions_read: int
    questions_kept: int
    questions_without_law: int  # none of the cited laws has a file here
    questions_without_article: int  # cited laws are here, but none of the cited articles
    citations: int
    citations_matched: int  # gave at least one gold pair
    citations_unparsed: int
    citations_without_law: int
    articles_missing: int  # law is here, but no file of it has the article's heading
    missing_laws: tuple[tuple[str, int], ...]  # most frequent law names with no file here

    def summary(self) -> tuple[str, ...]:
        """Lines for the evaluation report, so readers see what the gold leaves out."""
        laws = ", ".join(f"{name} ({count})" for name, count in self.missing_laws)
        return (
            f"{self.questions_kept} of {self.questions_read} questions kept: "
            f"{self.questions_without_law} cite no law in the corpus, "
            f"{self.questions_without_article} only articles missing from the law files",
            f"{self.citations} citations: {self.citations_matched} matched, "
            f"{self.citations_unparsed} unparsed, {self.citations_without_law} to laws not in "
            f"the corpus, {self.articles_missing} to articles missing from the law files",
            f"most cited laws not in the corpus: {laws or 'none'}",
        )


def _headings(path: Path) -> frozenset[str]:
    """The article numbers whose headings a law file holds."""
    return frozenset(_HEADING.findall(path.read_text(encoding="utf-8")))


def _article_files(laws_dir: Path, key: str) -> dict[str, str] | None:
    """Article number -> file stem holding it, over a law's present files; None if none is."""
    stems = [stem for stem in _KEY_FILES.get(key, ()) if (laws_dir / f"{stem}.txt").is_file()]
    if not stems:
        return None
    return {article: stem for stem in stems for article in _headings(laws_dir / f"{stem}.txt")}


def _cited_articles(article: str, files: dict[str, str]) -> list[str]:
    """The articles present in a law that a cited number names.

    "N-M" is article N-M when the law has it (Закон «О правах ребенка» has 7-10), else the
    range N..M when M > N ("ст. 683-686 ГК"); a range keeps the articles that exist.
    """
    if article in files:
        return [article]
    first, _, last = article.partition("-")
    if last and int(last) > int(first):
        return [str(n) for n in range(int(first), int(last) + 1) if str(n) in files]
    return []


def _read_sheet(path: Path) -> list[tuple[str, str, list[str]]]:
    """(query_id, query, citations) per non-empty row; columns are found by header name."""
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = [str(cell).strip() if cell is not None else "" for cell in next(rows)]
        qid, query, gold = (header.index(c) for c in ("query_id", "query", "gold_citations"))
        return [
            (
                str(row[qid]).strip(),
                str(row[query] or "").strip(),
                [c.strip() for c in str(row[gold] or "").split(";") if c.strip()],
            )
            for row in rows
            if row and len(row) > qid and row[qid] not in (None, "")
        ]
    finally:
        workbook.close()


def load_questions(corpora: Path) -> tuple[list[LegalQuestion], LoadReport]:
    """The questions with at least one cited article present in the corpus, and a report."""
    laws_dir = corpora / LAWS_DIR
    articles: dict[str, dict[str, str] | None] = {}
    questions: list[LegalQuestion] = []
    missing_laws: Counter[str] = Counter()
    read = without_law = without_article = citations = matched = unparsed = missing_articles = 0
    for qid, text, cited in _read_sheet(corpora / SHEET):
        read += 1
        gold: set[tuple[str, str]] = set()
        law_present = False
        for citation in cited:
            citations += 1
            parsed = parse_citation(citation)
            if parsed is None:
                unparsed += 1
                continue
            key, article = parsed
            if key not in articles:
                articles[key] = _article_files(laws_dir, key)
            files = articles[key]
            if files is None:
                missing_laws[key] += 1
                continue
            law_present = True
            found = _cited_articles(article, files)
            if found:
                matched += 1
            else:
                missing_articles += 1
            gold.update((files[a], a) for a in found)
        if gold:
            questions.append(LegalQuestion(qid, text, frozenset(gold)))
        elif law_present:
            without_article += 1
        else:
            without_law += 1
    report = LoadReport(
        questions_read=read,
        questions_kept=len(questions),
        questions_without_law=without_law,
        questions_without_article=without_article,
        citations=citations,
        citations_matched=matched,
        citations_unparsed=unparsed,
        citations_without_law=missing_laws.total(),
        articles_missing=missing_articles,
        missing_laws=tuple(missing_laws.most_common(TOP_MISSING_LAWS)),
    )
    return questions, report


def law_files(corpora: Path) -> list[Path]:
    """The Russian law files cited by at least one kept question: the task's corpus."""
    questions, _ = load_questions(corpora)
    stems = {stem for question in questions for stem, _ in question.gold}
    return [corpora / LAWS_DIR / f"{stem}.txt" for stem in sorted(stems)]


def law_title(path: Path) -> str:
    """The official title of a Russian law file, for the passages' metadata."""
    return LAW_TITLES[path.stem]
