"""Bundles of prepared documents with their passages' vectors: a machine with a GPU reads and
encodes files (``koshqon encode``), a CPU server imports them (``koshqon import``) without
running the encoder, the costliest step of ingestion (docs/scale.md).

A bundle is one zip file:

    manifest.json       format, model id, vector dimension, number of parts
    parts/NNNNN.jsonl   one prepared document per line: text, pages, passages, metadata
    parts/NNNNN.npy     float32 vectors of that part's passages, in order
    originals/SHA256    each document's file as given (the store keeps it)

Parts hold about ``PART_PASSAGES`` passages, so neither side holds a whole collection in
memory, and the import commits part by part. A bundle is read as untrusted input: sizes are
bounded before anything is decompressed, every document's fields are checked for type, every
original must match its checksum, every passage must be the exact span of its document's
text that its offsets say, and every vector must be finite and of unit length.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter, ValidationError

from ingest.errors import KoshqonError, ModelMismatch
from ingest.models import PreparedDocument

FORMAT = "koshqon-bundle/1"
PART_PASSAGES = 5_000
MAX_MEMBER_BYTES = 1 << 30  # no member of a bundle decompresses to more than 1 GiB
DOCUMENT = TypeAdapter(PreparedDocument)


class BadBundle(KoshqonError):
    title = "Unreadable bundle"


class BundleWriter:
    """Writes a bundle part by part; the file appears under its name only when complete."""

    def __init__(self, path: Path, model_id: str, dim: int):
        self.path, self.model_id, self.dim = path, model_id, dim
        self._partial = path.with_name(path.name + ".partial")
        self._zip = zipfile.ZipFile(self._partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._documents: list[PreparedDocument] = []
        self._vectors: list[np.ndarray] = []
        self._parts = 0

    def add(self, document: PreparedDocument, vectors: np.ndarray) -> None:
        if vectors.shape != (len(document.chunks), self.dim):
            raise ValueError(f"{vectors.shape} vectors for {len(document.chunks)} passages")
        self._zip.writestr(f"originals/{document.sha256}", document.original)
        self._documents.append(document)
        self._vectors.append(np.asarray(vectors, dtype=np.float32))
        if sum(len(v) for v in self._vectors) >= PART_PASSAGES:
            self._flush()

    def _flush(self) -> None:
        if not self._documents:
            return
        name = f"parts/{self._parts:05d}"
        lines = (json.dumps(_fields(d), ensure_ascii=False) for d in self._documents)
        self._zip.writestr(f"{name}.jsonl", "\n".join(lines))
        buffer = io.BytesIO()
        np.save(buffer, np.concatenate(self._vectors), allow_pickle=False)
        self._zip.writestr(f"{name}.npy", buffer.getvalue())
        self._documents, self._vectors = [], []
        self._parts += 1

    def close(self) -> None:
        self._flush()
        manifest = {"format": FORMAT, "model_id": self.model_id, "dim": self.dim}
        self._zip.writestr("manifest.json", json.dumps({**manifest, "parts": self._parts}))
        self._zip.close()
        os.replace(self._partial, self.path)

    def abandon(self) -> None:
        self._zip.close()
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.abandon() if kind else self.close()


def _fields(document: PreparedDocument) -> dict:
    fields = dataclasses.asdict(document)
    del fields["original"]  # stored as a member of its own
    return fields


def read_bundle(
    path: Path, model_id: str, dim: int
) -> Iterator[tuple[list[PreparedDocument], np.ndarray]]:
    """Each part's documents (originals included) and their passages' vectors, checked."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BadBundle(f"{path}: not a bundle ({error})") from error
    with archive:
        manifest = json.loads(_member(archive, path, "manifest.json"))
        if manifest.get("format") != FORMAT:
            raise BadBundle(f"{path}: format {manifest.get('format')!r}, expected {FORMAT}")
        if (manifest.get("model_id"), manifest.get("dim")) != (model_id, dim):
            raise ModelMismatch(
                f"{path} was encoded with the model '{manifest.get('model_id')}' (dimension "
                f"{manifest.get('dim')}), but this collection uses '{model_id}' (dimension "
                f"{dim}): encode it again with KOSHQON_MODEL={model_id}"
            )
        for part in range(int(manifest.get("parts", 0))):
            name = f"parts/{part:05d}"
            lines = _member(archive, path, f"{name}.jsonl").decode().splitlines()
            documents = [_document(archive, path, name, line) for line in lines]
            vectors = _vectors(path, name, _member(archive, path, f"{name}.npy"), dim)
            passages = sum(len(d.chunks) for d in documents)
            if len(vectors) != passages:
                raise BadBundle(
                    f"{path}: {name} has {len(vectors)} vectors for {passages} passages"
                )
            yield documents, vectors


def _member(archive: zipfile.ZipFile, path: Path, name: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise BadBundle(f"{path}: {name} is missing") from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise BadBundle(f"{path}: {name} would decompress to {info.file_size} bytes")
    try:
        return archive.read(info)  # stops at the declared size, checks the CRC
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise BadBundle(f"{path}: {name} is damaged ({error})") from error


def _document(archive: zipfile.ZipFile, path: Path, part: str, line: str) -> PreparedDocument:
    try:
        document = DOCUMENT.validate_json(line, strict=True)  # every field of its own type
    except ValidationError as error:
        raise BadBundle(f"{path}: {part} holds a malformed document ({error})") from error
    name = f"{path}: {part}: {document.filename}"
    original = _member(archive, path, f"originals/{document.sha256}")
    if hashlib.sha256(original).hexdigest() != document.sha256:
        raise BadBundle(f"{name}: the original does not match its checksum")
    for chunk in document.chunks:
        if document.text[chunk.char_start : chunk.char_end] != chunk.text:
            raise BadBundle(f"{name}: passage {chunk.ordinal} is not the text at its offsets")
    return dataclasses.replace(document, original=original)


def _vectors(path: Path, part: str, data: bytes, dim: int) -> np.ndarray:
    try:
        vectors = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        raise BadBundle(f"{path}: {part}.npy is not a vector array ({error})") from error
    if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[1] != dim:
        raise BadBundle(f"{path}: {part}.npy holds {vectors.dtype} {vectors.shape}, not (n, {dim})")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.isfinite(vectors).all() or not np.allclose(norms, 1.0, atol=1e-3):
        raise BadBundle(f"{path}: {part}.npy holds vectors that are not finite unit vectors")
    return vectors
