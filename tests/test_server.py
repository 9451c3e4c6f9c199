"""A real `koshqon serve` process: restarting it over the same data gives the same results."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import free_port

pytestmark = pytest.mark.slow  # real `koshqon serve` processes

ROOT = Path(__file__).resolve().parent.parent
KOSHQON = Path(sys.executable).with_name("koshqon")
QUESTIONS = ["Who are kandas?", "Тіркеу қалай жасалады?", "Право на медицинскую помощь"]


@contextmanager
def server(settings):
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(settings.data_dir.parent),
        "KOSHQON_MODELS_DIR": str(settings.models_dir),
    }
    log = settings.data_dir.parent / f"serve-{port}.log"  # a file: a pipe left unread fills
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(KOSHQON), "serve", "--port", str(port), "--data-dir", str(settings.data_dir)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.5)
        client = httpx.Client(base_url=base, timeout=60)
        client.server_pid = process.pid  # for tests that watch its memory
        client.process = process  # for tests that stop or kill it
        yield client
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def results(client: httpx.Client) -> list:
    answers = []
    for question in QUESTIONS:
        body = client.get("/search", params={"q": question, "k": 5}).json()
        answers.append(
            [(h["chunk_id"], round(h["score"], 4), h["citation"]) for h in body["results"]]
        )
    return answers


def test_a_restarted_server_returns_the_same_results(settings):
    with server(settings) as client:
        for name in (
            "glossary-migration-terms.en.md",
            "internal-migrants-rights.kk.txt",
            "labour-migrant-adaptation-regulation.ru.txt",
        ):
            path = ROOT / "corpus" / name
            response = client.post("/documents", files={"file": (name, path.read_bytes())})
            assert response.status_code == 201
        assert client.get("/docs").status_code == 200  # the OpenAPI page
        before = results(client)
    with server(settings) as client:
        assert client.get("/health").json()["documents"] == 3
        assert results(client) == before
    assert all(before)


def test_a_running_server_answers_curl_the_cli_and_the_api_page_offline(settings):
    """What the README shows against a running server: raw UTF-8 in a curl URL, `koshqon
    search` and `ask` answered by the server (no model loaded: a broken KOSHQON_MODEL
    would fail here), and the API reference with nothing fetched from elsewhere."""
    path = ROOT / "corpus" / "glossary-migration-terms.kk.md"
    with server(settings) as client:
        client.post("/documents", files={"file": (path.name, path.read_bytes())})
        port = client.base_url.port
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(
                "GET /search?q=кандастар&k=3 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            answer = b"".join(iter(lambda: raw.recv(65536), b""))
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert (
            json.loads(body)["results"]
            == client.get("/search", params={"q": "кандастар", "k": 3}).json()["results"]
        )

        env = {"PATH": "/usr/bin:/bin", "KOSHQON_MODEL": "/nonexistent-model"}
        cli = [str(KOSHQON), "--data-dir", str(settings.data_dir)]
        found = subprocess.run(
            [*cli[:1], "search", "кандастар", "--k", "3", "--json", *cli[1:]],
            capture_output=True,
            text=True,
            env=env,
        )
        assert found.returncode == 0, found.stderr
        assert (
            json.loads(found.stdout)["results"][0]["chunk_id"]
            == json.loads(body)["results"][0]["chunk_id"]
        )
        asked = subprocess.run(
            [*cli[:1], "ask", "Қандас деген кім?", *cli[1:]],
            capture_output=True,
            text=True,
            env=env,
        )
        assert asked.returncode == 0 and "[1]" in asked.stdout, asked.stderr
        for command, start in (
            (["search", "кандас", "--citations", "ris", "--k", "2"], "TY  - "),
            (["search", "кандас", "--lang", "de"], ""),  # refused by the server: 422
        ):
            done = subprocess.run(
                [*cli[:1], *command, *cli[1:]], capture_output=True, text=True, env=env
            )
            if start:
                assert done.returncode == 0 and done.stdout.startswith(start), done.stderr
            else:
                assert done.returncode == 1 and "no passages in de" in done.stderr
        cited = subprocess.run(  # read from the catalog (the model named, never loaded)
            [*cli[:1], "docs", "cite", "1", "--format", "bibtex", *cli[1:]],
            capture_output=True, text=True, env={"PATH": env["PATH"]},
        )  # fmt: skip
        assert cited.stdout.startswith("@misc{koshqon1,"), cited.stderr

        page = client.get("/docs").text
        assert "http://" not in page and "https://" not in page
        for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page):
            assert client.get(asset).status_code == 200, asset
        redoc = client.get("/redoc").text
        assert "https://" not in redoc.split("<body>")[1]
    assert not (settings.data_dir / "server.json").exists()


def koshqon(settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    """A `koshqon` command on the test's collection, as a librarian runs it beside the
    server."""
    return subprocess.run(
        [str(KOSHQON), *args, "--data-dir", str(settings.data_dir)],
        capture_output=True,
        text=True,
        timeout=900,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(settings.data_dir.parent),
            "KOSHQON_MODELS_DIR": str(settings.models_dir),
            **env,
        },
    )


def test_reindex_moves_a_served_collection_to_another_model_without_downtime(settings):
    """`koshqon reindex` with KOSHQON_MODEL set to the adapted model, while `koshqon serve`
    answers searches and takes an upload: no search fails or comes back empty, the server
    moves to the new model within seconds, the upload made meanwhile is in the new
    generation, and documents, their ids and the access key are as they were."""
    import threading

    assert koshqon(settings, "ingest", str(ROOT / "corpus")).returncode == 0
    key = koshqon(settings, "keys", "add", "--role", "librarian", "--name", "aigerim").stdout
    removed = json.loads(koshqon(settings, "docs", "list", "--json").stdout)[-1]["id"]
    assert koshqon(settings, "docs", "remove", str(removed)).returncode == 0
    law = "multilingual-e5-small-kk-ru-law"
    with server(settings) as client:
        before = client.get("/documents").json()["documents"]
        answered, stop = [], threading.Event()

        def search_all_along() -> None:  # a few readers' pace
            while not stop.wait(0.25):
                found = client.get("/search", params={"q": QUESTIONS[len(answered) % 3]})
                answered.append((found.status_code, len(found.json()["results"])))

        searching = threading.Thread(target=search_all_along)
        searching.start()
        rebuild = subprocess.Popen(
            [str(KOSHQON), "reindex", "--data-dir", str(settings.data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(settings.data_dir.parent),
                "KOSHQON_MODELS_DIR": str(settings.models_dir),
                "KOSHQON_MODEL": law,
            },
        )
        time.sleep(8)  # the rebuild under way
        path = ROOT / "corpus" / "glossary-migration-terms.en.md"
        upload = client.post(
            "/documents",
            files={"file": ("late.md", path.read_bytes() + b"\n\nA late addition on quotas.")},
            headers={"Authorization": f"Bearer {key.strip()}"},
        )
        assert upload.status_code == 201, upload.text
        out, err = rebuild.communicate(timeout=900)
        assert rebuild.returncode == 0, err
        assert f"with {law}" in out and "Switched to generation 2" in err
        deadline = time.monotonic() + 60
        while client.get("/health").json()["model_id"] != law:
            assert time.monotonic() < deadline, "the server did not move to the new model"
            time.sleep(0.5)
        stop.set()
        searching.join()
        health = client.get("/health").json()
        assert (health["status"], health["generation"]) == ("ok", 2)
        assert health["chunks"] == health["dense_passages"] == health["keyword_passages"]
        assert answered and all(answer == (200, 10) for answer in answered), answered
        late = upload.json()["id"]
        assert late == removed + 1  # the deleted document's id is not given again
        found = client.get("/search", params={"q": "late addition on quotas", "k": 3}).json()
        assert late in [hit["citation"]["document_id"] for hit in found["results"]]
        after = client.get("/documents").json()["documents"]
        assert [d for d in after if d["id"] != late] == before
        assert client.post("/documents", files={"file": ("x.txt", b"x")}).status_code == 401
    keys = koshqon(settings, "keys", "list").stdout
    assert keys.startswith("aigerim\tlibrarian")
