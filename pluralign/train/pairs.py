"""Preference pairs built by the scorers, for DPO and for distilling a reward model.

For each prompt, several candidate texts are scored with the recipe's reward functions (the
weighted sum, as GRPO combines them); the best becomes `chosen` and the worst `rejected` when
their scores differ by at least `min_margin`. Prompts whose candidates are too close are counted
and left out: a pair the scorer cannot tell apart teaches nothing.

Candidates come from a file (several `{"id", "summary"|"output"}` lines per id), from the current
model (on-policy sampling), or, for summaries, from the debate's own comments (extractive).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from pluralign.train.rewards import weighted_scores


@dataclass
class PairStats:
    prompts: int = 0
    pairs: int = 0
    too_close: int = 0  # best and worst within min_margin
    too_few: int = 0  # fewer than two distinct candidates

    def describe(self) -> str:
        return (f"{self.pairs} pair(s) from {self.prompts} prompt(s); left out: {self.too_close} with a margin "
                f"below min_margin, {self.too_few} with fewer than two distinct candidates")


def score_candidates(rows: list[dict], candidates: list[list[str]], funcs: list, weights: list[float]) -> list[list[float]]:
    """The weighted reward of every candidate, prompt by prompt (the row's columns go to the rewards)."""
    from tqdm.auto import tqdm

    scores = []
    for row, texts in tqdm(list(zip(rows, candidates, strict=True)), desc="scoring candidates",
                           disable=True if len(rows) < 16 else None):  # None: on a terminal only
        columns = {key: [value] * len(texts) for key, value in row.items() if key != "prompt"}
        scores.append(weighted_scores(funcs, weights, [row["prompt"]] * len(texts), texts, columns))
    return scores


def best_vs_worst(rows: list[dict], candidates: list[list[str]], scores: list[list[float]],
                  min_margin: float) -> tuple[list[dict], PairStats]:
    """One {prompt, chosen, rejected, chosen_score, rejected_score} per prompt whose margin is large enough."""
    stats = PairStats(prompts=len(rows))
    pairs = []
    for row, texts, values in zip(rows, candidates, scores, strict=True):
        ranked = sorted({t: v for t, v in zip(texts, values, strict=True)}.items(), key=lambda tv: tv[1])
        if len(ranked) < 2:
            stats.too_few += 1
            continue
        (worst, low), (best, high) = ranked[0], ranked[-1]
        if high - low < min_margin:
            stats.too_close += 1
            continue
        pairs.append({
            "prompt": row["prompt"],
            "chosen": [{"role": "assistant", "content": best}],
            "rejected": [{"role": "assistant", "content": worst}],
            "chosen_score": float(high), "rejected_score": float(low),
        })
    stats.pairs = len(pairs)
    return pairs, stats


def extractive_candidates(row: dict, k: int, sentences: int, seed: int = 0) -> list[str]:
    """k summaries made of `sentences` comments each: half drawn from one opinion group only, half
    from all comments, so that the scorer sees both narrow and broad summaries."""
    debate = json.loads(row["debate"])
    rng = random.Random(f"{seed}:{debate['id']}")
    comments = debate["comments"]
    by_group: dict[str, list[str]] = {}
    groups = debate.get("groups") or {}
    for c in comments:
        group = c.get("group") or groups.get(c.get("author", ""), "?")
        by_group.setdefault(group, []).append(c["text"])
    largest = max(by_group.values(), key=len)
    out = []
    for n in range(k):
        pool = largest if n % 2 == 0 else [c["text"] for c in comments]
        out.append(" ".join(rng.sample(pool, min(sentences, len(pool)))))
    return out


def candidates_from_file(rows: list[dict], by_id: dict[str, list[str]], task: str) -> list[list[str]]:
    from pluralign.tasks import get_task

    return [by_id.get(get_task(task).row_id(row), []) for row in rows]


def on_policy_candidates(model, tokenizer, rows: list[dict], k: int, max_new_tokens: int, temperature: float,
                         batch_size: int = 8, trainer=None, chat_template_kwargs: dict | None = None) -> list[list[str]]:
    """k sampled completions per prompt from the current model (sharded over processes; through the
    trainer's engine when there is one, see pluralign.train.generate)."""
    from pluralign.train.generate import sharded_generate

    texts = sharded_generate(model, tokenizer, [row["prompt"] for row in rows], trainer=trainer,
                             max_new_tokens=max_new_tokens, temperature=max(temperature, 1e-5), batch_size=batch_size,
                             num_return_sequences=k, chat_template_kwargs=chat_template_kwargs)
    return [texts[i * k:(i + 1) * k] for i in range(len(rows))]
