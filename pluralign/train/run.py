"""`pluralign train RECIPE.yaml [key=value ...]`: one script from a laptop CPU to DeepSpeed nodes.

It reads like an alignment-handbook script: parse the recipe, seed, load the data, set up the
model, tokenizer and LoRA, build the TRL trainer for the method, train (resuming when asked),
save (safetensors) and write the resolved recipe next to the weights. `accelerate launch -m
pluralign.train` and `torchrun -m pluralign.train` run the same command (`pluralign/train/__main__.py`).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import yaml

from pluralign import files
from pluralign.log import (
    get_logger,
    progress_bars_on_a_terminal_only,
    quiet_deepspeed,
    quiet_deprecations,
)
from pluralign.tasks import get_task
from pluralign.train.model import (
    device_changes,
    load_tokenizer,
    model_init_kwargs,
    resolve_model_path,
)
from pluralign.train.recipe import Recipe, load_recipe, validate_recipe

logger = get_logger(__name__)


def build_arg_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="pluralign train", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="a YAML recipe (see recipes/)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="recipe overrides, dotted keys for sections: training.max_steps=3 seed=1")
    parser.add_argument("--dry-run", action="store_true", help="validate the recipe and build its configs; train nothing")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    if args.dry_run:
        built = validate_recipe(args.recipe, args.overrides)
        recipe = built["recipe"]
        specs, _ = built["rewards"]
        print(f"{recipe.path}: valid {recipe.method} recipe for {recipe.task}: "
              f"{type(built['training']).__name__}, lora={'yes' if built['lora'] else 'no'}, "
              f"rewards={', '.join(f'{s.name}×{s.weight:g}' for s in specs) or 'none'}")
        return 0
    result = train(load_recipe(args.recipe, args.overrides))
    logger.info(f"saved to {result['output_dir']} (step {result['global_step']}, run {result['run_id']})")
    return 0


# --- the run ----------------------------------------------------------------------------------


def train(recipe: Recipe, callbacks: list | tuple = ()) -> dict:
    """Train as the recipe says; return {"output_dir", "global_step", "log_history", "eval": [eval-hook records],
    "run_id"}. A run stopped by SIGTERM or Ctrl-C saves a checkpoint, writes no final weights, marks
    `run.json` interrupted and raises `TrainingInterrupted` (exit 130 or 143)."""
    from transformers import set_seed

    quiet_deepspeed()
    quiet_deprecations()
    progress_bars_on_a_terminal_only()
    set_seed(recipe.seed)
    output_dir = Path(recipe.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with _wandb_env(recipe, output_dir):
        return _train(recipe, output_dir, callbacks)


@contextmanager
def _wandb_env(recipe: Recipe, output_dir: Path):
    """Unless the user chose otherwise, W&B files go next to the weights, in project `pluralign`."""
    added = {}
    if "wandb" in str(recipe.training.get("report_to", "")):
        for key, value in (("WANDB_DIR", str(output_dir)), ("WANDB_PROJECT", "pluralign")):
            if key not in os.environ:
                os.environ[key] = added[key] = value
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _train(recipe: Recipe, output_dir: Path, callbacks) -> dict:
    from accelerate import PartialState
    from transformers.trainer_utils import get_last_checkpoint

    from pluralign.train import data, status
    from pluralign.train.callbacks import SaveOnInterrupt
    from pluralign.train.methods import TRAINERS

    resume = recipe.training.get("resume_from_checkpoint")
    if resume is True:
        resume = get_last_checkpoint(str(output_dir))  # None (a fresh start) when there is none yet
    resume = resume or None
    # The trainer's own bar too, unless the recipe says (disable_tqdm): it then prints its logs as lines.
    bars = {} if "disable_tqdm" in recipe.training else {"disable_tqdm": not sys.stderr.isatty()}
    args = recipe.training_config(model_init_kwargs=model_init_kwargs(recipe), resume_from_checkpoint=resume,
                                  trust_remote_code=recipe.model.trust_remote_code, **bars, **device_changes(recipe))
    state = PartialState()  # after the TRL config, which sets up the distributed state
    run = {"run_id": status.run_id_for(output_dir, resume), "status": status.RUNNING, "method": recipe.method,
           "recipe": recipe.path, "started": status.now(), "resumed_from": resume}
    if state.is_main_process:  # written first, so that a run that dies without a word stays "running"
        files.write_text(output_dir / "recipe.yaml", yaml.safe_dump(recipe.saved_copy(), sort_keys=False))
        status.write_run(output_dir, run)

    model_path = resolve_model_path(recipe)
    tokenizer = load_tokenizer(recipe, model_path)
    prompts = data.build_prompts(recipe)
    train_rows, held_out = data.split_prompts(recipe, prompts)
    hook = eval_hook(recipe, held_out, tokenizer, run["run_id"])
    interrupt = SaveOnInterrupt()
    callbacks = [interrupt, status.RunIdOnCheckpoints(run["run_id"]), *([hook] if hook else []), *callbacks]

    trainer = TRAINERS[recipe.method](recipe=recipe, model_path=model_path, tokenizer=tokenizer, args=args,
                                      train_rows=train_rows, callbacks=callbacks, resume=resume)
    result = {"output_dir": str(output_dir), "global_step": trainer.state.global_step, "run_id": run["run_id"],
              "log_history": trainer.state.log_history, "eval": hook.history if hook else []}
    run.update(step=trainer.state.global_step, max_steps=trainer.state.max_steps, ended=status.now())
    # Stopped early by a signal: a checkpoint was saved, and final weights would pass for a finished
    # run. (A signal after the last step stopped nothing: the run is complete and is saved as such.)
    if interrupt.received is not None and trainer.state.global_step < trainer.state.max_steps:
        run.update(status=status.INTERRUPTED, signal=status.signal_name(interrupt.received))
        if state.is_main_process:
            status.write_run(output_dir, run)
            _finish_wandb()
        checkpoint = Path(trainer.args.output_dir) / f"checkpoint-{trainer.state.global_step}"
        raise status.TrainingInterrupted(
            f"{recipe.path}: training stopped by {run['signal']} at step {run['step']} of {run['max_steps']}; "
            f"the checkpoint is {checkpoint} and {output_dir / status.RUN_FILE} says the run is incomplete. "
            "Resume it by running the same command with training.resume_from_checkpoint=true",
            interrupt.received, result)
    trainer.save_model(str(output_dir))
    if state.is_main_process:
        status.write_run(output_dir, {**run, "status": status.COMPLETE})
        _finish_wandb()
    return result


def eval_hook(recipe: Recipe, held_out, tokenizer, run_id: str | None = None):
    """The PluralismEvalCallback the recipe asks for, or None (no held-out rows, or a reward model)."""
    settings = recipe.eval_hook
    if not settings.enabled or held_out is None or recipe.method == "reward":
        return None
    from pluralign.rewards.backends import get_backend
    from pluralign.train.callbacks import PluralismEvalCallback

    task = get_task(recipe.task)
    options = recipe.rewards.options.get(task.score_key) or {}
    scorer = task.make_scorer(get_backend(recipe.rewards.backend), **options)
    return PluralismEvalCallback(
        held_out, task.name, recipe.output_dir, scorer=scorer, every_n_steps=settings.every_n_steps,
        max_new_tokens=settings.max_new_tokens, batch_size=settings.batch_size,
        temperature=settings.temperature, table_rows=settings.table_rows, tokenizer=tokenizer,
        extra={"run_id": run_id} if run_id else None,
    )


def _finish_wandb() -> None:
    # Close the W&B run so that its files are complete when train() returns (tests, notebooks).
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()
