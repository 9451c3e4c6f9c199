"""Measure retrieval quality on the shared benchmarks and write docs/evaluation.md.

    .venv/bin/python -m evaluation                      # every task, full sets
    .venv/bin/python -m evaluation --quick              # sampled: a few minutes
    .venv/bin/python -m evaluation --task xquad --task kazqad
    .venv/bin/python -m evaluation --quick --sweep      # → docs/evaluation-tuning.md

A client of the service, as benchmarks/ is: it uses the configured model and chunker
(service.config, service.core) and Koshqon's own ingest and search path; the service never
imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from service.cli import data_dir_option, explained

COMMAND = ".venv/bin/python -m evaluation"  # as written into the reports it produces


@click.command()
@click.option(
    "--corpora",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar="KOSHQON_CORPORA",
    default="../shared/corpora",
    show_default=True,
    help="The shared corpora folder (env KOSHQON_CORPORA).",
)
@click.option("--task", "tasks", multiple=True, help="Only this task (repeatable).")
@click.option("--quick", is_flag=True, help="Sampled questions and corpora: a few minutes.")
@click.option("--sweep", is_flag=True, help="Score the fusion variants on the dev halves.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path))
@data_dir_option  # the model cache and DATA_DIR/eval-cache live there
def evaluate(corpora, tasks, quick, sweep, output, data_dir) -> None:
    """Measure retrieval quality on the shared benchmarks (docs/evaluation.md).

    Corpus and question embeddings are cached in DATA_DIR/eval-cache, so a rerun only
    embeds what changed."""
    from service.config import Settings
    from service.core import model_and_chunker

    from .suite import run
    from .tasks import TASKS

    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise click.BadParameter(
            f"unknown task(s) {', '.join(sorted(unknown))}; choose from {', '.join(TASKS)}",
            param_hint="--task",
        )
    with explained():
        embedder, chunker = model_and_chunker(Settings(data_dir=data_dir))
    default_name = "evaluation-tuning" if sweep else "evaluation-quick" if quick else "evaluation"
    written = run(
        corpora,
        list(tasks) or list(TASKS),
        embedder,
        chunker,
        data_dir,
        output or Path("docs") / f"{default_name}.md",
        quick,
        sweep,
        " ".join([COMMAND, *sys.argv[1:]]),
        log=lambda line: click.echo(line, err=True),
    )
    click.echo(f"Wrote {written}")


if __name__ == "__main__":
    evaluate()
