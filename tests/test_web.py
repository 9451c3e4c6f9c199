"""The web page: each view renders in kk, ru and en with nothing fetched from elsewhere, and
a real headless Chromium uploads a document, finds it in another language, opens a citation
and deletes it, taking a screenshot of each view on the way (into docs/screenshots when
KOSHQON_SCREENSHOTS=1, so that a plain test run leaves the tree as it was)."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from conftest import free_port

from service.api.app import create_app
from service.api.routes.web import templates
from service.web.i18n import LANGUAGES, STRINGS
from service.web.markup import highlighted, linked_markers, marked, plain

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
RESETTLEMENT_RU = CORPUS / "kandas-resettlement-programmes.ru.html"
MORE = [
    CORPUS / "kandas-resettlement-north.kk.md",
    CORPUS / "labour-migrant-adaptation-regulation.ru.txt",
]
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
QUESTION = "Why did kandas settle in the south?"
TITLE = "Переселение кандасов: обзор программ"
CHROMIUM = shutil.which("chromium")
RESOURCE_TAG = re.compile(r"<(?:script|link|img|iframe)\b[^>]*>", re.IGNORECASE)


def upload(client, path: Path, **metadata) -> dict:
    response = client.post(
        "/documents", files={"file": (path.name, path.read_bytes())}, data=metadata
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_every_interface_language_has_every_string():
    assert all(STRINGS[code].keys() == STRINGS["en"].keys() for code in LANGUAGES)


def test_markup_escapes_text_and_links_answer_markers():
    assert highlighted("<b>Кандасы</b> селились", "кандасов") == (
        "&lt;b&gt;<mark>Кандасы</mark>&lt;/b&gt; селились"
    )
    assert marked("ab<c>d", 10, 12, 15) == "ab<mark>&lt;c&gt;</mark>d"
    assert marked("abc", 10, 5, 6) == "abc"  # a span outside the passage marks nothing
    cited = {"marker": 1, "chunk_id": 7, "char_start": 3, "char_end": 9}
    cited["citation"] = {"document_id": 2}
    assert linked_markers("A & B [1] [2]", [cited]) == (
        'A &amp; B <a class="marker" href="/view/documents/2?chunk=7&amp;start=3&amp;end=9">'
        "[1]</a> [2]"
    )


def test_markdown_passages_are_shown_without_their_marks():
    text = "## Кандас\n\n*каз. қандас (англ. kandas)*\n\nСм. [закон](https://adilet.zan.kz)."
    assert plain(text, "glossary.ru.md") == "Кандас\n\nказ. қандас (англ. kandas)\n\nСм. закон."
    assert plain(text, "notes.txt") == text  # only Markdown files carry marks
    # the cited span stays marked where it was: each part loses its own marks
    assert marked("*a* **bc** d", 0, 4, 10, "x.md") == "a <mark>bc</mark> d"


def render_hit(hit: dict, query: str) -> str:
    macro = '{% from "macros.html" import hit_card with context %}{{ hit_card(hit) }}'
    return templates.env.from_string(macro).render(t=STRINGS["en"], q=query, hit=hit)


def test_a_hit_shows_its_citation_an_ocr_warning_and_its_other_language_versions():
    citation = {"document_id": 4, "title": "Конституция", "page_start": 3, "page_end": 4}
    citation |= {"filename": "constitution.pdf", "ocr_doubtful": False}
    citation |= {"heading": "Раздел I › Статья 7", "label": "Конституция, Статья 7", "ocr": True}
    version = {"chunk_id": 90, "lang": "kk", "text": "Мемлекеттік тіл — қазақ тілі."}
    version["citation"] = citation | {"document_id": 5, "label": "Конституция, 7-бап"}
    hit = {"chunk_id": 12, "lang": "ru", "text": "Государственный язык — казахский.", "rank": 1}
    hit |= {"citation": citation, "parallel": [version]}
    card = render_hit(hit, "государственный язык")
    assert '<a class="label" href="/view/documents/4?chunk=12">Конституция, Статья 7</a>' in card
    assert "p. 3–4" in card and "Раздел I › Статья 7" in card
    assert "<mark>Государственный</mark> <mark>язык</mark>" in card
    assert STRINGS["en"]["ocr_warning"] in card
    assert f"<summary>{STRINGS['en']['other_versions']}: kk</summary>" in card
    assert '<a href="/view/documents/5?chunk=90">Конституция, 7-бап</a>' in card
    del hit["parallel"]  # hits from before parallel versions existed
    assert "<details" not in render_hit(hit, "")
    hit["citation"] = citation | {"ocr_doubtful": True}
    assert STRINGS["en"]["ocr_doubtful"] in render_hit(hit, "")


def test_pages_render_in_each_language_and_load_nothing_from_elsewhere(client):
    document = upload(client, RESETTLEMENT_RU, title=TITLE)
    pages = ["/", f"/?q={QUESTION}", f"/?q={QUESTION}&action=ask", "/library"]
    pages.append(f"/view/documents/{document['id']}")
    for code in LANGUAGES:
        for path in pages:
            response = client.get(path, params={"ui": code})
            assert response.status_code == 200, path
            assert f'<html lang="{code}">' in response.text
            for key in ("nav_search", "nav_library", "api_docs"):
                assert STRINGS[code][key] in response.text
            tags = RESOURCE_TAG.findall(response.text)
            assert tags and not [tag for tag in tags if re.search(r"(https?:)?//", tag)]
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"
    for asset in ("/static/app.js", "/static/style.css"):
        response = client.get(asset)
        assert response.status_code == 200
        assert not re.search(r"https?://|@import", response.text)


def test_the_interface_language_is_remembered_in_a_cookie(client):
    assert '<html lang="ru">' in client.get("/").text  # the default
    kazakh_browser = {"Accept-Language": "de-DE,de;q=0.9,kk-KZ;q=0.8,en;q=0.5"}
    assert '<html lang="kk">' in client.get("/", headers=kazakh_browser).text
    client.get("/library", params={"ui": "kk"})
    assert STRINGS["kk"]["upload_heading"] in client.get("/library").text
    client.cookies.clear()
    client.cookies.set("ui", "yy")
    assert '<html lang="ru">' in client.get("/", params={"ui": "xx"}).text  # unknown: default


def test_results_answers_and_the_cited_passage_are_rendered_on_the_server(client):
    document = upload(client, RESETTLEMENT_RU, title=TITLE)
    found = client.get("/", params={"q": QUESTION, "ui": "en"}).text
    assert f">{TITLE}" in found and re.search(r'<span class="lang"[^>]*>ru</span>', found)
    assert "<mark>кандас" in client.get("/", params={"q": "Где селились кандасы?"}).text
    assert f'href="/view/documents/{document["id"]}?chunk=' in found
    answered = client.get("/", params={"q": QUESTION, "action": "ask"}).text
    link = re.search(r'<a class="marker" href="([^"]+)">\[1\]</a>', answered)
    assert link, answered
    view = client.get(link[1].replace("&amp;", "&")).text
    assert view.count('class="passage cited"') == 1 and "<mark>" in view
    missing = client.get("/view/documents/999")
    assert missing.status_code == 404 and STRINGS["en"]["not_found"] in missing.text


def test_the_results_can_be_taken_away_and_the_empty_page_shows_the_collection(client):
    upload(client, RESETTLEMENT_RU, title=TITLE, doc_type="study")
    found = client.get("/", params={"q": QUESTION, "ui": "en"}).text
    link = re.search(r'href="(/search/citations\?[^"]+format=bibtex)"', found)
    assert link, found
    bibtex = client.get(link[1].replace("&amp;", "&"))
    assert bibtex.status_code == 200 and TITLE in bibtex.text
    assert 'class="cite-link" href="/documents/1/citation"' in found
    home = client.get("/", params={"ui": "en"}).text
    assert "1 documents, " in home and "By type: study 1" in home
    assert f'<a href="/view/documents/1">{TITLE}</a>' in home
    unanswered = client.get("/", params={"q": "квантовая хромодинамика", "action": "ask"}).text
    assert STRINGS["ru"]["evidence"] not in unanswered, "no sources listed for no answer"


@contextmanager
def serving(settings):
    """The real app under uvicorn on a free port, in a thread of this process (so it shares
    the session's loaded model)."""
    config = uvicorn.Config(create_app(settings), port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def browser_page():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (bin/setup installs it)"
    )
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (bin/setup installs Debian's chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        # expectations wait as long as actions: a loaded 2-core machine ingests slowly
        sync_api.expect.set_options(timeout=120_000)
        yield page, sync_api.expect
        browser.close()


@pytest.mark.slow
def test_a_librarian_and_a_reader_in_a_real_browser(settings, browser_page, tmp_path):
    page, expect = browser_page
    screenshots = DOCS_SCREENSHOTS if os.environ.get("KOSHQON_SCREENSHOTS") else tmp_path
    with serving(settings) as base:
        # Librarian: one file with its metadata, then two more as a background job.
        page.goto(f"{base}/library?ui=en")
        page.set_input_files("#upload input[name=files]", RESETTLEMENT_RU)
        page.fill("#upload > label > input[name=title]", TITLE)
        page.fill("#upload > label > input[name=year]", "2025")
        page.select_option("#upload > label > select[name=doc_type]", "study")
        page.click("#upload > p > button")
        row = page.locator("#documents tr", has_text=TITLE)
        expect(row).to_be_visible()
        # Two files at once: each gets its own metadata, prefilled from its name.
        page.set_input_files("#upload input[name=files]", MORE)
        rows = page.locator("#per-file tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first.locator("[name=title]")).to_have_value("kandas resettlement north")
        expect(rows.first.locator("[name=language]")).to_have_value("kk")
        rows.last.locator("[name=doc_type]").select_option("law")
        page.select_option("#upload > label > select[name=doc_type]", "report")
        page.click("#upload > p > button")
        expect(page.locator("#progress .summary")).to_have_text("2 of 2 processed, 0 failed")
        expect(page.locator("#documents tbody tr:not(.edit)")).to_have_count(3)
        north = page.locator("#documents tr", has_text="kandas resettlement north")
        expect(north).to_contain_text("report")
        law = page.locator("#documents tr", has_text="labour-migrant-adaptation-regulation.ru.txt")
        expect(law).to_contain_text("law")
        # A wrong file stops the progress bar with the reason.
        page.set_input_files(
            "#upload input[name=files]",
            {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff"},
        )
        page.click("#upload > p > button")
        expect(page.locator("#progress .summary")).to_contain_text("not supported")
        expect(page.locator("#progress progress")).to_have_attribute("value", "0")
        row.get_by_role("button", name="Edit").click()
        page.locator("#documents tr.edit:visible input[name=year]").fill("2024")
        page.locator("#documents tr.edit:visible").get_by_role("button", name="Save").click()
        expect(page.locator("#documents tr", has_text=TITLE)).to_contain_text("2024")
        # A new version replaces the law's content under the same id.
        law.get_by_role("button", name="Edit").click()
        editing = page.locator("#documents tr.edit:visible")
        editing.locator("input[type=file]").set_input_files(
            {
                "name": "regulation-2026.ru.txt",
                "mimeType": "text/plain",
                "buffer": "Статья 1. Новая редакция правил адаптации мигрантов.".encode(),
            }
        )
        editing.get_by_role("button", name="Replace with a new version").click()
        expect(page.locator("#documents tr", has_text="regulation-2026.ru.txt")).to_have_count(1)
        page.screenshot(path=screenshots / "library.png", full_page=True)

        # Reader: an English question finds the Russian passage, then gets a cited answer.
        page.goto(f"{base}/")
        page.fill("input[name=q]", QUESTION)
        page.get_by_role("button", name="Search").click()
        russian = page.locator(".hit", has=page.locator(".lang", has_text="ru"))
        expect(russian.locator(".label", has_text=TITLE).first).to_be_visible()
        expect(page.locator(".hit .text", has_text="южных").first).to_be_visible()
        page.get_by_role("button", name="Ask").click()
        marker = page.locator(".answer a.marker").first
        expect(marker).to_be_visible()
        page.screenshot(path=screenshots / "search.png", full_page=True)
        marker.click()
        cited = page.locator(".passage.cited")
        expect(cited).to_have_count(1)
        expect(cited.locator("mark")).to_be_visible()
        expect(cited).to_be_in_viewport()
        page.screenshot(path=screenshots / "document.png", full_page=True)

        # The interface in Kazakh, remembered on the next page; the document deleted.
        page.click("nav.switch a[hreflang=kk]")
        expect(page.locator("html")).to_have_attribute("lang", "kk")
        expect(page.locator("header nav").first).to_contain_text(STRINGS["kk"]["nav_library"])
        page.goto(f"{base}/library")
        expect(page.locator("h1")).to_have_text(STRINGS["kk"]["upload_heading"])
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#documents tr", has_text=TITLE).get_by_role("button").last.click()
        expect(page.locator("#documents tr", has_text=TITLE)).to_have_count(0)
        expect(page.locator("#documents tbody tr:not(.edit)")).to_have_count(2)
        page.goto(f"{base}/?q={QUESTION}")
        expect(page.locator(".hit").first).to_be_visible()
        expect(page.locator(".hit .label", has_text=TITLE)).to_have_count(0)
