"""The scorers as TRL reward functions: `(prompts, completions, **columns) -> list[float]`.

TRL passes every dataset column as a keyword list, one value per completion. The summarize
dataset (`pluralign.data.tasks.build_summarize_dataset`) carries the sampled debate as JSON in
`debate`; completions are plain strings or conversational `[{"role": "assistant", "content": ...}]`.
Completions of the same debate (a GRPO group) are scored in one batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pluralign.rewards.pluralism import PluralismScorer


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


def _pluralism_scores(scorer: PluralismScorer, completions: list, debate: list) -> list[float]:
    if debate is None:
        raise KeyError("pluralism_reward needs the `debate` column (JSON) that build_summarize_dataset writes")
    texts = [completion_text(c) for c in completions]
    by_debate: dict[str, list[int]] = {}
    for i, raw in enumerate(debate):
        by_debate.setdefault(raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True), []).append(i)
    rewards = [0.0] * len(texts)
    for raw, rows in by_debate.items():
        results = scorer.score(json.loads(raw), [texts[i] for i in rows])
        for i, result in zip(rows, results, strict=True):
            rewards[i] = result["pluralism"]
    return rewards


def make_pluralism_reward(backend=None, **config) -> Callable[..., list[float]]:
    """A pluralism reward with its own scorer (`backend` and PluralismScorer settings)."""
    scorer = PluralismScorer(backend, **config)

    def pluralism_reward(prompts, completions, debate=None, **columns) -> list[float]:
        return _pluralism_scores(scorer, completions, debate)

    pluralism_reward.scorer = scorer
    return pluralism_reward


_default_scorer: PluralismScorer | None = None


def pluralism_reward(prompts, completions, debate=None, **columns) -> list[float]:
    """The pluralism reward with the default scorer (built on first call)."""
    global _default_scorer
    if _default_scorer is None:
        _default_scorer = PluralismScorer()
    return _pluralism_scores(_default_scorer, completions, debate)


# --- fidelity --------------------------------------------------------------------------------

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


def _fidelity_scores(scorer, completions: list, columns: dict) -> list[float]:
    items = rewrite_items_from_columns(columns, len(completions))
    results = scorer.score_batch(items, [completion_text(c) for c in completions])
    return [r["fidelity"] for r in results]


def make_fidelity_reward(backend=None, **config) -> Callable[..., list[float]]:
    """A fidelity reward with its own scorer (`backend` and FidelityScorer settings)."""
    from pluralign.rewards.fidelity import FidelityScorer

    scorer = FidelityScorer(backend, **config)

    def fidelity_reward(prompts, completions, **columns) -> list[float]:
        return _fidelity_scores(scorer, completions, columns)

    fidelity_reward.scorer = scorer
    return fidelity_reward


_default_fidelity_scorer = None


def fidelity_reward(prompts, completions, **columns) -> list[float]:
    """The fidelity reward with the default scorer (built on first call)."""
    global _default_fidelity_scorer
    if _default_fidelity_scorer is None:
        from pluralign.rewards.fidelity import FidelityScorer

        _default_fidelity_scorer = FidelityScorer()
    return _fidelity_scores(_default_fidelity_scorer, completions, columns)
