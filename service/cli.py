"""The koshqon command: the same operations as the HTTP API, from a terminal.

koshqon ingest corpus/
koshqon search "кандас дегеніміз кім?" --lang ru,en
koshqon serve --port 8000
"""

from __future__ import annotations

import json
import logging
import os
import sys
import textwrap
import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ingest.errors import KoshqonError
from ingest.models import DOC_TYPES, Metadata

from .config import SERVER_FILE, Settings, config_file


def data_dir_of(ctx: click.Context, param, given: Path | None) -> Path:
    """The collection's folder: --data-dir, else KOSHQON_DATA_DIR, else data_dir in the
    koshqon.toml that applies here (service/config.py), else ./data. Where it came from is
    kept for messages (``source``)."""
    found = config_file()
    if given is not None:
        ctx.meta["source"] = "--data-dir"
    elif "KOSHQON_DATA_DIR" in os.environ:
        ctx.meta["source"] = "KOSHQON_DATA_DIR"
    elif found and "data_dir" in tomllib.loads(found.read_text(encoding="utf-8")):
        ctx.meta["source"] = f"data_dir in {found}"
    else:
        ctx.meta["source"] = "the default, ./data: no --data-dir, KOSHQON_DATA_DIR or koshqon.toml"
    return (given or Settings().data_dir).absolute()


def source() -> str:
    """Where the command's data folder came from."""
    return click.get_current_context().meta.get("source", "--data-dir")


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    callback=data_dir_of,
    help="The collection's folder; else KOSHQON_DATA_DIR, else data_dir in the nearest "
    "koshqon.toml (here or above, else ~/.config/koshqon/), else ./data.",
)


LIST_EVERY_FILE_UP_TO = 50  # larger runs list only their failures
STAGES = {"reading": "OCR page", "encoding": "passage"}  # what a file's progress counts


@contextmanager
def explained() -> Iterator[None]:
    """An error a person can act on becomes the command's message (and exit status 1),
    never a traceback: a KoshqonError, a catalog database that does not answer, or
    settings that do not validate."""
    from pydantic import ValidationError

    from index.database import UNREACHABLE

    from .api.errors import in_words

    try:
        yield
    except KoshqonError as error:
        raise click.ClickException(str(error)) from error
    except UNREACHABLE as error:
        raise click.ClickException(f"the catalog's database does not answer: {error}") from error
    except ValidationError as error:
        where = config_file() or "KOSHQON_* environment variables"
        raise click.ClickException(f"settings ({where}): {in_words(error.errors())}") from error


def exists(data_dir: Path) -> bool:
    """Whether there is a collection to open: the data folder's catalog, or a shared one."""
    from index.store import CATALOG_FILE

    return bool(Settings().database_url) or (data_dir / CATALOG_FILE).is_file()


def collection(data_dir: Path, create: bool) -> None:
    """Commands that only read refuse a folder with no collection (rather than make an
    empty one); those that add to it say so when they make one."""
    if exists(data_dir):
        return
    if not create:
        raise click.ClickException(
            f"there is no collection in {data_dir} ({source()}). Point to yours with "
            "--data-dir, KOSHQON_DATA_DIR or data_dir in a koshqon.toml, or make one here "
            "with `koshqon ingest FILES`."
        )
    click.echo(f"Making a new collection in {data_dir} ({source()}).", err=True)


def open_koshqon(data_dir: Path, model: bool = True, searching: bool = True, create: bool = False):
    """The collection; ``model=False`` for commands that encode nothing (fast);
    ``create`` for commands that may make it."""
    from .core import Koshqon

    collection(data_dir, create)
    with explained():
        return Koshqon(Settings(data_dir=data_dir), model, searching)


class Commands(click.Group):
    """Every command's errors in words (``explained``), never a traceback."""

    def invoke(self, ctx: click.Context):
        with explained():
            return super().invoke(ctx)


@click.group(cls=Commands)
@click.version_option(package_name="koshqon")
def cli() -> None:
    """Koshqon: search Kazakh, Russian and English documents, every passage cited."""


def metadata_options(command):
    """Metadata given on the command line, for every file (over a folder's metadata.json)."""
    options = [
        click.option("--title", help="Title (for a single file)."),
        click.option("--author"),
        click.option("--year", type=int),
        click.option("--doc-type", type=click.Choice(DOC_TYPES)),
        click.option("--source-url"),
        click.option("--language", help="Language code, when detection should be overridden."),
        click.option("--work", help="A key shared by the language versions of one text."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def files_of(paths) -> list:
    from .core import files_to_ingest

    with explained():
        return list(files_to_ingest(list(paths)))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@data_dir_option
@metadata_options
@click.option(
    "--replace",
    is_flag=True,
    help="A file named like a document in the collection replaces it (a new version).",
)
def ingest(
    paths, data_dir, title, author, year, doc_type, source_url, language, work, replace
) -> None:
    """Add files and folders (PDF, DOCX, HTML, TXT, Markdown).

    A folder's metadata.json (file name → title, year, doc_type, …) gives its files their
    metadata; files it does not list are skipped. Each file is committed as it is done, so
    an interrupted run can simply be started again: files already in the collection are
    skipped. Prints each file's outcome (only the failures when there are over 50 files).
    Exits with status 1 when any file failed; the others are added all the same.
    """
    from tqdm import tqdm

    metadata = Metadata(title, author, year, doc_type, source_url, language, work)
    files = files_of(paths)
    koshqon = open_koshqon(data_dir, create=True)
    outcomes, counts = [], Counter()
    with tqdm(total=len(files), unit="file", desc="Ingesting", file=sys.stderr) as progress:

        def within_file(stage: str, done: int, total: int) -> None:
            progress.set_postfix_str(f"{STAGES[stage]} {done}/{total}")

        for outcome in koshqon.ingest(files, metadata, replace, within_file):
            outcomes.append(outcome)
            counts[outcome.status] += 1
            progress.set_postfix_str(
                ", ".join(f"{status} {n}" for status, n in counts.items()), refresh=False
            )
            progress.update()
    replaced = f"replaced {counts['replaced']}, " if replace else ""
    click.echo(
        f"Added {counts['added']}, {replaced}skipped {counts['skipped'] + counts['unchanged']}, "
        f"failed {counts['failed']}."
    )
    listed = (
        outcomes
        if len(outcomes) <= LIST_EVERY_FILE_UP_TO
        else [o for o in outcomes if o.status == "failed"]
    )
    for outcome in listed:
        if outcome.status in ("added", "replaced"):
            doc = outcome.document
            ocr = f", OCR on {len(doc.ocr_pages)} of {doc.page_count} pages" * bool(doc.ocr_pages)
            click.echo(
                f"  {outcome.status:<8} {outcome.path}  → document {doc.id} "
                f"({doc.chunks} passages, {doc.language}{ocr})"
            )
        else:
            click.echo(f"  {outcome.status:<8} {outcome.path}: {outcome.reason}")
    if counts["failed"]:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bundle to write (a .zip file).",
)
@metadata_options
def encode(paths, output, title, author, year, doc_type, source_url, language, work) -> None:
    """Read and encode files into a bundle for `koshqon import` on another machine.

    The bulk import's first half, for a machine where the encoder is fast (a GPU:
    KOSHQON_DEVICE=cuda); it needs no collection. Files and metadata as for `ingest`.
    Exits with status 1 when any file failed; the bundle holds the others."""
    from .core import encode_files

    metadata = Metadata(title, author, year, doc_type, source_url, language, work)
    counts = Counter()
    for outcome in encode_files(Settings(), files_of(paths), metadata, output):
        counts[outcome.status] += 1
        if outcome.status != "encoded":
            click.echo(f"  {outcome.status:<8} {outcome.path}: {outcome.reason}", err=True)
    click.echo(
        f"Encoded {counts['encoded']} files into {output}, skipped {counts['skipped']}, "
        f"failed {counts['failed']}."
    )
    if counts["failed"]:
        sys.exit(1)


@cli.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_dir_option
def import_(bundle, data_dir) -> None:
    """Add a bundle written by `koshqon encode`, with its vectors: no encoding here.

    Committed part by part (about 5,000 passages each); documents already in the
    collection are skipped, so an interrupted import can be started again. A running
    server finds the new documents at its next search."""
    koshqon = open_koshqon(data_dir, create=True)
    added = skipped = 0
    try:
        for results in koshqon.import_(bundle):
            added += sum(result.created for result in results)
            skipped += sum(not result.created for result in results)
            click.echo(f"  {added} documents added, {skipped} already here", err=True)
    except KoshqonError as error:
        raise click.ClickException(f"{error} ({added} documents added before)") from error
    click.echo(f"Added {added}, skipped {skipped} (already in the collection).")


def search_options(command):
    """The options /search and /ask share: filters, ranking mode, JSON output, data folder."""
    for option in reversed(
        [
            click.option("--lang", help="Only passages in these languages, e.g. kk,ru,en."),
            click.option("--doc-id", type=int, multiple=True, help="Only this document."),
            click.option("--doc-type", multiple=True, help="Only this document type."),
            click.option(
                "--mode",
                type=click.Choice(["hybrid", "dense", "keyword"]),
                default="hybrid",
                show_default=True,
                help="Meaning and keywords combined, meaning only, or keywords only.",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print the HTTP JSON response."),
            click.option(
                "--server",
                envvar="KOSHQON_SERVER",
                help="Ask this running server (its URL) instead of loading the model here; "
                "by default the server `koshqon serve` runs on the data folder, if any. "
                "Sends KOSHQON_KEY as its key.",
            ),
            data_dir_option,
        ]
    ):
        command = option(command)
    return command


def ocr_note(citation) -> str | None:
    """What a reader should know of a passage read by OCR."""
    if citation.ocr_doubtful:
        return "read by OCR with low confidence: likely misread, see the page"
    return "read by OCR: check the page" if citation.ocr else None


def running_server(server: str | None, data_dir: Path) -> str | None:
    """The URL to ask: --server, or that of the server running on ``data_dir`` if it
    answers there (else the command loads the model itself)."""
    import httpx

    if server:
        return server.rstrip("/")
    try:
        running = json.loads((data_dir / SERVER_FILE).read_text())
        os.kill(running["pid"], 0)  # still running?
        httpx.head(running["url"] + "/health", timeout=2)
    except (OSError, ValueError, KeyError, TypeError, httpx.HTTPError):
        return None
    return running["url"]


def from_server(url: str, method: str, path: str, **request):
    """A response of the server, or its problem's words as the command's error."""
    import httpx

    key = os.environ.get("KOSHQON_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.request(method, url + path, headers=headers, timeout=300, **request)
    except httpx.HTTPError as error:
        raise click.ClickException(f"{url}: {error}") from error
    if response.is_error:
        detail = (
            response.json().get("detail")
            if "json" in response.headers.get("content-type", "")
            else response.text
        )
        raise click.ClickException(f"{url}: {response.status_code} {detail}")
    return response


def filters_of(lang, doc_id, doc_type):
    from index.search import Filters

    from .core import split_languages

    with explained():
        return Filters(
            split_languages([lang] if lang else None), list(doc_id) or None, list(doc_type) or None
        )


@cli.command()
@click.argument("query")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--citations",
    type=click.Choice(["text", "bibtex", "ris", "csv"]),
    help="Print the results as citations to take away (GET /search/citations).",
)
@search_options
def search(query, k, citations, lang, doc_id, doc_type, mode, as_json, server, data_dir) -> None:
    """Ranked passages for QUERY, each with its citation."""
    from .api.schemas import SearchResponse

    if url := running_server(server, data_dir):
        params = {"q": query, "k": k, "mode": mode, "lang": lang}
        params |= {"doc_id": doc_id, "doc_type": doc_type}
        params = {name: value for name, value in params.items() if value not in (None, ())}
        if citations:
            params["format"] = citations
            click.echo(from_server(url, "GET", "/search/citations", params=params).text, nl=False)
            return
        found = from_server(url, "GET", "/search", params=params).json()
    else:
        filters = filters_of(lang, doc_id, doc_type)
        with explained():
            koshqon = open_koshqon(data_dir)
            found = koshqon.search(query, k, filters, mode)
        if citations:
            from .citations import export

            click.echo(export(koshqon.cited(found), citations), nl=False)
            return
    result = SearchResponse.model_validate(found)
    if as_json:
        click.echo(result.model_dump_json())
        return
    for cited in result.references:
        click.echo(f"{cited.note}{': first below' if cited.found else ''}.", err=True)
    if not result.results:
        click.echo("No passages found.")
    elif result.no_match:
        click.echo("Nothing found that matches. The closest passages:", err=True)
    if result.results and result.missing:
        words = ", ".join(result.missing)
        click.echo(f"No passage of the collection has these words: {words}.", err=True)
    for hit in result.results:
        click.secho(f"{hit.rank}. {hit.citation.label}", bold=True)
        place = " · ".join(
            filter(
                None,
                [
                    hit.citation.heading,
                    hit.lang,
                    f"score {hit.score:.3f}",
                    hit.citation.filename,
                    ocr_note(hit.citation),
                ],
            )
        )
        click.echo(f"   {place}")
        passage = textwrap.shorten(" ".join(hit.text.split()), 500, placeholder=" …")
        click.echo(textwrap.indent(textwrap.fill(passage, 96), "   ") + "\n")


@cli.command()
@click.argument("question")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 20))
@search_options
def ask(question, k, lang, doc_id, doc_type, mode, as_json, server, data_dir) -> None:
    """An answer to QUESTION built from cited sentences of the collection (POST /ask)."""
    from .api.routes.ask import ask_response
    from .api.schemas import AskResponse

    if url := running_server(server, data_dir):
        body = {"question": question, "k": k, "lang": [lang] if lang else None, "mode": mode}
        body |= {"doc_id": list(doc_id) or None, "doc_type": list(doc_type) or None}
        result = AskResponse.model_validate(from_server(url, "POST", "/ask", json=body).json())
    else:
        filters = filters_of(lang, doc_id, doc_type)
        with explained():
            result = ask_response(open_koshqon(data_dir).ask(question, k, filters, mode))
    if as_json:
        click.echo(result.model_dump_json())
        return
    if result.status == "not_found":
        click.echo("Not found: the collection holds nothing close enough to answer this.")
        return
    click.echo(textwrap.fill(result.answer, 96) + "\n")
    listed = set()
    for cited in result.citations:  # each source once, with the sentences taken from it
        if cited.marker not in listed:
            listed.add(cited.marker)
            ocr = f" ({ocr_note(cited.citation)})" if cited.citation.ocr else ""
            click.secho(f"[{cited.marker}] {cited.citation.label}{ocr}", bold=True)
        click.echo(textwrap.indent(textwrap.fill(" ".join(cited.sentence.split()), 92), "    "))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--allow-anonymous-writes",
    is_flag=True,
    help="Serve a network address with no keys: anyone who reaches it may change the collection.",
)
@data_dir_option
def serve(host, port, allow_anonymous_writes, data_dir) -> None:
    """Run the HTTP API (OpenAPI page at /docs) and the web page.

    On an address other than this machine's own (127.0.0.1, localhost, ::1) it starts only
    once an access key exists (`koshqon keys add`), or with --allow-anonymous-writes."""
    import uvicorn

    from .api.app import create_app
    from .api.protocol import Utf8RequestLines

    catalog = catalog_of(data_dir, create=True)  # made, or found unreachable, before serving
    keys = catalog.access_keys()
    catalog.close()
    if host not in LOOPBACK and not allow_anonymous_writes and not keys:
        raise click.ClickException(
            f"{host} is reachable from other machines, and this collection has no access "
            "keys, so anyone could add, change and delete documents. Add an admin key first:\n"
            f"  koshqon keys add --role admin --name you --data-dir {data_dir}\n"
            "or start with --allow-anonymous-writes if that is what you want."
        )
    if running := server_on(data_dir):
        raise click.ClickException(
            f"{running} already serves {data_dir}; stop it first, or serve another collection "
            "(--data-dir)"
        )
    settings = Settings(data_dir=data_dir)
    if host not in ("0.0.0.0", "::") and host not in settings.allowed_hosts:
        settings.allowed_hosts.append(host)
    elif host in ("0.0.0.0", "::") and "KOSHQON_ALLOWED_HOSTS" not in os.environ:
        click.echo(
            f"Answering only to the names {', '.join(settings.allowed_hosts)}: set "
            'KOSHQON_ALLOWED_HOSTS=\'["library.example.kz", "10.0.0.5"]\' to the names and '
            "addresses readers use (others get 400).",
            err=True,
        )
    serving = serving_lock(data_dir)  # held while this process runs: see server_on
    access = logging.getLogger("koshqon.access")  # JSON lines on stderr (api/logs.py)
    access.addHandler(logging.StreamHandler())
    access.setLevel(logging.INFO)
    # uvicorn's own access log would write every URL, queries included
    address = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{f'[{address}]' if ':' in address else address}:{port}"
    # SIGTERM: requests get 3 s, the job runner 3 s more (service/jobs.py)
    with serving:
        uvicorn.run(
            create_app(settings, url),
            host=host,
            port=port,
            http=Utf8RequestLines,
            access_log=False,
            timeout_graceful_shutdown=3,
        )


LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVE_LOCK = "SERVE.lock"  # held by `koshqon serve` on its data folder


def serving_lock(data_dir: Path):
    """This process as the data folder's server (an open file it holds a lock on)."""
    import fcntl

    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / SERVE_LOCK, "a")  # noqa: SIM115 (held until the server stops)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise click.ClickException(f"another `koshqon serve` started on {data_dir}") from None
    return handle


def server_on(data_dir: Path) -> str | None:
    """The server running on ``data_dir``, in words, if one is."""
    import fcntl

    try:
        with open(data_dir / SERVE_LOCK) as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
    except FileNotFoundError:
        return None
    except BlockingIOError:
        try:
            running = json.loads((data_dir / SERVER_FILE).read_text())
            return f"the server at {running['url']} (process {running['pid']})"
        except (OSError, ValueError, KeyError, TypeError):
            return "a `koshqon serve` process"


@cli.command()
@data_dir_option
def worker(data_dir) -> None:
    """Add the files of queued jobs (POST /jobs) in this process, until stopped.

    With the embedded catalog one process runs a data folder's queue at a time: a worker
    started before the server (or beside one started with KOSHQON_SERVE_JOBS=false) runs
    it, and the server takes it over within seconds when the worker stops; a worker finding
    the queue already run by another process says which and exits. With a PostgreSQL
    catalog (KOSHQON_DATABASE_URL) any number of workers, on any machines, claim files side
    by side. SIGTERM stops within seconds; a file not finished by then is added on the next
    start."""
    import signal
    import threading

    from index.queue import runner_of

    from .jobs import Jobs

    shared = bool(Settings().database_url)
    if not shared and (runner := runner_of(data_dir)):
        server = server_on(data_dir)
        pid = runner.split(":")[1] if runner.count(":") == 2 else None
        who = server if server and f"(process {pid})" in server else f"process {runner}"
        raise click.ClickException(
            f"{who} already adds the queued files of {data_dir}. More than one runner is for a "
            "PostgreSQL catalog (KOSHQON_DATABASE_URL); to add them in a worker rather than "
            "the server, start the server with KOSHQON_SERVE_JOBS=false."
        )
    # on a shared catalog the replicas search; a worker keeps no indexes of its own
    koshqon = open_koshqon(data_dir, searching=not shared)
    progress = logging.getLogger("koshqon.jobs")
    progress.addHandler(logging.StreamHandler(sys.stdout))
    progress.setLevel(logging.INFO)
    jobs = Jobs(koshqon)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    if shared:
        where = f"the catalog at {koshqon.store.catalog.database.location}, beside other runners"
    else:
        where = f"{data_dir}, while it runs (the server leaves them to it)"
    click.echo(f"Adding the queued files of {where}, as {jobs.name}; stop with Ctrl-C.", err=True)
    stop.wait()
    if jobs.close():
        koshqon.close()


def catalog_of(data_dir: Path, create: bool = False):
    """The catalog alone, for commands that need no model (keys), in SQLite or at
    KOSHQON_DATABASE_URL; ``create`` for commands that may make it."""
    from index.store import open_catalog

    collection(data_dir, create)
    return open_catalog(data_dir, Settings().database_url)


def embedded_only(command: str) -> None:
    """Commands that work on the embedded catalog's files refuse a PostgreSQL one."""
    if Settings().database_url:
        raise click.ClickException(
            f"`koshqon {command}` works on the embedded SQLite catalog; this collection's is in "
            "PostgreSQL (KOSHQON_DATABASE_URL). See docs/deployment.md for its backup "
            "(pg_dump and the shared folder) and for rebuilding."
        )


@cli.command()
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
@data_dir_option
def backup(destination, data_dir) -> None:
    """Copy the collection to DESTINATION (new or empty), while it is in use: catalog,
    index snapshot and originals, consistent at one moment."""
    from index.backup import backup as copy

    embedded_only("backup")
    with explained():
        copied = copy(data_dir, destination)
    click.echo(
        f"Backed up {copied.documents} documents ({copied.bytes / 1e6:.1f} MB) to {destination}."
    )


@cli.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@data_dir_option
def restore(source, data_dir) -> None:
    """Put the backup in SOURCE in place as the data folder (new or empty; no server on it)."""
    from index.backup import restore as put_back

    embedded_only("restore")
    with explained():
        copied = put_back(source, data_dir)
    click.echo(f"Restored {copied.documents} documents into {data_dir}.")


@cli.command("copy-to-postgres")
@click.argument("url")
@click.option(
    "--shared-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the originals go: the folder every replica and worker mounts.",
)
@data_dir_option
def copy_to_postgres(url, shared_dir, data_dir) -> None:
    """Copy this collection's embedded catalog into the empty PostgreSQL database at URL
    (postgresql://user:password@host/db), and its originals into --shared-dir, to run it
    with replicas and workers (docs/deployment.md). Stop the server first; the embedded
    catalog is left as it was."""
    from index.backup import to_postgres

    if running := server_on(data_dir):
        raise click.ClickException(
            f"{running} serves {data_dir}: stop it first, so that nothing written to this "
            "collection meanwhile is left behind"
        )
    with explained():
        copied = to_postgres(data_dir, url, shared_dir)
    shared = f" KOSHQON_SHARED_DIR={shared_dir}" if shared_dir else ""
    click.echo(
        f"Copied {copied.documents} documents. Start with KOSHQON_DATABASE_URL=URL{shared} "
        f"and --data-dir {data_dir} (its index snapshot is still valid)."
    )


@cli.group()
def keys() -> None:
    """Access keys: once one exists, writes need a librarian's or admin's key."""


@keys.command("add")
@click.option("--name", required=True, help="Who holds the key.")
@click.option("--role", required=True, type=click.Choice(["reader", "librarian", "admin"]))
@data_dir_option
def keys_add(name, role, data_dir) -> None:
    """Make a key and print it, once: only its digest is kept."""
    from .access import Access

    with explained():
        key = Access(catalog_of(data_dir, create=True)).add(name, role)
    click.echo(key)
    click.echo(
        f"The {role}'s key for {name}, shown this once. Send it as "
        "'Authorization: Bearer KEY', or sign in with it on the web page.",
        err=True,
    )


@keys.command("list")
@data_dir_option
def keys_list(data_dir) -> None:
    """Every key's name, role and date (never the key)."""
    for name, role, created_at in catalog_of(data_dir).access_keys():
        click.echo(f"{name}\t{role}\t{created_at}")


@keys.command("revoke")
@click.argument("name")
@data_dir_option
def keys_revoke(name, data_dir) -> None:
    """The key stops working at once; its web sessions end."""
    from .access import Access

    with explained():
        Access(catalog_of(data_dir)).revoke(name)
    click.echo(f"Revoked {name}.")


@cli.command()
@data_dir_option
def health(data_dir) -> None:
    """Print what GET /health returns (the model, the passages in the catalog and in each
    index), and where the collection is: its data folder and where that came from, its
    catalog and its files."""
    from .api.schemas import Health

    koshqon = open_koshqon(data_dir, model=False)
    health = Health.model_validate(koshqon.health()).model_dump()
    store = koshqon.store
    health["collection"] = {
        "data_dir": str(data_dir),
        "from": source(),
        "catalog": store.catalog.database.location,
        "files": store.blobs.location,
    }
    click.echo(json.dumps(health, ensure_ascii=False, indent=2))


@cli.command()
@data_dir_option
def reindex(data_dir) -> None:
    """Rebuild every passage for the configured model and passage size (KOSHQON_MODEL,
    KOSHQON_CHUNK_TOKENS, KOSHQON_CHUNK_OVERLAP): how a collection moves to another model.

    Runs while the collection is served: searches are answered from the current passages
    until the new ones are complete, then servers switch to them within seconds; writes
    made meanwhile are rebuilt too. Documents, their ids, keys and jobs are not touched.
    An interrupted rebuild resumes where it stopped when run again."""
    from tqdm import tqdm

    from .core import reindex as rebuild

    settings = Settings(data_dir=data_dir)
    documents, passages = catalog_of(data_dir).counts()
    os.nice(settings.ingest_niceness)  # a server on this machine answers first
    # counted in passages, so that its ETA holds for collections of long and short texts
    # (with a new passage size the count is the old one's, approximately)
    bar = tqdm(total=passages, unit="passage", desc="Reindexing", file=sys.stderr)
    encoded = {"series": (0, 0)}  # (done, total) of the batch being encoded

    def report(stage: str, done: int, total: int) -> None:
        previous, of = encoded["series"]
        bar.update(done - previous if done > previous and previous < of else done)
        encoded["series"] = (done, total)

    rebuilt = 0
    with explained(), bar:
        for _ in rebuild(settings, report, say=lambda line: bar.write(line, file=sys.stderr)):
            rebuilt += 1
    click.echo(f"Reindexed {rebuilt} documents in {data_dir} with {settings.model}.")


@cli.group()
def jobs() -> None:
    """Batches of files queued through the API (POST /jobs)."""


def queue_of(data_dir: Path):
    """The job queue, with the uploads where the collection keeps them."""
    from index.blobs import open_blobs
    from index.queue import JobQueue

    catalog = catalog_of(data_dir)
    return JobQueue(catalog, open_blobs(catalog, data_dir, Settings().shared_dir))


@jobs.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@data_dir_option
def jobs_list(limit, data_dir) -> None:
    """The latest jobs, each with its files counted (GET /jobs)."""
    for job in queue_of(data_dir).jobs(limit):
        failed = f", {job.failed} failed" if job.failed else ""
        click.echo(
            f"{job.id}  {job.created_at}  {job.state:<8} {job.done} of {job.total} done{failed}"
        )


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the HTTP JSON response.")
@data_dir_option
def jobs_show(job_id, as_json, data_dir) -> None:
    """A job's progress, time left and each file's outcome (GET /jobs/ID)."""
    from .api.routes.jobs import status

    report = queue_of(data_dir).report(job_id)
    if report is None:
        raise click.ClickException(f"no job with id {job_id} (or its report expired)")
    job = status(report)
    if as_json:
        click.echo(job.model_dump_json(indent=2))
        return
    left = f", about {job.eta_seconds / 60:.0f} min left" if job.eta_seconds is not None else ""
    click.echo(f"{job.state}: {job.done} of {job.total} files done, {job.failed} failed{left}")
    if job.current:
        c = job.current
        click.echo(f"  now      {c.filename}: {STAGES[c.stage]} {c.done}/{c.total}")
    for r in job.results:
        click.echo(f"  {r.status:<8} {r.filename}" + (f": {r.reason}" if r.reason else ""))


@jobs.command("retry")
@click.argument("job_id")
@data_dir_option
def jobs_retry(job_id, data_dir) -> None:
    """Queue a job's failed files again (POST /jobs/ID/retry); the server or a worker on
    this collection adds them."""
    from index.queue import runner_of

    queue = queue_of(data_dir)
    if queue.report(job_id) is None:
        raise click.ClickException(f"no job with id {job_id} (or its report expired)")
    with explained():
        retried, gone = queue.retry(job_id)
    click.echo(f"Queued {retried} failed files of job {job_id} again.")
    if not retried and not gone:
        return
    if gone:
        click.echo(f"Not kept, upload them again: {', '.join(gone)}", err=True)
    if not Settings().database_url and runner_of(data_dir) is None:
        click.echo(
            "No server or worker runs on this collection now: `koshqon serve` or "
            "`koshqon worker` adds them.",
            err=True,
        )


@cli.group()
def docs() -> None:
    """List and remove documents."""


@docs.command("list")
@click.option("--json", "as_json", is_flag=True)
@data_dir_option
def docs_list(as_json, data_dir) -> None:
    """The documents in the collection."""
    from .api.schemas import Document

    documents = open_koshqon(data_dir, model=False).documents()
    documents = [Document.model_validate(d) for d in documents]
    if as_json:
        click.echo(json.dumps([d.model_dump() for d in documents], ensure_ascii=False, indent=2))
        return
    for d in documents:
        click.echo(
            f"{d.id:>4}  {d.language:<3} {d.doc_type:<9} {d.chunks:>5} passages  "
            f"{d.title}  ({d.filename})"
        )
    click.echo(f"{len(documents)} documents")


@docs.command("edit")
@click.argument("document_id", type=int)
@click.option("--title")
@click.option("--author")
@click.option("--year", type=int)
@click.option("--doc-type", type=click.Choice(DOC_TYPES))
@click.option("--source-url")
@click.option("--language", help="Language code, e.g. kk, ru, en.")
@click.option("--work", help="A key shared by the language versions of one text.")
@click.option(
    "--clear",
    multiple=True,
    type=click.Choice(["author", "year", "source-url", "work"]),
    help="Empty this field (PATCH with null).",
)
@data_dir_option
def docs_edit(
    document_id, title, author, year, doc_type, source_url, language, work, clear, data_dir
) -> None:
    """Change a document's metadata (PATCH /documents/ID); other fields stay as they are."""
    from .api.schemas import Document

    metadata = Metadata(title, author, year, doc_type, source_url, language, work)
    cleared = tuple(name.replace("-", "_") for name in clear)
    with explained():
        document = open_koshqon(data_dir, model=False).update(document_id, metadata, cleared)
    click.echo(Document.model_validate(document).model_dump_json(indent=2))


@docs.command("page")
@click.argument("document_id", type=int)
@click.argument("page", type=click.IntRange(1))
@data_dir_option
def docs_page(document_id, page, data_dir) -> None:
    """The text of one page as the collection holds it (GET /documents/ID/pages/N)."""
    with explained():
        document, text = open_koshqon(data_dir, model=False).page(document_id, page)
    if page in document.ocr_pages:
        click.echo(f"(page {page} was read by OCR: compare it with the original)", err=True)
    click.echo(text)


@docs.command("cite")
@click.argument("document_id", type=int)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["text", "bibtex", "ris", "csv"]),
    default="text",
    show_default=True,
)
@data_dir_option
def docs_cite(document_id, format_, data_dir) -> None:
    """The document as a citation (GET /documents/ID/citation)."""
    from .citations import Cited, export

    with explained():
        document = open_koshqon(data_dir, model=False).record(document_id)
    click.echo(export([Cited(document)], format_), nl=False)


@docs.command("original")
@click.argument("document_id", type=int)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Default: its name."
)
@data_dir_option
def docs_original(document_id, output, data_dir) -> None:
    """Save the file a document was made from (GET /documents/ID/original)."""
    with explained():
        document, pieces = open_koshqon(data_dir, model=False).original(document_id)
    output = output or Path(document.filename)
    if output.exists():
        raise click.ClickException(f"{output} exists; give another name with --output")
    with output.open("xb") as saved:
        saved.writelines(pieces)
    click.echo(f"Saved {output} ({document.media_type}).")


@docs.command("remove")
@click.argument("document_id", type=int)
@data_dir_option
def docs_remove(document_id, data_dir) -> None:
    """Remove a document from the catalog and the index."""
    with explained():
        removed = open_koshqon(data_dir, model=False).remove(document_id)
    click.echo(f"Removed document {removed.id}: {removed.title}")


def main() -> None:
    cli()
