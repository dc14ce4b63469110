"""pluralign-bench as a Hugging Face `datasets` repository: one config per task.

    pluralign data bench --push-to-hub ORG/NAME        (--hub-dir DIR keeps the folder)

The suite's own files nest debates (comments, votes, groups keyed by participant), which Arrow
cannot type across records. So each row of the Hub form holds the record's flat fields (strings,
numbers, booleans and `minority_groups`) for browsing and filtering, the task's `prompt`, and
the whole record as a JSON string in `record`: what pluralign's scorers read back
(`json.loads(row["record"])`). The card is the suite's DATASHEET.md under a YAML header whose
`configs:` name one config (split `test`) per task; ATTRIBUTION.md and MANIFEST.json go along.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pluralign.data.jsonl import read_records, write_jsonl
from pluralign.data.schema import DataError
from pluralign.tasks import TASKS

SPLIT = "test"
CARRIED = ("DATASHEET.md", "ATTRIBUTION.md", "MANIFEST.json")


def hub_row(task: str, record: dict) -> dict:
    """One row of the Hub form of a suite record."""
    flat = {k: v for k, v in record.items() if isinstance(v, (str, int, float, bool))}
    flat.pop("task", None)
    row = {"id": record["id"], "task": task, "prompt": TASKS[task].prompt(record), **flat}
    if isinstance(record.get("minority_groups"), list):
        row["minority_groups"] = [str(g) for g in record["minority_groups"]]
    row["record"] = json.dumps(record, ensure_ascii=False, sort_keys=True)
    return row


def record_of_row(row: dict) -> dict:
    """A Hub row back to the suite record (what the scorers read)."""
    return json.loads(row["record"])


def check_suite(suite: Path) -> dict:
    """The suite's manifest, once every file it lists has its recorded sha256."""
    manifest_path = suite / "MANIFEST.json"
    if not manifest_path.is_file():
        raise DataError(manifest_path, None, "<file>", "missing; build the suite first with `pluralign data bench`")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for name, entry in manifest["files"].items():
        path = suite / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            raise DataError(path, None, "sha256", "differs from MANIFEST.json (or is missing); rebuild the suite "
                            f"with `{manifest['command']}` before pushing it")
    return manifest


def card(suite: Path, manifest: dict, tasks: list[str], languages: list[str]) -> str:
    configs = "".join(f"- config_name: {task}\n  data_files:\n  - split: {SPLIT}\n    path: data/{task}.jsonl\n"
                      for task in tasks)
    categories = sorted({TASKS[t].hub_type for t in tasks})
    header = (f"---\nlicense: cc-by-4.0\npretty_name: {manifest['name']}\nlanguage:\n"
              + "".join(f"- {lang}\n" for lang in languages)
              + "task_categories:\n" + "".join(f"- {c}\n" for c in categories)
              + "tags:\n- deliberation\n- pluralism\n- polis\n- fidelity\nsize_categories:\n- n<1K\n"
              + f"configs:\n{configs}---\n")
    usage = f"""
> One config per task ({", ".join(tasks)}), split `{SPLIT}`. Each row holds the record's flat
> fields, the `prompt` pluralign asks a model, and the whole record as JSON in `record`. Score
> outputs with pluralign: `pluralign eval --suite {manifest['name']} --predictions OUT.jsonl --out DIR`
> (ids are the rows' `id`), or through the lighteval task `community_tasks/pluralign_bench.py`.
> Rebuilt byte for byte with `{manifest['command']}`; CC BY 4.0, see ATTRIBUTION.md.

"""
    return header + usage + (suite / "DATASHEET.md").read_text(encoding="utf-8")


def write_hub_folder(suite: str | Path, out: str | Path) -> Path:
    """Write the Hub form of the suite in `suite` (checked against its manifest) into `out`."""
    suite, out = Path(suite), Path(out)
    manifest = check_suite(suite)
    tasks = [t for t in TASKS if (suite / f"{t}.jsonl").is_file()]
    languages: set[str] = set()
    for task in tasks:
        records = read_records(suite / f"{task}.jsonl")
        for record in records:
            for key in ("language", "source_language", "target_language"):
                if isinstance(record.get(key), str):
                    languages.add(record[key].split("-")[0])  # the Hub wants ISO 639-1: zh-tw is zh
        write_jsonl(out / "data" / f"{task}.jsonl", (hub_row(task, r) for r in records))
    for name in CARRIED:
        (out / name).write_bytes((suite / name).read_bytes())
    (out / "README.md").write_text(card(suite, manifest, tasks, sorted(languages)), encoding="utf-8")
    return out


def push_suite(suite: str | Path, repo_id: str, folder: str | Path, private: bool = False) -> str:
    """Write the Hub form into `folder` and upload it as a dataset repository; the commit URL."""
    from pluralign.export.hub import push_to_hub

    write_hub_folder(suite, folder)
    return push_to_hub(folder, repo_id, private=private, repo_type="dataset")
