"""The HTTP API, exercised against the running app with the real model and FAISS."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import CORPORA, need_corpora

from index.model_build import DEFAULT_MODEL_ID
from ingest import ocr
from service.api.app import create_app

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY_KK = ROOT / "corpus" / "glossary-migration-terms.kk.md"
RIGHTS_EN = ROOT / "corpus" / "internal-migrants-rights-guide.en.txt"


def upload(client, path: Path, **form):
    with path.open("rb") as file:
        return client.post("/documents", files={"file": (path.name, file)}, data=form)


def test_upload_returns_the_document_with_its_metadata(client):
    response = upload(
        client, GLOSSARY_KK, title="Көші-қон сөздігі", year="2025", doc_type="glossary"
    )
    assert response.status_code == 201
    document = response.json()
    assert document["status"] == "created"
    assert document["title"] == "Көші-қон сөздігі"
    assert document["filename"] == "glossary-migration-terms.kk.md"
    assert (document["year"], document["doc_type"], document["language"]) == (
        2025,
        "glossary",
        "kk",
    )
    assert document["chunks"] > 5
    assert document["page_count"] == 0


def test_the_same_content_again_is_not_added_twice(client):
    first = upload(client, GLOSSARY_KK).json()
    again = upload(client, GLOSSARY_KK)
    assert again.status_code == 200
    assert again.json()["status"] == "exists"
    assert again.json()["id"] == first["id"]
    assert client.get("/documents").json()["total"] == 1


def test_each_search_mode_can_be_asked_for(client):
    upload(client, GLOSSARY_KK)
    upload(client, RIGHTS_EN)
    for mode in ("hybrid", "dense", "keyword"):
        body = client.get("/search", params={"q": "кандас", "mode": mode}).json()
        assert body["mode"] == mode
        assert body["results"], mode
    keyword = client.get("/search", params={"q": "кандастар", "mode": "keyword"}).json()
    assert {hit["lang"] for hit in keyword["results"]} == {"kk"}  # stems match, same language
    wrong = client.get("/search", params={"q": "кандас", "mode": "fuzzy"})
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith("application/problem+json")


def test_search_response_has_the_documented_shape(client):
    upload(client, GLOSSARY_KK, title="Көші-қон сөздігі")
    body = client.get("/search", params={"q": "Who are kandas?", "k": 3}).json()
    assert set(body) == {
        "query",
        "query_lang",
        "mode",
        "took_ms",
        "results",
        "references",
        "no_match",
        "missing",
    }
    assert (body["references"], body["no_match"], body["missing"]) == ([], False, [])
    assert (body["query"], body["query_lang"], body["mode"]) == ("Who are kandas?", "en", "hybrid")
    hit = body["results"][0]
    assert set(hit) == {"rank", "score", "chunk_id", "text", "lang", "citation", "parallel"}
    assert hit["parallel"] == []  # no other language version of the glossary here
    assert set(hit["citation"]) == {
        "document_id",
        "title",
        "filename",
        "page_start",
        "page_end",
        "heading",
        "char_start",
        "char_end",
        "label",
        "ocr",
        "ocr_doubtful",
    }
    assert "Қандас" in hit["citation"]["heading"]
    assert hit["citation"]["ocr"] is hit["citation"]["ocr_doubtful"] is False
    assert hit["citation"]["label"] == "Көші-қон сөздігі, Қандас"
    assert [h["rank"] for h in body["results"]] == [1, 2, 3]


def test_every_passage_is_the_exact_text_at_its_offsets(client):
    document_id = upload(client, RIGHTS_EN).json()["id"]
    detail = client.get(f"/documents/{document_id}").json()
    assert detail["chunks"] == len(detail["passages"])
    hit = client.get("/search", params={"q": "employment contract", "k": 1}).json()["results"][0]
    passage = next(p for p in detail["passages"] if p["id"] == hit["chunk_id"])
    assert passage["text"] == hit["text"]
    assert (passage["char_start"], passage["char_end"]) == (
        hit["citation"]["char_start"],
        hit["citation"]["char_end"],
    )
    assert all(p["tokens"] <= 256 for p in detail["passages"])


def test_filters_by_language_document_and_type(client):
    kk = upload(client, GLOSSARY_KK, doc_type="glossary").json()["id"]
    en = upload(client, RIGHTS_EN, doc_type="guide").json()["id"]
    by_lang = client.get("/search", params={"q": "registration", "lang": "kk"}).json()
    assert {h["citation"]["document_id"] for h in by_lang["results"]} == {kk}
    by_doc = client.get("/search", params=[("q", "registration"), ("doc_id", en)]).json()
    assert {h["citation"]["document_id"] for h in by_doc["results"]} == {en}
    by_type = client.get("/search", params={"q": "registration", "doc_type": "guide"}).json()
    assert {h["citation"]["document_id"] for h in by_type["results"]} == {en}
    both = client.get("/search", params=[("q", "registration"), ("lang", "kk,en")]).json()
    assert {h["lang"] for h in both["results"]} == {"kk", "en"}


def test_deleted_document_is_never_returned_even_after_a_restart(client, settings):
    kept = upload(client, RIGHTS_EN).json()["id"]
    removed = upload(client, GLOSSARY_KK).json()["id"]
    assert client.delete(f"/documents/{removed}").json()["id"] == removed
    assert client.get(f"/documents/{removed}").status_code == 404
    for q in ("қандас", "Who are kandas?", "registration"):
        hits = client.get("/search", params={"q": q, "k": 100}).json()["results"]
        assert {h["citation"]["document_id"] for h in hits} == {kept}
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as restarted:
        hits = restarted.get("/search", params={"q": "қандас", "k": 100}).json()["results"]
        assert {h["citation"]["document_id"] for h in hits} == {kept}
        assert restarted.get("/health").json()["documents"] == 1


def test_health_names_the_model_and_counts(client):
    upload(client, RIGHTS_EN)
    health = client.get("/health").json()
    assert health["model_id"] == DEFAULT_MODEL_ID
    assert health["dimension"] == 384
    assert health["documents"] == 1
    assert health["chunks"] == client.get("/documents").json()["documents"][0]["chunks"]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"q": "x", "k": 0}, "k"),
        ({"q": "x", "k": 101}, "k"),
        ({"q": ""}, "q"),
        ({"q": "x", "lang": "kazakh!"}, "lang"),
        ({}, "q"),
    ],
)
def test_invalid_parameters_are_422_problems(client, params, detail):
    response = client.get("/search", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] == "Invalid request"
    assert detail in problem["detail"]


def test_unknown_document_is_a_404_problem(client):
    response = client.delete("/documents/999")
    assert response.status_code == 404
    assert response.json()["detail"] == "no document with id 999"


def test_metadata_can_be_edited_and_a_new_title_is_searchable_at_once(client):
    document = upload(client, RIGHTS_EN).json()
    assert document["updated_at"] is None
    response = client.patch(
        f"/documents/{document['id']}",
        json={"title": "Zhetisu migrants handbook", "year": 2024, "doc_type": "guide"},
    )
    assert response.status_code == 200
    edited = response.json()
    assert (edited["title"], edited["year"], edited["doc_type"]) == (
        "Zhetisu migrants handbook",
        2024,
        "guide",
    )
    assert edited["author"] == document["author"]  # not given, not changed
    assert edited["updated_at"] is not None
    hits = client.get("/search", params={"q": "Zhetisu", "mode": "keyword"}).json()["results"]
    assert hits and hits[0]["citation"]["title"] == "Zhetisu migrants handbook"
    assert hits[0]["citation"]["label"].startswith("Zhetisu migrants handbook")


def test_null_empties_a_field_a_document_may_lack(client):
    document = upload(client, RIGHTS_EN).json()
    client.patch(f"/documents/{document['id']}", json={"work": "rights", "year": 2024})
    edited = client.patch(f"/documents/{document['id']}", json={"work": None}).json()
    assert (edited["work"], edited["year"]) == (None, 2024)


def test_bad_metadata_edits_are_refused_and_change_nothing(client):
    document = upload(client, RIGHTS_EN).json()
    for body, status in [
        ({"doc_type": "poem"}, 422),
        ({"year": 3000}, 422),
        ({"title": ""}, 422),
        ({"title": None}, 422),  # a document always has a title
        ({}, 422),
    ]:
        response = client.patch(f"/documents/{document['id']}", json=body)
        assert response.status_code == status, body
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.patch("/documents/999", json={"title": "x"}).status_code == 404
    unchanged = client.get(f"/documents/{document['id']}").json()
    assert (unchanged["title"], unchanged["updated_at"]) == (document["title"], None)


def test_a_new_version_replaces_the_old_one_under_the_same_id(client, tmp_path):
    v1, v2 = tmp_path / "policy.txt", tmp_path / "policy-2.txt"
    v1.write_text("Migration policy, first edition: the quota for kandas is set yearly.")
    v2.write_text("Migration policy, second edition: resettlement grants for kandas.")
    first = upload(client, v1, title="Migration policy", doc_type="report").json()
    with v2.open("rb") as file:
        response = client.put(f"/documents/{first['id']}", files={"file": ("policy.txt", file)})
    assert response.status_code == 200
    replaced = response.json()
    assert (replaced["status"], replaced["id"]) == ("replaced", first["id"])
    assert (replaced["title"], replaced["doc_type"]) == ("Migration policy", "report")  # kept
    assert replaced["sha256"] != first["sha256"]
    for mode in ("keyword", "dense", "hybrid"):
        texts = [
            h["text"]
            for h in client.get("/search", params={"q": "kandas", "mode": mode}).json()["results"]
        ]
        assert texts and all("second edition" in t for t in texts), mode
    passages = client.get(f"/documents/{first['id']}").json()["passages"]
    assert all("second edition" in p["text"] for p in passages)
    with v2.open("rb") as file:
        again = client.put(f"/documents/{first['id']}", files={"file": ("policy.txt", file)})
    assert again.json()["status"] == "unchanged"


def test_a_replacement_that_fails_loses_nothing(client, tmp_path):
    original = upload(client, RIGHTS_EN).json()
    other = upload(client, GLOSSARY_KK).json()
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with empty.open("rb") as file:
        bad = client.put(f"/documents/{original['id']}", files={"file": ("empty.txt", file)})
    assert bad.status_code == 400
    with GLOSSARY_KK.open("rb") as file:
        taken = client.put(f"/documents/{original['id']}", files={"file": ("g.md", file)})
    assert taken.status_code == 409
    assert f"already document {other['id']}" in taken.json()["detail"]
    with RIGHTS_EN.open("rb") as file:
        missing = client.put("/documents/999", files={"file": ("x.txt", file)})
    assert missing.status_code == 404
    after = client.get(f"/documents/{original['id']}").json()
    assert (after["sha256"], after["chunks"]) == (original["sha256"], original["chunks"])


def test_a_deleted_document_is_gone_from_every_search_path_and_its_original(client, settings):
    document = upload(client, RIGHTS_EN).json()
    original = settings.data_dir / "originals" / document["sha256"][:2] / document["sha256"]
    assert original.read_bytes() == RIGHTS_EN.read_bytes()
    assert client.delete(f"/documents/{document['id']}").status_code == 200
    assert not original.exists()
    for mode in ("hybrid", "dense", "keyword"):
        body = client.get("/search", params={"q": "internal migrants rights", "mode": mode})
        assert body.json()["results"] == [], mode


def test_a_batch_upload_is_a_job_with_progress_and_per_file_results(client, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n no cross-reference table")
    files = [("files", (p.name, p.read_bytes())) for p in (GLOSSARY_KK, RIGHTS_EN, broken)]
    response = client.post("/jobs", files=files, data={"doc_type": "guide"})
    assert response.status_code == 202
    job = response.json()
    assert (job["total"], job["state"] in ("queued", "running", "finished")) == (3, True)
    deadline = time.monotonic() + 120
    while job["state"] != "finished" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(f"/jobs/{job['id']}").json()
    assert (job["state"], job["done"], job["failed"]) == ("finished", 3, 1)
    statuses = {r["filename"]: (r["status"], r["reason"]) for r in job["results"]}
    assert statuses[GLOSSARY_KK.name][0] == statuses[RIGHTS_EN.name][0] == "added"
    assert statuses["broken.pdf"][0] == "failed" and statuses["broken.pdf"][1]
    documents = client.get("/documents").json()["documents"]
    assert {d["doc_type"] for d in documents} == {"guide"}
    assert client.get("/jobs/nope").status_code == 404


def test_a_scan_is_read_by_ocr_and_its_passages_say_so(client):
    """A scanned PDF without a text layer is searchable, and its citations warn that the
    passage was read from the page image."""
    need_corpora()
    if not ocr.available():
        pytest.skip("Tesseract is not installed (bin/setup installs tesseract-ocr)")
    scan = CORPORA / "pdf/pdf_messy/scanned_image_only_en__pdfminer.six__samples__nonfree__175.pdf"
    document = upload(client, scan).json()
    assert (document["page_count"], document["ocr_pages"]) == (2, [1, 2])
    hits = client.get("/search", params={"q": "oversize tire accessory kit"}).json()["results"]
    assert hits[0]["citation"]["document_id"] == document["id"]
    assert hits[0]["citation"]["ocr"] is True
    assert "Accessory Kit" in hits[0]["text"].title()
    # the reader checks the cited page: its OCR text, and the original opened at it
    page = hits[0]["citation"]["page_start"]
    read = client.get(f"/documents/{document['id']}/pages/{page}").json()
    assert (read["page"], read["ocr"]) == (page, True)
    assert hits[0]["text"].split()[-1] in read["text"]
    assert read["original"] == f"/documents/{document['id']}/original#page={page}"
    original = client.get(f"/documents/{document['id']}/original")
    assert original.content == scan.read_bytes()
    assert original.headers["content-type"] == "application/pdf"
    assert original.headers["content-disposition"].startswith("inline")
    assert client.get(f"/documents/{document['id']}/pages/3").status_code == 404


def test_an_uploaded_page_is_served_as_a_download_never_as_a_page_of_the_site(client):
    page = b"<html><head><title>Notes</title></head><body><script>alert(1)</script>"
    page += "Кандас мәртебесі туралы.</body></html>".encode()
    document = client.post("/documents", files={"file": ("notes.html", page)}).json()
    original = client.get(f"/documents/{document['id']}/original")
    assert original.content == page
    assert original.headers["content-disposition"].startswith("attachment")
    assert original.headers["content-security-policy"].startswith("sandbox")
    body = client.get(f"/documents/{document['id']}/pages/1")
    assert body.status_code == 404 and "not a paged format" in body.json()["detail"]
    assert client.get("/documents/999/original").status_code == 404


def test_versions_declared_by_the_librarian_link_their_articles(client):
    """Two texts on one subject are not taken for versions of each other; a librarian who
    says they are (the same work key) gets their articles linked."""
    guide = upload(client, RIGHTS_EN).json()
    regulation = upload(client, ROOT / "corpus" / "internal-migrants-rights.kk.txt").json()
    assert (guide["work"], regulation["work"]) == (None, None)
    hit = client.get("/search", params={"q": "Why register", "lang": "en"}).json()["results"][0]
    assert hit["parallel"] == []
    for document in (guide, regulation):
        edited = client.patch(f"/documents/{document['id']}", json={"work": "migrants-rights"})
        assert edited.json()["work"] == "migrants-rights"
    hit = client.get("/search", params={"q": "Why register", "lang": "en"}).json()["results"][0]
    number = hit["citation"]["heading"].rsplit("Article ", 1)[1]
    assert [v["citation"]["heading"].rsplit(" › ", 1)[-1] for v in hit["parallel"]] == [
        f"{number}-бап"
    ]


def test_a_glossary_in_three_languages_is_linked_and_read_in_the_readers_language(client):
    """Files named alike but for the language tag, whose entries pair off, are versions:
    each entry links to the same entry in the other two, and a reader gets the entry in the
    language of the question first (before, "internal migration" opened with the Russian
    entry, which names the English term)."""
    added = [
        upload(client, ROOT / "corpus" / f"glossary-migration-terms.{lang}.md").json()
        for lang in ("ru", "en", "kk")
    ]
    works = {client.get(f"/documents/{document['id']}").json()["work"] for document in added}
    assert len(works) == 1 and None not in works  # the first got its key with the second
    for query, lang, heading, versions in [
        (
            "internal migration",
            "en",
            "Internal migration",
            {"Ішкі көші-қон", "Внутренняя миграция"},
        ),
        ("ішкі көші-қон", "kk", "Ішкі көші-қон", {"Internal migration", "Внутренняя миграция"}),
        ("трудовая миграция", "ru", "Трудовая миграция", {"Labour migration", "Еңбек көші-қоны"}),
    ]:
        hit = client.get("/search", params={"q": query}).json()["results"][0]
        assert (hit["lang"], hit["citation"]["heading"].rsplit(" › ", 1)[-1]) == (lang, heading)
        assert {v["citation"]["heading"].rsplit(" › ", 1)[-1] for v in hit["parallel"]} == versions


def test_on_postgresql_a_dropped_connection_is_replaced_and_a_lost_database_is_a_503(
    settings, postgres, monkeypatch
):
    """Connections PostgreSQL ends (a restart, a failover) are replaced at the next request;
    with the database gone, requests get 503 with Retry-After, not a 500 or a hang."""
    import psycopg
    from fastapi.testclient import TestClient

    import index.database

    monkeypatch.setattr(index.database, "CONNECT_TIMEOUT_S", 2)
    url = postgres.new_database()
    name = url.rsplit("/", 1)[1]
    settings = settings.model_copy(update={"database_url": url})
    with TestClient(create_app(settings)) as client:
        assert upload(client, RIGHTS_EN).status_code == 201
        with psycopg.connect(postgres.url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            found = client.get("/search", params={"q": "rights of internal migrants"})
            assert found.status_code == 200 and found.json()["results"]
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        lost = client.get("/documents")
        assert lost.status_code == 503, lost.text
        assert lost.json()["title"] == "Catalog unavailable"
        assert lost.headers["Retry-After"] == "5"
