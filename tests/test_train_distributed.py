"""Two CPU processes (gloo) through torchrun, as `accelerate launch` runs on GPUs: GRPO and
on-policy DPO train, and the eval hook writes one line per evaluation, with both ranks' samples."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CPU = ROOT / "recipes" / "cpu"
TORCHRUN = Path(sys.executable).with_name("torchrun")

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(recipe: str, out: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    for _attempt in range(2):  # a port taken between free_port() and a bind: once more, from scratch
        shutil.rmtree(out, ignore_errors=True)
        command = [str(TORCHRUN), "--nproc_per_node", "2", "--master_port", str(free_port()), "-m",
                   "pluralign.train", str(CPU / recipe), f"output_dir={out}", "eval_hook.n_samples=2",
                   "eval_hook.held_out=0.34", "eval_hook.max_new_tokens=8", "data.max_comments=6", *overrides]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        if done.returncode == 0 or "address already in use" not in (done.stdout + done.stderr).lower():
            break
    assert done.returncode == 0, first_traceback(done.stderr) + done.stdout[-2000:] + done.stderr[-3000:]
    return done


def first_traceback(stderr: str) -> str:
    """The head of the first worker traceback, which the tail of torchrun's output cuts off."""
    start = stderr.find("Traceback")
    return "" if start < 0 else stderr[start:start + 4000] + "\n[...]\n"


def eval_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "eval_metrics.jsonl").read_text().splitlines()]


def test_grpo_on_two_processes_logs_each_evaluation_once(tmp_path):
    out = tmp_path / "grpo"
    done = torchrun("grpo.yaml", out, "training.max_steps=2", "training.per_device_train_batch_size=2")
    lines = eval_lines(out)
    assert [(r["step"], r["n"]) for r in lines] == [(0, 2), (2, 2)]  # once each, both ranks' samples
    assert len({s["id"] for s in lines[0]["samples"]}) == 2
    assert done.stdout.count("'train_runtime'") == 1  # the trainer logs on the main process only
    # One rank builds the tiny model while the other waits (CI once saw both write it at once).
    assert done.stderr.count("built a random-initialised tiny model") == 1  # status lines: rank 0 only
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("base-model")) == ["base-model"]
    assert (out / "model.safetensors").exists()


def test_on_policy_dpo_on_two_processes(tmp_path):
    out = tmp_path / "dpo"
    torchrun("dpo.yaml", out, "training.max_steps=1", "training.per_device_train_batch_size=1",
             "pairs.source=on_policy", "pairs.k=2", "pairs.min_margin=0", "pairs.max_new_tokens=8")
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    prompts = [p["prompt"][0]["content"] for p in pairs]
    assert pairs and len(prompts) == len(set(prompts)) <= 4  # written once, not once per rank
    assert [r["step"] for r in eval_lines(out)] == [0, 1]
