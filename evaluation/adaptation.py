"""Adapt multilingual-e5-small to Kazakhstan's laws: a small LoRA adapter trained on the
article-aligned Kazakh/Russian pairs of a few laws that no scored setting uses.

    .venv/bin/python -m evaluation.adaptation --out index/adapters/kk-ru-law.safetensors

Each batch holds articles of one law, so the other articles of the same law are the hard
negatives. A title in either language must find its article's body in either language, and
the Kazakh and Russian texts of an article must find each other. The run is seeded and takes
about fifteen minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

from .tasks import TRAINING_LAWS, _body, _usable, article_pairs

RANK, ALPHA = 8, 16
TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")


def training_pairs(corpora: Path) -> list[dict]:
    return [p for p in article_pairs(corpora)[0] if _usable(p)]


def batches(pairs: list[dict], size: int, rng: random.Random) -> list[list[dict]]:
    """Batches of articles from one law each, in a shuffled order."""
    by_law: dict[str, list[dict]] = {}
    for p in pairs:
        by_law.setdefault(p["law"], []).append(p)
    out = []
    for articles in by_law.values():
        rng.shuffle(articles)
        out += [
            articles[i : i + size] for i in range(0, len(articles), size) if i + 4 <= len(articles)
        ]
    rng.shuffle(out)
    return out


def add_lora(model, torch):
    """Wrap the targeted linear layers: W x + (alpha/r) B A x, with B starting at zero."""

    class LoRALinear(torch.nn.Module):
        def __init__(self, base):
            super().__init__()
            self.base = base
            self.a = torch.nn.Parameter(torch.empty(RANK, base.in_features))
            self.b = torch.nn.Parameter(torch.zeros(base.out_features, RANK))
            torch.nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))

        def forward(self, x):
            return self.base(x) + (x @ self.a.T @ self.b.T) * (ALPHA / RANK)

    for p in model.parameters():
        p.requires_grad = False
    adapted = {}
    for name, module in list(model.named_modules()):
        for attr, child in list(module.named_children()):
            full = f"{name}.{attr}" if name else attr
            if isinstance(child, torch.nn.Linear) and full.endswith(TARGETS):
                wrapped = LoRALinear(child)
                setattr(module, attr, wrapped)
                adapted[full] = wrapped
    return adapted


def train(
    model_dir: Path,
    corpora: Path,
    out: Path,
    epochs: int,
    batch: int,
    lr: float,
    temperature: float,
    max_tokens: int,
    seed: int,
) -> dict:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32)
    adapted = add_lora(model, torch)
    params = [p for m in adapted.values() for p in (m.a, m.b)]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    pairs = training_pairs(corpora)
    plan = [batches(pairs, batch, rng) for _ in range(epochs)]
    total = sum(len(p) for p in plan)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / (0.1 * total)) * max(0.0, 1 - step / total)
    )

    def encode(texts: list[str], prefix: str):
        tokens = tokenizer(
            [prefix + t for t in texts],
            truncation=True,
            max_length=max_tokens,
            padding=True,
            return_tensors="pt",
        )
        hidden = model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def contrast(q, p):
        labels = torch.arange(len(q))
        return torch.nn.functional.cross_entropy(q @ p.T / temperature, labels)

    model.train()
    step, losses, started = 0, [], time.time()
    for epoch in plan:
        for articles in epoch:
            titles = {
                lang: encode([a[f"{lang}_title"].strip() for a in articles], "query: ")
                for lang in ("kk", "ru")
            }
            bodies = {
                lang: encode([_body(a[lang]) for a in articles], "passage: ")
                for lang in ("kk", "ru")
            }
            loss = sum(contrast(titles[q], bodies[p]) for q in titles for p in bodies) / 4
            loss = (
                loss
                + (contrast(bodies["kk"], bodies["ru"]) + contrast(bodies["ru"], bodies["kk"])) / 2
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            losses.append(float(loss))
            if step % 10 == 0 or step == total:
                recent = sum(losses[-10:]) / len(losses[-10:])
                print(
                    f"step {step}/{total} loss {recent:.3f} {time.time() - started:.0f}s",
                    flush=True,
                )
    tensors = {}
    for name, m in adapted.items():
        tensors[f"{name}.lora_a"] = m.a.detach().contiguous()
        tensors[f"{name}.lora_b"] = (m.b.detach() * (ALPHA / RANK)).contiguous()
    meta = {
        "base": "multilingual-e5-small",
        "rank": str(RANK),
        "seed": str(seed),
        "epochs": str(epochs),
        "batch": str(batch),
        "lr": str(lr),
        "temperature": str(temperature),
        "max_tokens": str(max_tokens),
        "training_laws": json.dumps(sorted(TRAINING_LAWS)),
        "articles": str(len(pairs)),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata=meta)
    return {
        "steps": total,
        "seconds": round(time.time() - started),
        "articles": len(pairs),
        "last_loss": round(sum(losses[-10:]) / len(losses[-10:]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--temperature", type=float, default=0.05)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    model_dir = args.model_dir
    if model_dir is None:
        from index.model_build import BASE_MODEL_ID, ensure_built_in_model
        from service.config import Settings

        model_dir = ensure_built_in_model(Settings().model_cache, BASE_MODEL_ID)
    print(
        train(
            model_dir,
            args.corpora,
            args.out,
            args.epochs,
            args.batch,
            args.lr,
            args.temperature,
            args.max_tokens,
            args.seed,
        )
    )


if __name__ == "__main__":
    main()
