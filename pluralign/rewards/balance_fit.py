"""Fit the balance reader (`pluralign.rewards.balance`): `pluralign fit balance`.

    pluralign fit balance [--data data/balance_claims] [--bank data/deliberationbank] [--out FILE] [--C 3]

Rows:
- every `*.jsonl` of `--data` (default `data/balance_claims/` of this checkout): sentences written
  for it in en/fr/de, `label` 1 when the sentence claims the opinion groups are about equally large;
- every sentence of DeliberationBank's summaries, `label` 0: real summaries, which claim no balance
  (without them almost every real summary reads as a claim: benchmarks/DECISIONS.md 23).
Weights: DeliberationBank's sentences together weigh as much as the English written negatives, and
each other language's written negatives as much as all English negatives, written and real, so that
French and German sentences do not start closer to a claim for lack of real negatives (benchmarks/
DECISIONS.md 27; before it, they weighed half that and the reader marked 7 of 91 honest summaries
down, all French or German, against 1 since).
Figures (in the file's `meta`): with whole topics held out (5 folds; a topic is one language's
debate), AUC and the share of claims read as claims (P > 0.5) on the written sentences, the share
of other written sentences read as claims, and the share of DeliberationBank summaries with a
sentence read as a claim. Then the reader is fitted on every row and written.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from pluralign.data.deliberationbank import load_bank
from pluralign.data.jsonl import read_jsonl
from pluralign.data.schema import DataError
from pluralign.eval.mqm import group_folds
from pluralign.log import get_logger
from pluralign.rewards.balance import FORMAT, NGRAMS, BalanceReader, shipped_path
from pluralign.rewards.text import split_sentences

C, MIN_DF, FOLDS = 3.0, 2, 5
FIELDS = ("text", "language", "topic", "label")
log = get_logger(__name__)


def default_folder() -> Path:
    """`data/balance_claims` of the checkout this package runs from (an installed wheel has none)."""
    return Path(__file__).resolve().parents[2] / "data" / "balance_claims"


def written_rows(folder: str | Path | None = None) -> tuple[list[dict], str]:
    """The written sentences of every *.jsonl in `folder`, checked, and the sha256 of the files."""
    folder = Path(folder) if folder else default_folder()
    paths = sorted(folder.glob("*.jsonl"))
    if not paths:
        raise DataError(folder, None, "<folder>", "no *.jsonl here: give the balance-claims folder of a pluralign "
                        "checkout (data/balance_claims)")
    rows, digest = [], hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
        for lineno, row in read_jsonl(path):
            if not isinstance(row, dict):
                raise DataError(path, lineno, "<line>", "not a JSON object")
            for field in FIELDS:
                if field not in row:
                    raise DataError(path, lineno, field, f"missing; every row needs {', '.join(FIELDS)}")
            if row["label"] not in (0, 1):
                raise DataError(path, lineno, "label", f"{row['label']!r}: 1 if the sentence claims the groups are "
                                "about equally large, else 0")
            if not isinstance(row["text"], str) or not row["text"].strip():
                raise DataError(path, lineno, "text", "empty; one sentence per row")
            rows.append(row)
    return rows, digest.hexdigest()


def bank_rows(bank_folder: str | Path | None = None) -> tuple[list[dict], str]:
    """Every sentence of DeliberationBank's summaries, label 0; `summary` numbers its summary."""
    bank = load_bank(bank_folder)
    summaries = sorted({(j["topic"], text) for j in bank.judgments for text in (j["a"], j["b"])})
    rows = [{"text": s, "language": "en", "topic": f"deliberationbank:{topic}", "label": 0, "summary": n}
            for n, (topic, summary) in enumerate(summaries) for s in split_sentences(summary)]
    return rows, bank.sha256


def prior_weights(rows: list[dict]) -> np.ndarray:
    """Real sentences together weigh as much as the English written negatives; each other language's
    written negatives together weigh as much as all English negatives, written and real, so that no language's
    sentences start closer to a claim than English ones (benchmarks/DECISIONS.md 27)."""
    language = np.array([r["language"] for r in rows])
    negative = np.array([r["label"] == 0 for r in rows])
    real = np.array(["summary" in r for r in rows])
    weight = np.ones(len(rows))
    if real.any():
        weight[real] = ((~real) & (language == "en") & negative).sum() / real.sum()
    english = weight[(language == "en") & negative].sum()
    for lang in set(language[~real]) - {"en"}:
        chosen = (language == lang) & negative & ~real
        if chosen.any() and english:
            weight[chosen] = english / chosen.sum()
    return weight


def topic(row: dict) -> tuple[str, str]:
    """What a fold holds out whole: one language's debate."""
    return row["language"], row["topic"]


def _fit(texts: list[str], y: np.ndarray, weight: np.ndarray, C: float) -> BalanceReader:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, min_df=MIN_DF, sublinear_tf=True)
    X = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=C, max_iter=5000).fit(X, y, sample_weight=weight)
    return BalanceReader.from_arrays(vectorizer.get_feature_names_out(), vectorizer.idf_, model.coef_[0],
                                     float(model.intercept_[0]), {})


def held_out_figures(rows: list[dict], C: float) -> dict:
    """Each row read by a reader fitted without its topic."""
    from sklearn.metrics import roc_auc_score

    texts, y = [r["text"] for r in rows], np.array([r["label"] for r in rows])
    weight = prior_weights(rows)
    p = np.zeros(len(rows))
    for test in group_folds(rows, FOLDS, key=topic):
        train = np.setdiff1d(np.arange(len(rows)), test)
        reader = _fit([texts[i] for i in train], y[train], weight[train], C)
        p[test] = reader.probability([texts[i] for i in test])
    written = np.array(["summary" not in r for r in rows])
    best: dict[int, float] = {}
    for row, value in zip(rows, p, strict=True):
        if "summary" in row:
            best[row["summary"]] = max(best.get(row["summary"], 0.0), float(value))
    by_language = {}
    for lang in sorted({r["language"] for r in rows if "summary" not in r}):
        chosen = written & np.array([r["language"] == lang for r in rows])
        by_language[lang] = {"claims_read": round(float((p[chosen & (y == 1)] > 0.5).mean()), 4),
                             "others_read": round(float((p[chosen & (y == 0)] > 0.5).mean()), 4)}
    return {
        "folds": FOLDS, "auc": round(float(roc_auc_score(y[written], p[written])), 4),
        "claims_read": round(float((p[written & (y == 1)] > 0.5).mean()), 4),
        "others_read": round(float((p[written & (y == 0)] > 0.5).mean()), 4),
        "bank_summaries_read": round(float(np.mean([v > 0.5 for v in best.values()])), 4) if best else None,
        "by_language": by_language,
    }


def fit_balance_reader(data: str | Path | None = None, bank: str | Path | None = None, out: str | Path | None = None,
                       C: float = C) -> tuple[Path, BalanceReader]:
    written, written_sha = written_rows(data)
    real, bank_sha = bank_rows(bank)
    seen = {r["text"] for r in written}
    rows = written + [r for r in real if r["text"] not in seen]
    log.info("balance reader: %d written sentences (%d claims), %d DeliberationBank sentences; %d folds by topic",
             len(written), sum(r["label"] for r in written), len(rows) - len(written), FOLDS)
    figures = held_out_figures(rows, C)
    reader = _fit([r["text"] for r in rows], np.array([r["label"] for r in rows]), prior_weights(rows), C)
    meta = {"format": FORMAT, "ngrams": list(NGRAMS), "min_df": MIN_DF, "C": C, "held_out": figures,
            "data": {"written_sha256": written_sha, "deliberationbank_sha256": bank_sha,
                     "written": len(written), "written_claims": sum(r["label"] for r in written),
                     "deliberationbank_sentences": len(rows) - len(written)}}
    reader = replace(reader, meta=meta)  # the version hashes the weights only
    path = Path(out) if out else shipped_path()
    reader.save(path)
    return path, reader
