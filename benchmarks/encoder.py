"""The built-in model's runtimes side by side on this machine: torch in float32 against ONNX
Runtime with int8 weights (index/onnx_encoder.py). Passages per second on real passages of
the project's own chunking, the median time to encode one query, and how close the vectors
are (docs/scale.md).

    .venv/bin/python -m benchmarks.encoder [--passages 320]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.scale import base_documents, queries
from index.embedder import load_embedder
from index.store import passage_for_embedding
from service.config import Settings
from service.core import Koshqon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=320)
    parser.add_argument("--data-dir", default="/tmp/koshqon-encoder-bench")
    arguments = parser.parse_args()
    settings = Settings(data_dir=arguments.data_dir)
    koshqon = Koshqon(settings)
    documents = base_documents(koshqon)
    texts = [passage_for_embedding(c.text, c.heading) for d in documents for c in d.chunks]
    texts = texts[:: max(1, len(texts) // arguments.passages)][: arguments.passages]
    asked = [text for _, text in queries()]
    tokens = koshqon.embedder.count_tokens(texts)
    median = statistics.median(tokens)
    print(f"{len(texts)} passages, median {median:.0f} tokens; {len(asked)} queries")
    vectors = {}
    for encoder in ("torch", "onnx-int8"):
        embedder = load_embedder(settings.model, settings.model_cache, encoder)
        embedder.embed(texts[:8], "passage")  # warm-up
        started = time.perf_counter()
        vectors[encoder] = embedder.embed(texts, "passage")
        rate = len(texts) / (time.perf_counter() - started)
        times = []
        for text in asked:
            started = time.perf_counter()
            embedder.embed([text], "query")
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"{encoder}: {rate:.1f} passages/s, one query median {statistics.median(times):.1f} ms"
        )
    cosines = np.sum(vectors["torch"] * vectors["onnx-int8"], axis=1)
    print(f"cosine int8 vs float32: median {np.median(cosines):.4f}, min {cosines.min():.4f}")


if __name__ == "__main__":
    main()
