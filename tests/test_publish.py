"""Prompt datasets in and out of the Hub: `pluralign data prompts/tasks --push-to-hub` (against a
local recording server), what TRL's reward functions read from the pushed rows, and `data.path` as
a Hub id (loaded through `datasets.load_dataset`, or a clear error offline)."""

import base64
import io
import json
from pathlib import Path

import yaml

from pluralign.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEBATES = ROOT / "data" / "synthetic" / "debates.jsonl"
POLIS = ROOT / "data" / "polis" / "scoop-hivemind-ubi.jsonl"


def sent_files(server) -> dict[str, bytes]:
    commit = [json.loads(line) for line in server.requests[-1]["body"].splitlines()]
    return {item["value"]["path"]: base64.b64decode(item["value"]["content"]) for item in commit if item["key"] == "file"}


def parquet_rows(data: bytes) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pylist()


def test_summarize_prompts_are_pushed_in_trl_format_and_score_with_the_reward(fake_hub, tmp_path, capsys):
    from pluralign.rewards.adapters import make_pluralism_reward

    repo = "someone/ubi-summarize"
    assert main(["data", "prompts", "--task", "summarize", "--debates", str(POLIS), "--max-comments", "20",
                 "--push-to-hub", repo, "--private"]) == 0
    assert f"/{repo}/commit/" in capsys.readouterr().out
    paths = [r["path"].split("?")[0] for r in fake_hub.requests]
    assert json.loads(fake_hub.requests[0]["body"]) == {"name": "ubi-summarize", "organization": "someone",
                                                        "visibility": "private", "type": "dataset"}
    assert f"/api/datasets/{repo}/preupload/main" in paths and paths[-1] == f"/api/datasets/{repo}/commit/main"
    files = sent_files(fake_hub)
    assert set(files) == {"README.md", "data/train-00000-of-00001.parquet"}
    [row] = parquet_rows(files["data/train-00000-of-00001.parquet"])
    assert row["prompt"][0]["role"] == "user" and "Contributions (" in row["prompt"][0]["content"]  # conversational
    assert len(json.loads(row["debate"])["comments"]) == 20
    # the row is all TRL hands a reward function: the pluralism reward scores a completion from it
    columns = {k: [v] for k, v in row.items() if k != "prompt"}
    [score] = make_pluralism_reward(backend="lexical")(prompts=[row["prompt"]], completions=["A basic income."], **columns)
    assert 0.0 <= score <= 1.0
    card = files["README.md"].decode()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["license"] == "cc-by-4.0" and meta["task_categories"] == ["summarization"]  # the Polis source's
    assert meta["configs"][0]["data_files"][0]["path"] == "data/train-*.parquet"
    assert "The Computational Democracy Project" in card
    assert f"--dataset_name {repo}" in card and "pluralign.rewards.adapters.pluralism_reward" in card


def test_data_tasks_pushes_the_items_prompts_too(fake_hub, tmp_path):
    from pluralign.data.jsonl import read_rewrite_items

    out = tmp_path / "items.jsonl"
    assert main(["data", "tasks", "--debates", str(DEBATES), "--task", "translate", "--per-debate", "2",
                 "--out", str(out), "--push-to-hub", "someone/translate-prompts"]) == 0
    rows = parquet_rows(sent_files(fake_hub)["data/train-00000-of-00001.parquet"])
    items = list(read_rewrite_items(out))
    assert [r["id"] for r in rows] == [i["id"] for i in items] and len(rows) == 12
    assert {r["target_language"] for r in rows} == {"en", "fr"} and all(r["prompt"][0]["role"] == "user" for r in rows)


def test_prompts_written_locally_load_back_as_the_same_records(tmp_path):
    from datasets import load_dataset

    from pluralign.data.jsonl import read_debates
    from pluralign.train.data import records_of_dataset

    assert main(["data", "prompts", "--task", "summarize", "--debates", str(DEBATES), "--out", str(tmp_path / "ds")]) == 0
    dataset = load_dataset("parquet", data_files=str(tmp_path / "ds" / "data" / "*.parquet"), split="train")
    kind, debates = records_of_dataset(dataset)
    assert kind == "debates" and [d["id"] for d in debates] == [d["id"] for d in read_debates(DEBATES)]
    assert (tmp_path / "ds" / "README.md").is_file()


def test_a_push_needs_a_destination_and_the_network(tmp_path, capsys):
    assert main(["data", "prompts", "--task", "summarize", "--debates", str(DEBATES)]) == 2
    assert "--out DIR" in capsys.readouterr().err
    # HF_HUB_OFFLINE is on in the tests: a push says so instead of trying
    assert main(["data", "prompts", "--task", "summarize", "--debates", str(DEBATES), "--push-to-hub", "a/b"]) == 2
    assert "HF_HUB_OFFLINE is set" in capsys.readouterr().err


def write_recipe(tmp_path, **data):
    raw = {"model": "tiny:llama", "data": data, "task": "summarize", "method": "grpo",
           "rewards": {"funcs": ["pluralism"]}, "output_dir": str(tmp_path / "out")}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_data_path_as_a_hub_id_goes_through_load_dataset(tmp_path, monkeypatch):
    import datasets

    from pluralign.train.data import build_prompts, count_prompts
    from pluralign.train.recipe import load_recipe

    main(["data", "prompts", "--task", "summarize", "--debates", str(DEBATES), "--out", str(tmp_path / "ds")])
    local = datasets.load_dataset("parquet", data_files=str(tmp_path / "ds" / "data" / "*.parquet"), split="train")
    calls = []

    def fake_load_dataset(path, name=None, split=None, revision=None):
        calls.append((path, name, split, revision))
        return local

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    recipe = load_recipe(write_recipe(tmp_path, path="someone/debates", split="train", config="v1", revision="abc123"))
    assert recipe.data.path == "someone/debates"  # not taken for a missing local file
    assert count_prompts(recipe) == 6 and len(build_prompts(recipe)) == 6
    assert calls[0] == ("someone/debates", "v1", "train", "abc123")


def test_a_hub_dataset_offline_is_a_clear_error_naming_the_hub_and_the_id(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    path = write_recipe(tmp_path, path="someone/not-cached-debates")
    assert main(["train", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "data.path: the Hugging Face Hub dataset 'someone/not-cached-debates' cannot be loaded offline" in err
    assert str(path) in err
    # a missing local file is still a missing file, and Hub-only keys are refused for local paths
    assert main(["train", str(write_recipe(tmp_path, path="missing.jsonl")), "--dry-run"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["train", str(write_recipe(tmp_path, path=str(DEBATES), config="v1")), "--dry-run"]) == 2
    assert "data.config: applies to Hub datasets only" in capsys.readouterr().err
