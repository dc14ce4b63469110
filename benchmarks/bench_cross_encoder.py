"""Leave-one-topic-out agreement of the fine-tuned cross-encoder with people (DeliberationBank).

Runs the shipped recipe `judge/representation-cross-encoder` once per topic, with that topic held
out (`data.holdout_topic`), and reads each run's held-out Pearson, Spearman and pairwise accuracy
from its `pluralign.json`. On a CPU the recipe's full budget (2 epochs over ~1,800 annotations at
256 tokens) is hours per fold, so by default this runs a reduced budget, said in the section:
`--limit` annotations, `--epochs`, `--max-length`. On a GPU pass the recipe's own settings
(`--limit 0 --epochs 2 --max-length 256`) and any Hub encoder with `--model`.

    python benchmarks/bench_cross_encoder.py [--model all-MiniLM-L6-v2] [--limit 600] [--epochs 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from results import write_section  # noqa: E402

from pluralign.data.deliberationbank import SHORT, load_bank  # noqa: E402
from pluralign.train.cross_encoder import load_cross_recipe, train_cross_encoder  # noqa: E402

RECIPE = "judge/representation-cross-encoder"


def run_fold(topic: str, args: argparse.Namespace, out: Path) -> dict:
    overrides = [f"model.name_or_path={args.model}", f"data.holdout_topic={topic}", f"output_dir={out / topic}",
                 f"training.num_train_epochs={args.epochs}", f"max_length={args.max_length}", "training.logging_steps=1000"]
    if args.limit:
        overrides.append(f"data.limit={args.limit}")
    return train_cross_encoder(load_cross_recipe(RECIPE, overrides))["holdout"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--limit", type=int, default=600, help="training annotations per fold (0: all)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-length", type=int, default=192)
    args = parser.parse_args()
    bank = load_bank()
    held, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for topic in bank.topics:
            start = time.perf_counter()
            held[topic] = run_fold(topic, args, Path(tmp))
            seconds[topic] = time.perf_counter() - start
            print(topic, json.dumps(held[topic]), f"{seconds[topic]:.0f}s", flush=True)
    cells = " | ".join(f"{held[t]['pearson']:.3f} / {held[t]['spearman']:.3f} / {held[t]['pair_acc']:.3f}" for t in bank.topics)
    budget = (f"{args.limit or 'all'} training annotations (A and B: twice as many sequences), {args.epochs:g} epoch(s), "
              f"{args.max_length} tokens")
    markdown = (
        f"The recipe `{RECIPE}` fine-tuned once per left-out topic from `{args.model}` "
        f"(data sha256 {bank.sha256[:12]}), scored on the topic it did not see. Budget: {budget}"
        + (" — reduced from the recipe's 2 epochs over every annotation at 256 tokens, which is hours per fold on 2 CPU "
           "cores; a GPU run with the recipe's settings (and an mDeBERTa) is what the recipe is for."
           if (args.limit or args.epochs < 2 or args.max_length < 256) else ".")
        + " r and ρ against the annotator's own rating, acc = pairwise accuracy on their A/B choices.\n\n"
        + "| model | " + " | ".join(f"{SHORT.get(t, t)} r / ρ / acc" for t in bank.topics)
        + " | mean r | mean acc | worst r | worst acc |\n|" + "---|" * (len(bank.topics) + 5) + "\n"
        + f"| cross-encoder `{args.model}` | {cells} | {sum(h['pearson'] for h in held.values()) / len(held):.3f} | "
        + f"{sum(h['pair_acc'] for h in held.values()) / len(held):.3f} | {min(h['pearson'] for h in held.values()):.3f} | "
        + f"{min(h['pair_acc'] for h in held.values()):.3f} |\n\n"
        + "Seconds per fold (training and scoring): " + ", ".join(f"{SHORT.get(t, t)} {s:.0f}" for t, s in seconds.items()) + "."
    )
    write_section("Representation vs people: cross-encoder (leave-one-topic-out)", markdown)


if __name__ == "__main__":
    main()
