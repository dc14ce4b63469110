"""The scorers as TRL reward functions: `(prompts, completions, **columns) -> list[float]`.

TRL passes every dataset column as a keyword list, one value per completion. The summarize
dataset (`pluralign.data.tasks.build_summarize_dataset`) carries the sampled debate as JSON in
`debate`; the rewrite dataset carries the item's fields. Completions are plain strings or
conversational `[{"role": "assistant", "content": ...}]`. Completions of the same debate or item
(a GRPO group) are scored in one batch by the scorer's `score_batch`.

Each reward is a closure over one scorer object (its backend and caches); the `make_*` factories
build configured ones, the plain names (`pluralism_reward`, `fidelity_reward`) use the defaults,
for `trl grpo --reward_funcs pluralign.rewards.adapters.pluralism_reward`.

TRL (GRPO and RLOO, 1.16) also passes `log_metric(name, value)` and `log_extra(column, values)`:
the rewards log the means of their parts (min-group coverage, deficit mass, each guard, ...) as
`rewards/<reward>/<part>` at every logged step, beside TRL's `rewards/<reward>/mean`, and a few
parts per completion as columns of TRL's completions table (`log_completions`).
"""

from __future__ import annotations

import json
import math
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


# Parts of a result logged per completion (log_extra); every numeric part is logged as a mean (log_metric).
EXTRA_PARTS = {"pluralism": ("min_group_coverage", "deficit_mass", "guard"),
               "fidelity": ("meaning", "stance_preservation", "flip")}


def numeric_parts(metrics: dict) -> dict[str, float]:
    """The numeric parts of a scorer's `metrics` (booleans as 0/1, each guard as `guards/<name>`),
    counts (`n_*`) left out: they describe the input, not the completion."""
    parts = {}
    for key, value in metrics.items():
        if key == "guards" and isinstance(value, dict):
            parts.update(numeric_parts({f"guards/{k}": v for k, v in value.items()}))
        elif isinstance(value, (bool, int, float)) and not key.startswith("n_") and math.isfinite(float(value)):
            parts[key] = float(value)
    return parts


def log_parts(name: str, score_key: str, results: list[dict], log_metric=None, log_extra=None) -> None:
    """Send the parts of `results` to TRL's `log_metric` / `log_extra` when it passed them."""
    rows = [numeric_parts(r.get("metrics") or {}) for r in results]
    if log_metric is not None:
        for part in sorted({k for row in rows for k in row}):
            values = [row[part] for row in rows if part in row]
            log_metric(f"rewards/{name}/{part}", sum(values) / len(values))
    if log_extra is not None:
        for part in EXTRA_PARTS.get(score_key, ()):
            log_extra(f"{name}/{part}", [row.get(part) for row in rows])


def make_pluralism_reward(backend=None, **config) -> Callable[..., list[float]]:
    """A pluralism reward with its own scorer (`backend` and PluralismScorer settings)."""
    from pluralign.rewards.scorers import make_scorer

    scorer = make_scorer("pluralism", backend, **config)

    def pluralism_reward(prompts, completions, debate=None, log_metric=None, log_extra=None, **columns) -> list[float]:
        results = scorer.score_batch(debates_from_column(debate, "pluralism_reward"),
                                     [completion_text(c) for c in completions])
        log_parts(pluralism_reward.__name__, "pluralism", results, log_metric, log_extra)
        return [r["pluralism"] for r in results]

    pluralism_reward.scorer = scorer
    return pluralism_reward


def make_fidelity_reward(backend=None, **config) -> Callable[..., list[float]]:
    """A fidelity reward with its own scorer (`backend` and FidelityScorer settings)."""
    from pluralign.rewards.scorers import make_scorer

    scorer = make_scorer("fidelity", backend, **config)

    def fidelity_reward(prompts, completions, log_metric=None, log_extra=None, **columns) -> list[float]:
        items = rewrite_items_from_columns(columns, len(completions))
        results = scorer.score_batch(items, [completion_text(c) for c in completions])
        log_parts(fidelity_reward.__name__, "fidelity", results, log_metric, log_extra)
        return [r["fidelity"] for r in results]

    fidelity_reward.scorer = scorer
    return fidelity_reward


def make_representation_reward(backend=None, **config) -> Callable[..., list[float]]:
    """How well a summary represents each participant's own words: the mean representation score
    over the debate's comments (each comment an opinion, read against the others), one score per
    completion. The score is the content-only output (`output="content"`): a person term is a
    constant per participant, which a reward cannot change and should not weigh groups by."""
    from pluralign.rewards.scorers import make_scorer

    scorer = make_scorer("representation", backend, **{"output": "content", **config})

    def representation_reward(prompts, completions, debate=None, **columns) -> list[float]:
        debates = debates_from_column(debate, "representation_reward")
        texts = [completion_text(c) for c in completions]
        rows, owner = [], []
        for n, (record, text) in enumerate(zip(debates, texts, strict=True)):
            comments = tuple(c["text"] for c in record["comments"])
            for comment in comments:
                rows.append({"question": record["question"], "opinion": comment, "summary": text, "comments": comments})
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
