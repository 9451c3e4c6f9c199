"""The application layer: what the CLI and the HTTP API both call, so they behave alike."""

from __future__ import annotations

import itertools
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, fields, replace
from functools import lru_cache, partial
from pathlib import Path

from index.answer import Answer, Answering, answer
from index.bundle import BadBundle, BundleWriter, read_bundle
from index.catalog import ChunkRecord, DocumentRecord, Generation
from index.embedder import Embedder, Encoder, ModelNotLoaded, load_embedder
from index.parallel import link_versions
from index.reindex import reindex as rebuild_generation
from index.search import Filters, Mode, SearchResult, search
from index.store import (
    CATALOG_FILE,
    INDEX_DIR,
    AddResult,
    Store,
    Switching,
    open_catalog,
    passage_vectors,
    with_rows,
)
from ingest.chunking import Chunker
from ingest.contained import read_contained
from ingest.errors import (
    DocumentNotFound,
    FileTooLarge,
    InvalidParameter,
    KoshqonError,
    PageNotFound,
)
from ingest.language import SUPPORTED_LANGUAGES
from ingest.models import DOC_TYPES, Extracted, Metadata, PreparedDocument, Progress
from ingest.pipeline import prepare, sha256_of
from ingest.readers import READERS, media_type_of

from .access import Access
from .citations import Cited
from .config import Settings
from .generative import generated

log = logging.getLogger("koshqon")
SIDECAR = "metadata.json"
CLEARABLE = ("author", "year", "source_url", "work")  # metadata a document may lack
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


@lru_cache(maxsize=4)
def _embedder(
    model: str,
    models_dir: Path,
    encoder: Encoder,
    device: str,
    query_prefix: str | None,
    passage_prefix: str | None,
) -> Embedder:
    """One loaded model per process, shared by every app and command that asks for it."""
    return load_embedder(
        model,
        models_dir,
        encoder,
        device=device,
        query_prefix=query_prefix,
        passage_prefix=passage_prefix,
    )


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file of an ingest run: added, skipped (and why) or failed."""

    path: Path
    status: str
    reason: str | None = None
    document: DocumentRecord | None = None


@dataclass(frozen=True)
class Health:
    status: str  # "ok", "out of step" (an index lacks passages) or "switching" (reindex)
    model_id: str
    dimension: int
    generation: int
    documents: int
    chunks: int
    dense_passages: int  # what the indexes hold, which must be ``chunks``
    keyword_passages: int


def _sidecar(folder: Path) -> dict[str, dict]:
    path = folder / SIDECAR
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KoshqonError(f"{path}: not valid JSON ({error})") from error
    return entries if isinstance(entries, dict) else {}


def metadata_from(entry: dict) -> Metadata:
    names = {f.name for f in fields(Metadata)}
    return Metadata(**{key: value for key, value in entry.items() if key in names})


def split_languages(values: list[str] | None) -> list[str] | None:
    """`lang=kk,ru` and `lang=kk&lang=ru` mean the same; codes must look like ISO 639."""
    codes = [code.strip().lower() for value in values or [] for code in value.split(",")]
    codes = [code for code in codes if code]
    bad = [code for code in codes if not LANGUAGE_CODE.match(code)]
    if bad:
        raise InvalidParameter(f"lang: not a language code: {', '.join(bad)} (use kk, ru, en)")
    return codes or None


def validated(metadata: Metadata) -> Metadata:
    """Metadata a librarian typed, checked before anything is stored."""
    if metadata.doc_type is not None and metadata.doc_type not in DOC_TYPES:
        raise InvalidParameter(f"doc_type must be one of: {', '.join(DOC_TYPES)}")
    if metadata.year is not None and not 0 <= metadata.year <= 2100:
        raise InvalidParameter("year must be between 0 and 2100")
    if metadata.language is not None and not LANGUAGE_CODE.match(metadata.language):
        raise InvalidParameter("language must be a code such as kk, ru or en")
    if metadata.title is not None and not metadata.title.strip():
        raise InvalidParameter("title must not be empty")
    return metadata


def too_large(what: str, settings: Settings) -> FileTooLarge:
    return FileTooLarge(
        f"{what}; the limit is {settings.max_upload_mb:g} MB (KOSHQON_MAX_UPLOAD_MB)"
    )


def check_file(data: bytes, filename: str, settings: Settings) -> None:
    """Within the size limit and of a type that can be read, before any reading."""
    if len(data) > settings.max_upload_bytes:
        raise too_large(f"{filename} is {len(data) / 1e6:.1f} MB", settings)
    media_type_of(filename)


def metadata_of(record: DocumentRecord | PreparedDocument) -> Metadata:
    """What the librarian said about a document, to carry into a rebuilt or new version."""
    return Metadata(**{f.name: getattr(record, f.name) for f in fields(Metadata)})


def merge(base: Metadata | None, override: Metadata | None) -> Metadata | None:
    if base is None or override is None:
        return override or base
    return replace(base, **override.given())


def files_to_ingest(paths: list[Path]) -> Iterator[tuple[Path, Metadata | None, str | None]]:
    """Every file under the paths: (path, sidecar metadata, reason to skip it or None).

    A folder with a metadata.json is a catalogued collection: its listed files are added
    with their metadata, the others (a README, say) are skipped and reported."""
    manifests: dict[Path, dict[str, dict]] = {}  # each folder's metadata.json, read once
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if file.name == SIDECAR or file.name.startswith("."):
                    continue
                if file.parent not in manifests:
                    manifests[file.parent] = _sidecar(file.parent)
                manifest = manifests[file.parent]
                entry = manifest.get(file.name)
                if manifest and entry is None:
                    skip = f"not listed in {SIDECAR}"
                elif file.suffix.lower() not in READERS:
                    skip = f"unsupported type '{file.suffix or 'none'}'"
                else:
                    skip = None
                yield file, metadata_from(entry) if entry else None, skip
        else:
            yield path, None, None


def encode_files(
    settings: Settings,
    files: list[tuple[Path, Metadata | None, str | None]],
    metadata: Metadata | None,
    output: Path,
    batch_passages: int = 512,
) -> Iterator[FileOutcome]:
    """Read, chunk and encode files into a bundle (index/bundle.py) that ``Koshqon.import_``
    adds to a collection elsewhere: the half of a bulk import that runs where the encoder is
    fast (KOSHQON_DEVICE=cuda). Files are encoded together, ``batch_passages`` at a time;
    the bundle appears only when every file has been tried."""
    embedder, chunker = model_and_chunker(settings)
    pending: list[tuple[Path, PreparedDocument]] = []

    def flush() -> Iterator[FileOutcome]:
        documents = [document for _, document in pending]
        for (path, _), (document, rows) in zip(
            pending, with_rows(documents, passage_vectors(embedder, documents)), strict=True
        ):
            bundle.add(document, rows)
            yield FileOutcome(path, "encoded", f"{len(document.chunks)} passages")
        pending.clear()

    with BundleWriter(output, embedder.model_id, embedder.dim) as bundle:
        for path, sidecar, skip in files:
            if skip:
                yield FileOutcome(path, "skipped", skip)
                continue
            try:
                data = path.read_bytes()
                check_file(data, path.name, settings)
                meta = validated(merge(sidecar, metadata) or Metadata())
                pending.append((path, prepare(data, path.name, meta, chunker, reader(settings))))
            except (KoshqonError, OSError) as error:
                yield FileOutcome(path, "failed", str(error))
            if sum(len(document.chunks) for _, document in pending) >= batch_passages:
                yield from flush()
        yield from flush()


def reader(
    settings: Settings, progress: Progress | None = None
) -> Callable[[bytes, str], Extracted]:
    """Files from outside are read in a separate, limited process (ingest/contained.py)."""
    return partial(read_contained, budget=settings.budget, progress=progress)


def model_and_chunker(settings: Settings) -> tuple[Embedder, Chunker]:
    """The configured embedding model (loaded once per process) and the chunker that cuts
    passages to its token budget: what a bundle and the evaluation are encoded with."""
    embedder = model_of(settings, settings.model)
    return embedder, Chunker(embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)


def reindex(
    settings: Settings, progress: Progress | None = None, say: Callable[[str], None] = print
) -> Iterator[int]:
    """Move the collection to the configured model and passage size (KOSHQON_MODEL,
    KOSHQON_CHUNK_TOKENS, KOSHQON_CHUNK_OVERLAP) while it stays searchable (see
    index/reindex.py); yields each document's id as it is rebuilt, and reports passages
    encoded to ``progress``."""
    embedder = model_of(settings, settings.model)
    catalog = open_catalog(settings.data_dir, settings.database_url)
    try:
        passage_size = (settings.chunk_tokens, settings.chunk_overlap)
        index_dir = settings.data_dir / INDEX_DIR
        yield from rebuild_generation(catalog, index_dir, embedder, passage_size, progress, say)
    finally:
        catalog.close()


def recorded_model(settings: Settings) -> ModelNotLoaded | None:
    """The model the collection's passages were made with (and their dimension), without
    loading it; None for a new collection."""
    catalog = settings.data_dir / CATALOG_FILE
    if settings.database_url:
        with closing(open_catalog(settings.data_dir, settings.database_url)) as shared:
            meta = {key: shared.get_meta(key) for key in ("model_id", "dim")}
    elif not catalog.is_file():
        return None
    else:
        with closing(sqlite3.connect(f"{catalog.resolve().as_uri()}?mode=ro", uri=True)) as db:
            meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('model_id', 'dim')"))
    if meta.get("model_id") is None:
        return None
    return ModelNotLoaded(meta["model_id"], int(meta["dim"]))


def model_of(settings: Settings, model_id: str) -> Embedder:
    """The model ``model_id``, loaded once per process with this machine's settings."""
    return _embedder(
        model_id,
        settings.model_cache,
        settings.encoder,
        settings.device,
        settings.query_prefix,
        settings.passage_prefix,
    )


class Koshqon:
    def __init__(self, settings: Settings, model: bool = True, searching: bool = True):
        """``model=False``: for what encodes nothing, the model is not loaded (if the
        collection already records it). ``searching=False``: for what only writes to a
        shared catalog (a worker), no indexes are kept.

        A collection is searched with the model its passages were made with; KOSHQON_MODEL
        chooses the model of a new collection, and the one `koshqon reindex` moves to."""
        self.settings = settings
        recorded = recorded_model(settings)
        if recorded is not None and recorded.model_id != settings.model:
            log.warning(
                "KOSHQON_MODEL is %s, but this collection's passages were made with %s, which "
                "it is searched with; `koshqon reindex` moves it to %s",
                settings.model, recorded.model_id, settings.model,
            )  # fmt: skip
        if model or recorded is None:
            embedder = model_of(settings, recorded.model_id if recorded else settings.model)

            def models(generation: Generation) -> Embedder:
                return model_of(settings, generation.model_id)
        else:
            embedder = recorded

            def models(generation: Generation) -> Embedder:
                return ModelNotLoaded(generation.model_id, generation.dim)

        self.store = Store(
            settings.data_dir,
            embedder,
            settings.database_url,
            settings.shared_dir,
            searching,
            models,
            (settings.chunk_tokens, settings.chunk_overlap),
        )
        self.access = Access(self.store.catalog, settings.private)

    @property
    def embedder(self) -> Embedder:
        return self.store.embedder

    @property
    def chunker(self) -> Chunker:
        return self.store.chunker

    def close(self) -> None:
        self.store.close()

    # --- documents ---------------------------------------------------------------------------
    def add_file(
        self,
        data: bytes,
        filename: str,
        metadata: Metadata | None = None,
        progress: Progress | None = None,
    ) -> AddResult:
        """Add one file's content, whole or not at all; identical content is not added twice.
        Pages read by OCR and passages encoded are reported to ``progress``."""
        check_file(data, filename, self.settings)
        existing = self.store.catalog.find_by_sha256(sha256_of(data))
        if existing:
            return AddResult(existing, created=False)
        metadata = validated(metadata or Metadata())
        read = reader(self.settings, progress)
        prepared = prepare(data, filename, metadata, self.chunker, read)
        return self._linked(self.store.add(prepared, progress))

    def _linked(self, result: AddResult) -> AddResult:
        """A new document that is another language's version of one here gets its articles
        linked to that one's."""
        if not result.created:
            return result
        try:
            return replace(result, document=link_versions(self.store, result.document))
        except DocumentNotFound:  # the other version was deleted meanwhile: stay unlinked
            return result

    def import_(self, path: Path) -> Iterator[list[AddResult]]:
        """Add a bundle's documents with the vectors encoded elsewhere (``encode_files``),
        one transaction per part of the bundle; yields each part's results (``created`` is
        False for a document already in the collection). A bad part stops the import with
        the parts before it added: importing the bundle again skips them."""
        for documents, vectors in read_bundle(path, self.embedder.model_id, self.embedder.dim):
            for document in documents:
                try:
                    validated(metadata_of(document))
                except InvalidParameter as error:
                    raise BadBundle(f"{path}: {document.filename}: {error}") from error
            yield [self._linked(result) for result in self.store.add_many(documents, vectors)]

    def replace_file(
        self,
        document_id: int,
        data: bytes,
        filename: str,
        metadata: Metadata | None = None,
        progress: Progress | None = None,
    ) -> AddResult:
        """A new version of a document: same id, new content, its metadata kept unless given
        anew; ``created`` is False when the content is unchanged."""
        check_file(data, filename, self.settings)
        old = self.record(document_id)
        kept = replace(metadata_of(old), language=None)  # detected anew from the new text
        metadata = validated(merge(kept, metadata))
        read = reader(self.settings, progress)
        prepared = prepare(data, filename, metadata, self.chunker, read)
        return self.store.replace(document_id, prepared, progress)

    def add_queued(
        self, data: bytes, filename: str, metadata: Metadata, progress: Progress
    ) -> FileOutcome:
        """A job's file, added as ``filename``. A file that meets the collection switching
        to a new model is not failed: Switching goes up to the runner, which tries it
        again."""
        try:
            return self._add_or_replace(data, filename, Path(filename), metadata, False, progress)
        except Switching:
            raise
        except (KoshqonError, OSError) as error:
            return FileOutcome(Path(filename), "failed", str(error))

    def _add_or_replace(
        self,
        data: bytes,
        name: str,
        path: Path,
        metadata: Metadata | None,
        replace: bool,
        progress: Progress | None,
    ) -> FileOutcome:
        """``data`` (from ``path``) added as ``name``, or as the new version of the
        document of that name (``replace``)."""
        if replace:
            named = self.store.catalog.find_by_filename(name)
            if len(named) > 1:
                raise KoshqonError(
                    f"{len(named)} documents are named {name} "
                    f"({', '.join(str(d.id) for d in named)}); replace one by its id"
                )
            if named:
                result = self.replace_file(named[0].id, data, name, metadata, progress)
                if result.created:
                    return FileOutcome(path, "replaced", None, result.document)
                reason = f"identical to document {result.document.id}"
                return FileOutcome(path, "unchanged", reason, result.document)
        result = self.add_file(data, name, metadata, progress)
        if result.created:
            return FileOutcome(path, "added", None, result.document)
        reason = f"already in the collection as document {result.document.id}"
        return FileOutcome(path, "skipped", reason, result.document)

    def ingest(
        self,
        files: list[tuple[Path, Metadata | None, str | None]],
        metadata: Metadata | None = None,
        replace: bool = False,
        progress: Progress | None = None,
    ) -> Iterator[FileOutcome]:
        """Add the files from ``files_to_ingest`` one by one; a bad file is reported and the
        rest go on. Metadata given here overrides the folder's sidecar, field by field. With
        ``replace``, a file named like a document in the collection is its new version.
        Each file's pages read by OCR and passages encoded go to ``progress``."""
        for path, sidecar, skip in files:
            if skip:
                yield FileOutcome(path, "skipped", skip)
                continue
            try:
                if not path.is_file():
                    raise KoshqonError("no such file or folder")
                data, name = path.read_bytes(), path.name
                yield self._add_or_replace(
                    data, name, path, merge(sidecar, metadata), replace, progress
                )
            except (KoshqonError, OSError) as error:
                yield FileOutcome(path, "failed", str(error))

    def documents(self) -> list[DocumentRecord]:
        return self.store.catalog.documents()

    def record(self, document_id: int) -> DocumentRecord:
        """A document's catalog record (its metadata), without its passages."""
        document = self.store.catalog.document(document_id)
        if document is None:
            raise DocumentNotFound(f"no document with id {document_id}")
        return document

    def document(self, document_id: int) -> tuple[DocumentRecord, list[ChunkRecord]]:
        return self.record(document_id), self.store.catalog.chunks_of(document_id)

    def cited(self, result: SearchResult) -> list[Cited]:
        """A search's hits as citations of their documents, with each hit's place."""
        ids = sorted({hit.citation.document_id for hit in result.results})
        documents = self.store.catalog.documents_by_id(ids)
        return [
            Cited(documents[c.document_id], c.heading, c.page_start, c.page_end, hit.text)
            for hit in result.results
            if (c := hit.citation).document_id in documents  # unless deleted meanwhile
        ]

    def original(self, document_id: int) -> tuple[DocumentRecord, Iterator[bytes]]:
        """The stored file a document was made from, as it was uploaded, piece by piece."""
        document = self.record(document_id)
        pieces = self.store.originals.pieces(document.sha256)
        try:
            first = next(pieces, b"")
        except FileNotFoundError:  # replaced or removed meanwhile
            raise DocumentNotFound(f"document {document_id} has no stored original now") from None
        return document, itertools.chain([first], pieces)

    def page(self, document_id: int, number: int) -> tuple[DocumentRecord, str]:
        """The text of one page as the collection holds it: the PDF's text layer, or what
        OCR read from the page image (``ocr_pages``)."""
        document = self.record(document_id)
        text, pages = self.store.catalog.document_text(document_id)
        span = next((p for p in pages if p.number == number), None)
        if span is None:
            has = f"pages 1–{len(pages)}" if pages else "no pages (it is not a paged format)"
            raise PageNotFound(f"document {document_id} has {has}")
        return document, text[span.start : span.end]

    def update(
        self, document_id: int, metadata: Metadata, cleared: tuple[str, ...] = ()
    ) -> DocumentRecord:
        """Edit metadata: the fields given (not None) change, the ``cleared`` ones are
        emptied (those a document may lack: CLEARABLE)."""
        kept = sorted(set(cleared) - set(CLEARABLE))
        if kept:
            raise InvalidParameter(
                f"{', '.join(kept)}: cannot be emptied (only {', '.join(CLEARABLE)} can)"
            )
        changes = validated(metadata).given()
        changes |= dict.fromkeys(cleared)
        if not changes:
            raise InvalidParameter("nothing to change: give at least one metadata field")
        return self.store.update(document_id, changes)

    def remove(self, document_id: int) -> DocumentRecord:
        return self.store.remove(document_id)

    # --- search ------------------------------------------------------------------------------
    def _known_languages(self, filters: Filters | None) -> None:
        """A language filter names Kazakh, Russian, English or a language the collection
        holds passages in; any other code is a mistake, not a search for nothing."""
        if not (filters and filters.langs):
            return  # nothing to check: no lock and no catalog read on the search path
        with self.store.reading() as indexes:
            known = set(SUPPORTED_LANGUAGES) | set(indexes.sizes())
        unknown = [code for code in filters.langs if code not in known]
        if unknown:
            raise InvalidParameter(
                f"lang: no passages in {', '.join(unknown)}; this collection has "
                f"{', '.join(sorted(known))}"
            )

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: Mode = "hybrid"
    ) -> SearchResult:
        self._known_languages(filters)
        return search(self.store, query, k, filters, mode)

    def ask(
        self, question: str, k: int = 5, filters: Filters | None = None, mode: Mode = "hybrid"
    ) -> Answer:
        """An extractive answer from the top ``k`` passages, or the configured model's
        answer when it cites only those passages (service/generative.py)."""
        if not question.strip():
            raise InvalidParameter("question: the question is empty")
        self._known_languages(filters)
        settings = replace(Answering.for_model(self.embedder.model_id), passages=k)
        extractive = answer(self.store, question, filters, mode, settings)
        return generated(self.settings, extractive)

    def health(self) -> Health:
        for _ in range(3):
            with self.store.reading() as indexes:  # counts of one moment, not of two
                documents, chunks = self.store.catalog.counts()
                dense = sum(len(p.vectors) for p in indexes.partitions.values())
                keyword = sum(len(p.keywords) for p in indexes.partitions.values())
                # another process wrote meanwhile (a shared catalog): count again, caught up
                moved = self.store.catalog.last_change() != indexes.seq
            if dense == keyword == chunks or not moved:
                break
        status = "ok" if dense == keyword == chunks else "out of step"
        generation, embedder = self.store.model
        if self.store.switching:  # its counts are of the generation it is moving from
            status = "switching"
        return Health(
            status,
            embedder.model_id,
            embedder.dim,
            generation.number,
            documents,
            chunks,
            dense,
            keyword,
        )
