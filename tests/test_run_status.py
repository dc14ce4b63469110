"""Two training runs in one output dir are told apart (issue #14, item 4): eval lines carry their
run id, checkpoints name the run that saved them, and a model card takes the eval lines of the
run that produced the exported weights. The layout is the one `pluralign train` leaves (see
tests/test_train_methods.py for it written by real runs)."""

import json
import shutil

import pytest

from pluralign.cli import main
from pluralign.train.callbacks import read_eval_log

SIGNATURE = "pluralign:0.1.0|scorer:pluralism|backend:lexical|groups:given"


def eval_line(run_id: str, step: int, value: float) -> str:
    return json.dumps({"step": step, "epoch": 1.0, "when": "step", "run_id": run_id, "n": 4,
                       "metrics": {"pluralism": value}, "signature": {"pluralism": SIGNATURE}, "samples": []}) + "\n"


@pytest.fixture
def shared_dir(tmp_path, tiny_lm):
    """Run A trained 4 steps (its checkpoint-4 is left), then run B, fresh in the same folder,
    trained 2 steps: its checkpoint-2 and final weights, and its run.json."""
    out = tmp_path / "out"
    shutil.copytree(tiny_lm, out)  # B's final weights and tokenizer
    for folder, run_id, step, last in ((out / "checkpoint-4", "A", 4, 4), (out / "checkpoint-2", "B", 2, 2)):
        shutil.copytree(tiny_lm, folder)
        (folder / "run.json").write_text(json.dumps({"run_id": run_id, "step": step, "max_steps": last}))
    (out / "run.json").write_text(json.dumps({"run_id": "B", "status": "complete", "step": 2, "max_steps": 2}))
    lines = [eval_line("A", 0, 0.10), eval_line("A", 2, 0.20), eval_line("A", 4, 0.40),
             eval_line("B", 0, 0.15), eval_line("B", 2, 0.25)]
    (out / "eval_metrics.jsonl").write_text("".join(lines))
    return out


def test_item_4_eval_lines_of_two_runs_are_read_by_run(shared_dir):
    """Item 4: the reader takes the lines of the run asked for, not the last lines of the file."""
    log = shared_dir / "eval_metrics.jsonl"
    assert read_eval_log(log, 4, "A").scores[0].value == 0.40
    assert read_eval_log(log, 4, "B").scores[0].value == 0.25
    assert read_eval_log(log, None, "A").source.endswith("step 4, run A)")
    old = shared_dir / "old.jsonl"  # a log written before runs had ids is read as before
    old.write_text("".join(json.dumps({k: v for k, v in json.loads(line).items() if k != "run_id"}) + "\n"
                           for line in log.read_text().splitlines()))
    assert read_eval_log(old, 4, "A").scores[0].value == 0.25


def test_item_4_each_export_carries_the_results_of_the_run_that_saved_it(shared_dir, tmp_path):
    """Item 4: exporting run A's checkpoint-4 shows A's step-4 result, not B's later lines."""
    assert main(["export", str(shared_dir / "checkpoint-4"), "--out", str(tmp_path / "a")]) == 0
    card = (tmp_path / "a" / "README.md").read_text()
    assert "| pluralism | 0.4000 |" in card and "step 4, run A" in card
    assert main(["export", str(shared_dir), "--out", str(tmp_path / "b")]) == 0
    card = (tmp_path / "b" / "README.md").read_text()
    assert "| pluralism | 0.2500 |" in card and "step 2, run B" in card


def test_item_3_a_run_that_never_finished_saved_nothing_of_its_own(shared_dir, tmp_path, capsys):
    """Item 3: a run that died without a word stays "running"; the final weights in its folder
    are an earlier run's, so export neither takes them nor calls them finished."""
    (shared_dir / "run.json").write_text(json.dumps({"run_id": "C", "status": "running"}))
    assert main(["export", str(shared_dir), "--out", str(tmp_path / "c"), "--allow-incomplete"]) == 2
    assert "run C is running and saved no checkpoint" in capsys.readouterr().err
    assert main(["export", str(shared_dir / "checkpoint-2"), "--out", str(tmp_path / "c")]) == 0  # B finished
