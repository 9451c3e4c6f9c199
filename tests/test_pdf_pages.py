"""Citations of PDF passages carry the page they were printed on."""

from __future__ import annotations

import pytest
from conftest import need_corpora

pytestmark = pytest.mark.slow  # real PDFs of ../shared/corpora


def add_pdf(client, name: str) -> dict:
    path = need_corpora() / "pdf" / "pdf_cyrillic" / name
    response = client.post("/documents", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 201, response.json()
    return response.json()


def test_kazakh_pdf_passage_is_cited_with_its_page(client):
    document = add_pdf(
        client, "kk__IS2AI-KazNERD__Annotation_guidelines__KazNERD_Annotation_Guidelines.pdf"
    )
    assert document["page_count"] == 30 and document["language"] == "kk"
    hits = client.get("/search", params={"q": "Алькатрас түрмесі", "k": 10}).json()["results"]
    hit = next(h for h in hits if "[Алькатрас] түрмесі" in h["text"])
    # the guideline prints its page number "12" at the top of that page
    assert (hit["citation"]["page_start"], hit["citation"]["page_end"]) == (12, 12)
    assert hit["citation"]["label"].endswith("p. 12")


def test_every_passage_of_a_pdf_lies_on_the_pages_it_cites(client):
    document = add_pdf(
        client, "ru__Russian-Phd-LaTeX-Dissertation-Template__OutputExample__dissertation.pdf"
    )
    passages = client.get(f"/documents/{document['id']}").json()["passages"]
    assert all(1 <= p["page_start"] <= p["page_end"] <= 41 for p in passages)
    # passages break at page ends; only a heading at the foot of a page joins the next page
    assert all(p["page_end"] - p["page_start"] <= 1 for p in passages)
    section = next(p for p in passages if "2.4 Пробелы\nВ русском наборе принято" in p["text"])
    assert section["page_start"] == 12
    contents = next(p for p in passages if "Пробелы" in p["text"])
    assert contents["page_start"] == 2  # the table of contents lists it on page 2
    assert [p["page_start"] for p in passages] == sorted(p["page_start"] for p in passages)
