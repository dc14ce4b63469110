"""Task builders: debates become prompt datasets for `summarize`, comments become rewrite items.

Summarize rows carry the (sampled) debate as JSON and its group composition, so that reward
functions can score a completion from the row alone. Rewrite items are the DESIGN §1 items plus
where they came from (`debate_id`, `comment_id`, `author`, `group`).
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Iterable, Iterator

from pluralign.data.groups import resolve_groups
from pluralign.data.jsonl import items_to_dataset

LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "zh-tw": "Traditional Chinese", "zh-cn": "Simplified Chinese",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean",
}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code.lower(), code)


def default_target_language(source_language: str) -> str:
    """Translate into English, or into French from English."""
    return "fr" if source_language == "en" else "en"


def _rng(seed: int, key: str) -> random.Random:
    # One stream per record, so that adding a debate to a file does not change the others' samples.
    return random.Random(f"{seed}:{key}")


def summarize_prompt(debate: dict) -> str:
    comments = "\n".join(f"- {c['text'].strip()}" for c in debate["comments"])
    return (
        f"Here are the contributions of participants to a public debate on the question:\n"
        f"{debate['question'].strip()}\n\n"
        f"Contributions:\n{comments}\n\n"
        f"Write a short, fair summary of this debate in {language_name(debate['language'])}. "
        "Give every opinion a place in proportion to its support, minority views included, "
        "state each position and its reasons, and add no opinion that nobody expressed."
    )


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
    if task not in ("reformulate", "translate"):
        raise ValueError(f"task must be 'reformulate' or 'translate', got {task!r}")
    skipped = 0
    for debate in debates:
        source_language = debate["language"]
        if task == "reformulate":
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


def rewrite_prompt(item: dict) -> str:
    question = f"The debate's question: {item['question'].strip()}\n" if item.get("question") else ""
    source = language_name(item["source_language"])
    if item["task"] == "reformulate":
        instruction = (
            f"Rewrite this contribution to a public debate in {source}, so that it is clear and civil. "
            "Keep the author's position, their reasons and how strongly they hold them; "
            "add nothing and leave nothing out."
        )
        label = "Rewritten contribution:"
    else:
        target = language_name(item["target_language"])
        instruction = (
            f"Translate this contribution to a public debate from {source} into {target}. "
            "Keep the author's position, their reasons and how strongly they hold them; "
            "add nothing and leave nothing out."
        )
        label = f"Translation ({target}):"
    return f"{instruction}\n\n{question}Contribution: {item['source'].strip()}\n\n{label}"


def build_rewrite_dataset(items: Iterable[dict]):
    """A Dataset of rewrite items with a conversational `prompt`; every item field is a column
    (fields some items lack are None in the others' rows)."""
    return items_to_dataset(
        {"prompt": [{"role": "user", "content": rewrite_prompt(item)}], **item} for item in items
    )
