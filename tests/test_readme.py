"""README.md's example /search response is what the current code returns for its query over
corpus/ (docs/readme_example.py writes it; ``took_ms`` and float noise are ignored)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("readme_example", ROOT / "docs" / "readme_example.py")
readme_example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_example)


def test_the_readme_search_example_is_what_the_code_returns(library):
    produced = readme_example.example(library)
    shown = readme_example.shown(readme_example.README.read_text(encoding="utf-8"))
    assert produced["results"], "the README's query found nothing in corpus/"
    assert readme_example.same(shown, produced), (
        "README.md's example /search response is stale; rewrite it with "
        f"`{readme_example.COMMAND}` and review the diff"
    )


def test_the_comparison_ignores_took_ms_and_float_noise_only():
    same = readme_example.same
    body = {"took_ms": 24.0, "results": [{"score": 3.448147, "ocr": False, "rank": 1}]}
    assert same(body, {"took_ms": 3.1, "results": [{"score": 3.44812, "ocr": False, "rank": 1}]})
    assert not same(
        body, {"took_ms": 24.0, "results": [{"score": 3.4483, "ocr": False, "rank": 1}]}
    )
    assert not same(body, {"took_ms": 24.0, "results": [{"score": 3.448147, "ocr": 0, "rank": 1}]})
    assert not same(body, {"took_ms": 24.0, "results": []})
    assert not same(body, {"results": [{"score": 3.448147, "ocr": False, "rank": 1, "x": None}]})


def test_the_example_is_rewritten_between_its_markers_only():
    block = '<!-- search-example -->\n```json\n{"old": 1}\n```\n<!-- /search-example -->'
    readme = f"before\n{block}\nafter\n"
    written = readme_example.with_example(readme, {"query": "кандас"})
    assert written.startswith("before\n<!-- search-example -->\n```json\n{\n")
    assert written.endswith("}\n```\n<!-- /search-example -->\nafter\n")
    assert readme_example.shown(written) == {"query": "кандас"}
    with pytest.raises(ValueError, match="search-example"):
        readme_example.with_example("no markers", {})


def commands_after(readme: str, marker: str) -> list[str]:
    """The commands of the first bash block after ``marker``: continued lines joined."""
    block = readme.split(marker, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]


NOT_RUN = {  # what the test cannot do, and why
    "reindex": "rebuilds every passage with another model (tests/test_server.py does, served)",
    "KOSHQON_ALLOWED_HOSTS=": "serves until stopped",
    "koshqon worker": "runs until stopped (tests/test_jobs.py runs one)",
}


def docx(path: Path, text: str) -> None:
    from docx import Document

    document = Document()
    document.add_paragraph(text)
    document.save(path)


@pytest.mark.slow
def test_every_readme_command_works_as_written_against_a_real_server(
    tmp_path, library_dir, models_dir
):
    """The commands of "Use it" and "The same over HTTP", run by bash in order against a
    server over the sample corpus; the user's own files are stand-ins from the corpora,
    ID is the document added as report.pdf, JOB_ID the job the README sends."""
    import json
    import re
    import shutil
    import subprocess

    from conftest import CORPORA, need_corpora
    from test_server import server

    from service.config import Settings

    need_corpora()
    data_dir = tmp_path / "data"
    shutil.copytree(library_dir, data_dir)
    work, home = tmp_path / "work", tmp_path / "home"
    (home / "library" / "laws").mkdir(parents=True)
    for name in ("glossary-migration-terms.ru.md", "internal-migrants-rights.kk.txt"):
        shutil.copy(ROOT / "corpus" / name, home / "library" / "laws" / name)
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    pdfs = CORPORA / "pdf" / "pdf_cyrillic"
    shutil.copy(pdfs / "multi__py-pdf-pypdf__resources__multilang.pdf", work / "report.pdf")
    shutil.copy(
        pdfs / "ru__Russian-Phd-LaTeX-Dissertation-Template__Documents__Def_positions.pdf",
        work / "a.pdf",
    )
    shutil.copy(
        pdfs / "ru__Russian-Phd-LaTeX-Dissertation-Template__Documents__Government_Decree_842.pdf",
        work / "report-v2.pdf",
    )
    docx(work / "b.docx", "Қандас мәртебесін алу тәртібі: өтініш, құжаттар және мерзімдер.")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "KOSHQON_DATA_DIR": str(data_dir),
        "KOSHQON_MODELS_DIR": str(models_dir),
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = commands_after(readme, "The same over HTTP:") + commands_after(readme, "## Use it")
    with server(Settings(data_dir=data_dir, models_dir=models_dir)) as client:
        job_id = None

        def document_id() -> str:
            documents = client.get("/documents").json()["documents"]
            ours = [d["id"] for d in documents if d["filename"] in ("report.pdf", "report-v2.pdf")]
            assert ours, "no document added from report.pdf yet"
            return str(max(ours))

        for command in commands:
            if any(marker in command for marker in NOT_RUN):
                continue
            command = command.replace("127.0.0.1:8000", f"127.0.0.1:{client.base_url.port}")
            if "JOB_ID" in command:
                command = command.replace("JOB_ID", job_id)
            if re.search(r"\bID\b", command):
                command = re.sub(r"\bID\b", document_id(), command)
            if command.startswith("curl "):
                command = "curl -sS -w '\\n%{http_code}' " + command[len("curl ") :]
            done = subprocess.run(
                ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True,
                timeout=600,
            )  # fmt: skip
            if command.startswith(".venv/bin/koshqon serve --host 0.0.0.0"):
                assert done.returncode == 1 and "Add an admin key first" in done.stderr
                continue
            assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
            if command.startswith("curl "):
                body, _, status = done.stdout.rpartition("\n")
                assert int(status) < 400, (command, body[-2000:])
                if "-F files=" in command:  # POST /jobs
                    job_id = json.loads(body)["id"]
