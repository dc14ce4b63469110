"""The representation score read by a fine-tuned cross-encoder (`cross:<folder>` backends).

The model (`pluralign fit cross-encoder`, `pluralign/train/cross_encoder.py`) reads the pair
(question + opinion, text) as one sequence, so it can see what frozen sentence embeddings miss
(negation, who holds which view); it was trained on standardised 1-5 ratings and A/B choices, so its
raw output is a rating-like score, mapped to [0, 1] by a sigmoid. It has no separate person terms:
`output` (full or content-only) is accepted for the common interface and recorded, not applied.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pluralign.rewards.text import split_sentences
from pluralign.signature import make_signature


def first_text(question: str, opinion: str) -> str:
    """The first sequence of a pair: what the person was asked and what they answered."""
    return f"{question}\n{opinion}"


class CrossRepresentationScorer:
    """`score(rows, comments=None)`: one float in [0, 1] per `{"question", "opinion", "summary"}` row."""

    def __init__(self, backend, output: str = "full"):
        self.backend, self.output = backend, output
        self.signature = make_signature(scorer="representation", backend=backend.spec, model=backend.sha256[:12])

    def score(self, rows: Sequence[dict], comments=None) -> list[float]:
        raw = self.backend.score_pairs([first_text(r["question"], r["opinion"]) for r in rows], [r["summary"] for r in rows])
        empty = np.array([not split_sentences(r["summary"]) for r in rows], dtype=bool)
        return [0.0 if e else float(1 / (1 + np.exp(-v))) for v, e in zip(raw, empty, strict=True)]
