"""How long `koshqon` commands take from start to exit, median of five runs: those that need
no model (listing, editing, removing, health, a wrong option), and search with and without
a server running on the data folder. Writes docs/cli.md.

    .venv/bin/python -m benchmarks.cli [--source DIR]

``--source`` runs the commands from another checkout of the project (an older commit, for
the "before" column: `git worktree add /tmp/before COMMIT`), with this checkout's .venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe, started
from benchmarks.throughput import ROOT

RUNS = 5
COMMANDS = [
    ("docs list", ["docs", "list"]),
    ("health", ["health"]),
    ("docs edit", ["docs", "edit", "1", "--year", "2025"]),
    ("docs remove (no such id)", ["docs", "remove", "999"]),
    ("a wrong option", ["search", "x", "--k", "0"]),
]
SEARCH = ["search", "кандастар", "--k", "3"]


def timed(source: Path, args: list[str], env: dict) -> float:
    """Median seconds of RUNS runs of `koshqon ARGS` (python -m service.cli from ``source``)."""
    command = [sys.executable, "-c", "from service.cli import main; main()", *args]
    seconds = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, cwd=source, env=env, capture_output=True)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def serve(source: Path, env: dict, port: int) -> subprocess.Popen:
    command = [sys.executable, "-c", "from service.cli import main; main()"]
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return started(server, port)


def measure(source: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="koshqon-cli-") as scratch:
        data_dir = Path(scratch) / "data"
        env = {
            **os.environ,
            "PYTHONPATH": str(source),
            "KOSHQON_DATA_DIR": str(data_dir),
            "KOSHQON_MODELS_DIR": str(ROOT / "data" / "models"),
        }
        command = [sys.executable, "-c", "from service.cli import main; main()"]
        subprocess.run(
            [*command, "ingest", str(ROOT / "corpus")], cwd=source, env=env, check=True,
            capture_output=True,
        )  # fmt: skip
        figures = {name: timed(source, args, env) for name, args in COMMANDS}
        figures["search, no server"] = timed(source, SEARCH, env)
        server = serve(source, env, 8799)
        try:
            figures["search, server running"] = timed(source, SEARCH, env)
        finally:
            server.terminate()
            server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=ROOT)
    parser.add_argument("--before", type=Path, help="Also measure this older checkout.")
    options = parser.parse_args()
    after = measure(options.source)
    before = measure(options.before) if options.before else None
    lines = [
        "# Command start-up",
        "",
        f"Written by `.venv/bin/python -m benchmarks.cli` on {time.strftime('%Y-%m-%d')} "
        f"({describe()}): seconds from start to exit, median of {RUNS} runs, over the",
        "project's corpus/.",
        "",
        "| command | before | now |" if before else "| command | seconds |",
        "|---|---|---|" if before else "|---|---|",
    ]
    for name, seconds in after.items():
        was = f"{before[name]:.2f} | " if before else ""
        lines.append(f"| {name} | {was}{seconds:.2f} |")
    lines += [
        "",
        "Listing, editing, removing and health read the model's name and dimension from the",
        "catalog and load no model; `search` and `ask` send the question to the server running",
        "on the same data folder (`DATA/server.json`), if there is one, instead of loading the",
        "model (about 9 s of imports and weights on this machine).",
        "",
    ]
    (ROOT / "docs" / "cli.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
