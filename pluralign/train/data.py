"""The recipe's data as TRL datasets: prompts for the task, a held-out split for the eval hook,
and the targets of SFT.

`data.path` is a debates JSONL, a rewrite-items JSONL, or a Dataset folder (`save_to_disk`) of
either. Summarize prompts are built per debate, rewrite prompts per item; rewrite items are made
from debates when the file holds debates (pluralign.data.tasks).
"""

from __future__ import annotations

import os
from pathlib import Path

from pluralign.data.jsonl import read_outputs
from pluralign.log import get_logger
from pluralign.tasks import DEBATE, get_task
from pluralign.train.recipe import PROPORTIONAL_TARGETS, RecipeError, is_hub_dataset_id

logger = get_logger(__name__)


def read_records(path: str | Path) -> tuple[str, list[dict]]:
    """('debates' | 'items', records) from a JSONL file or a Dataset folder."""
    from pluralign.data import jsonl

    path = Path(path)
    if path.is_dir():
        from datasets import load_from_disk

        return records_of_dataset(load_from_disk(str(path)))
    kind = jsonl.sniff_kind(path)
    reader = jsonl.read_debates if kind == "debates" else jsonl.read_rewrite_items
    return kind, list(reader(path))


def records_of_dataset(dataset) -> tuple[str, list[dict]]:
    """Debates (a `comments` column), the debates of a summarize prompt dataset (a `debate` JSON
    column, as `pluralign data prompts` publishes it), or rewrite items (the rest)."""
    import json

    from pluralign.data import jsonl

    if "comments" in dataset.column_names:
        return "debates", list(jsonl.debates_from_dataset(dataset))
    if "debate" in dataset.column_names:
        return "debates", [json.loads(d) if isinstance(d, str) else d for d in dataset["debate"]]
    if "prompt" in dataset.column_names:
        dataset = dataset.remove_columns("prompt")
    return "items", list(jsonl.items_from_dataset(dataset))


def recipe_records(recipe) -> tuple[str, list[dict]]:
    """The recipe's records: synthetic debates (`data.synth`), a Hub dataset, or a local file or folder."""
    data = recipe.data
    if data.synth is not None:
        from pluralign.data.synth import SynthSpec, synth_debates

        return "debates", list(synth_debates(SynthSpec(**data.synth)))
    if is_hub_dataset_id(data.path):
        return records_of_dataset(load_hub_dataset(recipe))
    return read_records(data.path)


def load_hub_dataset(recipe):
    """`datasets.load_dataset(data.path, data.config, split=data.split, revision=data.revision)`;
    offline without a cached copy, a RecipeError that names the Hub and the id."""
    from datasets import load_dataset

    data = recipe.data
    offline = any(os.environ.get(k, "").upper() in ("1", "ON", "YES", "TRUE") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    try:
        return load_dataset(data.path, data.config, split=data.split, revision=data.revision)
    except Exception as err:  # datasets raises many kinds (connection, not found, no cache); all are the user's to fix
        where = f"the Hugging Face Hub dataset {data.path!r}" + (f" (config {data.config})" if data.config else "")
        if offline:
            raise RecipeError(recipe.path, "data.path", f"{where} cannot be loaded offline (HF_HUB_OFFLINE or "
                              "HF_DATASETS_OFFLINE is set) and is not in the local cache: unset them to download it, "
                              "or give a local JSONL or Dataset folder") from None
        raise RecipeError(recipe.path, "data.path", f"{where}, split {data.split!r}: {type(err).__name__}: {err}") from None


def build_prompts(recipe):
    """The task's prompt dataset (conversational `prompt` plus the columns the rewards read)."""
    from pluralign.data import tasks

    task = get_task(recipe.task)
    kind, records = recipe_records(recipe)
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


def split_sizes(recipe, n: int) -> tuple[int, int]:
    """(training rows, held-out rows) of n prompts: the eval hook's share (at least one row) is kept
    out when the hook or TRL's evaluation is on; `data.limit` caps the training rows."""
    held = max(1, round(n * recipe.eval_hook.held_out)) if holds_out(recipe) and n > 1 else 0
    train = n - held
    return (min(recipe.data.limit, train) if recipe.data.limit else train), held


def holds_out(recipe) -> bool:
    return recipe.eval_hook.enabled or evaluates(recipe)


def evaluates(recipe) -> bool:
    """Whether TRL's own evaluation runs (`training.eval_strategy` other than no)."""
    return str(recipe.training.get("eval_strategy", "no")) not in ("no", "IntervalStrategy.NO")


def split_prompts(recipe, dataset):
    """(train, held_out): the held-out share is kept out of training; held_out is None when neither
    the eval hook nor TRL's evaluation is on. The hook uses its first `eval_hook.n_samples` rows."""
    train, held = split_sizes(recipe, len(dataset))
    held_out = None
    if recipe.eval_hook.enabled and len(dataset) <= 1:
        logger.warning(f"warning: {recipe.data.path} gives {len(dataset)} prompt(s), none to hold out: the eval hook is "
                       "off for this run (give more data, or set eval_hook.enabled=false to say so)")
    if held:
        parts = dataset.train_test_split(test_size=held, seed=recipe.seed, shuffle=True)
        dataset, held_out = parts["train"], parts["test"]
    if recipe.data.limit:
        dataset = dataset.select(range(train))
    return dataset, held_out


def count_prompts(recipe) -> int:
    """How many prompt rows the recipe's data gives, without building them (no model, no groups)."""
    task = get_task(recipe.task)
    kind, records = recipe_records(recipe)
    if task.record == DEBATE:
        return len(records) if kind == "debates" else 0
    if kind == "items":
        return sum(item["task"] == task.name for item in records)
    from pluralign.data.tasks import default_target_language

    count = 0
    for debate in records:
        target = recipe.data.target_language or default_target_language(debate["language"])
        if task.same_language is False and target == debate["language"]:
            continue  # rewrite_items skips a translation into the debate's own language
        n = len(debate["comments"])
        count += n if recipe.data.per_debate is None else min(n, recipe.data.per_debate)
    return count


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
    if recipe.sft_targets == PROPORTIONAL_TARGETS:
        from pluralign.data.synth import proportional_summary

        targets = {d["id"]: proportional_summary(d) for d in recipe_records(recipe)[1]}
    elif recipe.sft_targets:
        targets = {i: texts[0] for i, texts in read_texts_by_id(recipe.sft_targets, task.name).items()}
    else:
        _, records = recipe_records(recipe)
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
