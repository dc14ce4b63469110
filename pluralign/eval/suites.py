"""Benchmark suites: versioned sets of debates (summarize) or rewrite items (reformulate,
translate), each with a signature that names its version and the exact data it holds.

Two runs are comparable only on the same suite signature: the data hash changes when any
debate, item or field changes, and the version changes when the way a suite is built does.

Suites come from the user's files (`build_suites(debates, items)`) or by name from the ones
installed with pluralign (`named_suites("pluralign-bench-v1")`, or `pluralign-bench-v1:summarize`
for some of its tasks): a folder `pluralign/suites/NAME/` with a `MANIFEST.json` and one
`TASK.jsonl` per task, found through importlib.resources, so that no data path is needed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pluralign.data.jsonl import read_debates, read_rewrite_items
from pluralign.data.schema import DataError
from pluralign.errors import UsageError
from pluralign.signature import make_signature
from pluralign.tasks import DEBATE, ITEM, TASKS, Task, get_task

SUITE_VERSION = 1


@dataclass
class Suite:
    task: str  # a name in pluralign.tasks.TASKS
    records: list[dict]  # debates (summarize) or rewrite items
    source: str  # the file the records came from
    named: str | None = None  # the installed suite it belongs to (pluralign-bench-v1), if any

    @property
    def name(self) -> str:
        if self.named:
            return f"{self.named}/{self.task}"
        return f"pluralign-{self.task}-v{SUITE_VERSION}"

    @property
    def data_hash(self) -> str:
        canonical = "\n".join(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in self.records)
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    @property
    def signature(self) -> str:
        return make_signature(scorer="suite", suite=self.name, data=self.data_hash, n=len(self.records))

    @property
    def spec(self) -> Task:
        return TASKS[self.task]

    @property
    def text_field(self) -> str:
        """The outputs field this suite's predictions carry."""
        return self.spec.text_field

    def by_id(self) -> dict[str, dict]:
        return {r["id"]: r for r in self.records}

    def describe(self) -> dict:
        return {"suite": self.name, "task": self.task, "version": SUITE_VERSION, "source": self.source,
                "n": len(self.records), "data": self.data_hash, "signature": self.signature}


def build_suites(debates: str | Path | None = None, items: str | Path | None = None) -> list[Suite]:
    """A suite for each task built from debates (from the debates file), and one for each task
    built from rewrite items (the items file, split by each item's `task`). Ids must be unique
    across all suites, so that an outputs line finds its record by id alone."""
    if debates is None and items is None:
        raise UsageError("give a debates file (--debates) and/or an items file (--items)")
    suites = []
    if debates is not None:
        records = list(read_debates(debates))
        suites += [Suite(name, records, str(debates)) for name, task in TASKS.items() if task.record == DEBATE]
    if items is not None:
        by_task: dict[str, list[dict]] = {}
        for item in read_rewrite_items(items):
            by_task.setdefault(item["task"], []).append(item)
        if not by_task:
            raise DataError(items, None, "<file>", "the items file holds no items")
        suites += [Suite(name, by_task[name], str(items)) for name, task in TASKS.items()
                   if task.record == ITEM and name in by_task]
    if debates is not None and items is not None:
        debate_ids = {i for s in suites if s.spec.record == DEBATE for i in s.by_id()}
        shared = debate_ids & {i for s in suites if s.spec.record == ITEM for i in s.by_id()}
        if shared:
            raise DataError(items, None, "id", f"id {sorted(shared)[0]!r} is both a debate and an item "
                            f"({len(shared)} such id(s)); outputs are matched by id, so make ids unique")
    return suites


# --- suites installed with pluralign ------------------------------------------------------------

MANIFEST = "MANIFEST.json"


def _installed():
    """The folder of installed suites (a Traversable: a real folder, or inside a zip)."""
    return resources.files("pluralign") / "suites"


def installed_suites() -> list[str]:
    """The names of the suites installed with pluralign."""
    root = _installed()
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if entry.is_dir() and (entry / MANIFEST).is_file())


def named_suites(spec: str) -> list[Suite]:
    """The suites of an installed benchmark: `NAME` (every task it has) or `NAME:TASK[,TASK]`."""
    name, _, wanted = spec.partition(":")
    known = installed_suites()
    if name not in known:
        raise UsageError(f"unknown suite {name!r}; installed suites: {', '.join(known) or 'none'} "
                         "(optionally NAME:TASK[,TASK]); for your own files use --debates/--items")
    folder = _installed() / name
    tasks = [get_task(t.strip()).name for t in wanted.split(",")] if wanted else list(TASKS)
    suites = []
    for task in tasks:
        entry = folder / f"{task}.jsonl"
        if not entry.is_file():
            if wanted:
                have = [t for t in TASKS if (folder / f"{t}.jsonl").is_file()]
                raise UsageError(f"suite {name} has no {task} task; it has {', '.join(have)}")
            continue
        with resources.as_file(entry) as path:
            reader = read_debates if TASKS[task].record == DEBATE else read_rewrite_items
            records = list(reader(path))
        suites.append(Suite(task, records, f"{name}/{task}.jsonl", named=name))
    return suites
