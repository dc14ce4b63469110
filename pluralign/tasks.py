"""The tasks pluralign knows, one entry each, in the spirit of lighteval's task configs.

A task ties together what every other module needs to know about it: the kind of record its
prompts and suites are built from (a debate, or a rewrite item), the prompt, the field an
outputs line carries, the score key and scorer that judge it, its default reward, the columns
its prompt datasets carry (which rewards may read), and its Hub task type. Modules ask the
registry (`get_task`, `TASKS`) instead of comparing task names. Adding a task is one `Task(...)`
entry here plus its scorer.

Heavy modules (the scorers, the prompt builders) are imported only when a task's function runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from pluralign.errors import UsageError
from pluralign.prompts import rewrite_prompt, summarize_prompt

DEBATE, ITEM = "debate", "item"  # the two record kinds (docs/design.md §1)

# Dataset columns of the prompt datasets (`pluralign.data.tasks`): what reward functions can read.
SUMMARIZE_COLUMNS = ("prompt", "debate_id", "question", "language", "debate", "group_sizes", "group_source")
REWRITE_COLUMNS = ("prompt", "id", "task", "source", "source_language", "target_language", "question",
                   "debate_id", "comment_id", "author", "group", "stance")
# Fields of a record that a scored line carries, so that reports can break down by them
# (pluralign-bench records say their country, conversation, group source, the side the voters
# took on a contribution, whether its group is a minority, and a debate's minority groups).
CONTEXT_FIELDS = ("group", "stance", "source_language", "target_language", "debate_id", "comment_id",
                  "country", "conversation", "group_source", "vote_side", "minority", "minority_groups")


def _pluralism_scorer(backend, **options):
    from pluralign.rewards.scorers import make_scorer

    return make_scorer("pluralism", backend, **options)


def _fidelity_scorer(backend, **options):
    from pluralign.rewards.scorers import make_scorer

    return make_scorer("fidelity", backend, **options)


def _debate_of_row(row: dict) -> dict:
    return json.loads(row["debate"]) if isinstance(row["debate"], str) else row["debate"]


def _item_of_row(row: dict) -> dict:
    keys = ("id", "task", "source", "source_language", "target_language", "question", "group", "stance")
    return {k: row[k] for k in keys if row.get(k) is not None}


@dataclass(frozen=True)
class Task:
    name: str
    record: str  # DEBATE or ITEM: what prompts, suites and scorers read
    text_field: str  # the field of an outputs line: "summary" or "output"
    score_key: str  # the score a scored line carries: "pluralism" or "fidelity"
    reward: str  # the default reward (a name in pluralign.rewards.registry)
    prompt: Callable[[dict], str]  # record -> the user's request
    make_scorer: Callable[..., object]  # (backend, **options) -> a scorer with score_batch(records, texts)
    record_of_row: Callable[[dict], dict]  # a prompt-dataset row -> its record
    columns: tuple[str, ...]  # the prompt dataset's columns
    hub_type: str  # model-index `task.type`
    hub_name: str  # a readable name for the card
    same_language: bool | None = None  # rewrite items: must the target language equal the source's?
    stress: bool = False  # the summary stress tests (comment order, minority ablation) apply
    description: str = ""

    def row_id(self, row: dict) -> str:
        """The id an outputs or candidates line gives for a prompt-dataset row."""
        return row["debate_id"] if self.record == DEBATE else row["id"]

    def language(self, record: dict) -> str:
        """The language label reports break down by: `en`, or `en->fr` for a translation."""
        if self.record == DEBATE:
            return record["language"]
        if self.same_language is False:
            return f"{record['source_language']}->{record['target_language']}"
        return record["source_language"]

    def context(self, record: dict) -> dict:
        """The record's fields that a scored line carries (groups, stance, languages, origin)."""
        return {**{k: record[k] for k in CONTEXT_FIELDS if record.get(k) is not None}, "language": self.language(record)}


TASKS: dict[str, Task] = {task.name: task for task in (
    Task("summarize", DEBATE, "summary", "pluralism", "pluralism", summarize_prompt, _pluralism_scorer,
         _debate_of_row, SUMMARIZE_COLUMNS, "summarization", "Debate summarization: pluralism", stress=True,
         description="a debate's comments become a summary that keeps every opinion group visible"),
    Task("reformulate", ITEM, "output", "fidelity", "fidelity", rewrite_prompt, _fidelity_scorer,
         _item_of_row, REWRITE_COLUMNS, "text2text-generation", "Reformulation: fidelity", same_language=True,
         description="a contribution is rewritten in its own language, clearer and civil"),
    Task("translate", ITEM, "output", "fidelity", "fidelity", rewrite_prompt, _fidelity_scorer,
         _item_of_row, REWRITE_COLUMNS, "translation", "Translation: fidelity", same_language=False,
         description="a contribution is rendered in another language"),
)}


def task_names(record: str | None = None) -> tuple[str, ...]:
    """The registered task names (of one record kind)."""
    return tuple(name for name, task in TASKS.items() if record is None or task.record == record)


def get_task(name: str) -> Task:
    """The task called `name`, or a UsageError that lists the known ones."""
    task = TASKS.get(name) if isinstance(name, str) else None
    if task is None:
        raise UsageError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return task
