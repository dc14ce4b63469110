"""Prompt datasets for the Hub: the rows pluralign trains on, in TRL's conversational format.

`pluralign data prompts --task T ... --push-to-hub ORG/NAME` (and `pluralign data tasks ...
--push-to-hub`) builds the task's prompt dataset (`pluralign.data.tasks`: a conversational
`prompt` column, plus `debate` for summarize, or the rewrite item's fields) and publishes it as a
dataset repo: `data/train-00000-of-00001.parquet` and a dataset card. Any TRL trainer takes it
with the built-in rewards, which read the same columns:

    trl grpo --model_name_or_path Qwen/Qwen2.5-1.5B-Instruct --dataset_name ORG/NAME \
        --reward_funcs pluralign.rewards.adapters.pluralism_reward

and so does a pluralign recipe (`data.path: ORG/NAME`). The card carries the data's license and
attribution when its records name them (Polis exports: CC BY 4.0).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pluralign import __version__
from pluralign.errors import UsageError
from pluralign.tasks import DEBATE, get_task

PARQUET = "data/train-00000-of-00001.parquet"


def prompt_dataset(task_name: str, records: list[dict], kind: str, max_comments: int | None = None,
                   seed: int = 0, target_language: str | None = None, per_debate: int | None = None):
    """The task's prompt dataset from debates (`kind` "debates") or rewrite items ("items"), as
    `pluralign train` builds it."""
    from pluralign.data import tasks

    task = get_task(task_name)
    if task.record == DEBATE:
        if kind != "debates":
            raise UsageError(f"{task.name} prompts are made from debates; give --debates")
        return tasks.build_summarize_dataset(records, max_comments=max_comments, seed=seed)
    if kind == "debates":
        records = list(tasks.rewrite_items(records, task.name, target_language=target_language,
                                           per_debate=per_debate, seed=seed))
    records = [r for r in records if r["task"] == task.name]
    if not records:
        raise UsageError(f"no {task.name} items to publish")
    return tasks.build_rewrite_dataset(records)


def _sources(records: Iterable[dict]) -> tuple[set[str], set[str]]:
    """The licenses and attribution statements the records name (`source: {license, attribution}`)."""
    licenses, attributions = set(), set()
    for record in records:
        source = record.get("source")
        if isinstance(source, dict):
            if source.get("license"):
                licenses.add(str(source["license"]))
            if source.get("attribution"):
                attributions.add(str(source["attribution"]))
    return licenses, attributions


HUB_LICENSES = {"CC BY 4.0": "cc-by-4.0", "CC BY-SA 4.0": "cc-by-sa-4.0", "CC0 1.0": "cc0-1.0", "Apache-2.0": "apache-2.0"}


def dataset_card(task_name: str, repo_id: str, n_rows: int, columns: list[str], records: list[dict]) -> str:
    """The dataset card: Hub metadata (license, task category, tags, the parquet config) and how to
    train on it with TRL or pluralign."""
    from huggingface_hub import DatasetCard, DatasetCardData

    task = get_task(task_name)
    licenses, attributions = _sources(records)
    license_id = HUB_LICENSES.get(next(iter(licenses))) if len(licenses) == 1 else None
    data = DatasetCardData(
        license=license_id, task_categories=[task.hub_type], tags=["pluralign", "deliberation", "trl", "conversational", task.name],
        pretty_name=f"pluralign {task.name} prompts", size_categories=[_size_category(n_rows)],
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}],
    )
    reward = task.reward
    body = [
        f"# {repo_id}",
        f"{n_rows} `{task.name}` prompts ({task.description}), built by pluralign {__version__} "
        f"(`pluralign data prompts`), in TRL's conversational format: `prompt` is a list of chat messages.",
        "## Columns\n\n" + ", ".join(f"`{c}`" for c in columns) + ".\n\n"
        + ("`debate` holds the (sampled) debate as JSON: comments, votes and opinion groups, which the "
           "pluralism reward reads." if task.record == DEBATE else
           "The rewrite item's fields (`source`, `source_language`, `target_language`, `question`, ...) are "
           "what the fidelity reward reads."),
        "## Train on it\n\nWith TRL, the pluralign rewards read the columns above:\n\n```sh\n"
        f"trl grpo --model_name_or_path Qwen/Qwen2.5-1.5B-Instruct --dataset_name {repo_id} \\\n"
        f"    --reward_funcs pluralign.rewards.adapters.{reward}_reward\n```\n\n"
        f"With pluralign: `data.path: {repo_id}` in a recipe (task `{task.name}`).",
    ]
    if licenses:
        body.append("## License and attribution\n\nThe records come from sources licensed "
                    + ", ".join(sorted(licenses)) + "." + "".join(f"\n\n{a}" for a in sorted(attributions)))
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(body) + "\n"))


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


def write_prompt_dataset(dataset, folder: str | Path, task_name: str, repo_id: str, records: list[dict]) -> Path:
    """The dataset repo's files in `folder`: the parquet shard and README.md."""
    folder = Path(folder)
    (folder / PARQUET).parent.mkdir(parents=True, exist_ok=True)
    dataset.to_parquet(str(folder / PARQUET))
    card = dataset_card(task_name, repo_id, len(dataset), list(dataset.column_names), records)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


def publish_prompts(dataset, task_name: str, repo_id: str, records: list[dict], out: str | Path | None = None,
                    private: bool = False) -> str:
    """Write the dataset repo (to `out`, or a temporary folder) and push it; returns the commit URL."""
    import tempfile

    from pluralign.export.hub import push_to_hub

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_prompt_dataset(dataset, out or tmp, task_name, repo_id, records)
        return push_to_hub(folder, repo_id, private=private, repo_type="dataset",
                           commit_message=f"Upload {task_name} prompts built by pluralign {__version__}")
