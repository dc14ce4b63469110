"""One function per method: build the TRL trainer for the recipe and train it; return the trainer.

No framework on top of TRL: each is the few lines of a TRL example script, plus the scorers as
reward functions (GRPO, RLOO) or as the judges of preference pairs (DPO, reward model).
"""

from __future__ import annotations

import json
from pathlib import Path

from pluralign.log import get_logger
from pluralign.train import data, pairs
from pluralign.train.recipe import RecipeError
from pluralign.train.rewards import reward_setup

logger = get_logger(__name__)


def train_sft(recipe, model_path, tokenizer, args, train_rows, callbacks, resume):
    from trl import SFTTrainer

    rows = data.sft_dataset(recipe, train_rows).select_columns(["prompt", "completion"])
    trainer = SFTTrainer(model=model_path, args=args, train_dataset=rows, processing_class=tokenizer,
                         peft_config=recipe.lora_config(), callbacks=callbacks)
    say_dropped(trainer, len(rows), "example(s) whose completion is cut off entirely by", recipe.path)
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def train_grpo(recipe, model_path, tokenizer, args, train_rows, callbacks, resume):
    """GRPO: TRL's PPO-clip successor (clipped ratio with `epsilon`, `num_iterations` updates per
    generation, KL to the reference with `beta`); the scorers are its reward functions."""
    from trl import GRPOTrainer

    return _online(GRPOTrainer, recipe, model_path, tokenizer, args, train_rows, callbacks, resume)


def train_rloo(recipe, model_path, tokenizer, args, train_rows, callbacks, resume):
    from trl import RLOOTrainer

    return _online(RLOOTrainer, recipe, model_path, tokenizer, args, train_rows, callbacks, resume)


def _online(trainer_cls, recipe, model_path, tokenizer, args, train_rows, callbacks, resume):
    specs, funcs = reward_setup(recipe)
    if args.reward_weights is None:
        args.reward_weights = [spec.weight for spec in specs]
    trainer = trainer_cls(model=model_path, reward_funcs=funcs, args=args, train_dataset=train_rows,
                          processing_class=tokenizer, peft_config=recipe.lora_config(), callbacks=callbacks)
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def train_dpo(recipe, model_path, tokenizer, args, train_rows, callbacks, resume):
    """DPO on pairs judged by the scorers: once from given (or extractive) candidates, or on-policy
    for `pairs.iterations` rounds of sample k → score → best vs worst → train."""
    from transformers import AutoModelForCausalLM
    from trl import DPOTrainer

    settings = recipe.pairs
    rounds = settings.iterations if settings.source == "on_policy" else 1
    if rounds > 1 and resume:
        raise RecipeError(recipe.path, "resume_from_checkpoint", "resuming is supported for one round of pairs; "
                          "start a new run from the last saved model instead")
    model = model_path
    if settings.source == "on_policy":
        model = AutoModelForCausalLM.from_pretrained(model_path, **(args.model_init_kwargs or {}))
    peft_config = recipe.lora_config()
    trainer = None
    for round_ in range(rounds):
        rows = [dict(r) for r in train_rows]
        preference = build_pairs(recipe, rows, model if settings.source == "on_policy" else None, tokenizer,
                                 iteration=round_)
        round_args = args
        if rounds > 1:
            round_args = _copy_args(args, output_dir=str(Path(args.output_dir) / f"iteration-{round_}"))
            for callback in callbacks:
                if hasattr(callback, "extra"):
                    callback.extra["iteration"] = round_
        trainer = DPOTrainer(model=model, args=round_args, train_dataset=preference, processing_class=tokenizer,
                             peft_config=peft_config if round_ == 0 else None, callbacks=callbacks)
        trainer.train(resume_from_checkpoint=resume)
        model = trainer.model
        if trainer.state.global_step < trainer.state.max_steps:
            break  # cut short by a signal (SaveOnInterrupt saved a checkpoint): no further round starts
    return trainer


def train_reward(recipe, model_path, tokenizer, args, train_rows, callbacks, resume):
    """Distil the scorers into a sequence-classification reward model (TRL RewardTrainer) on
    chosen/rejected pairs they judged; its folder can be given as `rewards.reward_model`."""
    from trl import RewardTrainer

    sampler = None
    if recipe.pairs.source == "on_policy":
        from transformers import AutoModelForCausalLM

        from pluralign.train.model import load_tokenizer

        sampler = (AutoModelForCausalLM.from_pretrained(recipe.pairs.sampler),
                   load_tokenizer(recipe, recipe.pairs.sampler))
    rows = [dict(r) for r in train_rows]
    preference = build_pairs(recipe, rows, sampler[0] if sampler else None, sampler[1] if sampler else tokenizer)
    if tokenizer.pad_token_id is not None:
        args.model_init_kwargs = {**(args.model_init_kwargs or {}), "pad_token_id": tokenizer.pad_token_id}
    trainer = RewardTrainer(model=model_path, args=args, train_dataset=preference, processing_class=tokenizer,
                            peft_config=recipe.lora_config(), callbacks=callbacks)
    say_dropped(trainer, len(preference), "pair(s) longer than", recipe.path)
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def say_dropped(trainer, given: int, why: str, recipe_path: str) -> None:
    """TRL leaves out, without a word, the rows that do not fit `max_length`: say how many."""
    kept = len(trainer.train_dataset)
    if kept < given:
        logger.warning(f"warning: TRL left out {given - kept} of {given} training {why} training.max_length="
                       f"{trainer.args.max_length} tokens; raise it to train on them")
    if kept == 0:
        raise RecipeError(recipe_path, "training.max_length", f"no training row fits in "
                          f"{trainer.args.max_length} tokens; raise training.max_length")


def build_pairs(recipe, rows: list[dict], model, tokenizer, iteration: int = 0):
    """Score candidates for every prompt and keep best vs worst; written to output_dir/pairs.jsonl."""
    from accelerate import PartialState
    from datasets import Dataset

    settings = recipe.pairs
    if settings.source == "candidates":
        candidates = pairs.candidates_from_file(rows, data.read_texts_by_id(settings.candidates, recipe.task), recipe.task)
    elif settings.source == "extractive":
        candidates = [pairs.extractive_candidates(row, settings.k, settings.sentences, recipe.seed) for row in rows]
    else:
        candidates = pairs.on_policy_candidates(model, tokenizer, rows, settings.k, settings.max_new_tokens,
                                                settings.temperature, batch_size=recipe.eval_hook.batch_size)
    specs, funcs = reward_setup(recipe)
    scores = pairs.score_candidates(rows, candidates, funcs, [s.weight for s in specs])
    kept, stats = pairs.best_vs_worst(rows, candidates, scores, settings.min_margin)
    logger.info(f"pairs (round {iteration}): {stats.describe()}")
    if PartialState().is_main_process:
        path = Path(recipe.output_dir) / "pairs.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if iteration else "w", encoding="utf-8") as handle:
            for pair in kept:
                handle.write(json.dumps({"iteration": iteration, **pair}, ensure_ascii=False) + "\n")
    if not kept:
        raise RecipeError(recipe.path, "pairs.min_margin", f"no prompt had candidates {settings.min_margin} apart "
                          f"({stats.describe()}); lower pairs.min_margin or raise pairs.k")
    return Dataset.from_list([{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in kept])


def _copy_args(args, **changes):
    import dataclasses

    return dataclasses.replace(args, **changes)


TRAINERS = {"sft": train_sft, "dpo": train_dpo, "grpo": train_grpo, "rloo": train_rloo, "reward": train_reward}
