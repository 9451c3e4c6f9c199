"""Each supported format is read for its text and for the metadata the file itself carries
(PDF document info, HTML <title>, DOCX core properties); what the librarian types wins."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from conftest import need_corpora

ROOT = Path(__file__).resolve().parent.parent
DECREE = (
    "pdf/pdf_cyrillic/ru__Russian-Phd-LaTeX-Dissertation-Template__Documents__Def_positions.pdf"
)


def upload(client, name: str, data: bytes, **form) -> dict:
    response = client.post("/documents", files={"file": (name, data)}, data=form)
    assert response.status_code == 201, response.text
    return response.json()


def pdf_with_info(**info) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(need_corpora() / DECREE))
    writer.add_metadata({f"/{key}": value for key, value in info.items()})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_with_properties(title: str, author: str, year: int, paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.core_properties.title = title
    document.core_properties.author = author
    document.core_properties.created = datetime(year, 5, 1)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_pdf_metadata_comes_from_its_document_info(client):
    data = pdf_with_info(
        Title="Положение о защите диссертаций", Author="ВАК", CreationDate="D:20160621131331"
    )
    document = upload(client, "positions.pdf", data)
    assert (document["title"], document["author"], document["year"]) == (
        "Положение о защите диссертаций",
        "ВАК",
        2016,
    )
    assert (document["media_type"], document["language"]) == ("application/pdf", "ru")


def test_html_title_is_the_page_heading_without_the_site_name(client):
    page = ROOT / "corpus" / "kandas-resettlement-programmes.ru.html"
    document = upload(client, page.name, page.read_bytes())
    assert document["title"] == (
        "Переселение кандасов в северные регионы Казахстана: обзорное исследование"
    )
    detail = client.get(f"/documents/{document['id']}").json()
    passages = " ".join(chunk["text"] for chunk in detail["passages"])
    assert "кандас" in passages
    assert "Главная" not in passages  # the site menu is not content


def test_docx_metadata_comes_from_its_core_properties(client):
    data = docx_with_properties(
        "Қазақстандағы ішкі көші-қон",
        "А. Сейітова",
        2021,
        [
            "Ішкі көші-қон — азаматтардың ел ішінде тұрғылықты жерін ауыстыруы.",
            "Көшіп келушілер тұрғылықты жері бойынша тіркелуге тиіс.",
        ],
    )
    document = upload(client, "draft.docx", data)
    assert (document["title"], document["author"], document["year"], document["language"]) == (
        "Қазақстандағы ішкі көші-қон",
        "А. Сейітова",
        2021,
        "kk",
    )


def test_what_the_librarian_types_overrides_the_file(client):
    data = pdf_with_info(Title="Проект", Author="AYP", CreationDate="D:20160621131331")
    document = upload(client, "positions.pdf", data, title="Положение", year="2013", doc_type="law")
    assert (document["title"], document["author"], document["year"], document["doc_type"]) == (
        "Положение",
        "AYP",
        2013,
        "law",
    )
