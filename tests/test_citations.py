"""Citations to take away (service/citations.py): a legal act cited by title, year and
article, a study author–date, and BibTeX, RIS and CSV a reference manager or a spreadsheet
reads; from the API and a real search (the CLI: tests/test_server.py)."""

from __future__ import annotations

import csv
import io
from datetime import date

from index.catalog import DocumentRecord
from service.citations import Cited, export

ACCESSED = date(2026, 12, 2)
LAW = DocumentRecord(
    id=7, sha256="0" * 64, filename="migration-law.ru.pdf", media_type="application/pdf",
    title="О миграции населения", author=None, year=2011, doc_type="law",
    source_url="https://adilet.zan.kz/rus/docs/Z1100000477", language="ru", languages=["ru"],
    added_at="2026-12-01T00:00:00+00:00", updated_at=None, ocr_pages=[], ocr_doubtful=[],
    work="migration-law", chunks=40, page_count=30,
)  # fmt: skip
STUDY = DocumentRecord(
    **{**vars(LAW), "id": 8, "title": "Internal migration & the {labour} market_2024 \\o/",
       "author": "Abenova, A.", "year": 2024, "doc_type": "study", "language": "en",
       "source_url": None, "work": None}
)  # fmt: skip


def test_a_law_is_cited_by_title_year_and_article_in_its_language():
    cited = Cited(LAW, "Глава 2 › Статья 10. Кандасы", 4, 4, "…")
    assert export([cited], "text", ACCESSED) == (
        "О миграции населения (2011). Статья 10. Кандасы, с. 4. "
        "URL: https://adilet.zan.kz/rus/docs/Z1100000477 (дата обращения: 02.12.2026).\n"
    )


def test_a_study_is_cited_author_date():
    assert export([Cited(STUDY, None, 3, 5)], "text", ACCESSED) == (
        "Abenova, A. (2024). Internal migration & the {labour} market_2024 \\o/. pp. 3–5.\n"
    )


def test_bibtex_and_ris_give_one_entry_per_document_with_the_places_cited():
    places = [Cited(LAW, "Статья 10", 4, 4), Cited(LAW, "Статья 12", 6, 7), Cited(STUDY)]
    bibtex = export(places, "bibtex", ACCESSED)
    assert bibtex.count("@") == 2 and "@misc{koshqon7," in bibtex
    assert "note = {Статья 10, с. 4; Статья 12, с. 6–7}" in bibtex
    assert (
        r"title = {Internal migration \& the \{labour\} market\_2024 \textbackslash{}o/}" in bibtex
    )
    assert "urldate = {2026-12-02}" in bibtex
    ris = export(places, "ris", ACCESSED).splitlines()
    assert ris.count("ER  - ") == 2
    assert {"TY  - STAT", "PY  - 2011", "SP  - 4", "AU  - Abenova, A."} <= set(ris)


def test_csv_cells_a_spreadsheet_would_run_are_quoted():
    hostile = Cited(LAW, '=HYPERLINK("http://x")', None, None, "@SUM(1)")
    row = next(csv.DictReader(io.StringIO(export([hostile], "csv"))))
    assert (row["heading"], row["passage"]) == ('\'=HYPERLINK("http://x")', "'@SUM(1)")


def test_csv_has_a_row_per_passage_that_a_spreadsheet_reads_back():
    rows = list(
        csv.DictReader(io.StringIO(export([Cited(LAW, "Статья 10", 4, 4, 'a "b", c')], "csv")))
    )
    assert rows == [
        {
            "document_id": "7", "title": "О миграции населения", "author": "", "year": "2011",
            "doc_type": "law", "language": "ru", "heading": "Статья 10", "page_start": "4",
            "page_end": "4", "source_url": LAW.source_url, "passage": 'a "b", c',
        }
    ]  # fmt: skip


def test_a_search_and_a_document_are_exported_from_the_api(library):
    params = {"q": "кандас дегеніміз кім?", "k": 5}
    hits = library.get("/search", params=params).json()["results"]
    exported = library.get("/search/citations", params={**params, "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="koshqon-search.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(int(r["document_id"]), r["passage"]) for r in rows] == [
        (h["citation"]["document_id"], h["text"]) for h in hits
    ]
    text = library.get("/search/citations", params=params).text.splitlines()
    assert len(text) == 5 and hits[0]["citation"]["title"] in text[0]
    document = hits[0]["citation"]["document_id"]
    bibtex = library.get(f"/documents/{document}/citation", params={"format": "bibtex"}).text
    assert bibtex.startswith("@") and f"koshqon{document}," in bibtex
    bad = library.get(f"/documents/{document}/citation", params={"format": "docx"})
    assert bad.status_code == 422
