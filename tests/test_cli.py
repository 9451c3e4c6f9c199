"""The koshqon command, run through its real entry point (.venv/bin/koshqon)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index import indexes as snapshots
from index.catalog import Catalog
from service.api.app import create_app

pytestmark = pytest.mark.slow  # each test runs `koshqon` processes that load the model

ROOT = Path(__file__).resolve().parent.parent
KOSHQON = Path(sys.executable).with_name("koshqon")


@pytest.fixture
def run(settings):
    """Run `koshqon ARGS` with the test's data directory and the session's model cache."""

    def run(*args: str, background: bool = False, models_dir: Path = settings.models_dir, env=None):
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(settings.data_dir.parent),
            "KOSHQON_DATA_DIR": str(settings.data_dir),
            "KOSHQON_MODELS_DIR": str(models_dir),
        } | (env or {})
        command = [str(KOSHQON), *args]
        if background:
            return subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)

    return run


@pytest.fixture
def folder(tmp_path) -> Path:
    """A librarian's folder: two good documents, one broken PDF, one unsupported file."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    for name in ("glossary-migration-terms.ru.md", "internal-migrants-rights-guide.en.txt"):
        shutil.copy(ROOT / "corpus" / name, folder / name)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage without a cross-reference table")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    return folder


def test_ingest_reports_each_file_and_fails_when_one_failed(run, folder):
    result = run("ingest", str(folder))
    assert result.returncode == 1
    assert "Added 2, skipped 1, failed 1." in result.stdout
    assert f"failed   {folder / 'broken.pdf'}: the PDF is damaged" in result.stdout
    assert f"skipped  {folder / 'photo.jpg'}: unsupported type '.jpg'" in result.stdout
    assert "Ingesting" in result.stderr  # the progress bar

    again = run("ingest", str(folder / "glossary-migration-terms.ru.md"))
    assert again.returncode == 0
    assert "Added 0, skipped 1, failed 0." in again.stdout
    assert "already in the collection as document 1" in again.stdout


def test_ingest_uses_the_folder_metadata_sidecar(run, tmp_path):
    folder = tmp_path / "catalogued"
    folder.mkdir()
    shutil.copy(ROOT / "corpus" / "glossary-migration-terms.kk.md", folder)
    (folder / "README.md").write_text("# Notes for the librarian\n", encoding="utf-8")
    (folder / "metadata.json").write_text(
        json.dumps(
            {
                "glossary-migration-terms.kk.md": {
                    "title": "Сөздік",
                    "year": 2025,
                    "doc_type": "glossary",
                }
            }
        ),
        encoding="utf-8",
    )
    result = run("ingest", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not listed in metadata.json" in result.stdout
    documents = json.loads(run("docs", "list", "--json").stdout)
    assert [(d["title"], d["year"], d["doc_type"]) for d in documents] == [
        ("Сөздік", 2025, "glossary")
    ]


def test_search_json_is_exactly_the_http_response_and_text_cites_for_people(run, folder, settings):
    run("ingest", str(folder))
    cli = json.loads(
        run("search", "Кто такие кандасы?", "--k", "3", "--lang", "ru", "--json").stdout
    )
    with TestClient(create_app(settings)) as client:
        http = client.get(
            "/search", params={"q": "Кто такие кандасы?", "k": 3, "lang": "ru"}
        ).json()
    cli.pop("took_ms"), http.pop("took_ms")
    assert cli == http
    assert cli["results"][0]["citation"]["filename"] == "glossary-migration-terms.ru.md"
    result = run("search", "employment contract", "--k", "2")
    assert result.returncode == 0
    assert result.stdout.startswith(
        "1. A PRACTICAL GUIDE TO THE RIGHTS OF INTERNAL MIGRANTS IN KAZAKHSTAN, Article 8"
    )
    assert "internal-migrants-rights-guide.en.txt" in result.stdout


def test_docs_and_health_mirror_the_api_without_loading_the_model(run, folder):
    """Listing, editing (as PATCH does), removing and health read the model's name and
    dimension from the catalog: with no model to be had (a models folder that cannot
    exist) they still work, and a search says why it cannot."""
    run("ingest", str(folder))
    nowhere = Path("/proc/no-models-here")
    assert "2 documents" in run("docs", "list", models_dir=nowhere).stdout
    assert json.loads(run("health", models_dir=nowhere).stdout)["status"] == "ok"
    edited = run("docs", "edit", "1", "--title", "Көші-қон сөздігі", "--year", "2025",
                 models_dir=nowhere)  # fmt: skip
    document = json.loads(edited.stdout)
    assert (document["title"], document["year"]) == ("Көші-қон сөздігі", 2025)
    assert document["updated_at"]
    nothing = run("docs", "edit", "1", models_dir=nowhere)
    assert nothing.returncode == 1 and "nothing to change" in nothing.stderr
    cleared = run("docs", "edit", "1", "--clear", "year", models_dir=nowhere)
    assert json.loads(cleared.stdout)["year"] is None
    removed = run("docs", "remove", "1", models_dir=nowhere)
    assert removed.stdout.startswith("Removed document 1:")
    assert "1 documents" in run("docs", "list", models_dir=nowhere).stdout
    missing = run("docs", "remove", "1", models_dir=nowhere)
    assert missing.returncode == 1 and "Error: no document with id 1" in missing.stderr
    assert json.loads(run("health", models_dir=nowhere).stdout)["documents"] == 1
    searched = run("search", "кандас", models_dir=nowhere)
    assert searched.returncode == 1, "a search needs the model, and says why it has none"
    assert "set KOSHQON_MODELS_DIR to a folder this user may write" in searched.stderr


def test_bad_options_are_explained(run):
    result = run("search", "x", "--lang", "kazakh!")
    assert result.returncode == 1
    assert "not a language code: kazakh!" in result.stderr


def test_ingest_replace_takes_a_file_named_like_a_document_as_its_new_version(run, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "annual.txt").write_text("Annual report 2024: internal migration rose.")
    assert run("ingest", str(folder)).returncode == 0
    (folder / "annual.txt").write_text("Annual report 2025: internal migration fell.")
    result = run("ingest", str(folder), "--replace")
    assert result.returncode == 0, result.stderr
    assert "Added 0, replaced 1, skipped 0, failed 0." in result.stdout
    assert "replaced" in result.stdout and "→ document 1" in result.stdout
    again = run("ingest", str(folder), "--replace")
    assert "unchanged" in again.stdout and "identical to document 1" in again.stdout
    listing = json.loads(run("docs", "list", "--json").stdout)
    assert len(listing) == 1


def test_reindex_rebuilds_the_collection_and_keeps_documents_ids_and_keys(run, folder):
    """With no server running, a new passage size: the same documents (a gap in their ids
    kept), the key still there, every passage rebuilt and the indexes in step.
    (tests/test_reindex.py compares results and ids given after; tests/test_server.py
    moves a served collection to another model.)"""
    run("ingest", str(folder))
    removed = run("ingest", str(ROOT / "corpus" / "glossary-migration-terms.kk.md")).stdout
    assert run("docs", "remove", removed.split("→ document ")[1].split()[0]).returncode == 0
    assert run("keys", "add", "--role", "admin", "--name", "aigerim").returncode == 0
    listed = run("docs", "list", "--json").stdout
    before = json.loads(run("health").stdout)
    result = run("reindex", env={"KOSHQON_CHUNK_TOKENS": "128"})
    assert result.returncode == 0, result.stderr
    assert "Reindexed 2 documents" in result.stdout
    assert run("docs", "list", "--json").stdout != listed  # passage counts changed …
    after = json.loads(run("health").stdout)
    assert (after["status"], after["generation"]) == ("ok", 2)
    assert after["chunks"] > before["chunks"]  # … shorter passages, more of them
    assert [d["id"] for d in json.loads(run("docs", "list", "--json").stdout)] == [
        d["id"] for d in json.loads(listed)
    ]
    assert run("keys", "list").stdout.startswith("aigerim\tadmin")


def test_an_interrupted_ingest_resumes_where_it_stopped(run, settings, tmp_path):
    """Killed in the middle of a folder, `koshqon ingest` leaves only whole documents;
    run again, it skips the finished files and adds the rest."""
    import signal
    import sqlite3
    import time

    folder = tmp_path / "library"
    folder.mkdir()
    names = sorted(p.name for p in (ROOT / "corpus").iterdir() if p.suffix in (".md", ".txt"))
    for name in names:
        shutil.copy(ROOT / "corpus" / name, folder / name)
    first = run("ingest", str(folder), background=True)
    catalog = settings.data_dir / "catalog.sqlite"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(catalog) as db:
                if db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] >= 2:
                    break
        except sqlite3.OperationalError:  # not created yet
            pass
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()

    with sqlite3.connect(catalog) as db:
        finished = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    assert 2 <= finished < len(names)
    again = run("ingest", str(folder))
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Added {len(names) - finished}, skipped {finished}, failed 0." in again.stdout
    health = json.loads(run("health").stdout)
    assert health["documents"] == len(names)
    catalog = Catalog(settings.data_dir / "catalog.sqlite")
    indexes = snapshots.load(settings.data_dir / "index", catalog, 384, 1)
    assert indexes is not None, "the index snapshot of the first, killed run is readable"
    indexes.catch_up(catalog)
    assert indexes.ids().tolist() == indexes.keyword_ids().tolist() == catalog.chunk_ids().tolist()
    assert len(indexes.ids()) == health["chunks"]
