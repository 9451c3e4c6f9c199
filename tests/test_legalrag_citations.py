"""The legalrag task's gold: lawyers' citation strings become (law file, article) pairs.

The citation strings below are copied from the sheet of 642 questions; the tests on the sheet
itself skip when ../shared/corpora is absent.
"""

from __future__ import annotations

import pytest
from conftest import need_corpora

from evaluation.legalrag import (
    CIVIL_CODE,
    LAW_FILES,
    LAW_TITLES,
    LAWS_DIR,
    law_files,
    load_questions,
    parse_citation,
)

CITATIONS = [
    # abbreviations, in any case, with or without "РК"
    ("ст. 683 ГК РК", ("civil_code", "683")),
    ("ст. 505 КоАП РК", ("code_of_administrative_offenses", "505")),
    ("ст. 517 КОАП РК", ("code_of_administrative_offenses", "517")),
    ("п. 7 ст. 3 АППК РК", ("code_on_administrative_procedures", "3")),
    ("ст. 113 ТК РК", ("labor_code", "113")),
    ("ст. 306 УК РК", ("criminal_code", "306")),
    ("ст. 187 УПК РК", ("criminal_procedure_code", "187")),
    # codes by name, in the genitive
    ("ст. 1094 Гражданского Кодекса РК", ("civil_code", "1094")),
    ("ст. 63 Гражданского процессуального кодекса РК", ("civil_procedure_code", "63")),
    ("ст. 102 Земельного кодекса РК", ("land_code", "102")),
    ("ст. 319 Предпринимательского Кодекса РК", ("entrepreneurial_code", "319")),
    ("п. 1 ст. 24 Конституции РК", ("constitution", "24")),
    (
        "ст. 185 Кодекса РК «Об административных правонарушениях»",
        ("code_of_administrative_offenses", "185"),
    ),
    # «titles», whatever the quotes, "РК", "в Республике Казахстан" or part/point qualifiers
    (
        "ч. 1 ст. 7 Закона РК «О валютном регулировании и валютном контроле»",
        ("law_on_currency_regulation", "7"),
    ),
    ("п. 1 ст. 30 Закона РК «О защите прав потребителей»", ("law_on_consumer_protection", "30")),
    ('ст. 30 Закона "О защите прав потребителей"', ("law_on_consumer_protection", "30")),
    (
        "п. 7 ст. 50 Закона РК «О банках и банковской деятельности Республике Казахстан»",
        ("law_on_banks", "50"),
    ),
    (
        "п. 3 ст. 33 Закона РК «О правах ребенка Республики Казахстан»",
        ("law_on_child_rights", "33"),
    ),
    (
        "пп2 п3 ст. 26 Закона «О воинской службе и статусе военнослужащих»",
        ("law_on_military_service", "26"),
    ),
    # names lawyers use besides the official title, misspellings included
    ("п. 2 ст. 30 Закона «О правах потребителей»", ("law_on_consumer_protection", "30")),
    ("п. 1 ст. 22 Закона «О ТОО»", ("law_on_llp", "22")),
    ("пп. 12) ст. 2 Закона РК «О жилищный отношениях»", ("law_on_housing_relations", "2")),
    (
        "пп. 7) п. 1 ст. 47 Закона РК «Об исполнительном производстве и статусе частных "
        "судебных исполнителей»",
        ("law_on_enforcement", "47"),
    ),
    # inserted articles ("7-1", also with a dash) and ranges, told apart later by the headings
    ("п. 3 ст. 157-1 ГК РК", ("civil_code", "157-1")),
    ('пп. 15-3) ст. 2 Закона РК "О жилищных отношениях"', ("law_on_housing_relations", "2")),
    (
        'пп. 6 п. 2 ст. 8–1 Закона РК "О защите прав потребителей"',
        ("law_on_consumer_protection", "8-1"),
    ),
    ("ст. 953–960 ГК РК", ("civil_code", "953-960")),
    # laws with no file in the corpus keep their normalised name, to be counted
    ("ст. 341 Налогового кодекса РК", ("налогового кодекса", "341")),
    ("ст. 17-1 Закона «О рекламе»", ("о рекламе", "17-1")),
    (
        "ст. 8 Закона «Об адвокатской деятельности и юридической помощи»",
        ("об адвокатской деятельности и юридической помощи", "8"),
    ),
    # no article, or no law: nothing to score
    ("Закона РК «О миграции населения»", None),
    ("ГК РК", None),
    ("ст. ГК РК", None),
    ("ст. 7", None),
    ("", None),
]


@pytest.mark.parametrize(("citation", "expected"), CITATIONS)
def test_parse_citation(citation, expected):
    assert parse_citation(citation) == expected


@pytest.fixture(scope="module")
def loaded():
    return load_questions(need_corpora())


def test_every_law_in_the_table_is_a_russian_file_of_the_corpus():
    laws_dir = need_corpora() / LAWS_DIR
    stems = {stem for stems in LAW_FILES.values() for stem in stems}
    assert stems == set(LAW_TITLES)
    assert not [s for s in stems if s.endswith("_kz") or not (laws_dir / f"{s}.txt").is_file()]


def test_the_sheet_loads_with_counts_that_add_up(loaded):
    questions, report = loaded
    assert report.questions_read == 642
    assert report.questions_kept == len(questions) > 600
    assert report.questions_read == (
        report.questions_kept + report.questions_without_law + report.questions_without_article
    )
    assert report.citations == (
        report.citations_matched
        + report.citations_unparsed
        + report.citations_without_law
        + report.articles_missing
    )
    counts = [n for _, n in report.missing_laws]
    assert counts == sorted(counts, reverse=True) and sum(counts) <= report.citations_without_law
    assert report.missing_laws[0] == ("налогового кодекса", 19)  # the Tax Code is absent
    assert all(q.gold for q in questions)


def test_a_known_question_has_its_gold_articles(loaded):
    questions, _ = loaded
    by_id = {q.id: q for q in questions}
    assert by_id["kz_legalrag_0002"].gold == {
        ("law_on_currency_regulation", "7"),
        ("civil_code", "282"),
    }
    # "ст. 683-686 ГК РК" is a range: the Special Part has no article "683-686"
    assert {a for _, a in by_id["kz_legalrag_0220"].gold} == {"683", "684", "685", "686"}


def test_civil_code_articles_go_to_the_part_that_holds_them(loaded):
    questions, _ = loaded
    general, special = CIVIL_CODE
    articles = {(stem, int(a.split("-")[0])) for q in questions for stem, a in q.gold}
    assert all(n <= 405 for stem, n in articles if stem == general)
    assert all(n >= 406 for stem, n in articles if stem == special)
    assert {stem for stem, _ in articles} >= {general, special}


def test_the_task_corpus_is_the_russian_files_the_kept_questions_cite(loaded):
    corpora = need_corpora()
    questions, _ = loaded
    files = law_files(corpora)
    assert {f.stem for f in files} == {stem for q in questions for stem, _ in q.gold}
    assert all(f.is_file() and not f.stem.endswith("_kz") for f in files)
