"""Text clean-up: what a reader sees stays, what only hinders search goes."""

from __future__ import annotations

import re

from conftest import CONSTITUTION, CONSTITUTION_FILES, need_corpora

from ingest.normalize import normalize_text, repair_lookalikes
from ingest.readers import extract


def test_bom_soft_hyphens_and_zero_width_characters_are_removed():
    assert normalize_text("\ufeffКөші\u00ad-қон\u200b") == "Көші-қон"


def test_unicode_is_composed_nfc():
    assert normalize_text("и\u0306") == "й"


def test_words_hyphenated_across_lines_are_joined():
    assert normalize_text("государст-\n  венный язык") == "государственный язык"
    assert normalize_text("migra-\ntion") == "migration"


def test_real_hyphens_and_numbered_headings_are_kept():
    assert normalize_text("Северо-\nЗападный") == "Северо-\nЗападный"
    assert normalize_text("10-\nбап") == "10-\nбап"


def test_latin_lookalikes_inside_cyrillic_words_become_cyrillic():
    assert repair_lookalikes("Бiз, ортақ тарихи") == "Біз, ортақ тарихи"  # Latin i → і
    assert repair_lookalikes("Рeспублика") == "Республика"  # Latin e → е
    assert repair_lookalikes("Мəжілісі") == "Мәжілісі"  # Latin schwa → Cyrillic ә
    assert repair_lookalikes("Hello wоrld") == "Hello world"  # Cyrillic о in a Latin word


def test_pure_words_in_either_script_are_untouched():
    assert repair_lookalikes("Кеңес Одағы and the USSR") == "Кеңес Одағы and the USSR"


def test_spacing_is_tidied_but_paragraphs_kept():
    assert normalize_text("  a \t b\u00a0c  \r\n\n\n\n d ") == "a b c\n\nd"


def test_the_kazakh_constitution_loses_every_latin_i():
    raw = (need_corpora() / CONSTITUTION / CONSTITUTION_FILES["kk"]).read_text(encoding="utf-8")

    def mixed(text: str) -> list[str]:
        return [
            w
            for w in re.findall(r"\w+", text)
            if re.search("[iIəƏ]", w) and re.search("[а-яәғқңөұүһі]", w, re.IGNORECASE)
        ]

    assert len(mixed(raw)) >= 40
    assert mixed(normalize_text(raw)) == []


def test_cp1251_read_as_latin1_is_decoded_again():
    assert normalize_text("ÔÅÄÅÐÀËÜÍÎÅ ÀÃÅÍÒÑÒÂÎ") == "ФЕДЕРАЛЬНОЕ АГЕНТСТВО"
    assert normalize_text("Ñòàíäàðò") == "Стандарт"


def test_real_accented_latin_text_is_left_alone():
    text = "Élève à la côte, déjà vu. Garçon, Müller und Größe."
    assert normalize_text(text) == text


def test_a_pdf_with_a_mojibake_text_layer_reads_as_russian():
    path = (
        need_corpora()
        / "pdf"
        / "pdf_messy"
        / (
            "broken_textlayer_cp1251_mojibake_ru__Russian-Phd-LaTeX-Dissertation-Template"
            "__Helpers__GOST_R_7.0.11-2011.pdf"
        )
    )
    extracted = extract(path.read_bytes(), path.name)
    first = extracted.pages[0]
    assert "ФЕДЕРАЛЬНОЕ АГЕНТСТВО" in extracted.text[first.start : first.end]
    assert "ÔÅÄ" not in extracted.text
