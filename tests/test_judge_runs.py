"""Served models and judges in whole runs, against the local stand-in (tests/openai_standin.py):
`pluralign eval --model M --base-url URL` end to end, `--resume` after the process is killed
(and on the local transformers path), and a GRPO run whose reward mixes the embedding scorer
with a judge."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_standin import StandIn

from pluralign.cli import main
from pluralign.data.jsonl import read_debates, read_rewrite_items, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic"
KEY = "sk-test-NEVER-SHOWN-4242"

pytestmark = pytest.mark.slow


@pytest.fixture
def standin(monkeypatch):
    server = StandIn()
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    yield server
    server.close()


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    write_jsonl(root / "debates.jsonl", list(read_debates(DATA / "debates.jsonl"))[:2])
    write_jsonl(root / "items.jsonl", list(read_rewrite_items(DATA / "reformulate.jsonl"))[:2]
                + list(read_rewrite_items(DATA / "translate.jsonl"))[:2])
    return root


def eval_args(suite, out, *extra):
    return ["eval", "--debates", str(suite / "debates.jsonl"), "--items", str(suite / "items.jsonl"), "--out", str(out),
            "--stress-debates", "0", *extra]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def generations(standin) -> list[dict]:
    return [b for b in standin.requests if b["messages"][0]["role"] == "user"]


def test_eval_through_a_served_model_and_a_served_judge(standin, suite, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(eval_args(suite, out, "--model", "policy", "--base-url", standin.url, "--samples", "2",
                          "--backend", "judge:the-judge", "--judge-url", standin.url)) == 0
    predictions, scores = lines(out / "predictions.jsonl"), lines(out / "scores.jsonl")
    assert len(predictions) == len(scores) == 12  # 6 prompts x 2 samples
    assert {(p["id"], p["sample"]) for p in predictions} == {(s["id"], s["sample"]) for s in scores}
    assert len(generations(standin)) == 6 and all(b["n"] == 2 and "seed" in b for b in generations(standin))
    report = json.loads((out / "report.json").read_text())
    assert report["system"]["base_url"] == standin.url and report["system"]["model"] == "policy"
    assert f"--base-url {standin.url}" in report["command"] and "--concurrency 16" in report["command"]
    for section in report["suites"].values():
        assert section["n_scored"] == section["n"] == 2 and "backend:judge:the-judge" in section["signature"]
    assert (out / "report.html").exists()
    # A finished run resumed asks for nothing more.
    assert main(eval_args(suite, out, "--model", "policy", "--base-url", standin.url, "--samples", "2",
                          "--backend", "lexical", "--resume")) == 0
    assert len(generations(standin)) == 6 and len(lines(out / "predictions.jsonl")) == 12
    # Another model's generations are not resumed.
    assert main(eval_args(suite, out, "--model", "another", "--base-url", standin.url, "--resume")) == 2
    shown = capsys.readouterr()
    assert "written by model 'policy', not 'another'" in shown.err
    assert KEY not in shown.out + shown.err
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]


def test_a_killed_served_eval_resumes_where_it_stopped(standin, suite, tmp_path):
    out = tmp_path / "killed"
    standin.mode, standin.delay = "slow", 0.8  # 6 prompts one at a time: time to kill it midway
    command = [sys.executable, "-m", "pluralign.cli", *eval_args(suite, out, "--model", "policy", "--base-url",
                                                                   standin.url, "--concurrency", "1", "--backend", "lexical")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    predictions = out / "predictions.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if predictions.exists() and len(lines(predictions)) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the eval ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    done = {p["id"] for p in lines(predictions)}
    assert 2 <= len(done) < 6
    before = len(generations(standin))

    standin.mode = "good"
    assert main(eval_args(suite, out, "--model", "policy", "--base-url", standin.url, "--backend", "lexical",
                          "--resume")) == 0
    asked = generations(standin)[before:]
    assert len(asked) == 6 - len(done)  # only what the killed run had not written
    final = lines(predictions)
    assert len(final) == 6 and len({p["id"] for p in final}) == 6
    report = json.loads((out / "report.json").read_text())
    assert all(s["n_scored"] == s["n"] for s in report["suites"].values())


def test_the_local_path_resumes_too(tiny_lm, suite, tmp_path, monkeypatch):
    from pluralign.eval.generate import Generator

    out = tmp_path / "local"
    args = eval_args(suite, out, "--model", tiny_lm, "--backend", "lexical", "--max-new-tokens", "4", "--batch-size", "2")
    assert main(args) == 0
    predictions = out / "predictions.jsonl"
    first = lines(predictions)
    assert len(first) == 6
    # As if killed during the second batch: two lines kept, the third cut short.
    text = predictions.read_text(encoding="utf-8").splitlines(keepends=True)
    predictions.write_text("".join(text[:2]) + text[2][:10], encoding="utf-8")
    asked = []
    original = Generator.generate

    def counting(self, prompts, *a, **k):
        asked.extend(prompts)
        return original(self, prompts, *a, **k)

    monkeypatch.setattr(Generator, "generate", counting)
    assert main(args + ["--resume"]) == 0
    assert len(asked) == 4
    again = lines(predictions)
    assert sorted(json.dumps(p, sort_keys=True) for p in again) == sorted(json.dumps(p, sort_keys=True) for p in first)


def test_grpo_with_a_judge_reward_logs_it_by_name(standin, tmp_path):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path / "grpo-judge"
        options = f"rewards.options={{judge_pluralism: {{judge: 'judge:the-judge', url: '{standin.url}'}}}}"
        assert main(["train", str(ROOT / "recipes" / "cpu" / "grpo.yaml"), f"output_dir={out}", "training.max_steps=1",
                     "data.max_comments=6", "eval_hook.n_samples=2", "eval_hook.max_new_tokens=8", "report_to=none",
                     "training.save_strategy=steps", "training.save_steps=1",
                     "rewards.funcs=[pluralism, judge_pluralism]", "rewards.weights=[1.0, 0.5]", options]) == 0
    finally:
        torch.set_num_threads(threads)
    # TRL's own log on disk (W&B keeps one session per process, so another test's run could own it).
    state = json.loads((out / "checkpoint-1" / "trainer_state.json").read_text())
    keys = {k for row in state["log_history"] for k in row}
    assert {"rewards/pluralism/mean", "rewards/judge_pluralism/mean"} <= keys
    assert standin.judged() and {b["model"] for b in standin.judged()} == {"the-judge"}
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]