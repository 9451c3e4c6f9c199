"""The CLI knows its collection: run from any folder it finds the same one (--data-dir,
KOSHQON_DATA_DIR, a koshqon.toml here or above, or the user's own), a command that only
reads never makes an empty one, `koshqon health` says where it is, and a second process
that would run the same queue or serve the same folder says which one does and stops.
Run as a librarian would: real `koshqon` processes, from other folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_server import server

from service.config import Settings

pytestmark = pytest.mark.slow  # `koshqon` processes, some loading the model

ROOT = Path(__file__).resolve().parent.parent
KOSHQON = Path(sys.executable).with_name("koshqon")
NOTE = ROOT / "corpus" / "glossary-migration-terms.kk.md"


def koshqon(*args: str, cwd: Path, home: Path, models_dir: Path, **env: str):
    """`koshqon ARGS` in ``cwd``, for a user whose home is ``home``."""
    return subprocess.run(
        [str(KOSHQON), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "KOSHQON_MODELS_DIR": str(models_dir)}
        | env,
    )


def test_a_command_where_there_is_no_collection_says_so_and_makes_none(tmp_path, models_dir):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for command in (
        ["search", "кандас"],
        ["ask", "Кандас деген кім?"],
        ["docs", "list"],
        ["health"],
        ["jobs", "list"],
        ["keys", "list"],
        ["reindex"],
        ["worker"],
    ):
        done = koshqon(*command, cwd=elsewhere, home=tmp_path, models_dir=models_dir)
        assert done.returncode == 1, (command, done.stderr)
        assert f"there is no collection in {elsewhere / 'data'} (the default" in done.stderr
        assert "koshqon ingest FILES" in done.stderr and "Traceback" not in done.stderr
        assert not (elsewhere / "data").exists(), command


def test_from_any_folder_the_collection_of_the_nearest_koshqon_toml_is_found(tmp_path, models_dir):
    library, home = tmp_path / "library", tmp_path / "home"
    made = koshqon(
        "ingest", str(NOTE), cwd=tmp_path, home=home, models_dir=models_dir,
        KOSHQON_DATA_DIR=str(library),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"Making a new collection in {library} (KOSHQON_DATA_DIR)" in made.stderr
    project = tmp_path / "project"
    (project / "notes" / "2026").mkdir(parents=True)
    (project / "koshqon.toml").write_text('data_dir = "../library"\n', encoding="utf-8")
    listed = koshqon(
        "docs", "list", "--json", cwd=project / "notes" / "2026", home=home,
        models_dir=models_dir,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [d["filename"] for d in json.loads(listed.stdout)] == [NOTE.name]
    health = koshqon("health", cwd=project / "notes", home=home, models_dir=models_dir)
    where = json.loads(health.stdout)["collection"]
    assert where["data_dir"] == str(library)
    assert where["from"] == f"data_dir in {project / 'koshqon.toml'}"
    assert where["files"] == str(library)

    (home / ".config" / "koshqon").mkdir(parents=True)  # the user's own, for anywhere else
    (home / ".config" / "koshqon" / "koshqon.toml").write_text(f'data_dir = "{library}"\n')
    anywhere = tmp_path / "anywhere"
    anywhere.mkdir()
    found = koshqon("docs", "list", cwd=anywhere, home=home, models_dir=models_dir)
    assert found.returncode == 0 and NOTE.name in found.stdout, found.stderr
    elsewhere = tmp_path / "other-library"
    overridden = koshqon(
        "docs", "list", cwd=anywhere, home=home, models_dir=models_dir,
        KOSHQON_DATA_DIR=str(elsewhere),
    )  # fmt: skip
    assert overridden.returncode == 1 and f"no collection in {elsewhere}" in overridden.stderr

    (project / "koshqon.toml").write_text('datadir = "../library"\n', encoding="utf-8")
    mistaken = koshqon("docs", "list", cwd=project, home=home, models_dir=models_dir)
    assert mistaken.returncode == 1 and "Traceback" not in mistaken.stderr
    assert f"settings ({project / 'koshqon.toml'}): datadir: Extra inputs" in mistaken.stderr


def test_a_worker_or_a_second_server_beside_a_server_says_which_runs_and_stops(
    tmp_path, models_dir
):
    settings = Settings(data_dir=tmp_path / "data", models_dir=models_dir)
    run = {"cwd": tmp_path, "home": tmp_path, "models_dir": models_dir}
    assert koshqon("ingest", str(NOTE), "--data-dir", str(settings.data_dir), **run).returncode == 0
    with server(settings) as client:
        url = f"http://127.0.0.1:{client.base_url.port}"
        running = f"the server at {url} (process {client.process.pid})"
        worker = koshqon("worker", "--data-dir", str(settings.data_dir), **run)
        assert worker.returncode == 1, worker.stderr
        assert f"{running} already adds the queued files of {settings.data_dir}" in worker.stderr
        assert "KOSHQON_SERVE_JOBS=false" in worker.stderr
        second = koshqon("serve", "--port", "1", "--data-dir", str(settings.data_dir), **run)
        assert second.returncode == 1 and f"{running} already serves" in second.stderr
        moved = koshqon(
            "copy-to-postgres", "postgresql://nobody@127.0.0.1:1/none",
            "--data-dir", str(settings.data_dir), **run,
        )  # fmt: skip
        assert moved.returncode == 1 and f"{running} serves" in moved.stderr
        assert client.get("/health").json()["status"] == "ok"
