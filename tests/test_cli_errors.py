"""No command prints a traceback: every `koshqon` command, run with its catalog's
PostgreSQL unreachable, says so in a line (without the password) and exits with 1. The
commands are found in the CLI itself, so a command added later is tried too."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from service.cli import cli

UNREACHABLE = "postgresql://koshqon:secret-password@127.0.0.1:1/catalog"
ENCODES_ONLY = {("encode",)}  # reads files into a bundle, with no catalog to reach


def every_command(group: click.Group, path: tuple = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))
        elif (*path, name) not in ENCODES_ONLY:
            yield (*path, name), command


def arguments(command: click.Command, tmp_path) -> list[str]:
    """Something acceptable for each argument and required option of ``command``."""
    (tmp_path / "file.txt").write_text("Кандас — этнический казах.")
    values = {
        "paths": str(tmp_path / "file.txt"),
        "bundle": str(tmp_path / "file.txt"),
        "url": UNREACHABLE,
        "destination": str(tmp_path / "copy"),
        "source": str(tmp_path),
        "document_id": "1",
        "page": "1",
        "job_id": "0" * 32,
    }
    given = []
    for parameter in command.params:
        if isinstance(parameter, click.Argument):
            given.append(values.get(parameter.name, "x"))
        elif parameter.required:
            choices = getattr(parameter.type, "choices", None)
            given += [parameter.opts[0], choices[0] if choices else "x"]
    return given


@pytest.mark.parametrize(
    ("path", "command"),
    list(every_command(cli)),
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else "",
)
def test_a_command_with_its_catalog_unreachable_says_so_without_a_traceback(
    path, command, tmp_path, monkeypatch
):
    monkeypatch.setenv("KOSHQON_DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("KOSHQON_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(cli, [*path, *arguments(command, tmp_path)])
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert result.output.startswith("Error: "), result.output
    assert "secret-password" not in result.output
