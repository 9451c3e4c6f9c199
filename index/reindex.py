"""Rebuild the collection's passages for another model or passage size while it is being
searched and written: a new generation of passages is built beside the one searched, and
switched to in one commit.

1. Every document's stored text is cut into passages again and encoded with the new
   model; they go into the catalog as the new generation, which nothing searches yet.
   Documents are rebuilt in batches and recorded with the revision they were made from,
   so an interrupted rebuild resumes where it stopped.
2. The new generation's indexes are built from the catalog and saved beside the current
   ones (index/NEXT).
3. One write transaction rebuilds the documents added or changed meanwhile, logs the
   switch and what those changed, and makes the new generation active. Servers replay
   the log, see the switch, load the new model and indexes in the background while
   answering from the old ones, then swap (index/store.py).
4. Once every server has moved (or after ``RETIRE_WAIT_S``), the old passages are deleted.

Documents, their ids and metadata, access keys, sessions and jobs are never touched.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ingest.chunking import Chunker
from ingest.errors import KoshqonError
from ingest.models import Extracted, Progress
from ingest.pipeline import passages

from . import indexes as snapshots
from .catalog import Catalog, Generation, ToRebuild
from .embedder import Embedder
from .parallel import relink
from .store import ENCODE_BATCH, file_lock, keyword_terms, passage_for_embedding

BATCH = 16  # documents encoded and written together
RETIRE_WAIT_S = 120  # how long the old passages wait for servers still searching them
log = logging.getLogger("koshqon.reindex")


class ReindexRunning(KoshqonError):
    title = "A rebuild is already running"


def reindex(
    catalog: Catalog,
    index_dir: Path,
    embedder: Embedder,
    passage_size: tuple[int, int],
    progress: Progress | None = None,
    say: Callable[[str], None] = log.info,
) -> Iterator[int]:
    """Move the collection to ``embedder``'s model and ``passage_size`` (tokens, overlap);
    yields each document's id as it is rebuilt."""
    with catalog.database.exclusively("reindex") as alone:
        if not alone:
            raise ReindexRunning(
                f"another `koshqon reindex` is rebuilding {catalog.database.location}; "
                "wait for it to finish"
            )
        previous = catalog.active_generation()
        generation, leftover = catalog.building_generation(
            embedder.model_id, embedder.dim, *passage_size
        )
        for number in leftover:  # of a rebuild that stopped, or not yet deleted
            catalog.drop_generation(number)
        builder = Builder(
            catalog, generation, embedder, Chunker(embedder.count_tokens, *passage_size)
        )
        after = 0  # in id order, each batch after the last (no document read twice) …
        while True:
            batch = catalog.to_rebuild(generation.number, BATCH, after)
            if not batch and after:  # … then from the start, for those changed meanwhile
                after, batch = 0, catalog.to_rebuild(generation.number, BATCH)
            if not batch:
                break
            made = builder.made(batch, progress)  # encoded before the write: writes never wait
            with catalog.transaction(serialised=False) as db:
                done = builder.put(db, made)
            yield from done
            after = batch[-1].id
        for work in sorted(catalog.works()):
            with catalog.transaction(serialised=False) as db:
                relink(catalog, db, {work}, generation.number)
        indexes = snapshots.build(catalog, generation.dim, generation.number, live=False)
        with file_lock(index_dir / "LOCK", fcntl.LOCK_EX):
            snapshots.save(indexes, index_dir, catalog.get_meta("catalog_id"), snapshots.NEXT)
        with catalog.transaction() as db:  # writes wait for the few changed meanwhile
            late = catalog.to_rebuild(generation.number, None, db=db)
            done = builder.put(db, builder.made(late, progress))
            relink(catalog, db, {row.work for row in late}, generation.number)
            catalog.activate(db, generation, _difference(catalog, db, indexes, generation))
        yield from done
        with file_lock(index_dir / "LOCK", fcntl.LOCK_EX):
            snapshots.promote(index_dir)
        say(f"Switched to generation {generation.number} ({generation.model_id}).")
        if previous is None:
            return
        lagging = _wait_for_servers(catalog, generation, say)
        if lagging:
            say(
                f"{', '.join(lagging)} still search generation {previous.number} after "
                f"{RETIRE_WAIT_S} s; its passages are deleted now (see their logs)."
            )
        catalog.drop_generation(previous.number)


class Builder:
    """Makes documents' passages of one generation from their stored text."""

    def __init__(self, catalog: Catalog, generation: Generation, embedder, chunker: Chunker):
        self.catalog, self.generation = catalog, generation
        self.embedder, self.chunker = embedder, chunker

    def made(self, documents: list[ToRebuild], progress: Progress | None) -> list[tuple]:
        """Each document with its passages, their vectors and their keyword terms."""
        chunks = [passages(Extracted(d.text, tuple(d.pages)), self.chunker) for d in documents]
        texts = [passage_for_embedding(c.text, c.heading) for found in chunks for c in found]
        vectors = _encoded(self.embedder, texts, progress)
        made, start = [], 0
        for document, found in zip(documents, chunks, strict=True):
            terms = [keyword_terms(document.title, c.heading, c.text, c.lang) for c in found]
            made.append((document, found, vectors[start : start + len(found)], terms))
            start += len(found)
        return made

    def put(self, db, made: list[tuple]) -> list[int]:
        """Store what ``made`` made, in the transaction ``db``: the ids of the documents
        stored (one deleted meanwhile is passed over)."""
        stored = []
        for document, chunks, vectors, terms in made:
            if self.catalog.document(document.id, db) is None:  # deleted since it was read
                continue
            self.catalog.put_rebuilt(
                db, self.generation.number, document.id, document.revision, chunks, vectors, terms
            )
            stored.append(document.id)
        return stored


def _encoded(embedder: Embedder, texts: list[str], progress: Progress | None) -> np.ndarray:
    parts = [np.zeros((0, embedder.dim), dtype=np.float32)]
    for start in range(0, len(texts), ENCODE_BATCH):
        parts.append(embedder.embed(texts[start : start + ENCODE_BATCH], "passage"))
        if progress:
            progress("encoding", min(start + ENCODE_BATCH, len(texts)), len(texts))
    return np.vstack(parts)


def _difference(catalog: Catalog, db, indexes, generation: Generation) -> list[tuple]:
    """The changes that turn the saved indexes of ``generation`` into its passages as
    they are now (documents rebuilt, removed or replaced since the indexes were built)."""
    held = indexes.ids()
    now = catalog.chunk_ids(generation=generation.number, db=db)
    gone, new = np.setdiff1d(held, now), np.setdiff1d(now, held).tolist()
    removed = [
        (int(chunk_id), lang)
        for lang, partition in indexes.partitions.items()
        for chunk_id in gone[partition.keywords.holds(gone)]
    ]
    added = catalog.languages_of(new, db) if new else {}
    return [("remove", removed), ("add", list(added.items()))]


def _wait_for_servers(
    catalog: Catalog, generation: Generation, say: Callable[[str], None]
) -> list[str]:
    """Wait until every server searches ``generation`` (or ``RETIRE_WAIT_S`` passed);
    those that do not, by name. Servers of this machine that are gone are forgotten."""
    deadline, told = time.monotonic() + RETIRE_WAIT_S, False
    while True:
        lagging = []
        for name, number in catalog.serving():
            if number == generation.number:
                continue
            if _gone(name):
                catalog.serve(name, None)
            else:
                lagging.append(name)
        if not lagging or time.monotonic() > deadline:
            return lagging
        if not told:
            say(f"Waiting for {', '.join(lagging)} to load the new model…")
            told = True
        time.sleep(0.5)


def _gone(name: str) -> bool:
    """Whether the process ``name`` (host:pid:tag) ran on this machine and has ended."""
    host, pid, _ = name.rsplit(":", 2)
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False
