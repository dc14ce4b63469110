"""`pluralign train RECIPE.yaml [key=value ...]`: one script from a laptop CPU to DeepSpeed nodes.

It reads like an alignment-handbook script: parse the recipe, seed, load the data, set up the
model, tokenizer and LoRA, build the TRL trainer for the method, train (resuming when asked),
save (safetensors) and write the resolved recipe next to the weights. `accelerate launch -m
pluralign.train` and `torchrun -m pluralign.train` run this same `main`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import yaml

from pluralign.data.schema import DataError
from pluralign.train.recipe import TINY_PREFIX, Recipe, RecipeError, load_recipe, validate_recipe


def build_arg_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="pluralign train", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="a YAML recipe (see recipes/)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="recipe overrides, dotted keys for sections: training.max_steps=3 seed=1")
    parser.add_argument("--dry-run", action="store_true", help="validate the recipe and build its configs; train nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    return run_from_args(args)


def run_from_args(args: argparse.Namespace) -> int:
    try:
        if args.dry_run:
            built = validate_recipe(args.recipe, args.overrides)
            recipe = built["recipe"]
            specs, _ = built["rewards"]
            print(f"{recipe.path}: valid {recipe.method} recipe for {recipe.task}: "
                  f"{type(built['training']).__name__}, lora={'yes' if built['lora'] else 'no'}, "
                  f"rewards={', '.join(f'{s.name}×{s.weight:g}' for s in specs) or 'none'}")
            return 0
        train(load_recipe(args.recipe, args.overrides))
        return 0
    except (RecipeError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


# --- model and tokenizer ----------------------------------------------------------------------


def resolve_model_path(recipe: Recipe) -> str:
    """The model's id or folder; a `tiny:` model is built (once, by the main process) under output_dir."""
    if not recipe.is_tiny:
        return recipe.model.name_or_path
    from accelerate import PartialState

    from pluralign.tiny import build_tiny_causal_lm

    kind = recipe.model.name_or_path[len(TINY_PREFIX):]
    if kind != "llama":
        raise RecipeError(recipe.path, "model.name_or_path", f"unknown tiny model {kind!r}; use tiny:llama")
    path = Path(recipe.output_dir) / "base-model"
    # Needs the distributed state that the TRL config sets up: before it, accelerate's PartialState
    # under `torchrun` on CPUs calls every rank the main one, and all of them would build at once.
    with PartialState().main_process_first():
        if not path.is_dir():
            # Built aside and renamed into place: a run killed mid-write must not leave a
            # half-written model that the next run (or a resume) takes as complete.
            partial = path.with_name(f"{path.name}.partial")
            shutil.rmtree(partial, ignore_errors=True)
            try:
                build_tiny_causal_lm(partial, hidden_size=recipe.model.tiny_hidden_size,
                                     num_layers=recipe.model.tiny_num_layers, seed=recipe.seed)
                partial.rename(path)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
            print(f"{recipe.path}: built a random-initialised tiny model in {path}", flush=True)
    return str(path)


def model_init_kwargs(recipe: Recipe) -> dict:
    section = recipe.model
    kwargs = {"dtype": section.dtype, "trust_remote_code": section.trust_remote_code,
              "revision": section.revision, "attn_implementation": section.attn_implementation}
    return {k: v for k, v in kwargs.items() if v is not None}


def load_tokenizer(recipe: Recipe, path: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=recipe.model.trust_remote_code,
                                              revision=recipe.model.revision)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def device_changes(recipe: Recipe) -> dict:
    """On a machine without a GPU, train in float32 on the CPU (TRL configs default to bf16)."""
    import torch

    if torch.cuda.is_available():
        return {}
    if recipe.training.get("bf16") or recipe.training.get("fp16"):
        print(f"{recipe.path}: no GPU here; training in float32 on the CPU", flush=True)
    return {"use_cpu": True, "bf16": False, "fp16": False}


# --- the run ----------------------------------------------------------------------------------


def train(recipe: Recipe, callbacks: list | tuple = ()) -> dict:
    """Train as the recipe says; return {"output_dir", "global_step", "log_history", "eval": [eval-hook records]}."""
    from transformers import set_seed

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

    from pluralign.train import data
    from pluralign.train.callbacks import SaveOnInterrupt
    from pluralign.train.methods import TRAINERS

    resume = recipe.training.get("resume_from_checkpoint")
    if resume is True:
        resume = get_last_checkpoint(str(output_dir))  # None (a fresh start) when there is none yet
    resume = resume or None
    args = recipe.training_config(model_init_kwargs=model_init_kwargs(recipe), resume_from_checkpoint=resume,
                                  trust_remote_code=recipe.model.trust_remote_code, **device_changes(recipe))
    state = PartialState()  # after the TRL config, which sets up the distributed state

    model_path = resolve_model_path(recipe)
    tokenizer = load_tokenizer(recipe, model_path)
    prompts = data.build_prompts(recipe)
    train_rows, held_out = data.split_prompts(recipe, prompts)
    hook = eval_hook(recipe, held_out, tokenizer)
    callbacks = [SaveOnInterrupt(), *([hook] if hook else []), *callbacks]

    trainer = TRAINERS[recipe.method](recipe=recipe, model_path=model_path, tokenizer=tokenizer, args=args,
                                      train_rows=train_rows, callbacks=callbacks, resume=resume)
    trainer.save_model(str(output_dir))
    if state.is_main_process:
        (output_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe.saved_copy(), sort_keys=False), encoding="utf-8")
        _finish_wandb()
    return {"output_dir": str(output_dir), "global_step": trainer.state.global_step,
            "log_history": trainer.state.log_history, "eval": hook.history if hook else []}


def eval_hook(recipe: Recipe, held_out, tokenizer):
    """The PluralismEvalCallback the recipe asks for, or None (no held-out rows, or a reward model)."""
    settings = recipe.eval_hook
    if not settings.enabled or held_out is None or recipe.method == "reward":
        return None
    from pluralign.train.callbacks import PluralismEvalCallback

    scorers = build_scorers(recipe)
    return PluralismEvalCallback(
        held_out, recipe.task, recipe.output_dir, every_n_steps=settings.every_n_steps,
        max_new_tokens=settings.max_new_tokens, batch_size=settings.batch_size,
        temperature=settings.temperature, table_rows=settings.table_rows, tokenizer=tokenizer, **scorers,
    )


def build_scorers(recipe: Recipe) -> dict:
    from pluralign.rewards.backends import get_backend

    backend = get_backend(recipe.rewards.backend)
    if recipe.task == "summarize":
        from pluralign.rewards.pluralism import PluralismScorer

        return {"pluralism_scorer": PluralismScorer(backend, **recipe.rewards.pluralism_options)}
    from pluralign.rewards.fidelity import FidelityScorer

    return {"fidelity_scorer": FidelityScorer(backend, **recipe.rewards.fidelity_options)}


def _finish_wandb() -> None:
    # Close the W&B run so that its files are complete when train() returns (tests, notebooks).
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()
