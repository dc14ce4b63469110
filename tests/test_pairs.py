"""Preference pairs: best vs worst by the scorer, with a margin; honest summaries beat
majority-only and empty ones; DPO from a candidates file trains on exactly those pairs."""

import json
from pathlib import Path

import pytest

from pluralign.cli import main as cli_main
from pluralign.data.jsonl import read_debates, write_jsonl
from pluralign.data.tasks import build_summarize_dataset
from pluralign.train.pairs import best_vs_worst, extractive_candidates, score_candidates

ROOT = Path(__file__).resolve().parents[1]
DEBATES = ROOT / "data" / "synthetic" / "debates.jsonl"


@pytest.fixture(scope="module")
def rows():
    return [dict(r) for r in build_summarize_dataset(list(read_debates(DEBATES)), max_comments=8)]


def honest_majority_empty(row) -> list[str]:
    """One comment per opinion group; three comments of the largest group; nothing."""
    by_group: dict[str, list[str]] = {}
    for c in json.loads(row["debate"])["comments"]:
        by_group.setdefault(c["group"], []).append(c["text"])
    largest = max(by_group.values(), key=len)
    return [" ".join(texts[0] for texts in by_group.values()), " ".join(largest[:3]), ""]


def test_best_vs_worst_keeps_the_extremes_above_the_margin():
    rows = [{"prompt": "p1"}, {"prompt": "p2"}, {"prompt": "p3"}]
    candidates = [["a", "b", "c"], ["x", "y"], ["same", "same"]]
    scores = [[0.5, 0.9, 0.1], [0.40, 0.45], [0.3, 0.3]]
    pairs, stats = best_vs_worst(rows, candidates, scores, min_margin=0.1)
    assert [(p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in pairs] == [("b", "c")]
    assert pairs[0]["chosen_score"] == 0.9 and pairs[0]["rejected_score"] == 0.1
    assert (stats.prompts, stats.pairs, stats.too_close, stats.too_few) == (3, 1, 1, 1)


def test_the_pluralism_scorer_orders_honest_over_majority_over_empty(rows):
    from pluralign.rewards.adapters import make_pluralism_reward

    candidates = [honest_majority_empty(row) for row in rows]
    scores = score_candidates(rows, candidates, [make_pluralism_reward()], [2.0])
    for values in scores:
        assert values[0] > values[1] > values[2] == 0.0
    pairs, stats = best_vs_worst(rows, candidates, scores, min_margin=0.1)
    assert stats.pairs == len(rows)
    assert all(p["chosen"][0]["content"] == c[0] and p["rejected"][0]["content"] == "" for p, c in zip(pairs, candidates, strict=True))


def test_extractive_candidates_are_seeded_and_alternate_narrow_and_broad(rows):
    first = extractive_candidates(rows[0], k=4, sentences=3, seed=1)
    assert first == extractive_candidates(rows[0], k=4, sentences=3, seed=1)
    assert first != extractive_candidates(rows[0], k=4, sentences=3, seed=2)
    debate = json.loads(rows[0]["debate"])
    group_of = {c["text"]: c["group"] for c in debate["comments"]}
    narrow = [t for t in group_of if t in first[0]]
    assert len(narrow) == 3 and len({group_of[t] for t in narrow}) == 1


def test_dpo_from_a_candidates_file_trains_on_the_scorers_pairs(tmp_path, rows):
    candidates = tmp_path / "candidates.jsonl"
    write_jsonl(candidates, [{"id": row["debate_id"], "summary": text}
                             for row in rows for text in honest_majority_empty(row)])
    out = tmp_path / "dpo"
    assert cli_main(["train", str(ROOT / "recipes/cpu/dpo.yaml"), f"output_dir={out}", "pairs.source=candidates",
                     f"pairs.candidates={candidates}", "training.max_steps=1", "eval_hook.enabled=false",
                     "data.max_comments=8"]) == 0
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    expected = {row["debate_id"]: honest_majority_empty(row)[0] for row in rows}
    assert len(pairs) == len(rows)
    assert {p["chosen"][0]["content"] for p in pairs} == set(expected.values())
    assert all(p["rejected"][0]["content"] == "" and p["chosen_score"] > 0.1 for p in pairs)
