"""The scorers as TRL reward functions: `(prompts, completions, **columns) -> list[float]`.

TRL passes every dataset column as a keyword list, one value per completion. The summarize
dataset (`pluralign.data.tasks.build_summarize_dataset`) carries the sampled debate as JSON in
`debate`; the rewrite dataset carries the item's fields. Completions are plain strings or
conversational `[{"role": "assistant", "content": ...}]`. Completions of the same debate or item
(a GRPO group) are scored in one batch by the scorer's `score_batch`.

Each reward is a closure over one scorer object (its backend and caches); the `make_*` factories
build configured ones, the plain names (`pluralism_reward`, `fidelity_reward`) use the defaults,
for `trl grpo --reward_funcs pluralign.rewards.adapters.pluralism_reward`.
"""

from __future__ import annotations

import json
from collections.abc import Callable


def completion_text(completion) -> str:
    """The text of a plain or conversational completion (the last assistant message)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        messages = [m for m in completion if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
        return str(messages[-1].get("content") or "") if messages else ""
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


def debates_from_column(debate: list | None, reward: str) -> list[dict]:
    """The `debate` column (JSON strings or dicts) as dicts; equal strings give the same object,
    so that a scorer groups a GRPO group's completions without hashing each debate again."""
    if debate is None:
        raise KeyError(f"{reward} needs the `debate` column (JSON) that build_summarize_dataset writes")
    parsed: dict[str, dict] = {}
    out = []
    for raw in debate:
        key = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True)
        out.append(parsed.setdefault(key, json.loads(key)))
    return out


REWRITE_COLUMNS = ("id", "task", "source", "source_language", "target_language", "question", "group")


def rewrite_items_from_columns(columns: dict, n: int) -> list[dict]:
    """The rewrite item of each of n rows, from the columns `build_rewrite_dataset` writes."""
    missing = [c for c in ("task", "source", "source_language", "target_language") if columns.get(c) is None]
    if missing:
        raise KeyError(f"fidelity_reward needs the columns {missing} that build_rewrite_dataset writes")
    items = []
    for i in range(n):
        item = {c: columns[c][i] for c in REWRITE_COLUMNS if columns.get(c) is not None and columns[c][i] is not None}
        # Rows without an id are grouped by what defines the item, so a GRPO group is still one batch.
        item.setdefault("id", json.dumps([item["source"], item["source_language"], item["target_language"],
                                          item.get("question")], ensure_ascii=False))
        items.append(item)
    return items


def make_pluralism_reward(backend=None, **config) -> Callable[..., list[float]]:
    """A pluralism reward with its own scorer (`backend` and PluralismScorer settings)."""
    from pluralign.rewards.scorers import make_scorer

    scorer = make_scorer("pluralism", backend, **config)

    def pluralism_reward(prompts, completions, debate=None, **columns) -> list[float]:
        results = scorer.score_batch(debates_from_column(debate, "pluralism_reward"),
                                     [completion_text(c) for c in completions])
        return [r["pluralism"] for r in results]

    pluralism_reward.scorer = scorer
    return pluralism_reward


def make_fidelity_reward(backend=None, **config) -> Callable[..., list[float]]:
    """A fidelity reward with its own scorer (`backend` and FidelityScorer settings)."""
    from pluralign.rewards.scorers import make_scorer

    scorer = make_scorer("fidelity", backend, **config)

    def fidelity_reward(prompts, completions, **columns) -> list[float]:
        items = rewrite_items_from_columns(columns, len(completions))
        return [r["fidelity"] for r in scorer.score_batch(items, [completion_text(c) for c in completions])]

    fidelity_reward.scorer = scorer
    return fidelity_reward


def make_representation_reward(backend=None, **config) -> Callable[..., list[float]]:
    """How well a summary represents each participant's own words: the mean representation
    score over the debate's comments (each comment an opinion), one score per completion."""
    from pluralign.rewards.scorers import make_scorer

    scorer = make_scorer("representation", backend, **config)

    def representation_reward(prompts, completions, debate=None, **columns) -> list[float]:
        debates = debates_from_column(debate, "representation_reward")
        texts = [completion_text(c) for c in completions]
        rows, owner = [], []
        for n, (record, text) in enumerate(zip(debates, texts, strict=True)):
            for comment in record["comments"]:
                rows.append({"question": record["question"], "opinion": comment["text"], "summary": text})
                owner.append(n)
        totals, counts = [0.0] * len(texts), [0] * len(texts)
        for n, value in zip(owner, scorer.score(rows), strict=True):
            totals[n] += value
            counts[n] += 1
        return [t / c if c else 0.0 for t, c in zip(totals, counts, strict=True)]

    representation_reward.scorer = scorer
    return representation_reward


_defaults: dict[str, Callable] = {}


def _default(name: str, factory: Callable) -> Callable:
    if name not in _defaults:
        _defaults[name] = factory()
    return _defaults[name]


def pluralism_reward(prompts, completions, debate=None, **columns) -> list[float]:
    """The pluralism reward with the default scorer (built on first call)."""
    return _default("pluralism", make_pluralism_reward)(prompts, completions, debate=debate, **columns)


def fidelity_reward(prompts, completions, **columns) -> list[float]:
    """The fidelity reward with the default scorer (built on first call)."""
    return _default("fidelity", make_fidelity_reward)(prompts, completions, **columns)
