"""Which passages list rather than say (ingest/filler.py): search puts them after every
passage that says something (tests/test_reader_view.py shows it on the KazNERD
guidelines)."""

from __future__ import annotations

from ingest.filler import lists


def test_a_table_of_contents_is_a_list():
    assert lists(
        "МАЗМҰНЫ\nАлғысөз .................................... 7\n"
        "I. Атаулы мән .............................. 8\nII. Дескрипторлар ........... 9"
    )


def test_a_contents_page_that_ocr_partly_misread_is_still_a_list():
    assert lists(
        "ГОСТР 7.0.5—2008\n\nСодержание\n1 Область применения. ................ 1\n"
        "2” РОДИОНОВ = сльсельксесасарнындаыла семоклачьза Езеринмкхет тула там лаас 1\n"
        "3: ТӘПМИНЫ:ИОПЛДӘДЕЛЕНИЯ осо, тлмоккоә севкккасскикенлык маяк екарыаз анжн 2"
    )


def test_a_word_list_and_a_title_alone_are_lists():
    assert lists("бұғазы LOCATION\nбұйраты LOCATION\nбұлағы LOCATION\nбұрқағы FACILITY")
    assert lists("Глава 8. УГОЛОВНЫЕ ПРАВОНАРУШЕНИЯ В СФЕРЕ ЭКОНОМИЧЕСКОЙ ДЕЯТЕЛЬНОСТИ")


def test_an_article_whose_last_word_wrapped_onto_its_own_line_is_not_a_list():
    assert not lists(
        "Статья 24. Последствия прекращения брака (супружества)\n\nС прекращением брака "
        "(супружества) прекращаются имущественные и личные неимущественные права и "
        "обязанности супругов, за исключением случаев, предусмотренных настоящим\nКодексом\n."
    )


def test_a_table_of_figures_and_a_glossary_entry_are_not_lists():
    assert not lists("Алматы 12 345\nАстана 9 870\nШымкент 7 002\nАқтөбе 3 100")
    assert not lists(
        "## Kandas\n\nkk: қандас; ru: кандас\n\nAn ethnic Kazakh who did not previously "
        "hold Kazakhstani citizenship and has moved to Kazakhstan for permanent residence."
    )
