"""`pluralign eval --model` end to end on a tiny random model, `pluralign eval compare`, and
`--report-to wandb` (offline)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pluralign.cli import main
from pluralign.data.jsonl import read_debates, read_rewrite_items, write_jsonl

DATA = Path(__file__).resolve().parents[1] / "data" / "synthetic"


@pytest.fixture(scope="module")
def suite_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    debates = list(read_debates(DATA / "debates.jsonl"))
    write_jsonl(root / "debates.jsonl", debates[:2])
    write_jsonl(root / "other-debates.jsonl", debates[2:4])
    write_jsonl(root / "items.jsonl", list(read_rewrite_items(DATA / "reformulate.jsonl"))[:2]
                + list(read_rewrite_items(DATA / "translate.jsonl"))[:2])
    return root


def eval_model(model, root, out, *extra):
    return main(["eval", "--model", model, "--debates", str(root / "debates.jsonl"), "--items", str(root / "items.jsonl"),
                 "--out", str(out), "--backend", "lexical", "--max-new-tokens", "8", "--batch-size", "4",
                 "--stress-debates", "1", "--stress-orders", "2", *extra])


@pytest.fixture(scope="module")
def model_run(tiny_lm, suite_files):
    out = suite_files / "model-run"
    assert eval_model(tiny_lm, suite_files, out, "--samples", "2", "--seed", "3") == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text(encoding="utf-8").splitlines()]
    return out, report, scores


def test_model_run_generates_scores_and_reports(model_run, tiny_lm):
    out, report, scores = model_run
    system = report["system"]
    assert system["model"] == tiny_lm and system["chat_template"] is True
    assert system["samples"] == 2 and system["do_sample"] is True and system["max_new_tokens"] == 8
    assert f"--model {tiny_lm}" in report["command"] and "--samples 2" in report["command"]
    # 2 debates + 2 reformulate + 2 translate items, 2 samples each, every one scored.
    assert len(scores) == 12
    assert {(s["suite"], s["sample"]) for s in scores} >= {("pluralign-summarize-v1", 0), ("pluralign-summarize-v1", 1)}
    assert all(isinstance(s.get("summary", s.get("output")), str) for s in scores)
    for suite in report["suites"].values():
        assert suite["n_scored"] == suite["n"] == 2 and suite["n_outputs"] == 4
        reward = suite["metrics"]["pluralism" if suite["task"] == "summarize" else "fidelity"]
        assert reward["n"] == 2 and reward["ci_low"] <= reward["mean"] <= reward["ci_high"]
    stress = report["suites"]["summarize"]["stress"]
    assert stress["mode"] == "regenerated"  # the model summarised each shuffled order itself
    assert stress["comment_order"]["per_debate"][0]["n_orders"] == 2


def test_model_run_is_reproducible(model_run, tiny_lm, suite_files):
    out = suite_files / "model-run-again"
    assert eval_model(tiny_lm, suite_files, out, "--samples", "2", "--seed", "3") == 0
    again = [json.loads(line) for line in (out / "scores.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [s.get("summary", s.get("output")) for s in again] == \
        [s.get("summary", s.get("output")) for s in model_run[2]]


@pytest.fixture(scope="module")
def predictions(model_run, suite_files):
    """The model's first samples as an outputs file, as another system would hand them in."""
    path = suite_files / "predictions.jsonl"
    write_jsonl(path, [{"id": s["id"], **({"summary": s["summary"]} if "summary" in s else {"output": s["output"]})}
                       for s in model_run[2] if s["sample"] == 0])
    return path


def test_compare_puts_comparable_runs_side_by_side(model_run, suite_files, predictions, capsys):
    out = suite_files / "predictions-run"
    assert main(["eval", "--predictions", str(predictions), "--debates", str(suite_files / "debates.jsonl"),
                 "--items", str(suite_files / "items.jsonl"), "--out", str(out), "--backend", "lexical",
                 "--stress-debates", "0"]) == 0
    capsys.readouterr()
    assert main(["eval", "compare", str(model_run[0]), str(out), "--out", str(suite_files / "table.md")]) == 0
    table = capsys.readouterr().out
    assert "## summarize" in table and "| pluralism |" in table and "NOT comparable" not in table
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    cell = "{mean:.3f} [{ci_low:.3f}, {ci_high:.3f}]".format(**report["suites"]["translate"]["metrics"]["fidelity"])
    assert cell in table
    assert (suite_files / "table.md").read_text(encoding="utf-8").strip() == table.strip()


@pytest.fixture(scope="module")
def other_data_run(model_run, suite_files):
    """The same outputs scored against other debates: a different suite signature."""
    predictions = suite_files / "other-predictions.jsonl"
    debates = list(read_debates(suite_files / "other-debates.jsonl"))
    write_jsonl(predictions, [{"id": d["id"], "summary": d["comments"][0]["text"]} for d in debates])
    out = suite_files / "other-run"
    assert main(["eval", "--predictions", str(predictions), "--debates", str(suite_files / "other-debates.jsonl"),
                 "--out", str(out), "--backend", "lexical", "--stress-debates", "0"]) == 0
    return out


def test_compare_refuses_different_signatures(model_run, other_data_run, capsys):
    capsys.readouterr()
    code = main(["eval", "compare", str(model_run[0]), str(other_data_run)])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert "signatures differ" in captured.err
    assert "summarize: model-run and other-run differ in data:" in captured.err
    assert "reformulate: only in model-run" in captured.err


def test_compare_force_marks_the_table(model_run, other_data_run, capsys):
    capsys.readouterr()
    assert main(["eval", "compare", str(model_run[0]), str(other_data_run), "--force"]) == 0
    captured = capsys.readouterr()
    assert "warning: --force" in captured.err
    assert "WARNING: not comparable" in captured.out and "## summarize (signatures differ: NOT comparable)" in captured.out


def test_compare_needs_report_folders(tmp_path, capsys):
    assert main(["eval", "compare", str(tmp_path), str(tmp_path)]) == 2
    assert "no report.json" in capsys.readouterr().err


def test_eval_needs_a_system_and_data(suite_files, capsys):
    assert main(["eval", "--debates", str(suite_files / "debates.jsonl"), "--out", str(suite_files / "x")]) == 2
    assert "--model M" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: --model and --predictions exclude each other
        main(["eval", "--model", "m", "--predictions", "p", "--out", "x", "--debates", "d"])


def test_a_missing_model_is_an_error_not_a_traceback(suite_files, tmp_path, capsys):
    missing = tmp_path / "no-such-model"
    assert eval_model(str(missing), suite_files, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"--model {missing}: no such folder" in err


def test_report_to_wandb_offline(suite_files, predictions, tmp_path, monkeypatch):
    from pluralign.train.wandb_files import run_info

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    out = tmp_path / "wandb-run"
    assert main(["eval", "--predictions", str(predictions), "--debates", str(suite_files / "debates.jsonl"),
                 "--out", str(out), "--backend", "lexical", "--stress-debates", "0", "--report-to", "wandb"]) == 0
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    # The table of outputs, as W&B stores it, holds every scored output with its score.
    table = json.loads(next(runs[0].rglob("outputs_*.table.json")).read_text(encoding="utf-8"))
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text(encoding="utf-8").splitlines()]
    assert table["columns"][:5] == ["suite", "id", "sample", "text", "score"]
    assert [row[4] for row in table["data"]] == [s["pluralism"] for s in scores]
    # The summary metrics went into the run's log (a protobuf stream; the key names are in it).
    # W&B's service process writes that log; shutting it down flushes it.
    import wandb

    wandb.teardown()
    log = next(runs[0].glob("run-*.wandb")).read_bytes()
    assert b"summarize/pluralism" in log and b"summarize/pluralism_ci_low" in log
    # beside the training runs: the same project (pluralign, as `pluralign train` uses), job_type eval
    info = run_info(next(runs[0].glob("run-*.wandb")))
    assert (info["project"], info["job_type"]) == ("pluralign", "eval")


def test_console_script_spelling(suite_files, model_run):
    """The exact spellings of the issue work from a shell: `pluralign eval compare DIR1 DIR2`."""
    exe = Path(sys.executable).with_name("pluralign")
    done = subprocess.run([str(exe), "eval", "compare", str(model_run[0]), str(model_run[0])],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "| fidelity |" in done.stdout
