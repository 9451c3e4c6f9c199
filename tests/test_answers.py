"""POST /ask: answers built from cited sentences, in any language, or "not_found"."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.answer import in_context, sentence_spans
from index.search import Citation, Hit
from service.api.app import create_app

ROOT = Path(__file__).resolve().parent.parent
REGULATION_RU = ROOT / "corpus" / "labour-migrant-adaptation-regulation.ru.txt"
GLOSSARY_KK = ROOT / "corpus" / "glossary-migration-terms.kk.md"
RESETTLEMENT_RU = ROOT / "corpus" / "kandas-resettlement-programmes.ru.html"


def upload(client, *paths: Path) -> None:
    for path in paths:
        response = client.post("/documents", files={"file": (path.name, path.read_bytes())})
        assert response.is_success, response.text


def passage_text(client, citation: dict) -> tuple[str, int]:
    detail = client.get(f"/documents/{citation['citation']['document_id']}").json()
    passage = next(p for p in detail["passages"] if p["id"] == citation["chunk_id"])
    return passage["text"], passage["char_start"]


def test_sentences_are_cut_at_their_ends_not_at_abbreviations_or_headings():
    text = (
        "Статья 10. Гражданство\n"
        "Гражданство приобретается и прекращается в соответствии с законом. Оно является "
        "единым (см. ст. 12 Закона). Автор — А. Байтұрсынұлы, жазылған 1912 жылы."
    )
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Гражданство приобретается и прекращается в соответствии с законом.",
        "Оно является единым (см. ст. 12 Закона).",
        "Автор — А. Байтұрсынұлы, жазылған 1912 жылы.",
    ]


def test_an_english_question_is_answered_from_russian_text_with_exact_citations(client):
    upload(client, REGULATION_RU, GLOSSARY_KK)
    body = client.post(
        "/ask", json={"question": "Where can an arriving labour migrant get free help?"}
    ).json()
    assert body["status"] == "answered"
    assert body["answerer"] == "extractive"
    assert body["citations"] and body["evidence"]
    for cited in body["citations"]:
        assert f"{' '.join(cited['sentence'].split())} [{cited['marker']}]" in body["answer"]
        text, start = passage_text(client, cited)
        assert text[cited["char_start"] - start : cited["char_end"] - start] == cited["sentence"]
        assert cited["citation"]["label"]
    assert any(c["lang"] == "ru" for c in body["citations"])
    # one marker per source, numbered in order of first use
    sources = list(dict.fromkeys(c["citation"]["label"] for c in body["citations"]))
    markers = list(dict.fromkeys(c["marker"] for c in body["citations"]))
    assert markers == list(range(1, len(sources) + 1))


def test_a_kazakh_question_finds_the_russian_and_kazakh_sources(client):
    upload(client, RESETTLEMENT_RU, GLOSSARY_KK)
    body = client.post("/ask", json={"question": "Қандас дегеніміз кім?"}).json()
    assert body["status"] == "answered"
    assert "қандас" in body["answer"].lower() or "кандас" in body["answer"].lower()


def test_a_sentence_of_a_law_is_read_after_its_articles_title_not_its_bare_number():
    """The heading path says only "4-бап"; the article's title line says what it is about
    (legal-dev: answered .50 -> .53, a gold article cited .23 -> .28, docs/answers.md)."""

    def hit(text: str, heading: str) -> Hit:
        citation = Citation(
            1, "law", "law.kk.txt", None, None, heading, 0, len(text), "", False, False
        )
        return Hit(1, 1.0, 1, text, "kk", citation)

    sentence = "Әдетте жеке куәлік және тұрғын үй меншік иесінің келісімі қажет."
    article = hit(f"4-бап. Тұрғылықты жері бойынша тіркеу\n{sentence}", "2-тарау › 4-бап")
    assert in_context(sentence, article) == f"4-бап. Тұрғылықты жері бойынша тіркеу\n{sentence}"
    entry = hit(f"## Kandas\n\n{sentence}", "Glossary › Kandas")  # Markdown: the heading
    assert in_context(sentence, entry) == f"Kandas\n{sentence}"


def test_a_pdf_line_break_does_not_cut_a_sentence():
    text = (
        "Иностранец, прибывший в страну, обязан зарегистрироваться на территории\n"
        "Республики Казахстан в течение трех суток.\n"
        "Статья 5. Права\n"
        "1) первый пункт списка достаточно длинный;\n"
        "2) второй пункт списка тоже длинный."
    )
    assert [" ".join(text[a:b].split()) for a, b in sentence_spans(text)] == [
        "Иностранец, прибывший в страну, обязан зарегистрироваться на территории Республики "
        "Казахстан в течение трех суток.",
        "1) первый пункт списка достаточно длинный;",
        "2) второй пункт списка тоже длинный.",
    ]


def test_who_is_gets_the_definition_and_a_source_is_listed_once(client):
    upload(client, ROOT / "corpus" / "glossary-migration-terms.en.md", RESETTLEMENT_RU)
    body = client.post("/ask", json={"question": "Who are kandas?"}).json()
    assert body["answer"].startswith("An ethnic Kazakh who did not previously hold")
    labels = [c["citation"]["label"] for c in body["citations"]]
    markers = {c["marker"]: c["citation"]["label"] for c in body["citations"]}
    assert len(set(markers.values())) == len(markers) == len(set(labels))


@pytest.mark.parametrize(
    "question",
    ["How many kandas arrived in 2023?", "Сколько кандасов переехало в 2023 году?"],
)
def test_a_figure_no_text_gives_is_not_found(client, question):
    upload(client, ROOT / "corpus" / "glossary-migration-terms.en.md", RESETTLEMENT_RU)
    assert client.post("/ask", json={"question": question}).json()["status"] == "not_found"


def test_a_question_the_collection_cannot_answer_is_not_found(client):
    upload(client, REGULATION_RU, GLOSSARY_KK)
    body = client.post("/ask", json={"question": "What is the capital of France?"}).json()
    assert (body["status"], body["answer"], body["citations"]) == ("not_found", "", [])
    assert body["evidence"]  # what was looked at is still shown


def test_filters_and_bad_requests(client):
    upload(client, REGULATION_RU, GLOSSARY_KK)
    body = client.post(
        "/ask", json={"question": "Кто такой трудовой мигрант?", "lang": ["kk"], "k": 3}
    ).json()
    assert {hit["lang"] for hit in body["evidence"]} == {"kk"}
    assert len(body["evidence"]) <= 3
    for request, field in [({"question": ""}, "question"), ({"question": "x", "k": 0}, "k")]:
        response = client.post("/ask", json=request)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert field in response.json()["detail"]


class ChatServer:
    """An OpenAI-compatible endpoint that answers with a fixed text (the model itself is
    not what these tests are about: the checks around it are)."""

    def __init__(self, reply: str):
        replies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                replies.append(request)
                body = json.dumps({"choices": [{"message": {"content": reply}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.requests = replies
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def close(self):
        self.server.shutdown()


@pytest.mark.parametrize(
    "reply, answerer",
    [
        ("Мигрант может бесплатно получить помощь в пункте первичной поддержки [1].", "generative"),
        ("Это сказано в источнике [9].", "extractive"),  # no passage 9: not trusted
        ("Помощь оказывается бесплатно.", "extractive"),  # cites nothing
        (None, "extractive"),  # not an answer at all
    ],
)
def test_a_generative_answer_is_kept_only_when_it_cites_its_evidence(settings, reply, answerer):
    chat = ChatServer(reply)
    try:
        configured = settings.model_copy(update={"llm_url": chat.url, "llm_model": "test"})
        with TestClient(create_app(configured)) as client:
            upload(client, REGULATION_RU)
            body = client.post(
                "/ask", json={"question": "Где мигрант может получить бесплатную помощь?"}
            ).json()
    finally:
        chat.close()
    assert body["answerer"] == answerer
    prompt = chat.requests[0]["messages"][1]["content"]
    assert body["evidence"][0]["text"] in prompt
    if answerer == "generative":
        assert body["answer"] == reply
        assert body["citations"][0]["chunk_id"] == body["evidence"][0]["chunk_id"]
    else:
        assert body["answer"] != reply and body["status"] == "answered"


def test_without_a_reachable_model_the_answer_is_extractive(settings):
    configured = settings.model_copy(update={"llm_url": "http://127.0.0.1:9/v1"})
    with TestClient(create_app(configured)) as client:
        upload(client, REGULATION_RU)
        body = client.post("/ask", json={"question": "Что такое адаптация мигранта?"}).json()
    assert (body["status"], body["answerer"]) == ("answered", "extractive")
