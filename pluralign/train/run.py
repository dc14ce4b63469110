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
    check_quantization_support,
    device_changes,
    load_tokenizer,
    model_init_kwargs,
    resolve_model_path,
)
from pluralign.train.recipe import Recipe, load_recipe, validate_recipe

logger = get_logger(__name__)


def build_arg_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="pluralign train", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="a YAML recipe, or a shipped one by name (cpu/grpo, "
                                       "qwen2.5-1.5b-full-ddp/summarize-pluralism, ...: see --list)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="recipe overrides, dotted keys for sections: training.max_steps=3 seed=1")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate the recipe, build its configs and check its batch arithmetic; train nothing")
    parser.add_argument("--num-processes", type=int, default=None, metavar="N",
                        help="with --dry-run: check the batch arithmetic for N training processes (GPUs) "
                             "(default: the launcher's WORLD_SIZE, else 1)")
    return parser


def recipe_path(name: str) -> Path:
    """A recipe file, or a shipped recipe by name; a located error listing the shipped ones."""
    from pluralign.resources import find_recipe, shipped_recipes
    from pluralign.train.recipe import RecipeError

    path = find_recipe(name)
    if not path.is_file():
        raise RecipeError(name, "", f"no such recipe file or shipped recipe; the shipped ones are "
                          f"{', '.join(shipped_recipes())}")
    return path


def run_from_args(args: argparse.Namespace) -> int:
    from pluralign.errors import UsageError
    from pluralign.train import batches

    if args.num_processes is not None and not args.dry_run:
        raise UsageError("--num-processes applies to --dry-run; a real run takes the launcher's process count "
                         "(accelerate launch --num_processes N)")
    if args.num_processes is not None and args.num_processes < 1:
        raise UsageError(f"--num-processes must be at least 1, got {args.num_processes}")
    path = recipe_path(args.recipe)
    if args.dry_run:
        plan = batches.plan(load_recipe(path, args.overrides), args.num_processes or batches.launched_processes())
        # TRL's config checks its generation batch for this process alone; give it the N-process one.
        built = validate_recipe(path, [*args.overrides, *plan.as_overrides()])
        recipe = built["recipe"]
        specs, _ = built["rewards"]
        print(f"{recipe.path}: valid {recipe.method} recipe for {recipe.task}: "
              f"{type(built['training']).__name__}, lora={'yes' if built['lora'] else 'no'}, "
              f"rewards={', '.join(f'{s.name}×{s.weight:g}' for s in specs) or 'none'}; {plan.describe()}")
        return 0
    result = train(load_recipe(path, args.overrides))
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
    from pluralign.train import batches

    batches.plan(recipe, batches.launched_processes())  # before any model: a round the data cannot fill
    check_vllm(recipe)
    check_quantization_support(recipe)
    set_seed(recipe.seed)
    output_dir = Path(recipe.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with _wandb_env(recipe, output_dir):
        return _train(recipe, output_dir, callbacks)


@contextmanager
def _wandb_env(recipe: Recipe, output_dir: Path):
    """Unless the user chose otherwise, W&B files go next to the weights, in project `pluralign`
    (where `pluralign eval --report-to wandb` logs too)."""
    from pluralign.eval.wandb_log import DEFAULT_PROJECT

    added = {}
    if "wandb" in str(recipe.training.get("report_to", "")):
        for key, value in (("WANDB_DIR", str(output_dir)), ("WANDB_PROJECT", DEFAULT_PROJECT)):
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
    from pluralign.train.callbacks import RecipeToWandb, SaveOnInterrupt
    from pluralign.train.methods import TRAINERS

    resume = recipe.training.get("resume_from_checkpoint")
    if resume is True:
        resume = get_last_checkpoint(str(output_dir))  # None (a fresh start) when there is none yet
    resume = resume or None
    # The trainer's own bar too, unless the recipe says (disable_tqdm): it then prints its logs as lines.
    bars = {} if "disable_tqdm" in recipe.training else {"disable_tqdm": not sys.stderr.isatty()}
    args = recipe.training_config(**run_settings(recipe), resume_from_checkpoint=resume, **bars, **device_changes(recipe))
    state = PartialState()  # after the TRL config, which sets up the distributed state
    run = {"run_id": status.run_id_for(output_dir, resume), "status": status.RUNNING, "method": recipe.method,
           "recipe": recipe.path, "started": status.now(), "resumed_from": resume}
    if state.is_main_process:  # written first, so that a run that dies without a word stays "running"
        files.write_text(output_dir / "recipe.yaml", yaml.safe_dump(recipe.saved_copy(), sort_keys=False))
        status.write_run(output_dir, run)

    prompts = data.build_prompts(recipe)
    train_rows, held_out = data.split_prompts(recipe, prompts)
    model_path = resolve_model_path(recipe)
    tokenizer = load_tokenizer(recipe, model_path)
    hook = eval_hook(recipe, held_out, tokenizer, run["run_id"])
    interrupt = SaveOnInterrupt()
    callbacks = [interrupt, status.RunIdOnCheckpoints(run["run_id"]), RecipeToWandb(recipe.saved_copy()),
                 *([hook] if hook else []), *callbacks]

    trainer = TRAINERS[recipe.method](recipe=recipe, model_path=model_path, tokenizer=tokenizer, args=args,
                                      train_rows=train_rows, callbacks=callbacks, resume=resume,
                                      eval_rows=held_out if data.evaluates(recipe) else None)
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


def default_run_name(recipe: Recipe) -> str:
    """`<recipe file stem>-<method>-<task>`, e.g. `summarize-pluralism-grpo-summarize`; W&B and the
    Hub show it instead of a random name."""
    return f"{Path(recipe.path).stem}-{recipe.method}-{recipe.task}"


def run_settings(recipe: Recipe) -> dict:
    """TRL config fields pluralign fills in from the recipe, unless the recipe sets them itself:
    the model's from_pretrained arguments (merged), the run name and the chat template's arguments."""
    settings = {"model_init_kwargs": model_init_kwargs(recipe), "trust_remote_code": recipe.model.trust_remote_code,
                "run_name": recipe.training.get("run_name") or default_run_name(recipe)}
    if recipe.model.chat_template_kwargs and recipe.method in ("grpo", "rloo"):
        settings["chat_template_kwargs"] = {**recipe.model.chat_template_kwargs,
                                            **(recipe.training.get("chat_template_kwargs") or {})}
    return settings


def check_vllm(recipe: Recipe) -> None:
    """`training.use_vllm` needs vllm (the `[vllm]` extra) and a GPU; say so before any model loads."""
    from pluralign.train.recipe import RecipeError

    if not recipe.training.get("use_vllm"):
        return
    from trl.import_utils import is_vllm_available

    if not is_vllm_available():
        raise RecipeError(recipe.path, "training.use_vllm", "vLLM is not installed: pip install 'pluralign[vllm]' "
                          "(a CUDA machine), or set training.use_vllm=false to generate with transformers")


def eval_hook(recipe: Recipe, held_out, tokenizer, run_id: str | None = None):
    """The PluralismEvalCallback the recipe asks for, or None (no held-out rows, or a reward model).
    It generates on the first `eval_hook.n_samples` held-out prompts."""
    settings = recipe.eval_hook
    if not settings.enabled or held_out is None or recipe.method == "reward":
        return None
    from pluralign.rewards.backends import get_backend
    from pluralign.train.callbacks import PluralismEvalCallback

    task = get_task(recipe.task)
    options = recipe.rewards.options.get(task.score_key) or {}
    scorer = task.make_scorer(get_backend(recipe.rewards.backend), **options)
    return PluralismEvalCallback(
        held_out.select(range(min(settings.n_samples, len(held_out)))), task.name, recipe.output_dir, scorer=scorer,
        every_n_steps=settings.every_n_steps, max_new_tokens=settings.max_new_tokens, batch_size=settings.batch_size,
        temperature=settings.temperature, table_rows=settings.table_rows, tokenizer=tokenizer,
        chat_template_kwargs=recipe.model.chat_template_kwargs, extra={"run_id": run_id} if run_id else None,
    )


def _finish_wandb() -> None:
    # Close the W&B run so that its files are complete when train() returns (tests, notebooks).
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()
