"""Task builders: debates become prompt datasets for `summarize`, comments become rewrite items.

Summarize rows carry the (sampled) debate as JSON and its group composition, so that reward
functions can score a completion from the row alone. Rewrite items are the docs/design.md §1 items plus
where they came from (`debate_id`, `comment_id`, `author`, `group`).
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Iterable, Iterator

from pluralign.data.groups import resolve_groups
from pluralign.data.jsonl import items_to_dataset
from pluralign.errors import UsageError
from pluralign.prompts import language_name, rewrite_prompt, summarize_prompt  # noqa: F401 (re-exported)
from pluralign.tasks import ITEM, TASKS, task_names


def default_target_language(source_language: str) -> str:
    """Translate into English, or into French from English."""
    return "fr" if source_language == "en" else "en"


def _rng(seed: int, key: str) -> random.Random:
    # One stream per record, so that adding a debate to a file does not change the others' samples.
    return random.Random(f"{seed}:{key}")


def sample_debate(debate: dict, max_comments: int | None = None, seed: int = 0) -> dict:
    """The debate with at most `max_comments` comments, in a seeded shuffled order, and only the
    votes on those comments. Groups and extra fields are kept."""
    comments = list(debate["comments"])
    rng = _rng(seed, debate["id"])
    if max_comments is not None and len(comments) > max_comments:
        comments = rng.sample(comments, max_comments)
    else:
        rng.shuffle(comments)
    sampled = dict(debate, comments=comments)
    if debate.get("votes") is not None:
        kept = {c["id"] for c in comments}
        sampled["votes"] = [v for v in debate["votes"] if v["comment"] in kept]
    return sampled


def build_summarize_dataset(debates: Iterable[dict], max_comments: int | None = None, seed: int = 0):
    """One row per debate (see docs/CONTRACTS.md). A debate with neither groups nor votes gets
    `group_source` "embeddings" and empty `group_sizes`: the scorer clusters it with its backend."""
    from datasets import Dataset

    rows = []
    for debate in debates:
        sampled = sample_debate(debate, max_comments, seed)
        if sampled.get("groups") or any(c.get("group") for c in sampled["comments"]) or sampled.get("votes"):
            groups = resolve_groups(sampled)
            sizes, source = groups.sizes(), groups.source
        else:
            sizes, source = {}, "embeddings"
        rows.append({
            "prompt": [{"role": "user", "content": summarize_prompt(sampled)}],
            "debate_id": debate["id"],
            "question": debate["question"],
            "language": debate["language"],
            "debate": json.dumps(sampled, ensure_ascii=False),
            "group_sizes": json.dumps(sizes, ensure_ascii=False),
            "group_source": source,
        })
    return Dataset.from_list(rows)


def rewrite_items(debates: Iterable[dict], task: str, target_language: str | None = None,
                  per_debate: int | None = None, seed: int = 0) -> Iterator[dict]:
    """Each comment (at most `per_debate` per debate, seeded sample) as a reformulate/translate item.

    A translate item into the debate's own language would be meaningless, so such debates are
    skipped with a warning that counts them.
    """
    if task not in task_names(ITEM):
        raise UsageError(f"task must be one of {', '.join(task_names(ITEM))}, got {task!r}")
    same_language = TASKS[task].same_language
    skipped = 0
    for debate in debates:
        source_language = debate["language"]
        if same_language:
            target = source_language
        else:
            target = target_language or default_target_language(source_language)
            if target == source_language:
                skipped += 1
                continue
        has_groups = debate.get("groups") or debate.get("votes") or any(c.get("group") for c in debate["comments"])
        comment_groups = resolve_groups(debate).comments if has_groups else {}
        comments = list(debate["comments"])
        if per_debate is not None and len(comments) > per_debate:
            comments = _rng(seed, debate["id"]).sample(comments, per_debate)
        for comment in comments:
            item = {
                "id": f"{debate['id']}:{comment['id']}:{task}",
                "task": task,
                "source": comment["text"],
                "source_language": source_language,
                "target_language": target,
                "question": debate["question"],
                "debate_id": debate["id"],
                "comment_id": comment["id"],
            }
            if comment.get("author"):
                item["author"] = comment["author"]
            if comment["id"] in comment_groups:
                item["group"] = comment_groups[comment["id"]]
                # Synthetic debates know each group's stance: keep it as the item's ground truth.
                stance = (debate.get("group_stances") or {}).get(item["group"])
                if stance:
                    item["stance"] = stance
            yield item
    if skipped:
        warnings.warn(f"skipped {skipped} debate(s) already in {target_language!r}: nothing to translate", stacklevel=2)


def build_rewrite_dataset(items: Iterable[dict]):
    """A Dataset of rewrite items with a conversational `prompt`; every item field is a column
    (fields some items lack are None in the others' rows)."""
    return items_to_dataset(
        {"prompt": [{"role": "user", "content": rewrite_prompt(item)}], **item} for item in items
    )
