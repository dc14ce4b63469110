"""Training benchmarks (section "Training" of benchmarks/RESULTS.md):

1. the share of GRPO step time spent in the reward functions, for the tiny CPU recipe;
2. the reward's time on a realistic batch: 64 completions of ~5 sentences against one debate of
   40 comments (cold: the debate is indexed first; warm: cached, as in later GRPO steps);
3. the wrapper's overhead: `pluralign.train.run.train(recipe)` against the same GRPOTrainer,
   config, data and reward built and driven directly (eval hook off in both; target < 3%).

    python benchmarks/bench_train.py
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RECIPE = ROOT / "recipes" / "cpu" / "grpo.yaml"


class Timed:
    """A reward function that adds its own wall time to a counter (TRL reads __name__)."""

    def __init__(self, func):
        self.func, self.seconds, self.__name__ = func, 0.0, func.__name__

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.func(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def load(overrides: list[str]):
    from pluralign.train.recipe import load_recipe

    return load_recipe(RECIPE, ["eval_hook.enabled=false", "report_to=none", *overrides])


def reward_share(steps: int, out: Path) -> dict:
    """Train the tiny GRPO recipe with a timed reward; share of the training time spent in it."""
    import pluralign.train.methods as methods
    from pluralign.train.run import train

    timed: list[Timed] = []
    original = methods.reward_setup

    def timed_setup(recipe, load=True):
        specs, funcs = original(recipe, load)
        timed.extend(Timed(f) for f in funcs)
        return specs, timed[-len(funcs):]

    methods.reward_setup = timed_setup
    try:
        result = train(load([f"output_dir={out}", f"training.max_steps={steps}"]))
    finally:
        methods.reward_setup = original
    runtime = next(h["train_runtime"] for h in result["log_history"] if "train_runtime" in h)
    reward = sum(t.seconds for t in timed)
    return {"steps": steps, "train_s": runtime, "reward_s": reward, "share": reward / runtime}


def realistic_batch() -> dict:
    """pluralism_reward on 64 completions of ~5 sentences for a 40-comment debate."""
    from pluralign.data.synth import SynthSpec, synth_debates
    from pluralign.data.tasks import build_summarize_dataset
    from pluralign.rewards.adapters import make_pluralism_reward

    debates = list(synth_debates(SynthSpec(n_debates=1, group_sizes=(20, 14, 6), seed=3)))
    row = dict(build_summarize_dataset(debates, max_comments=40)[0])
    comments = [c["text"] for c in json.loads(row["debate"])["comments"]]
    rng = random.Random(0)
    reward = make_pluralism_reward()
    columns = {k: [v] * 64 for k, v in row.items() if k != "prompt"}
    times = []
    for _ in range(3):  # new completions each time: only the debate side is cached after the first
        # Reworded, numbered sentences: a completion that quoted comments verbatim would hit the
        # embedding cache that indexing the debate filled, and look faster than real text.
        completions = [" ".join(f"Participant {rng.randrange(10**6)} argues that {c[0].lower()}{c[1:]}"
                                for c in rng.sample(comments, 5)) for _ in range(64)]
        start = time.perf_counter()
        reward(prompts=[row["prompt"]] * 64, completions=completions, **columns)
        times.append(time.perf_counter() - start)
    return {"comments": len(comments), "completions": 64, "cold_s": times[0], "warm_s": min(times[1:])}


def direct(recipe, out: Path) -> float:
    """The same GRPO run with TRL alone: dataset, reward, config, GRPOTrainer, train, save."""
    from transformers import set_seed
    from trl import GRPOConfig, GRPOTrainer

    from pluralign.data.synth import SynthSpec, synth_debates
    from pluralign.data.tasks import build_summarize_dataset
    from pluralign.rewards.adapters import make_pluralism_reward
    from pluralign.tiny import build_tiny_causal_lm

    start = time.perf_counter()
    set_seed(recipe.seed)
    model = build_tiny_causal_lm(out / "base-model", seed=recipe.seed)
    debates = list(synth_debates(SynthSpec(**recipe.data.synth)))  # the recipe's data.synth
    dataset = build_summarize_dataset(debates, max_comments=recipe.data.max_comments, seed=recipe.seed)
    args = GRPOConfig(**{**recipe.training, "output_dir": str(out), "use_cpu": True, "bf16": False,
                         "reward_weights": [1.0]})
    trainer = GRPOTrainer(model=model, reward_funcs=[make_pluralism_reward(backend=recipe.rewards.backend)],
                          args=args, train_dataset=dataset)
    trainer.train()
    trainer.save_model(str(out))
    return time.perf_counter() - start


def wrapped(recipe, out: Path) -> float:
    from pluralign.train.run import train

    start = time.perf_counter()
    train(recipe)
    return time.perf_counter() - start


def overhead(steps: int, repeats: int, tmp: Path) -> dict:
    def pair(n: int) -> tuple[float, float]:
        out_w, out_d = tmp / f"wrapped-{n}", tmp / f"direct-{n}"
        recipe_w = load([f"output_dir={out_w}", f"training.max_steps={steps}"])
        recipe_d = load([f"output_dir={out_d}", f"training.max_steps={steps}"])
        return wrapped(recipe_w, out_w), direct(recipe_d, out_d)

    pair(-1)  # warm-up: caches (embeddings, debate indexes, imports) filled for both alike
    pairs = [pair(n) for n in range(repeats)]  # alternated, so that load drift hits both
    w, d = min(p[0] for p in pairs), min(p[1] for p in pairs)
    return {"steps": steps, "repeats": repeats, "wrapped_s": w, "direct_s": d, "overhead": (w - d) / d,
            "wrapped_median_s": statistics.median(p[0] for p in pairs),
            "direct_median_s": statistics.median(p[1] for p in pairs)}


def main() -> int:
    import torch

    from benchmarks.results import write_section
    from pluralign.rewards.backends import get_backend

    torch.set_num_threads(1)  # one thread: less noise from the other work on a shared 2-core machine
    get_backend()  # load the embedding model once, outside every timing
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        share = reward_share(steps=6, out=tmp / "share")
        batch = realistic_batch()
        cost = overhead(steps=2, repeats=5, tmp=tmp)
    print(json.dumps({"reward_share": share, "realistic_batch": batch, "overhead": cost}, indent=2))
    write_section("Training", f"""
GRPO with the pluralism reward, tiny random Llama (hidden 64, 2 layers) of `recipes/cpu/grpo.yaml`
(4 completions of 16 tokens per step, debates of 8 comments), eval hook off, one torch thread.

| measure | value |
|---|---|
| reward share of GRPO training time, tiny CPU recipe ({share['steps']} steps) | {share['share']:.0%} ({share['reward_s']:.1f} s of {share['train_s']:.1f} s) |
| pluralism_reward, {batch['completions']} completions of 5 (reworded) sentences, {batch['comments']}-comment debate, cold (debate indexed) | {batch['cold_s']:.2f} s |
| 64 new completions, warm (debate cached, as in later GRPO steps on it) | {batch['warm_s']:.2f} s |
| `pluralign train` vs the same GRPOTrainer driven directly ({cost['steps']} steps, fastest of {cost['repeats']} after a warm-up) | {cost['wrapped_s']:.1f} s vs {cost['direct_s']:.1f} s: overhead {cost['overhead']:+.1%} (medians {cost['wrapped_median_s']:.1f} s vs {cost['direct_median_s']:.1f} s) |

The wrapper's own work is reading the recipe, building the prompts and its two callbacks; the
wall times include model building, dataset preparation and saving in both columns. The machine's
2 CPU cores are shared with other jobs: under load, single runs of the same work varied by a
factor of up to 5, which is why the fastest of several runs is compared. Differences of a few
per cent are within that noise. `benchmarks/bench_gpu.py` (DPO and GRPO throughput on a GPU) is reported in its
own section.
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
