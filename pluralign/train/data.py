"""The recipe's data as TRL datasets: prompts for the task, a held-out split for the eval hook,
and the targets of SFT.

`data.path` is a debates JSONL, a rewrite-items JSONL, or a Dataset folder (`save_to_disk`) of
either. Summarize prompts are built per debate, rewrite prompts per item; rewrite items are made
from debates when the file holds debates (pluralign.data.tasks).
"""

from __future__ import annotations

from pathlib import Path

from pluralign.data.jsonl import read_outputs
from pluralign.log import get_logger
from pluralign.tasks import DEBATE, get_task
from pluralign.train.recipe import RecipeError

logger = get_logger(__name__)


def read_records(path: str | Path) -> tuple[str, list[dict]]:
    """('debates' | 'items', records) from a JSONL file or a Dataset folder."""
    from pluralign.data import jsonl

    path = Path(path)
    if path.is_dir():
        from datasets import load_from_disk

        dataset = load_from_disk(str(path))
        if "comments" in dataset.column_names:
            return "debates", list(jsonl.debates_from_dataset(dataset))
        return "items", list(jsonl.items_from_dataset(dataset))
    kind = jsonl.sniff_kind(path)
    reader = jsonl.read_debates if kind == "debates" else jsonl.read_rewrite_items
    return kind, list(reader(path))


def build_prompts(recipe):
    """The task's prompt dataset (conversational `prompt` plus the columns the rewards read)."""
    from pluralign.data import tasks

    task = get_task(recipe.task)
    kind, records = read_records(recipe.data.path)
    if task.record == DEBATE:
        if kind != "debates":
            raise RecipeError(recipe.path, "data.path", f"{recipe.data.path} holds rewrite items; {task.name} needs debates")
        return tasks.build_summarize_dataset(records, max_comments=recipe.data.max_comments, seed=recipe.seed)
    if kind == "debates":
        records = list(tasks.rewrite_items(records, task.name, target_language=recipe.data.target_language,
                                           per_debate=recipe.data.per_debate, seed=recipe.seed))
    else:
        records = [item for item in records if item["task"] == task.name]
    if not records:
        raise RecipeError(recipe.path, "data.path", f"{recipe.data.path} gives no {task.name} items")
    return tasks.build_rewrite_dataset(records)


def split_prompts(recipe, dataset):
    """(train, held_out): the eval hook's share is kept out of training; held_out is None when off."""
    hook = recipe.eval_hook
    held_out = None
    if hook.enabled and len(dataset) <= 1:
        logger.warning(f"warning: {recipe.data.path} gives {len(dataset)} prompt(s), none to hold out: the eval hook is "
                       "off for this run (give more data, or set eval_hook.enabled=false to say so)")
    if hook.enabled and len(dataset) > 1:
        size = max(1, round(len(dataset) * hook.held_out))
        parts = dataset.train_test_split(test_size=size, seed=recipe.seed, shuffle=True)
        dataset, held_out = parts["train"], parts["test"]
        held_out = held_out.select(range(min(hook.n_samples, len(held_out))))
    if recipe.data.limit:
        dataset = dataset.select(range(min(recipe.data.limit, len(dataset))))
    return dataset, held_out


def read_texts_by_id(path: str | Path, task: str) -> dict[str, list[str]]:
    """{id: [texts]} from an outputs/candidates JSONL (the task's text field: `summary` or `output`)."""
    field = get_task(task).text_field
    by_id: dict[str, list[str]] = {}
    for _, obj in read_outputs(path, field):
        by_id.setdefault(obj["id"], []).append(obj[field])
    return by_id


def sft_dataset(recipe, prompts):
    """Prompt-completion rows (conversational) for SFTTrainer, from `sft_targets` or the data's own
    `summary` fields; prompts without a target are counted and left out."""
    task = get_task(recipe.task)
    if recipe.sft_targets:
        targets = {i: texts[0] for i, texts in read_texts_by_id(recipe.sft_targets, task.name).items()}
    else:
        _, records = read_records(recipe.data.path)
        targets = {r["id"]: r[task.text_field] for r in records if isinstance(r.get(task.text_field), str)}
    ids = [task.row_id(row) for row in prompts]
    keep = [i for i, rid in enumerate(ids) if rid in targets]
    if not keep:
        where = recipe.sft_targets or recipe.data.path
        raise RecipeError(recipe.path, "sft_targets", f"{where} has no target for any prompt id (e.g. {ids[:3]})")
    missing = len(ids) - len(keep)
    if missing:
        logger.info(f"sft: {missing} prompt(s) without a target left out")
    rows = prompts.select(keep)
    return rows.map(lambda row: {"completion": [{"role": "assistant", "content": targets[task.row_id(row)]}]})
