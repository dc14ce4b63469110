"""Does a score order translations of one source the way experts do? (MQM, docs/design.md §5)

Candidates are rows {group (the source), doc (the news story), mqm (meaning-error points, lower is
better), reference (the human translation)} with a score each (`pluralign.data.fidelity_data.mqm_rows`).
- **pairwise accuracy** over candidate pairs of one source whose MQM differ: the better-judged one
  must score higher; a tie in score (|difference| < TIE) counts half (WMT's accuracy with ties);
- the share of those pairs the score **ties**;
- the mean score of **error-free** (mqm 0) vs erroneous candidates, and of the **reference** vs
  machine translations (a score that marks human references down reads style as error);
- a 95% interval for pairwise accuracy by a bootstrap over documents.
Learned scores are judged out of fold: `group_folds` keeps each document in one fold.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

TIE = 1e-6


def pair_credit(groups, mqm, scores) -> tuple[float, int, int, dict]:
    """(credit, pairs, ties, {group: (credit, pairs)}) over pairs of one group whose mqm differ."""
    by_group = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    total = n = ties = 0
    per = {}
    for g, idx in by_group.items():
        credit = k = 0.0
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                i, j = idx[a], idx[b]
                if mqm[i] == mqm[j]:
                    continue
                k += 1
                diff = scores[i] - scores[j]
                if abs(diff) < TIE:
                    credit += 0.5
                    ties += 1
                elif (diff > 0) == (mqm[i] < mqm[j]):
                    credit += 1
        per[g] = (credit, k)
        total, n = total + credit, n + k
    return total, int(n), ties, per


def pairwise_accuracy(groups, mqm, scores) -> float:
    credit, n, _, _ = pair_credit(groups, mqm, scores)
    return credit / max(1, n)


def mqm_metrics(rows: list[dict], scores, n_boot: int = 1000, seed: int = 0) -> dict:
    scores = np.asarray(scores, dtype=float)
    groups = [r["group"] for r in rows]
    mqm = np.array([r["mqm"] for r in rows], dtype=float)
    credit, n, ties, per = pair_credit(groups, mqm, scores)
    doc_of = {r["group"]: r["doc"] for r in rows}
    docs = sorted(set(doc_of.values()))
    by_doc = {d: np.zeros(2) for d in docs}
    for g, (c, k) in per.items():
        by_doc[doc_of[g]] += (c, k)
    table = np.array([by_doc[d] for d in docs])
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        pick = table[rng.integers(0, len(docs), len(docs))].sum(axis=0)
        boots.append(pick[0] / max(1.0, pick[1]))
    free = mqm == 0
    ref = np.array([bool(r["reference"]) for r in rows])
    return {
        "pairwise_acc": credit / max(1, n), "ci95": (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))),
        "pairs": n, "tied_share": ties / max(1, n),
        "mean_error_free": float(scores[free].mean()), "mean_erroneous": float(scores[~free].mean()),
        "mean_reference": float(scores[ref].mean()) if ref.any() else None,
        "mean_machine": float(scores[~ref].mean()),
    }


def group_folds(rows: list[dict], k: int = 5, seed: int = 0, key=lambda r: r["doc"]) -> list[np.ndarray]:
    """k folds of row indices, whole groups per fold (shuffled by seed); a group is `key(row)`, by default
    the row's document."""
    docs = sorted({key(r) for r in rows})
    order = np.random.default_rng(seed).permutation(len(docs))
    fold_of = {docs[d]: i % k for i, d in enumerate(order)}
    return [np.array([i for i, r in enumerate(rows) if fold_of[key(r)] == f], dtype=int) for f in range(k)]
