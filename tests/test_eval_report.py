"""`pluralign eval --predictions`: report.json holds every key, every CI contains its estimate, the
breakdowns agree with the per-output scores, and nothing is dropped silently. Also the bootstrap."""

import json
from pathlib import Path

import numpy as np
import pytest

from pluralign.cli import main
from pluralign.data.jsonl import read_debates, read_rewrite_items, write_jsonl
from pluralign.eval.bootstrap import mean_ci, per_unit_means, statistic_ci

DATA = Path(__file__).resolve().parents[1] / "data" / "synthetic"


def honest_summary(debate):
    """The first comment of each opinion group: every group heard once."""
    seen, parts = set(), []
    for comment in debate["comments"]:
        if comment["group"] not in seen:
            seen.add(comment["group"])
            parts.append(comment["text"])
    return " ".join(parts)


@pytest.fixture(scope="module")
def small_suite(tmp_path_factory):
    """3 debates (the third gets no output) and 3 reformulate + 3 translate items."""
    root = tmp_path_factory.mktemp("suite")
    debates = list(read_debates(DATA / "debates.jsonl"))[:3]
    items = list(read_rewrite_items(DATA / "reformulate.jsonl"))[:3] + list(read_rewrite_items(DATA / "translate.jsonl"))[:3]
    write_jsonl(root / "debates.jsonl", debates)
    write_jsonl(root / "items.jsonl", items)
    predictions = [{"id": debates[0]["id"], "summary": honest_summary(debates[0]), "system": "ref"},
                   {"id": debates[0]["id"], "summary": "", "system": "empty"},  # a second candidate
                   {"id": debates[1]["id"], "summary": honest_summary(debates[1]), "system": "ref"}]
    predictions += [{"id": item["id"], "output": item["source"]} for item in items]
    predictions.append({"id": "not-in-any-suite", "summary": "stray line"})
    write_jsonl(root / "predictions.jsonl", predictions)
    return root, debates, items


@pytest.fixture(scope="module")
def run(small_suite):
    root, debates, items = small_suite
    out = root / "run"
    code = main(["eval", "--predictions", str(root / "predictions.jsonl"), "--debates", str(root / "debates.jsonl"),
                 "--items", str(root / "items.jsonl"), "--out", str(out), "--backend", "lexical",
                 "--stress-debates", "2", "--stress-orders", "3", "--seed", "7"])
    assert code == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text(encoding="utf-8").splitlines()]
    return out, report, scores


def cis(node, path=""):
    """Every {mean|value, ci_low, ci_high} in the report, with where it is."""
    if isinstance(node, dict):
        if "ci_low" in node:
            yield path, node
        for key, value in node.items():
            yield from cis(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from cis(value, f"{path}[{i}]")


def test_report_holds_every_key(run):
    out, report, _ = run
    for key in ("command", "argv", "seed", "bootstrap", "system", "backend", "versions", "suites", "created"):
        assert key in report, key
    assert report["seed"] == 7 and report["backend"] == "lexical"
    assert report["command"].startswith("pluralign eval --predictions ") and "--seed 7" in report["command"]
    for package in ("python", "pluralign", "torch", "transformers", "trl", "sentence-transformers"):
        assert report["versions"][package], package
    assert set(report["suites"]) == {"summarize", "reformulate", "translate"}
    for task, suite in report["suites"].items():
        assert suite["suite"] == f"pluralign-{task}-v1"
        for key in ("signature", "scorer_signatures", "data", "metrics", "per_group", "per_language", "disparities"):
            assert key in suite, (task, key)
    assert "per_stance" in report["suites"]["reformulate"] and "stress" in report["suites"]["summarize"]
    assert {"pluralism", "min_group_coverage", "deficit_mass", "group_coverage_gap"} <= set(
        report["suites"]["summarize"]["metrics"]) | set(report["suites"]["summarize"]["disparities"])
    assert {"fidelity", "intensity_drift", "flip"} <= set(report["suites"]["translate"]["metrics"])
    for name in ("report.md", "report.html", "scores.jsonl"):
        assert (out / name).stat().st_size > 0


def test_every_ci_contains_its_estimate(run):
    found = list(cis(run[1]))
    assert len(found) > 50
    for where, ci in found:
        estimate = ci["mean"] if "mean" in ci else ci["value"]
        if estimate is None:
            continue
        assert ci["ci_low"] <= estimate <= ci["ci_high"], where
    reward = run[1]["suites"]["summarize"]["metrics"]["pluralism"]
    assert reward["n"] == 2 and reward["ci_low"] < reward["ci_high"]  # two debates that score differently


def test_signatures_name_the_scorer_and_the_suite(run, small_suite):
    _, report, scores = run
    suite = report["suites"]["summarize"]
    assert suite["scorer_signatures"] == sorted({s["signature"] for s in scores if s["suite"] == suite["suite"]})
    assert "scorer:pluralism" in suite["signature"] and "backend:lexical" in suite["signature"]
    assert "suite:pluralign-summarize-v1" in suite["signature"] and f"data:{suite['data']}" in suite["signature"]
    assert "scorer:fidelity" in report["suites"]["translate"]["signature"]


def test_candidates_average_per_debate_and_nothing_is_dropped(run, small_suite):
    _, report, scores = run
    _, debates, _ = small_suite
    summarize = [s for s in scores if s["suite"] == "pluralign-summarize-v1"]
    assert len(summarize) == 3 and {s["system"] for s in summarize} == {"ref", "empty"}  # extra fields carried
    first = [s["pluralism"] for s in summarize if s["id"] == debates[0]["id"]]
    second = [s["pluralism"] for s in summarize if s["id"] == debates[1]["id"]]
    assert min(first) == 0.0  # the empty candidate
    suite = report["suites"]["summarize"]
    assert suite["metrics"]["pluralism"]["mean"] == pytest.approx((np.mean(first) + second[0]) / 2)
    assert suite["n_outputs"] == 3 and suite["n_scored"] == 2
    assert suite["skipped"]["no output"] == {"count": 1, "ids": [debates[2]["id"]]}
    assert report["system"]["unmatched_outputs"]["count"] == 1


def test_breakdowns_agree_with_the_scores(run, small_suite):
    _, report, scores = run
    _, debates, _ = small_suite
    rows = [s for s in scores if s["suite"] == "pluralign-reformulate-v1"]
    for side, metrics in report["suites"]["reformulate"]["per_stance"].items():
        mine = [r["fidelity"] for r in rows if r["stance"] == side]
        assert metrics["fidelity"]["mean"] == pytest.approx(np.mean(mine)) and metrics["fidelity"]["n"] == len(mine)
    summarize = report["suites"]["summarize"]
    points = summarize["group_points"]
    assert {p["group"] for p in points} == set(summarize["per_group"]) == {"g1", "g2", "g3"}
    for p in points:  # shares come from the debate's groups: 12, 8 and 3 participants
        assert p["share"] == pytest.approx({"g1": 12, "g2": 8, "g3": 3}[p["group"]] / 23, abs=1e-6)
        assert p["stance"] == debates[0]["group_stances"][p["group"]]  # same stances in every synthetic debate
    assert set(summarize["per_stance"]) == set(debates[0]["group_stances"].values())
    translate = report["suites"]["translate"]
    assert set(translate["per_language"]) == {r["language"] for r in scores if r["suite"] == "pluralign-translate-v1"}
    # The gap, bootstrapped here, agrees with the fidelity scorer's own disparity summary.
    ours = report["suites"]["reformulate"]["disparities"]["group"]
    theirs = report["suites"]["reformulate"]["disparities"]["fidelity_disparity"]["facets"]["group"]["gaps"]
    assert theirs
    for measure, gap in theirs.items():
        assert ours[measure]["value"] == pytest.approx(gap["gap"]), measure
    by_side = report["suites"]["reformulate"]["per_stance"]
    means = [m["fidelity"]["mean"] for m in by_side.values()]
    assert report["suites"]["reformulate"]["disparities"]["stance_side"]["fidelity"]["value"] == pytest.approx(
        max(means) - min(means))


def test_copying_the_source_is_no_translation(run):
    """Known ordering through the whole pipeline: the source pasted as its own reformulation
    keeps everything, pasted as a translation is caught by the copy guard."""
    _, report, _ = run
    assert report["suites"]["reformulate"]["metrics"]["fidelity"]["mean"] > 0.5
    assert report["suites"]["translate"]["metrics"]["fidelity"]["mean"] < 0.1


def test_stress_results_are_reported(run):
    stress = run[1]["suites"]["summarize"]["stress"]
    assert stress["mode"] == "rescored"
    assert len(stress["comment_order"]["per_debate"]) == 2
    assert all(o["n_orders"] == 3 for o in stress["comment_order"]["per_debate"])
    ablation = stress["minority_ablation"]["per_debate"][0]
    assert ablation["group"] == "g3" and set(ablation["deltas"]) == {"g1", "g2", "g3"}
    assert ablation["passed"] in (True, False, None) and "must" in stress["minority_ablation"]["rule"]
    counts = stress["minority_ablation"]
    assert counts["passed"] + counts["failed"] + counts["inconclusive"] == counts["n"] == 2
    assert set(stress["duplication"]["per_debate"][0]["variants"]) == {"duplicate_comments", "clone_participants"}


def test_markdown_has_the_tables(run):
    text = (run[0] / "report.md").read_text(encoding="utf-8")
    for heading in ("## pluralign-summarize-v1", "### By opinion group", "### By stance side of the source",
                    "### Disparities", "### Stress tests (rescored)", "| pluralism |"):
        assert heading in text, heading


def test_bad_outputs_line_names_file_line_and_field(small_suite, tmp_path, capsys):
    root, debates, _ = small_suite
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [{"id": debates[0]["id"], "summary": "fine"}, {"id": debates[1]["id"], "summary": 3}])
    code = main(["eval", "--predictions", str(bad), "--debates", str(root / "debates.jsonl"),
                 "--out", str(tmp_path / "out"), "--backend", "lexical"])
    assert code == 2
    assert f"{bad}:2: summary: must be a string" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.json").exists()


# --- the bootstrap -----------------------------------------------------------------------------


def test_mean_ci_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(1).normal(0.5, 0.1, size=40)
    a, b, c = mean_ci(values, seed=3), mean_ci(values, seed=3), mean_ci(values, seed=4)
    assert a == b and a != c
    assert a["mean"] == pytest.approx(values.mean()) and a["n"] == 40
    # The percentile interval of a mean of 40 draws is about ±1.96 standard errors wide.
    se = values.std(ddof=1) / np.sqrt(40)
    assert a["ci_high"] - a["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_mean_ci_edge_cases():
    assert mean_ci([0.4]) == {"mean": 0.4, "ci_low": 0.4, "ci_high": 0.4, "n": 1}
    assert mean_ci([]) == {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    assert mean_ci([1.0, float("nan"), 0.0])["n_missing"] == 1


def test_per_unit_means_and_statistic_ci():
    units, values = per_unit_means(["a", "b", "a"], [1.0, 0.0, 0.0])
    assert units == ["a", "b"] and values.tolist() == [0.5, 0.0]
    spread = statistic_ci(4, lambda idx: np.ptp(np.array([0.0, 1.0, 2.0, 3.0])[idx], axis=1), seed=0)
    assert spread["value"] == 3.0 and spread["ci_low"] < 3.0 == spread["ci_high"]  # a resample cannot exceed it
