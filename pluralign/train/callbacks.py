"""The eval hook: a `TrainerCallback` that generates on a held-out split, scores it, and logs.

At the start of training, every `every_n_steps` steps, and at the end, it generates one
completion per held-out prompt, scores them with the pluralism and/or fidelity scorer objects,
and logs the mean reward and the mean of every numeric metric the scorers return, with their
signature: to the trainer's log history, to W&B (with a `wandb.Table` of samples) when a W&B run
is active, and as one JSON line per evaluation appended to `output_dir/eval_metrics.jsonl`.

Several processes: all ranks generate their shard (under DeepSpeed ZeRO-3 every rank must take
part in each forward pass, so "rank 0 evaluates while the others wait" would hang); the texts are
gathered, and only the main process scores, logs and writes. No rank waits on the main one's
scoring: the next collective operation of training synchronises them.
"""

from __future__ import annotations

import json
import math
import signal
from collections.abc import Mapping
from pathlib import Path

from transformers import TrainerCallback

from pluralign.errors import UsageError
from pluralign.eval.report import EvalResults, scores_from_metrics
from pluralign.files import json_text
from pluralign.log import get_logger
from pluralign.tasks import get_task
from pluralign.train.generate import sharded_generate

EVAL_FILE = "eval_metrics.jsonl"
logger = get_logger(__name__)


def summarise(results: list[dict], reward_key: str) -> dict[str, float]:
    """Means of the reward and of each numeric (or boolean) metric over the scored samples."""
    sums: dict[str, list[float]] = {reward_key: [r[reward_key] for r in results]}
    for r in results:
        for key, value in (r.get("metrics") or {}).items():
            if isinstance(value, bool):
                value = float(value)
            if isinstance(value, (int, float)) and math.isfinite(value):
                sums.setdefault(key, []).append(float(value))
    return {key: sum(values) / len(values) for key, values in sums.items() if values}


class PluralismEvalCallback(TrainerCallback):
    """Score generations on a held-out split at train begin, every N steps and at train end."""

    def __init__(self, held_out, task: str, output_dir: str | Path, scorer, every_n_steps: int = 50,
                 max_new_tokens: int = 128, batch_size: int = 8, temperature: float = 0.0, table_rows: int = 8,
                 tokenizer=None, extra: dict | None = None, chat_template_kwargs: dict | None = None):
        self.rows = [dict(row) for row in held_out]
        self.task = get_task(task)
        self.path = Path(output_dir) / EVAL_FILE
        self.scorer = scorer  # the task's scorer: score_batch(records, texts)
        self.every_n_steps, self.max_new_tokens = every_n_steps, max_new_tokens
        self.batch_size, self.temperature, self.table_rows = batch_size, temperature, table_rows
        self.tokenizer = tokenizer
        self.extra = dict(extra or {})  # written into every line (e.g. the on-policy DPO iteration)
        self.chat_template_kwargs = chat_template_kwargs
        # The trainer, once built (`bind_trainer`): its vLLM engine, or its wrapped model to unwrap for generation.
        self.trainer = None
        self.last_step: int | None = None
        self.history: list[dict] = []

    # -- events --

    def on_train_begin(self, args, state, control, **kwargs):
        self.evaluate(args, state, kwargs, "begin")

    def on_step_end(self, args, state, control, **kwargs):
        if self.every_n_steps and state.global_step % self.every_n_steps == 0:
            self.evaluate(args, state, kwargs, "step")

    def on_train_end(self, args, state, control, **kwargs):
        self.evaluate(args, state, kwargs, "end")

    # -- work --

    def evaluate(self, args, state, kwargs, when: str) -> dict | None:
        if not self.rows or self.last_step == state.global_step:
            return None
        self.last_step = state.global_step
        model = kwargs["model"]
        tokenizer = self.tokenizer or kwargs.get("processing_class")
        texts = sharded_generate(model, tokenizer, [row["prompt"] for row in self.rows], trainer=self.trainer,
                                 max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                                 batch_size=self.batch_size, chat_template_kwargs=self.chat_template_kwargs)
        if not state.is_world_process_zero:
            return None
        record = self.score(texts)
        record = {"step": state.global_step, "epoch": state.epoch, "when": when, **self.extra, **record}
        self.history.append(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:  # appended: earlier runs' lines stay, each with its run_id
            handle.write(json_text(record) + "\n")
        logs = {f"eval_hook/{key}": value for key, value in record["metrics"].items()}
        state.log_history.append({**logs, "step": state.global_step})
        self.log_wandb(logs, record, texts, state.global_step)
        return record

    def score(self, texts: list[str]) -> dict:
        name = self.task.score_key
        results = self.scorer.score_batch([self.task.record_of_row(row) for row in self.rows], texts)
        metrics = {(k if k == name else f"{name}/{k}"): v for k, v in summarise(results, name).items()}
        samples = [{"id": self.task.row_id(row), "text": text, name: result[name]}
                   for row, text, result in zip(self.rows, texts, results, strict=True)]
        return {"metrics": metrics, "signature": {name: results[0]["signature"]}, "n": len(texts),
                "samples": samples[: self.table_rows]}

    def log_wandb(self, logs: dict, record: dict, texts: list[str], step: int) -> None:
        try:
            import wandb
        except ImportError:
            return
        if wandb.run is None:
            return
        columns = ["step", "id", "completion", *record["signature"]]
        table = wandb.Table(columns=columns)
        for sample in record["samples"]:
            table.add_data(step, sample["id"], sample["text"], *[sample[k] for k in columns[3:]])
        # W&B's own callback uses train/global_step as the x axis; logging it keeps both on one axis.
        wandb.log({**logs, "eval_hook/samples": table, "train/global_step": step})
        for name, signature in record["signature"].items():
            wandb.run.summary[f"eval_hook/{name}_signature"] = signature


def read_eval_log(path: Path, up_to_step: int | None = None, run_id: str | None = None) -> EvalResults | None:
    """The eval hook's last entry in `eval_metrics.jsonl` (the last at or before `up_to_step`) of
    the run `run_id`: several runs may share an output dir, and each line names its run. Lines
    without a run id (older logs) count only when no line has one."""
    chosen, chosen_line, by_run = None, None, None
    with open(path, encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as err:
                raise UsageError(f"{path}:{number}: not JSON ({err}); fix or remove the line") from err
            if not isinstance(entry, dict) or not isinstance(entry.get("metrics"), Mapping):
                raise UsageError(f"{path}:{number}: metrics: missing; each line needs a metrics object")
            if run_id is not None and "run_id" in entry:
                if by_run is None:  # the first line with an id: forget the older lines without one
                    by_run, chosen, chosen_line = True, None, None
                if entry["run_id"] != run_id:
                    continue
            elif by_run:
                continue
            step = entry.get("step")
            if up_to_step is None or not isinstance(step, int) or step <= up_to_step:
                chosen, chosen_line = entry, number
    if chosen is None:
        return None
    scores, skipped = scores_from_metrics(chosen["metrics"], chosen.get("signature"), suite=chosen.get("suite"),
                              task=chosen.get("task"), default_n=chosen.get("n"))
    if not scores:
        raise UsageError(f"{path}:{chosen_line}: metrics: no metric is a finite number")
    step = chosen.get("step")
    where = f"step {step}" if step is not None else f"line {chosen_line}"
    where += f", run {chosen['run_id']}" if chosen.get("run_id") else ""
    return EvalResults(scores=scores, source=f"training eval hook ({path.name}, {where})", skipped=skipped)


def bind_trainer(callbacks, trainer) -> None:
    """Give the callbacks that generate (they have a `trainer` attribute) the trainer they run in."""
    for callback in callbacks:
        if hasattr(callback, "trainer"):
            callback.trainer = trainer


class RecipeToWandb(TrainerCallback):
    """Put the whole resolved recipe (credentials masked) into the W&B run config under `recipe`,
    beside the TRL config that W&B's own callback logs: rewards, eval hook, pairs and data settings
    that TRL does not know about."""

    def __init__(self, recipe: dict):
        self.recipe = recipe

    def on_train_begin(self, args, state, control, **kwargs):
        import sys

        wandb = sys.modules.get("wandb")
        if state.is_world_process_zero and wandb is not None and wandb.run is not None:
            wandb.run.config.update({"recipe": self.recipe}, allow_val_change=True)


class SaveOnInterrupt(TrainerCallback):
    """On SIGTERM or SIGINT (a scheduler's pre-emption, Ctrl-C), finish the current step, save a
    checkpoint and stop, so a run resumed with `resume_from_checkpoint: true` loses nothing. A
    second signal interrupts at once."""

    def __init__(self):
        self.received: int | None = None
        self.previous = {}

    def _handle(self, signum, frame):
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum
        logger.warning(f"signal {signum}: saving a checkpoint after this step, then stopping")

    def on_train_begin(self, args, state, control, **kwargs):
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals to the caller
                pass

    def on_step_end(self, args, state, control, **kwargs):
        if self.received is not None:
            control.should_save = True
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
