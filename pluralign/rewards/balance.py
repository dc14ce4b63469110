"""Stated balance (docs/design.md §7): does a summary claim that the opinion groups are equally large?

A false-balance summary and an honest one often give each group about the same room (a paragraph
per camp); what differs is what they say of *how many*: "Most ... A smaller group ..." against
"the room split evenly between three camps" (benchmarks/DECISIONS.md 23). Attribution cannot see
that, so the `balance` guard reads the claim itself:

- `BalanceReader`: P(a sentence states or implies that the groups are about equally large), a
  logistic regression over character 3-5-grams (tf-idf, sublinear tf, within word boundaries),
  the same for every backend: frozen sentence embeddings hardly move between "a smaller group"
  and "an equally large group" (DECISIONS 23). Shipped as `heads/balance-claims.npz` (no pickle:
  the n-grams, their idf, the weights and a JSON `meta` with how it was fitted); its version
  (`balance-claims.v<FORMAT>+<sha1 of the arrays, 8 hex>`) goes into every pluralism signature.
- `stated_deficit(s)` = DM(s, uniform) / (1 - 1/k): how wrong the claim "each of the k groups is
  1/k" is for the real shares s, 0 when they are equal, 1 when one group is everyone.
- `balance_guard(p, s)` = 1 - clip(2p - 1, 0, 1) x stated_deficit(s), p the summary's most
  claim-like sentence: a summary that only hints at balance (p near 0.5) loses little.

`pluralign fit balance` refits the reader (`fit_balance_reader`) from `data/balance_claims/`
(sentences written for it in en/fr/de) and DeliberationBank's summaries (real text that claims no
balance), with whole topics held out for the figures it records.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from pluralign.errors import UsageError
from pluralign.rewards.backends import LRU

FORMAT = 1
NGRAMS = (3, 5)  # character n-gram sizes, within word boundaries (scikit-learn's "char_wb")
_SPACES = re.compile(r"\s\s+")


def shipped_path() -> Path:
    return Path(str(resources.files("pluralign.rewards") / "heads" / "balance-claims.npz"))


def char_ngrams(text: str, sizes: tuple[int, int] = NGRAMS) -> list[str]:
    """scikit-learn's `char_wb` analyzer, lower-cased: each word padded with a space on both sides, its
    n-grams for n in `sizes`; a word no longer than n gives itself once. Tests check it against sklearn."""
    grams = []
    for word in _SPACES.sub(" ", text.lower()).split():
        word = f" {word} "
        for n in range(sizes[0], sizes[1] + 1):
            grams.extend(word[i:i + n] for i in range(max(len(word) - n + 1, 1)))
            if len(word) <= n:  # the whole word was this n's only gram: larger n give nothing new
                break
    return grams


def stated_deficit(shares) -> float:
    """DM(s, uniform) / (1 - 1/k): the deficit mass between the real group shares and the equal
    shares a balance claim asserts, scaled to [0, 1]; 0 with fewer than two groups."""
    s = np.asarray(shares, dtype=float)
    k = len(s)
    if k < 2 or s.sum() <= 0:
        return 0.0
    s = s / s.sum()
    return float(np.maximum(0.0, s - 1.0 / k).sum() / (1.0 - 1.0 / k))


def balance_guard(claim: float, shares) -> float:
    """1 - clip(2 claim - 1, 0, 1) x stated_deficit(shares)."""
    return 1.0 - float(np.clip(2.0 * claim - 1.0, 0.0, 1.0)) * stated_deficit(shares)


@dataclass(frozen=True)
class BalanceReader:
    """P(claims equal group sizes) of sentences: sublinear tf x idf, L2-normalised, dot weights."""

    column: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: float
    meta: dict
    version: str
    # Sentences already read (an eval re-scores the same outputs; a GRPO step rarely repeats one).
    cache: LRU = field(default_factory=lambda: LRU(65536), compare=False, repr=False)

    @classmethod
    def from_arrays(cls, ngrams, idf, coef, intercept: float, meta: dict) -> BalanceReader:
        ngrams = [str(g) for g in ngrams]
        idf, coef = np.asarray(idf, dtype=np.float32), np.asarray(coef, dtype=np.float32)
        digest = hashlib.sha1("\n".join(ngrams).encode())
        for array in (idf, coef, np.asarray([intercept], dtype=np.float32)):
            digest.update(np.ascontiguousarray(array).tobytes())
        return cls({g: j for j, g in enumerate(ngrams)}, idf, coef, float(intercept), meta,
                   f"balance-claims.v{FORMAT}+{digest.hexdigest()[:8]}")

    @classmethod
    def from_file(cls, path: str | Path) -> BalanceReader:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT:
                    raise UsageError(f"{path}: balance reader format {meta.get('format')!r}; this pluralign reads "
                                     f"{FORMAT}: refit it (pluralign fit balance --out {path})")
                return cls.from_arrays(data["ngrams"], data["idf"], data["coef"], float(data["intercept"]), meta)
        except (OSError, KeyError, ValueError) as error:
            raise UsageError(f"{path}: not a balance reader (.npz with ngrams, idf, coef, intercept, meta): {error}; "
                             "write one with `pluralign fit balance --out FILE`") from None

    def save(self, path: str | Path) -> None:
        ngrams = sorted(self.column, key=self.column.get)
        np.savez_compressed(path, ngrams=np.array(ngrams, dtype=str), idf=self.idf, coef=self.coef,
                            intercept=np.float32(self.intercept), meta=json.dumps(self.meta, sort_keys=True))

    def logit(self, text: str) -> float:
        counts = Counter(j for g in char_ngrams(text) if (j := self.column.get(g)) is not None)
        if not counts:
            return self.intercept
        columns = np.fromiter(counts, dtype=int, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))
        x = tf * self.idf[columns]
        return float(x @ self.coef[columns] / math.sqrt(float(x @ x)) + self.intercept)

    def probability(self, sentences: list[str]) -> np.ndarray:
        out = np.empty(len(sentences))
        for i, sentence in enumerate(sentences):
            p = self.cache.get(sentence)
            if p is None:
                p = 1.0 / (1.0 + math.exp(-self.logit(sentence)))
                self.cache.put(sentence, p)
            out[i] = p
        return out


@lru_cache(maxsize=1)
def shipped_reader() -> BalanceReader:
    path = shipped_path()
    if not path.is_file():
        raise UsageError(f"{path} is missing: reinstall pluralign, or refit it with `pluralign fit balance`")
    return BalanceReader.from_file(path)
