"""Rebuild the catalog and both indexes from the stored originals, e.g. after changing the
embedding model or the passage size, without the librarians' source folders.

The new catalog is built beside the old one (DATA_DIR/.reindex) and swapped in only when
complete, so an interrupted rebuild leaves the collection as it was. Document ids, metadata
and dates are kept, so citations and links stay valid. Stop the server while it runs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from ingest.errors import KoshqonError
from ingest.models import PreparedDocument, Progress

from .catalog import Catalog, DocumentRecord
from .embedder import Embedder
from .originals import Originals
from .store import CATALOG_FILE, INDEX_DIR, ORIGINALS_DIR, Store

WORK_DIR = ".reindex"
BATCH = 16  # documents embedded and written together


def reindex(
    data_dir: Path,
    embedder: Embedder,
    rebuild: Callable[[DocumentRecord, bytes], PreparedDocument],
    progress: Progress | None = None,
) -> Iterator[DocumentRecord]:
    """Rebuild every document with ``rebuild(record, original)``; yields each one done,
    and reports each batch's passages encoded to ``progress``."""
    catalog = Catalog(data_dir / CATALOG_FILE)
    records = catalog.documents()
    catalog.close()
    originals = Originals(data_dir / ORIGINALS_DIR)
    missing = [r for r in records if not originals.path(r.sha256).exists()]
    if missing:
        names = ", ".join(f"{r.id} ({r.filename})" for r in missing[:10])
        raise KoshqonError(
            f"{len(missing)} documents have no stored original (added before originals were "
            f"kept): {names}. Ingest them again into a new data directory instead."
        )
    work = data_dir / WORK_DIR
    shutil.rmtree(work, ignore_errors=True)
    store = Store(work, embedder)
    for start in range(0, len(records), BATCH):
        batch = records[start : start + BATCH]
        store.restore(batch, [rebuild(r, originals.get(r.sha256)) for r in batch], progress)
        yield from batch
    store.snapshot()  # the indexes, saved for the new catalog
    store.close()
    for leftover in (f"{CATALOG_FILE}-wal", f"{CATALOG_FILE}-shm"):
        (data_dir / leftover).unlink(missing_ok=True)
    # a crash between these steps leaves a catalog whose indexes are rebuilt when opened
    os.replace(work / CATALOG_FILE, data_dir / CATALOG_FILE)
    shutil.rmtree(data_dir / INDEX_DIR, ignore_errors=True)
    os.replace(work / INDEX_DIR, data_dir / INDEX_DIR)
    shutil.rmtree(work)
