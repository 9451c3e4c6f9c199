"""Titles for documents that come without one (ingest/titles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.readers import extract
from ingest.titles import title_from_filename, title_from_text

ROOT = Path(__file__).resolve().parent.parent


def test_the_first_line_naming_the_document_is_its_title():
    text = "ІШКІ КӨШІП-ҚОНУШЫЛАРДЫҢ ҚҰҚЫҚТАРЫ ТУРАЛЫ ҮЛГІЛІК ЕРЕЖЕ\n\n1-тарау. Жалпы ережелер\n"
    assert title_from_text(text) == "ІШКІ КӨШІП-ҚОНУШЫЛАРДЫҢ ҚҰҚЫҚТАРЫ ТУРАЛЫ ҮЛГІЛІК ЕРЕЖЕ"


def test_a_title_over_two_lines_is_one_title():
    text = (
        "Закон Республики Казахстан от 21 мая 2013 года № 94-V.\n"
        "О персональных данных и их защите\n\nСтатья 1. Основные понятия\n"
    )
    assert title_from_text(text) == (
        "Закон Республики Казахстан от 21 мая 2013 года № 94-V. О персональных данных и их защите"
    )


def test_editorial_notes_sentences_and_the_body_are_not_titles():
    text = (
        "Вниманию пользователей!\n\nДля удобства пользования РЦПИ создано\nОГЛАВЛЕНИЕ\n\n"
        "Настоящий Закон регулирует общественные отношения в сфере персональных данных.\n\n"
        "Глава 1. ОБЩИЕ ПОЛОЖЕНИЯ\nСтатья 1. Основные понятия\n"
    )
    assert title_from_text(text) is None


@pytest.mark.parametrize(
    "name, title",
    [
        ("glossary-migration-terms.en.md", "Glossary of Migration Terms Used in Kazakhstan"),
        (
            "kandas-resettlement-north.kk.md",
            "Қандастарды солтүстік өңірлерге қоныстандыру: шағын зерттеу",
        ),
    ],
)
def test_the_sample_documents_are_titled_by_their_first_line(name, title):
    path = ROOT / "corpus" / name
    assert title_from_text(extract(path.read_bytes(), name).text) == title


def test_a_file_name_is_made_readable_when_nothing_else_names_the_document():
    assert title_from_filename("law_on_personal_data_protection.txt") == (
        "Law on personal data protection"
    )
    assert title_from_filename("GOST-7.1-2003.pdf") == "GOST-7.1-2003"
