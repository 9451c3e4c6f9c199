"""Every real PDF in ../shared/corpora/pdf either reads with a known phrase on a known page,
or is refused with its specific reason. Scans and undecodable text layers are read by OCR."""

from __future__ import annotations

import pytest
from conftest import CORPORA, need_corpora

from ingest import ocr
from ingest.errors import UnreadableFile
from ingest.readers import extract

pytestmark = pytest.mark.slow  # real PDFs of ../shared/corpora, OCR included

MESSY = "pdf/pdf_messy/"
CYRILLIC = "pdf/pdf_cyrillic/"
LARGE = "pdf/pdf_large/"
GOST = "Russian-Phd-LaTeX-Dissertation-Template__Documents__"

# (file, page, a phrase on that page, whether that page is read by OCR)
READABLE = [
    (MESSY + "bad_fonts__PyMuPDF__tests__resources__has-bad-fonts.pdf", 1, "佛山", False),
    (
        MESSY + "broken_textlayer_cp1251_mojibake_ru__Russian-Phd-LaTeX-Dissertation-Template"
        "__Helpers__GOST_R_7.0.11-2011.pdf",
        1,
        "ФЕДЕРАЛЬНОЕ АГЕНТСТВО",
        False,
    ),
    (
        MESSY + "broken_textlayer_non_unicode_cmap__pdfminer.six__samples__contrib"
        "__issue-791-non-unicode-cmap.pdf",
        1,
        "prost",  # Czech "Peněžní prostředky na účtech", read without a Czech model
        True,
    ),
    (
        MESSY + "corrupted__pdfminer.six__samples__zen_of_python_corrupted.pdf",
        1,
        "Beautiful is better than ugly.",
        False,
    ),
    (
        MESSY
        + "encrypted_empty_user_password__pypdf__resources__encryption__r6-empty-password.pdf",
        1,
        "pdf encryption test",
        False,
    ),
    (
        MESSY + "scanned_image_only_en__pdfminer.six__samples__nonfree__175.pdf",
        1,
        "ACCESSORY KIT NO. AK-120A",
        True,
    ),
    (
        MESSY + "scanned_image_only_en__pdfminer.six__samples__nonfree__175.pdf",
        2,
        "Two-place Service Manual",
        True,
    ),
    (
        MESSY + f"scanned_image_only_ru__{GOST}GOST_R_7.05-2008.pdf",
        2,
        "в Российской Федерации установлены Федеральным законом",
        True,
    ),
    (
        MESSY + f"scanned_image_only_ru__{GOST}GOST_R_7.05-2008.pdf",
        22,
        "Ключевые слова: библиографическая ссылка",
        True,
    ),
    (
        MESSY + "scanned_with_ocr_layer_en__pypdf__resources__Seige_of_Vicksburg_Sample_OCR.pdf",
        1,
        "THE SIEGE OF VICKSBURG",
        False,
    ),
    (
        MESSY + f"scanned_with_ocr_layer_ru__{GOST}GOST_2.105-95.pdf",
        1,
        "МЕЖГОСУДАРСТВЕННЫЙ СТАНДАРТ",
        False,
    ),
    (
        MESSY + f"scanned_with_ocr_layer_ru__{GOST}GOST_2.105-95.pdf",
        23,  # a drawing with a few words in its text layer: read again by OCR
        "Основная надпись",
        True,
    ),
    (
        MESSY + f"scanned_with_ocr_layer_ru__{GOST}GOST_7.1-2003.pdf",
        52,
        "Подписано в печать 01.02.2010",
        False,
    ),
    (
        CYRILLIC + "kk__IS2AI-KazNERD__Annotation_guidelines__KazNERD_Annotation_Guidelines.pdf",
        30,
        "штабының еріктілері",
        False,
    ),
    (CYRILLIC + "multi__py-pdf-pypdf__resources__multilang.pdf", 1, "Russian: Привет, мир", False),
    (
        CYRILLIC + "ru-en__adilkhan1993-MyRAGproject__data__docs__sample.pdf",
        3,
        "given in terms of Szmielew's invariants",
        False,
    ),
    (
        CYRILLIC + f"ru__{GOST}Def_positions.pdf",
        2,
        "идеальным способом представления",
        False,
    ),
    (
        CYRILLIC + f"ru__{GOST}Government_Decree_842.pdf",
        3,
        "от 2 июня 2008 г. N 424",
        False,
    ),
    (
        CYRILLIC + "ru__Russian-Phd-LaTeX-Dissertation-Template__OutputExample__dissertation.pdf",
        41,
        "Очередной подраздел приложения",
        False,
    ),
    (
        LARGE + "155p_WHO_report__PyMuPDF__tests__resources__test-3820.pdf",
        155,
        "hepatitis@who.int",
        False,
    ),
    (
        LARGE + "15p_news__PyMuPDF__tests__resources__bug1945.pdf",
        3,
        "Napoleon’s secret love letters",
        False,
    ),
    (
        LARGE + "285p__PyMuPDF__tests__resources__mupdf_explored.pdf",
        285,
        "HOW TO CONTRIBUTE TO MUPDF",
        False,
    ),
    (
        LARGE + "50p__pdfminer.six__samples__nonfree__i1040nr.pdf",
        3,
        "Instructions for Form 1040NR",
        False,
    ),
]
REFUSED = [
    (
        MESSY
        + "encrypted_user_password__py-pdf-sample-files__005__libreoffice-writer-password.pdf",
        "encrypted with a password",
    ),
    (
        MESSY
        + "malformed_no_startxref__pdfminer.six__samples__contrib__issue-1113-evil-xobjects.pdf",
        "damaged",
    ),
    (  # one 17×17-pixel image: nothing for OCR to read
        MESSY + "image_only_ccittfax__pypdf__resources__imagemagick-CCITTFaxDecode.pdf",
        "no text layer, and OCR found no text",
    ),
]


@pytest.fixture(scope="module")
def extracted():
    """Each file read once for all its checks (OCR of a 22-page scan takes half a minute)."""
    cache = {}

    def read(relative: str):
        if relative not in cache:
            path = need_corpora() / relative
            cache[relative] = extract(path.read_bytes(), path.name)
        return cache[relative]

    return read


def need_tesseract() -> None:
    if not ocr.available():
        pytest.skip("Tesseract is not installed (bin/setup installs tesseract-ocr)")


@pytest.mark.parametrize(
    "relative, page, phrase, by_ocr", READABLE, ids=lambda v: str(v)[len(MESSY) :][:40]
)
def test_readable_pdfs_give_the_phrase_on_its_page(extracted, relative, page, phrase, by_ocr):
    if by_ocr:
        need_tesseract()
    document = extracted(relative)
    span = document.pages[page - 1]
    assert phrase in " ".join(document.text[span.start : span.end].split())
    assert (page in document.ocr_pages) == by_ocr


@pytest.mark.parametrize("relative, reason", REFUSED, ids=lambda v: str(v)[len(MESSY) :][:40])
def test_unreadable_pdfs_are_refused_with_their_reason(relative, reason):
    if "OCR" in reason:
        need_tesseract()
    path = need_corpora() / relative
    with pytest.raises(UnreadableFile, match=reason):
        extract(path.read_bytes(), path.name)


def test_a_scan_keeps_every_page_in_order(extracted):
    """All 22 scanned pages are read, each under its own number (the text layer had only a
    download watermark on page 1)."""
    need_tesseract()
    document = extracted(MESSY + f"scanned_image_only_ru__{GOST}GOST_R_7.05-2008.pdf")
    assert document.ocr_pages == tuple(range(1, 23))
    assert [p.number for p in document.pages] == list(range(1, 23))
    assert all(p.end - p.start > 150 for p in document.pages)


def test_a_page_whose_script_was_misdetected_is_read_again_in_the_other(extracted):
    """Tesseract calls page 20 of the GOST scan Latin (script confidence 0.5); read as English
    it came out as "O6 HHanangyanbHoe nomouwnM" at confidence 33. Read again as Russian and
    Kazakh it is the Russian text it is."""
    need_tesseract()
    document = extracted(MESSY + f"scanned_image_only_ru__{GOST}GOST_R_7.05-2008.pdf")
    span = document.pages[19]
    page = " ".join(document.text[span.start : span.end].split())
    assert "Об индивидуальной помощи в получении образования" in page
    assert "HHanangyanbHoe" not in page
    assert 20 not in document.ocr_doubtful


def test_a_page_ocr_is_unsure_of_is_doubtful():
    """Confidence is the words' mean, weighted by length; under 50 a page is doubtful."""
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight"
    rows = [
        header + "\tconf\ttext",
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t",  # a page row: no word, no confidence
        "5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t90\tЗакон",
        "5\t1\t1\t1\t1\t2\t0\t0\t10\t10\t10\tBa",
    ]
    assert ocr.mean_confidence("\n".join(rows)) == pytest.approx((90 * 5 + 10 * 2) / 7)
    assert ocr.Reading("…", 33.0).doubtful and not ocr.Reading("…", 79.0).doubtful


def test_every_pdf_in_the_corpora_has_a_case():
    need_corpora()
    covered = {relative for relative, *_ in READABLE + REFUSED}
    present = {
        str(path.relative_to(CORPORA))
        for folder in (MESSY, CYRILLIC, LARGE)
        for path in (CORPORA / folder).glob("*.pdf")
    }
    assert present == covered


def test_without_tesseract_a_scan_is_refused_saying_what_to_install(monkeypatch):
    monkeypatch.setattr(ocr, "available", lambda: False)
    path = need_corpora() / MESSY / "scanned_image_only_en__pdfminer.six__samples__nonfree__175.pdf"
    with pytest.raises(UnreadableFile, match="needs OCR, but Tesseract is not installed"):
        extract(path.read_bytes(), path.name)
