"""pluralign-bench-v1: rebuilt from data/polis/raw, byte for byte as its MANIFEST.json says; its
samples stratified so that small groups appear; every record tagged; the CLI end to end."""

import csv
import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest

from pluralign.cli import main
from pluralign.data.bench import (
    NAME,
    TARGET_LANGUAGES,
    BenchSpec,
    allocate,
    load_conversations,
    long_enough,
    write_bench,
)
from pluralign.data.jsonl import read_debates, read_rewrite_items

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "polis" / "raw"
SUITE = ROOT / "pluralign" / "suites" / NAME
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "polis"
TAGS = ("conversation", "country", "language", "group_source", "group_unit", "group_sizes", "minority_groups")


@pytest.fixture(scope="module")
def conversations():
    return {conv.name: conv for conv in load_conversations(RAW)}


@pytest.fixture(scope="module")
def shipped():
    return {
        "manifest": json.loads((SUITE / "MANIFEST.json").read_text(encoding="utf-8")),
        "summarize": list(read_debates(SUITE / "summarize.jsonl")),
        "reformulate": list(read_rewrite_items(SUITE / "reformulate.jsonl")),
        "translate": list(read_rewrite_items(SUITE / "translate.jsonl")),
    }


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rebuild_gives_the_bytes_of_the_manifest(conversations, shipped, tmp_path):
    start = time.perf_counter()
    manifest = write_bench(list(conversations.values()), RAW, tmp_path / NAME, BenchSpec())
    print(f"wrote the suite in {time.perf_counter() - start:.1f}s (conversations loaded once for the module)")
    expected = shipped["manifest"]
    assert set(expected["files"]) == {"summarize.jsonl", "reformulate.jsonl", "translate.jsonl", "ATTRIBUTION.md", "DATASHEET.md"}
    for name, entry in expected["files"].items():
        assert sha256(SUITE / name) == entry["sha256"], f"shipped {name} differs from its manifest"
        assert sha256(tmp_path / NAME / name) == entry["sha256"], f"rebuilt {name} differs from the manifest"
    for key in ("name", "version", "command", "parameters", "conversations", "inputs", "files", "counts"):
        assert manifest[key] == expected[key], key
    # The inputs are the shipped exports, as they are now.
    assert expected["inputs"] == {p.relative_to(RAW).as_posix(): sha256(p) for p in sorted(RAW.rglob("*")) if p.is_file()}
    assert expected["command"] == "pluralign data bench --raw data/polis/raw --out pluralign/suites/pluralign-bench-v1"


def test_every_summarize_sample_holds_every_group(conversations, shipped):
    spec = BenchSpec()
    samples = {}
    for debate in shipped["summarize"]:
        conv = conversations[debate["conversation"]]
        samples.setdefault(conv.name, []).append(debate)
        assert debate["minority_groups"] == conv.minority_groups(spec.minority_share)
        kept = [c["id"] for c in debate["comments"]]
        assert len(kept) == min(spec.summarize_comments, len(conv.debate["comments"]))
        for group in conv.sizes:
            mine = [cid for cid, g in conv.comment_group.items() if g == group]
            held = sum(conv.comment_group.get(cid) == group for cid in kept)
            assert held >= min(spec.min_group_comments, len(mine)), (debate["id"], group)
            if group in debate["minority_groups"]:
                assert held >= 1, f"{debate['id']}: no comment of the small group {group}"
        assert len(debate.get("groups", {})) <= spec.summarize_participants + len(kept)
    with_minority = {name for name, conv in conversations.items() if conv.minority_groups(spec.minority_share)}
    assert len(with_minority) >= 8  # the exports do have small groups: the check above is not empty
    for name, conv in conversations.items():
        n = 1 if len(conv.debate["comments"]) <= spec.summarize_comments else spec.summarize_samples
        assert len(samples[name]) == n
        assert len({tuple(c["id"] for c in d["comments"]) for d in samples[name]}) == n  # different samples


def test_every_record_is_tagged_and_items_are_stratified(conversations, shipped):
    with open(RAW / "conversations.csv", encoding="utf-8", newline="") as handle:
        meta = {row["conversation"]: row for row in csv.DictReader(handle)}
    spec = BenchSpec()
    ids = set()
    for task in ("summarize", "reformulate", "translate"):
        for record in shipped[task]:
            assert all(tag in record for tag in TAGS), record["id"]
            row, conv = meta[record["conversation"]], conversations[record["conversation"]]
            assert (record["country"], record["language"]) == (row["country"], row["language"])
            assert record["group_sizes"] == conv.sizes and record["group_source"] == conv.debate["group_source"]
            assert record["group_unit"] == ("comments" if record["group_source"] == "text" else "participants")
            assert record["id"] not in ids
            ids.add(record["id"])
    for task in ("reformulate", "translate"):
        items = shipped[task]
        for item in items:
            conv = conversations[item["conversation"]]
            assert item["source"] == next(c["text"] for c in conv.debate["comments"] if c["id"] == item["comment_id"])
            assert item["group"] == conv.comment_group[item["comment_id"]]  # every source has a group here
            assert item["minority"] == (item["group"] in item["minority_groups"])
            assert item["vote_side"] == conv.vote_side[item["comment_id"]]
            if task == "translate":
                assert item["target_language"] in TARGET_LANGUAGES and item["target_language"] != item["source_language"]
        # Every small group with a comment long enough to rewrite has items of its own.
        for name, conv in conversations.items():
            for group in conv.minority_groups(spec.minority_share):
                eligible = [c for c in conv.debate["comments"]
                            if conv.comment_group.get(c["id"]) == group and long_enough(c["text"], spec)]
                if eligible:
                    assert any(i["conversation"] == name and i["group"] == group for i in items), (task, name, group)
        sides = {i["vote_side"] for i in items}
        assert {"agreed", "rejected", "divided"} <= sides
    directions = {(i["source_language"], i["target_language"]) for i in shipped["translate"]}
    assert directions == {("en", "fr"), ("en", "de"), ("de", "en"), ("de", "fr"),
                          ("zh-tw", "en"), ("zh-tw", "fr"), ("zh-tw", "de")}
    counts = shipped["manifest"]["counts"]
    assert counts["reformulate"]["by_language"] == {"de": 90, "en": 90, "zh-tw": 90}
    assert set(counts["translate"]["by_direction"].values()) == {60}


@pytest.mark.parametrize("task", ["summarize", "reformulate", "translate"])
def test_shipped_suite_files_are_valid(task, capsys):
    assert main(["data", "validate", str(SUITE / f"{task}.jsonl")]) == 0


def test_attribution_and_datasheet():
    attribution = (SUITE / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "sub-licensed\n    under CC BY 4.0 with Attribution to The Computational Democracy Project" in attribution
    assert "https://compdemocracy.org/case-studies/2015-vtaiwan-uberx" in attribution
    assert "https://creativecommons.org/licenses/by/4.0/" in attribution
    datasheet = (SUITE / "DATASHEET.md").read_text(encoding="utf-8")
    for section in ("Motivation", "Composition", "Collection process", "Sampling", "Languages and countries",
                    "Known biases and limits", "Maintenance", "Distribution and license"):
        assert f"## {section}" in datasheet
    assert "pluralign data bench --raw data/polis/raw --out pluralign/suites/pluralign-bench-v1" in datasheet


def test_allocate_floors_then_proportion():
    assert allocate({"a": 100, "b": 100, "c": 2}, {"a": 70.0, "b": 28.0, "c": 2.0}, 40, 4) == {"a": 27, "b": 11, "c": 2}
    assert allocate({"a": 3, "b": 50}, {"a": 1.0, "b": 1.0}, 10, 1) == {"a": 3, "b": 7}
    # Floors that do not fit go to the lightest strata first.
    assert allocate({"a": 9, "b": 9, "c": 9}, {"a": 5.0, "b": 1.0, "c": 2.0}, 2, 4) == {"a": 0, "b": 1, "c": 1}
    assert allocate({"a": 2}, {"a": 1.0}, 40, 4) == {"a": 2}


# --- the command, on the hand-made exports -----------------------------------------------------

def small_raw(tmp_path):
    raw = tmp_path / "raw"
    for name in ("full", "no-votes-csv", "comments-only"):
        shutil.copytree(FIXTURES / name, raw / name)
    rows = [["conversation", "country", "language", "place", "period", "link"],
            ["comments-only", "XX", "en", "Town", "2024", "https://pol.is/example2"],
            ["full", "FR", "fr", "Lyon", "2024", "https://pol.is/example"],
            ["no-votes-csv", "FR", "fr", "Lyon", "2024", "https://pol.is/example"]]
    with open(raw / "conversations.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return raw


def test_bench_command_end_to_end(tmp_path, capsys):
    raw = small_raw(tmp_path)
    out = tmp_path / "suite"
    argv = ["data", "bench", "--raw", str(raw), "--out", str(out), "--summarize-comments", "3",
            "--reformulate-per-language", "4", "--translate-per-language", "2"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "reading full" in err and f"wrote {NAME} to {out}" in err
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["command"] == ("pluralign data bench --raw data/polis/raw --out pluralign/suites/pluralign-bench-v1 "
                                   "--summarize-comments 3 --reformulate-per-language 4 --translate-per-language 2")
    assert manifest["parameters"]["summarize_comments"] == 3
    debates = list(read_debates(out / "summarize.jsonl"))
    assert [d["id"] for d in debates] == ["comments-only:s0", "comments-only:s1", "comments-only:s2", "full:s0", "no-votes-csv:s0"]
    assert debates[0]["group_source"] == "text" and debates[3]["group_source"] == "polis"
    items = list(read_rewrite_items(out / "translate.jsonl"))
    assert {(i["source_language"], i["target_language"]) for i in items} == {("en", "fr"), ("en", "de"), ("fr", "en"), ("fr", "de")}
    first = {p.name: sha256(p) for p in out.iterdir()}
    assert main(argv) == 0  # and again: the same bytes
    assert {p.name: sha256(p) for p in out.iterdir()} == first


def test_bench_command_refuses_bad_input(tmp_path, capsys):
    raw = small_raw(tmp_path)
    assert main(["data", "bench", "--raw", str(raw), "--out", str(tmp_path / "x"), "--minority-share", "1.5"]) == 2
    assert "fractions, under 1" in capsys.readouterr().err
    shutil.copytree(FIXTURES / "full", raw / "unlisted")
    assert main(["data", "bench", "--raw", str(raw), "--out", str(tmp_path / "x")]) == 2
    assert "conversations.csv: conversation: the export folder 'unlisted' is not listed" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
