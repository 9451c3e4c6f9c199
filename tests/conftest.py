"""Shared fixtures: the real model (built once per session), data directories, clients.

Tests that read ../shared/corpora skip with a reason when it is absent (a fresh clone);
in CI it is present and they run.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.config import Settings
from service.core import Koshqon, files_to_ingest

ROOT = Path(__file__).resolve().parent.parent
# TestClient calls the app "testserver"; servers the tests start are on 127.0.0.1
os.environ.setdefault("KOSHQON_ALLOWED_HOSTS", '["localhost", "127.0.0.1", "testserver"]')
CORPORA = Path(os.environ.get("KOSHQON_CORPORA", ROOT.parent / "shared" / "corpora"))
CONSTITUTION = CORPORA / "legal" / "constitution_kk_ru_en"
CONSTITUTION_FILES = {
    "kk": "constitution_kk__Adikkk17-block4.txt",
    "ru": "constitution_ru__Zh4nS1k-LegalRAG.txt",
    "en": "constitution_en__Adikkk17-block4.txt",
}


def free_port() -> int:
    """A TCP port nobody listens on, for a real server started by a test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def need_corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(
            f"{CORPORA} not found: real documents live in ../shared/corpora "
            "(set KOSHQON_CORPORA to its path)"
        )
    return CORPORA


@pytest.fixture(scope="session")
def corpora() -> Path:
    return need_corpora()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the session (tests/pg_cluster.py)."""
    import pg_cluster as pg

    if reason := pg.missing():
        pytest.skip(reason)
    cluster = pg.Cluster(free_port())
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str | None:
    """Each engine the catalog runs on: None for the embedded SQLite file, else the URL of
    a new PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """One rebuilt model for the whole session (each Koshqon shares the loaded model)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def settings(tmp_path, models_dir) -> Settings:
    return Settings(data_dir=tmp_path / "data", models_dir=models_dir)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def constitution_dir(tmp_path_factory, models_dir, corpora) -> Path:
    """A data directory holding the Constitution in Kazakh, Russian and English."""
    data_dir = tmp_path_factory.mktemp("constitution")
    koshqon = Koshqon(Settings(data_dir=data_dir, models_dir=models_dir))
    files = [CONSTITUTION / name for name in CONSTITUTION_FILES.values()]
    outcomes = list(koshqon.ingest([(path, None, None) for path in files]))
    assert [o.status for o in outcomes] == ["added"] * 3, outcomes
    koshqon.close()
    return data_dir


@pytest.fixture(scope="session")
def constitution(constitution_dir, models_dir):
    with TestClient(
        create_app(Settings(data_dir=constitution_dir, models_dir=models_dir))
    ) as client:
        yield client


@pytest.fixture(scope="session")
def library_dir(tmp_path_factory, models_dir) -> Path:
    """A data directory holding the project's corpus/ (kk, ru, en), as a librarian ingests
    it (docs/readme_example.py builds the README's example the same way)."""
    data_dir = tmp_path_factory.mktemp("library")
    koshqon = Koshqon(Settings(data_dir=data_dir, models_dir=models_dir))
    outcomes = list(koshqon.ingest(files_to_ingest([ROOT / "corpus"])))
    assert {o.status for o in outcomes} == {"added", "skipped"}, outcomes
    koshqon.close()
    return data_dir


@pytest.fixture(scope="session")
def library(library_dir, models_dir):
    """The HTTP API over ``library_dir``; tests must not change the collection."""
    with TestClient(create_app(Settings(data_dir=library_dir, models_dir=models_dir))) as client:
        yield client
