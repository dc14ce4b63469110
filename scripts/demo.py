"""`make demo` (`python scripts/demo.py`): the main job end to end, offline, on a CPU, through the
CLI and recipes a user runs.

1. Data: synthetic debates with a small minority group (`pluralign data synth`), the shipped Polis
   excerpt, and majority-biased target summaries (`pluralign.data.synth.majority_biased_summaries`).
2. SFT a tiny random-initialised Llama on those targets (`pluralign train recipes/demo/sft.yaml`):
   a summariser that mostly leaves the minority out, as LLM summarisers tend to.
3. Benchmark it (`pluralign eval --model ...`): eval-before.
4. GRPO with the pluralism reward (`pluralign train recipes/demo/grpo.yaml`), eval hook to W&B offline.
5. Benchmark again: eval-after.
6. Report: `pluralign eval compare`, the minority figures with CIs, a plot of minority coverage
   over the GRPO steps, and a plain verdict with the diagnostics behind it.
7. Export the checkpoint with its model card (`pluralign export ... --report`).

Every step is printed as the command it runs, so it can be copied; the commands run in this
process (`pluralign.cli.main`). Outputs go to runs/demo/; `--update-docs` also refreshes the
small committed copy in docs/demo/ (tables, reports, plot, model card, console log; no weights).
`--quick` runs every step with a few training steps and few debates, to check the wiring (about 4
minutes; tests/test_demo.py tests the pieces).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pluralign.data.jsonl import read_jsonl, write_jsonl
from pluralign.data.synth import majority_biased_summaries, mentions_minority, smallest_group
from pluralign.tiny import build_tiny_bpe_causal_lm

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path("runs/demo")
DEFAULT_DOCS = Path("docs/demo")
POLIS = Path("data/polis/scoop-hivemind-ubi.jsonl")
RECIPES = Path("recipes/demo")
MINORITY_SHARE = 0.2  # share of SFT targets that mention the smallest group
GROUP_SIZES = "6,2,4"  # supporters, a small opposing minority, conditional supporters


@dataclass
class Plan:
    """How big each step is. The full demo is sized to run in about 15 minutes on 2 CPU cores."""

    n_train: int = 400  # synthetic debates for SFT and GRPO (the eval hook holds 5% out)
    n_eval: int = 24  # unseen debates (another seed) for eval-before/after
    eval_samples: int = 8  # summaries sampled per debate: GRPO's group size, so the spread is its signal
    stress_debates: int = 3
    train_overrides: tuple[str, ...] = ()
    grpo_overrides: tuple[str, ...] = ()

    @classmethod
    def quick(cls) -> Plan:
        return cls(n_train=24, n_eval=3, eval_samples=2, stress_debates=0, train_overrides=(
            "training.max_steps=2", "training.per_device_train_batch_size=4", "eval_hook.every_n_steps=1",
            "eval_hook.n_samples=2", "eval_hook.held_out=0.1", "eval_hook.max_new_tokens=8", "report_to=none"),
            grpo_overrides=("training.num_generations=2", "training.max_completion_length=8"))


# --- running and logging ---------------------------------------------------------------------


class Tee(io.TextIOBase):
    """Writes to the console and keeps a copy for the demo's log."""

    def __init__(self, stream, copy: list[str]):
        self.stream, self.copy = stream, copy

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.copy.append(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False  # progress bars redraw with \r; the log keeps each bar's last state


def log_text(chunks: list[str]) -> str:
    """The captured console, each progress bar reduced to its final state."""
    lines = "".join(chunks).split("\n")
    return "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r") for line in lines)


def run(argv: list[str], own_process: bool = False) -> None:
    """Print a CLI command, run it (in this process, or in its own), stop the demo if it fails."""
    from pluralign.cli import main as cli

    print(f"\n$ pluralign {shlex.join(argv)}", flush=True)
    code = run_process([sys.executable, "-m", "pluralign.cli", *argv]) if own_process else cli(argv)
    if code:
        raise SystemExit(f"demo: `pluralign {shlex.join(argv)}` failed with exit code {code}")


def run_process(command: list[str]) -> int:
    """Run a command, passing its output (stdout and stderr, as it comes) through this one's."""
    import codecs
    import subprocess

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        while chunk := process.stdout.read1(4096):
            sys.stdout.write(decoder.decode(chunk))
            sys.stdout.flush()
    return process.returncode


def heading(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}", flush=True)


def load(path: Path) -> list[dict]:
    return [record for _, record in read_jsonl(path)]


def fmt(ci: dict | None, key: str = "mean") -> str:
    if not ci or ci.get(key) is None:
        return "n/a"
    return f"{ci[key]:.3f} [{ci['ci_low']:.3f}, {ci['ci_high']:.3f}] (n={ci['n']})"


# --- the steps -------------------------------------------------------------------------------


def build_data(out: Path, plan: Plan) -> None:
    heading("1. Data: synthetic debates with a small minority (2 of 12 participants), the Polis excerpt, "
            "majority-biased targets")
    data = out / "data"
    run(["data", "synth", "--out", str(data / "train-debates.jsonl"), "--n-debates", str(plan.n_train),
         "--group-sizes", GROUP_SIZES, "--languages", "en", "--seed", "0"])
    run(["data", "synth", "--out", str(data / "eval-debates.jsonl"), "--n-debates", str(plan.n_eval),
         "--group-sizes", GROUP_SIZES, "--languages", "en", "--seed", "1"])
    run(["data", "stats", str(data / "eval-debates.jsonl")])
    run(["data", "stats", str(POLIS)])

    print(f"\n>>> python: pluralign.data.synth.majority_biased_summaries(train debates, minority_share={MINORITY_SHARE})")
    train = load(data / "train-debates.jsonl")
    targets = majority_biased_summaries(train, minority_share=MINORITY_SHARE)
    write_jsonl(data / "sft-targets.jsonl", targets)
    print(f"wrote {len(targets)} SFT targets to {data / 'sft-targets.jsonl'}: one comment of each majority group; "
          f"the minority's comment in {sum(t['minority'] for t in targets)} of them")
    print(f"example without the minority: {next(t['summary'] for t in targets if not t['minority'])}")
    print(f"example with the minority:    {next((t['summary'] for t in targets if t['minority']), '-')}")

    # Can the reward see the minority at all? Score each eval debate's majority-only target and the
    # same target with the minority's sentence added, through the same scorer the reward uses.
    evals = load(data / "eval-debates.jsonl")
    without = majority_biased_summaries(evals, minority_share=0.0)
    with_minority = majority_biased_summaries(evals, minority_share=1.0)
    write_jsonl(data / "probe-targets.jsonl", [{**t, "variant": "majority only"} for t in without]
                + [{**t, "variant": "with minority"} for t in with_minority])
    print("\nCheck: does the pluralism scorer tell a summary that leaves the minority out from the same "
          "summary with the minority's sentence added?")
    run(["score", "summaries", "--debates", str(data / "eval-debates.jsonl"), "--outputs",
         str(data / "probe-targets.jsonl"), "--out", str(data / "probe-scores.jsonl")])
    probe = {}
    for row in load(data / "probe-scores.jsonl"):
        debate = next(d for d in evals if d["id"] == row["id"])
        minority = smallest_group(debate)
        probe.setdefault(row["variant"], []).append((row["pluralism"], row["metrics"]["group_coverage"][minority]))
    for variant, values in probe.items():
        reward, coverage = np.mean(values, axis=0)
        print(f"  {variant:14s} reward {reward:.3f}   minority group coverage {coverage:.3f}   (n={len(values)})")


def recipe_overrides(out: Path, plan: Plan, step: str) -> list[str]:
    """Overrides for a run outside runs/demo (the recipes' paths) and for --quick."""
    paths = []
    if out != DEFAULT_OUT:
        paths = [f"data.path={out / 'data/train-debates.jsonl'}", f"output_dir={out / step}"]
        if step == "sft":
            paths += [f"sft_targets={out / 'data/sft-targets.jsonl'}", f"model.name_or_path={out / 'base-model'}"]
        else:
            paths.append(f"model.name_or_path={out / 'sft'}")
    return paths + list(plan.train_overrides) + (list(plan.grpo_overrides) if step == "grpo" else [])


def evaluate(out: Path, plan: Plan, model: Path, name: str) -> None:
    sampling = ["--samples", str(plan.eval_samples), "--temperature", "1.0", "--top-p", "1.0", "--max-new-tokens", "64"]
    run(["eval", "--model", str(model), "--debates", str(out / "data/eval-debates.jsonl"), "--out", str(out / name),
         *sampling, "--stress-debates", str(plan.stress_debates), "--seed", "0"])
    run(["eval", "--model", str(model), "--debates", str(POLIS), "--out", str(out / f"{name}-polis"), *sampling,
         "--stress-debates", "0", "--seed", "0"])


def minority_figures(out: Path, name: str) -> dict:
    """What an eval run says about the minority: the report's figures with their CIs, and, from
    its scores.jsonl, the ground-truth mention rate and the spread of rewards within a debate."""
    from pluralign.eval.bootstrap import mean_ci

    report = json.loads((out / name / "report.json").read_text(encoding="utf-8"))
    suite = report["suites"]["summarize"]
    debates = {d["id"]: d for d in load(out / "data/eval-debates.jsonl")}
    minority = smallest_group(next(iter(debates.values())))
    by_debate: dict[str, list[dict]] = {}
    for row in load(out / name / "scores.jsonl"):
        by_debate.setdefault(row["id"], []).append(row)
    # One value per debate (its samples averaged), kept by debate id for the paired before/after difference.
    per_debate = {
        "pluralism": {i: float(np.mean([r["pluralism"] for r in rows])) for i, rows in by_debate.items()},
        "minority_group_coverage": {i: float(np.mean([r["metrics"]["group_coverage"][minority] for r in rows]))
                                    for i, rows in by_debate.items()},
        "minority_mention_rate": {i: float(np.mean([mentions_minority(debates[i], r["summary"]) for r in rows]))
                                  for i, rows in by_debate.items()},
    }
    mention = list(per_debate["minority_mention_rate"].values())
    spread = [np.std([r["pluralism"] for r in rows]) for rows in by_debate.values() if len(rows) > 1]
    # Within a debate, how much more reward do the samples that mention the minority get than the
    # others? This is the advantage GRPO would give minority content, where a group has both.
    gains = []
    for i, rows in by_debate.items():
        marked = [(mentions_minority(debates[i], r["summary"]), r["pluralism"]) for r in rows]
        if len({m for m, _ in marked}) == 2:
            gains.append(np.mean([v for m, v in marked if m]) - np.mean([v for m, v in marked if not m]))
    return {
        "pluralism": suite["metrics"].get("pluralism"),
        "min_group_coverage": suite["metrics"].get("min_group_coverage"),
        "minority_recall": suite["metrics"].get("minority_recall"),
        "minority_group": minority,
        "minority_group_coverage": suite.get("per_group", {}).get(minority, {}).get("coverage"),
        "group_coverage": {g: v["coverage"]["mean"] for g, v in suite.get("per_group", {}).items()},
        "n_sentences": (suite["metrics"].get("n_sentences") or {}).get("mean"),
        "minority_mention_rate": mean_ci(mention, seed=0),
        "reward_std_within_debate": float(np.mean(spread)) if spread else None,
        "debates_with_zero_reward_spread": int(sum(s < 1e-9 for s in spread)),
        "reward_gain_when_minority_mentioned": mean_ci(gains, seed=0),
        "n_debates": len(by_debate),
        "per_debate": per_debate,
    }


def plot_training(out: Path, path: Path) -> list[dict]:
    """Minority coverage at each eval-hook step of GRPO (and the mean reward), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = load(out / "grpo/eval_metrics.jsonl")
    debates = {d["id"]: d for d in load(out / "data/train-debates.jsonl")}
    points = []
    for record in records:
        samples = record.get("samples") or []
        mention = [mentions_minority(debates[s["id"]], s["text"]) for s in samples if s.get("id") in debates]
        points.append({"step": record["step"], "reward": record["metrics"].get("pluralism"),
                       "min_group_coverage": record["metrics"].get("pluralism/min_group_coverage"),
                       "minority_recall": record["metrics"].get("pluralism/minority_recall"),
                       "minority_mention_rate": float(np.mean(mention)) if mention else None, "n": record.get("n")})
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [p["step"] for p in points]
    for key, label in (("min_group_coverage", "min group coverage (scorer)"),
                       ("minority_recall", "minority recall (scorer)"),
                       ("minority_mention_rate", "minority sentence present (ground truth)"),
                       ("reward", "pluralism reward")):
        values = [np.nan if p[key] is None else p[key] for p in points]
        ax.plot(steps, values, marker="o", label=label, linestyle="--" if key == "reward" else "-")
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("mean over held-out debates")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"Minority coverage during GRPO (eval hook, {points[0]['n'] if points else 0} held-out debates, sampled)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return points


def paired_difference(before: dict, after: dict, key: str) -> dict | None:
    """Mean of (after - before) over the debates both runs scored, with its bootstrap CI."""
    from pluralign.eval.bootstrap import mean_ci

    b, a = (before.get("per_debate") or {}).get(key), (after.get("per_debate") or {}).get(key)
    if not a or not b:
        return None
    return mean_ci([a[i] - b[i] for i in sorted(set(a) & set(b))], seed=0)


def verdict(before: dict, after: dict) -> list[str]:
    """Plain sentences on whether the reward moved minority coverage, and the diagnostics."""
    lines = []
    for key, label in (("minority_group_coverage", "minority group coverage"),
                       ("minority_mention_rate", "minority sentence present (ground truth)"),
                       ("pluralism", "pluralism reward")):
        b, a = before.get(key), after.get(key)
        if not b or not a or b.get("mean") is None or a.get("mean") is None:
            lines.append(f"- {label}: not measured")
            continue
        if a["ci_low"] > b["ci_high"]:
            word = "ROSE (the 95% CIs do not overlap)"
        elif a["ci_high"] < b["ci_low"]:
            word = "FELL (the 95% CIs do not overlap)"
        else:
            word = "did not change clearly (the 95% CIs overlap)"
        line = f"- {label}: {b['mean']:.3f} -> {a['mean']:.3f}: {word}"
        paired = paired_difference(before, after, key)
        if paired and paired["mean"] is not None:
            sign = "above 0" if paired["ci_low"] > 0 else "below 0" if paired["ci_high"] < 0 else "includes 0"
            line += (f"; paired over the same {paired['n']} debates: {paired['mean']:+.3f} "
                     f"[{paired['ci_low']:+.3f}, {paired['ci_high']:+.3f}] ({sign})")
        lines.append(line)
    groups = sorted(set(before.get("group_coverage") or {}) & set(after.get("group_coverage") or {}))
    if groups and before.get("n_sentences") and after.get("n_sentences"):
        minority = before.get("minority_group")
        gains = {g: after["group_coverage"][g] - before["group_coverage"][g] for g in groups}
        others = [gains[g] for g in groups if g != minority]
        lines.append("- is the gain specific to the minority? coverage by group: "
                     + ", ".join(f"{g} {before['group_coverage'][g]:.3f} -> {after['group_coverage'][g]:.3f}" for g in groups)
                     + f"; the minority gained {gains.get(minority, float('nan')):+.3f}, the other groups "
                     f"{np.mean(others) if others else float('nan'):+.3f} on average, while summaries went from "
                     f"{before['n_sentences']:.1f} to {after['n_sentences']:.1f} sentences")
    mention = before.get("minority_mention_rate") or {}
    lines.append(f"- can the SFT model produce minority content? it wrote a minority-only sentence in "
                 f"{(mention.get('mean') or 0):.1%} of its samples before GRPO")
    if before.get("reward_std_within_debate") is not None:
        lines.append(f"- does the reward vary within a debate's samples (GRPO's signal)? mean std "
                     f"{before['reward_std_within_debate']:.3f} before, {after['reward_std_within_debate']:.3f} after; "
                     f"{before['debates_with_zero_reward_spread']} of {before['n_debates']} debates had no spread before")
    gain = before.get("reward_gain_when_minority_mentioned") or {}
    if gain.get("mean") is not None:
        lines.append(f"- is minority content rewarded when the model writes it? in the {gain['n']} debate(s) where some "
                     f"samples before GRPO mention the minority and some do not, those that do score "
                     f"{gain['mean']:+.3f} [{gain['ci_low']:+.3f}, {gain['ci_high']:+.3f}] more")
    else:
        lines.append("- is minority content rewarded when the model writes it? no debate had samples both with and "
                     "without a minority sentence before GRPO, so this could not be measured")
    return lines


def report(out: Path) -> dict:
    heading("6. Report: before against after (95% bootstrap CIs over debates)")
    run(["eval", "compare", str(out / "eval-before"), str(out / "eval-after"), "--out", str(out / "compare.md")])
    run(["eval", "compare", str(out / "eval-before-polis"), str(out / "eval-after-polis"),
         "--out", str(out / "compare-polis.md")])
    before, after = minority_figures(out, "eval-before"), minority_figures(out, "eval-after")
    print(f"\nThe smallest group ({before['minority_group']}, 2 of 12 participants), on {before['n_debates']} unseen "
          "synthetic debates:")
    print(f"{'':44s} {'before (SFT)':34s} after (GRPO)")
    for key in ("pluralism", "min_group_coverage", "minority_recall", "minority_group_coverage", "minority_mention_rate"):
        print(f"  {key:42s} {fmt(before[key]):34s} {fmt(after[key])}")
    points = plot_training(out, out / "minority_coverage.png")
    print(f"\nwrote {out / 'minority_coverage.png'}: minority coverage at each eval-hook step of GRPO")
    for p in points:
        print(f"  step {p['step']:4d}: reward {p['reward']:.3f}  min group coverage {p['min_group_coverage']:.3f}  "
              f"minority recall {p['minority_recall'] if p['minority_recall'] is not None else float('nan'):.3f}  "
              f"minority sentence present {p['minority_mention_rate'] if p['minority_mention_rate'] is not None else float('nan'):.3f}")
    lines = verdict(before, after)
    print("\nVerdict:\n" + "\n".join(lines))
    summary = {"before": {k: v for k, v in before.items() if k != "per_debate"},
               "after": {k: v for k, v in after.items() if k != "per_debate"},
               "paired_difference": {k: paired_difference(before, after, k) for k in before["per_debate"]},
               "training": points, "verdict": lines}
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def copy_docs(out: Path, docs: Path, log: str) -> None:
    """The small, committable part of the run: tables, reports, plot, model card, console log."""
    docs.mkdir(parents=True, exist_ok=True)
    copies = {"compare.md": "compare.md", "compare-polis.md": "compare-polis.md", "summary.json": "summary.json",
              "minority_coverage.png": "minority_coverage.png", "export/README.md": "model-card.md",
              "data/probe-scores.jsonl": None}
    for name in ("eval-before", "eval-after", "eval-before-polis", "eval-after-polis"):
        copies[f"{name}/report.md"] = f"{name}.md"
    for source, target in copies.items():
        if target and (out / source).exists():
            shutil.copyfile(out / source, docs / target)
    (docs / "demo.log").write_text(log, encoding="utf-8")
    size = sum(p.stat().st_size for p in docs.iterdir())
    print(f"copied the summary to {docs}/ ({size / 1024:.0f} kB)")


def demo(out: Path, plan: Plan) -> dict:
    for name in ("data", "base-model", "sft", "grpo", "eval-before", "eval-after", "eval-before-polis", "eval-after-polis", "export"):
        shutil.rmtree(out / name, ignore_errors=True)  # a rerun starts clean (export needs an empty folder)
    build_data(out, plan)

    heading("2. SFT a tiny random-initialised Llama on the majority-biased targets")
    from pluralign.data.tasks import summarize_prompt

    print(f"\n>>> python: pluralign.tiny.build_tiny_bpe_causal_lm(texts of the training debates and targets, "
          f"{out / 'base-model'})")
    texts = [summarize_prompt(d) for d in load(out / "data/train-debates.jsonl")]
    texts += [t["summary"] for t in load(out / "data/sft-targets.jsonl")]
    build_tiny_bpe_causal_lm(texts, out / "base-model")
    print(f"wrote {out / 'base-model'}: a random-initialised Llama (hidden 128, 4 layers) with a 2,000-token BPE vocabulary")
    # Each training run gets its own process, as a user's does: W&B keeps one session per process
    # (a second run would log into the first one's folder), and the memory goes back when it ends.
    run(["train", str(RECIPES / "sft.yaml"), *recipe_overrides(out, plan, "sft")], own_process=True)

    heading("3. Benchmark the SFT baseline (sampled, as GRPO samples)")
    evaluate(out, plan, out / "sft", "eval-before")

    heading("4. GRPO with the pluralism reward; the eval hook logs to eval_metrics.jsonl and W&B (offline)")
    run(["train", str(RECIPES / "grpo.yaml"), *recipe_overrides(out, plan, "grpo")], own_process=True)

    heading("5. Benchmark the GRPO model")
    evaluate(out, plan, out / "grpo", "eval-after")

    summary = report(out)

    heading("7. Export the checkpoint with its model card")
    run(["export", str(out / "grpo"), "--out", str(out / "export"), "--report", str(out / "eval-after"), "--dry-run"])
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/demo.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where the runs go (default {DEFAULT_OUT})")
    parser.add_argument("--update-docs", action="store_true",
                        help=f"also refresh the committed example run in {DEFAULT_DOCS}/ (tables, plot, card, log)")
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help=f"where --update-docs copies it (default {DEFAULT_DOCS})")
    parser.add_argument("--quick", action="store_true", help="a few steps of everything: checks the wiring, measures nothing")
    args = parser.parse_args(argv)
    if not (Path.cwd() / RECIPES).is_dir():
        print(f"error: run the demo from the repository root ({REPO}): `make demo`", file=sys.stderr)
        return 2
    for key, value in (("WANDB_MODE", "offline"), ("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                       ("HF_DATASETS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(key, value)
    plan = Plan.quick() if args.quick else Plan()
    docs = args.docs if args.update_docs else None
    args.out.mkdir(parents=True, exist_ok=True)
    chunks: list[str] = []
    start = time.time()
    with contextlib.redirect_stdout(Tee(sys.stdout, chunks)), contextlib.redirect_stderr(Tee(sys.stderr, chunks)):
        print(f"pluralign demo{' (--quick: wiring only, the figures mean nothing)' if args.quick else ''}: "
              f"outputs in {args.out}/")
        demo(args.out, plan)
        print(f"\ndemo finished in {(time.time() - start) / 60:.1f} min")
    log = log_text(chunks)
    (args.out / "demo.log").write_text(log, encoding="utf-8")
    if docs:
        copy_docs(args.out, docs, log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
