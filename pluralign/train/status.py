"""Whether a training run finished: `run.json` in its output dir, and the run id.

A run writes `run.json` when it starts (`"status": "running"`) and again when it stops:
`"complete"`, or `"interrupted"` when a SIGTERM or Ctrl-C made it save a checkpoint and stop
(`SaveOnInterrupt`). A run killed outright (SIGKILL, a crash) stays `"running"`. The file also
holds the step reached, `max_steps`, the signal and the times.

Each run has an id, kept when it resumes from one of its checkpoints. It is written into every
checkpoint-N the run saves (`checkpoint-N/run.json`) and into every line of `eval_metrics.jsonl`,
so that two runs sharing an output dir are told apart: `pluralign export` takes the eval lines of
the run that saved the weights, and refuses the weights of a run that did not finish unless
asked (`--allow-incomplete`).
"""

from __future__ import annotations

import secrets
import signal
from datetime import datetime, timezone
from pathlib import Path

from transformers import TrainerCallback

from pluralign.data.jsonl import read_json
from pluralign.errors import PluralignError
from pluralign.files import json_text, write_text

RUN_FILE = "run.json"
COMPLETE, RUNNING, INTERRUPTED = "complete", "running", "interrupted"


class TrainingInterrupted(PluralignError):
    """A run stopped by a signal after saving a checkpoint: exit 128 + the signal (130 for
    Ctrl-C, 143 for SIGTERM), as a shell reports a process the signal ended."""

    def __init__(self, message: str, signum: int, result: dict):
        super().__init__(message)
        self.exit_code = 128 + signum
        self.result = result


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def signal_name(signum: int | None) -> str | None:
    if signum is None:
        return None
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def read_run(folder: str | Path) -> dict | None:
    """The `run.json` of an output dir or checkpoint folder, or None when it has none."""
    path = Path(folder) / RUN_FILE
    return read_json(path, "a pluralign run record") if path.is_file() else None


def write_run(folder: str | Path, record: dict) -> None:
    write_text(Path(folder) / RUN_FILE, json_text(record, indent=2) + "\n")


def run_id_for(output_dir: str | Path, resume: str | None) -> str:
    """The id of a run: a resumed run keeps the id of the run that saved its checkpoint."""
    for folder in ([resume, output_dir] if resume else []):
        record = read_run(folder) if Path(folder).is_dir() else None
        if record and isinstance(record.get("run_id"), str):
            return record["run_id"]
    return new_run_id()


class RunIdOnCheckpoints(TrainerCallback):
    """Writes the run id into every checkpoint-N the trainer saves (main process only)."""

    def __init__(self, run_id: str):
        self.run_id = run_id

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            write_run(folder, {"run_id": self.run_id, "step": state.global_step, "max_steps": state.max_steps})


def run_of(folder: Path) -> dict | None:
    """The record of the run that saved `folder` (a training output dir or one of its
    checkpoint-N): the output dir's `run.json`, the step being the checkpoint's own. A checkpoint
    saved by an earlier run in the same output dir is complete if saved at that run's last step,
    else of status "unknown"."""
    is_checkpoint = folder.name.startswith("checkpoint-")
    top = read_run(folder.parent if is_checkpoint else folder)
    if top is None:
        return None  # not written by pluralign train (or by an older version): nothing is claimed
    own = read_run(folder) if is_checkpoint else None
    if own is not None and own.get("run_id") != top.get("run_id"):  # an earlier run's: finished if at its last step
        step, last = own.get("step"), own.get("max_steps")
        finished = isinstance(step, int) and isinstance(last, int) and 0 < last <= step
        return {**own, "status": COMPLETE if finished else "unknown"}
    return {**top, **({"step": own["step"]} if own and isinstance(own.get("step"), int) else {})}
