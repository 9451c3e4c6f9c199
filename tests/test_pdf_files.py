"""Every real messy PDF either reads with a known phrase on a known page, or is refused with
its specific reason. (Scans without a text layer wait for OCR, issue 4.)"""

from __future__ import annotations

import pytest
from conftest import CORPORA, need_corpora

from ingest.errors import UnreadableFile
from ingest.readers import extract

MESSY = "pdf/pdf_messy/"
READABLE = [
    (
        MESSY + "broken_textlayer_cp1251_mojibake_ru__Russian-Phd-LaTeX-Dissertation-Template"
        "__Helpers__GOST_R_7.0.11-2011.pdf",
        1,
        "ФЕДЕРАЛЬНОЕ АГЕНТСТВО",
    ),
    (
        MESSY + "corrupted__pdfminer.six__samples__zen_of_python_corrupted.pdf",
        1,
        "Beautiful is better than ugly.",
    ),
    (
        MESSY
        + "encrypted_empty_user_password__pypdf__resources__encryption__r6-empty-password.pdf",
        1,
        "pdf encryption test",
    ),
    (
        MESSY + "scanned_with_ocr_layer_en__pypdf__resources__Seige_of_Vicksburg_Sample_OCR.pdf",
        1,
        "THE SIEGE OF VICKSBURG",
    ),
    (
        MESSY + "scanned_with_ocr_layer_ru__Russian-Phd-LaTeX-Dissertation-Template__Documents"
        "__GOST_2.105-95.pdf",
        1,
        "МЕЖГОСУДАРСТВЕННЫЙ СТАНДАРТ",
    ),
    (MESSY + "bad_fonts__PyMuPDF__tests__resources__has-bad-fonts.pdf", 1, "佛山"),
]
REFUSED = [
    (
        MESSY + "broken_textlayer_non_unicode_cmap__pdfminer.six__samples__contrib"
        "__issue-791-non-unicode-cmap.pdf",
        "cannot be decoded",
    ),
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
    (
        MESSY + "image_only_ccittfax__pypdf__resources__imagemagick-CCITTFaxDecode.pdf",
        "no text layer",
    ),
    (MESSY + "scanned_image_only_en__pdfminer.six__samples__nonfree__175.pdf", "no text layer"),
]


@pytest.mark.parametrize("relative, page, phrase", READABLE, ids=lambda v: str(v)[:40])
def test_readable_pdfs_give_the_phrase_on_its_page(relative, page, phrase):
    need_corpora()
    path = CORPORA / relative
    extracted = extract(path.read_bytes(), path.name)
    span = extracted.pages[page - 1]
    assert phrase in " ".join(extracted.text[span.start : span.end].split())


@pytest.mark.parametrize("relative, reason", REFUSED, ids=lambda v: str(v)[:40])
def test_unreadable_pdfs_are_refused_with_their_reason(relative, reason):
    need_corpora()
    path = CORPORA / relative
    with pytest.raises(UnreadableFile, match=reason):
        extract(path.read_bytes(), path.name)
