"""`koshqon backup` while the collection is in use, and `koshqon restore`: the restored
collection answers as the original did."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from test_cli import run  # noqa: F401 (a fixture)
from test_server import QUESTIONS

from service.api.app import create_app
from service.config import Settings

pytestmark = pytest.mark.slow  # a real server backed up and restored

NOTE = ("note.txt", "Кандас — этнический казах, вернувшийся на родину.".encode(), "text/plain")


def answers(client) -> list:
    return [
        [(h["chunk_id"], h["score"], h["citation"]) for h in found["results"]]
        for found in (client.get("/search", params={"q": q}).json() for q in QUESTIONS)
    ]


def test_a_backup_taken_while_serving_restores_the_same_collection(
    run,  # noqa: F811
    settings,
    library_dir,
    tmp_path,
):
    shutil.copytree(library_dir, settings.data_dir)
    with TestClient(create_app(settings)) as client:  # the collection in use
        assert client.post("/documents", files={"file": NOTE}).status_code == 201
        backed = run("backup", str(tmp_path / "backup"))
        assert backed.returncode == 0, backed.stderr
        assert "Backed up 11 documents" in backed.stdout
        after_backup = client.post("/documents", files={"file": ("late.txt", b"Late.")})
        assert after_backup.status_code == 201
        client.delete(f"/documents/{after_backup.json()['id']}")
        expected, documents = answers(client), client.get("/documents").json()
    assert run("backup", str(tmp_path / "backup")).returncode == 1  # never over a backup
    restored = Settings(data_dir=tmp_path / "restored", models_dir=settings.models_dir)
    put_back = run("restore", str(tmp_path / "backup"), "--data-dir", str(restored.data_dir))
    assert put_back.returncode == 0, put_back.stderr
    with TestClient(create_app(restored)) as client:
        assert answers(client) == expected
        assert client.get("/documents").json() == documents
    originals = [f for f in (restored.data_dir / "originals").rglob("*") if f.is_file()]
    assert len(originals) == documents["total"]  # reindex can rebuild every one
    shutil.rmtree(settings.data_dir)
    assert "no collection" in run("backup", str(tmp_path / "other")).stderr
