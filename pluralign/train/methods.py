"""One function per method: build the TRL trainer for the recipe and train it; return the trainer.

No framework on top of TRL: each is the few lines of a TRL example script, plus the scorers as
reward functions (GRPO, RLOO) or as the judges of preference pairs (DPO, reward model).
"""

from __future__ import annotations

import json
from pathlib import Path

from pluralign.log import get_logger
from pluralign.train import data, pairs
from pluralign.train.callbacks import bind_trainer
from pluralign.train.recipe import RecipeError
from pluralign.train.rewards import reward_setup

logger = get_logger(__name__)


def train_sft(recipe, model_path, tokenizer, args, train_rows, callbacks, resume, eval_rows=None):
    from trl import SFTTrainer

    def rows_of(prompts):
        return data.sft_dataset(recipe, prompts).select_columns(["prompt", "completion"])

    rows = rows_of(train_rows)
    trainer = SFTTrainer(model=model_path, args=args, train_dataset=rows, processing_class=tokenizer,
                         eval_dataset=rows_of(eval_rows) if eval_rows is not None else None,
                         peft_config=recipe.lora_config(), callbacks=callbacks)
    say_dropped(trainer, len(rows), "example(s) whose completion is cut off entirely by", recipe.path)
    return _train(trainer, callbacks, resume)


def _train(trainer, callbacks, resume):
    bind_trainer(callbacks, trainer)  # the eval hook generates through the trainer's engine or wrapped model
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def train_grpo(recipe, model_path, tokenizer, args, train_rows, callbacks, resume, eval_rows=None):
    """GRPO: TRL's PPO-clip successor (clipped ratio with `epsilon`, `num_iterations` updates per
    generation, KL to the reference with `beta`); the scorers are its reward functions."""
    from trl import GRPOTrainer

    return _online(GRPOTrainer, recipe, model_path, tokenizer, args, train_rows, callbacks, resume, eval_rows)


def train_rloo(recipe, model_path, tokenizer, args, train_rows, callbacks, resume, eval_rows=None):
    from trl import RLOOTrainer

    return _online(RLOOTrainer, recipe, model_path, tokenizer, args, train_rows, callbacks, resume, eval_rows)


def _online(trainer_cls, recipe, model_path, tokenizer, args, train_rows, callbacks, resume, eval_rows):
    """TRL generates and scores its own rollouts; with eval_strategy set it also scores the held-out
    prompts (`eval_reward`, `eval_rewards/<name>/mean`, and the reward parts)."""
    specs, funcs = reward_setup(recipe)
    if args.reward_weights is None:
        args.reward_weights = [spec.weight for spec in specs]
    trainer = trainer_cls(model=model_path, reward_funcs=funcs, args=args, train_dataset=train_rows,
                          eval_dataset=eval_rows, processing_class=tokenizer, peft_config=recipe.lora_config(),
                          callbacks=callbacks)
    return _train(trainer, callbacks, resume)


def train_dpo(recipe, model_path, tokenizer, args, train_rows, callbacks, resume, eval_rows=None):
    """DPO on pairs judged by the scorers: once from given (or extractive) candidates, or on-policy
    for `pairs.iterations` rounds of sample k → score → best vs worst → train. With eval_strategy
    set, TRL evaluates on pairs made the same way from the held-out prompts (once, before training).
    TRL 1.16's DPO has no vLLM engine: on-policy samples come from `generate` on the model, gathered
    once per generation under ZeRO-3 (pluralign.train.generate)."""
    from trl import DPOTrainer

    settings = recipe.pairs
    rounds = settings.iterations if settings.source == "on_policy" else 1
    if rounds > 1 and resume:
        raise RecipeError(recipe.path, "resume_from_checkpoint", "resuming is supported for one round of pairs; "
                          "start a new run from the last saved model instead")
    model = model_path
    if settings.source == "on_policy":
        model = load_policy(model_path, args)
    peft_config = recipe.lora_config()
    trainer = None
    policy = model if settings.source == "on_policy" else None
    eval_pairs = (build_pairs(recipe, [dict(r) for r in eval_rows], policy, tokenizer, split="eval")
                  if eval_rows is not None else None)
    for round_ in range(rounds):
        rows = [dict(r) for r in train_rows]
        preference = build_pairs(recipe, rows, model if settings.source == "on_policy" else None, tokenizer,
                                 iteration=round_, trainer=trainer)
        round_args = args
        if rounds > 1:
            round_args = _copy_args(args, output_dir=str(Path(args.output_dir) / f"iteration-{round_}"))
            for callback in callbacks:
                if hasattr(callback, "extra"):
                    callback.extra["iteration"] = round_
        trainer = DPOTrainer(model=model, args=round_args, train_dataset=preference, eval_dataset=eval_pairs,
                             processing_class=tokenizer, peft_config=peft_config if round_ == 0 else None,
                             callbacks=callbacks)
        _train(trainer, callbacks, resume)
        model = trainer.model
        if trainer.state.global_step < trainer.state.max_steps:
            break  # cut short by a signal (SaveOnInterrupt saved a checkpoint): no further round starts
    return trainer


def load_policy(model_path, args):
    """The model that samples the first round of on-policy pairs, as TRL's trainers load it: on this
    process's device (or partitioned at load under ZeRO-3, or placed by a QLoRA device_map)."""
    from accelerate import PartialState
    from accelerate.utils import DistributedType
    from transformers.integrations import is_deepspeed_zero3_enabled
    from trl.trainer.utils import create_model_from_path

    state = PartialState()
    kwargs = dict(args.model_init_kwargs or {})
    if state.distributed_type in (DistributedType.MULTI_GPU, DistributedType.DEEPSPEED) and "quantization_config" not in kwargs:
        kwargs["device_map"] = None  # one whole copy per process, as DDP wants ("auto" would spread it)
    model = create_model_from_path(model_path, **kwargs)
    if not is_deepspeed_zero3_enabled() and kwargs.get("device_map") is None:
        model.to(state.device)
    return model


def train_reward(recipe, model_path, tokenizer, args, train_rows, callbacks, resume, eval_rows=None):
    """Distil the scorers into a sequence-classification reward model (TRL RewardTrainer) on
    chosen/rejected pairs they judged; its folder can be given as `rewards.reward_model`."""
    from trl import RewardTrainer

    sampler = None
    if recipe.pairs.source == "on_policy":
        from transformers import AutoModelForCausalLM

        from pluralign.train.model import load_tokenizer

        sampler = (AutoModelForCausalLM.from_pretrained(recipe.pairs.sampler),
                   load_tokenizer(recipe, recipe.pairs.sampler))
    model, sampling_tokenizer = (sampler[0], sampler[1]) if sampler else (None, tokenizer)
    preference = build_pairs(recipe, [dict(r) for r in train_rows], model, sampling_tokenizer)
    eval_pairs = (build_pairs(recipe, [dict(r) for r in eval_rows], model, sampling_tokenizer, split="eval")
                  if eval_rows is not None else None)
    if tokenizer.pad_token_id is not None:
        args.model_init_kwargs = {**(args.model_init_kwargs or {}), "pad_token_id": tokenizer.pad_token_id}
    trainer = RewardTrainer(model=model_path, args=args, train_dataset=preference, eval_dataset=eval_pairs,
                            processing_class=tokenizer, peft_config=recipe.lora_config(), callbacks=callbacks)
    say_dropped(trainer, len(preference), "pair(s) longer than", recipe.path)
    return _train(trainer, callbacks, resume)


def say_dropped(trainer, given: int, why: str, recipe_path: str) -> None:
    """TRL leaves out, without a word, the rows that do not fit `max_length`: say how many."""
    kept = len(trainer.train_dataset)
    if kept < given:
        logger.warning(f"warning: TRL left out {given - kept} of {given} training {why} training.max_length="
                       f"{trainer.args.max_length} tokens; raise it to train on them")
    if kept == 0:
        raise RecipeError(recipe_path, "training.max_length", f"no training row fits in "
                          f"{trainer.args.max_length} tokens; raise training.max_length")


def build_pairs(recipe, rows: list[dict], model, tokenizer, iteration: int = 0, trainer=None, split: str = "train"):
    """Score candidates for every prompt and keep best vs worst; training pairs are written to
    output_dir/pairs.jsonl (held-out ones, `split="eval"`, to eval_pairs.jsonl). `trainer` (the
    previous round's) gives the wrapped model to generate with."""
    from accelerate import PartialState
    from datasets import Dataset

    settings = recipe.pairs
    if settings.source == "candidates":
        candidates = pairs.candidates_from_file(rows, data.read_texts_by_id(settings.candidates, recipe.task), recipe.task)
    elif settings.source == "extractive":
        candidates = [pairs.extractive_candidates(row, settings.k, settings.sentences, recipe.seed) for row in rows]
    else:
        candidates = pairs.on_policy_candidates(model, tokenizer, rows, settings.k, settings.max_new_tokens,
                                                settings.temperature, batch_size=recipe.eval_hook.batch_size,
                                                trainer=trainer, chat_template_kwargs=recipe.model.chat_template_kwargs)
    specs, funcs = reward_setup(recipe)
    scores = pairs.score_candidates(rows, candidates, funcs, [s.weight for s in specs])
    kept, stats = pairs.best_vs_worst(rows, candidates, scores, settings.min_margin)
    logger.info(f"{split} pairs (round {iteration}): {stats.describe()}")
    if PartialState().is_main_process:
        path = Path(recipe.output_dir) / ("pairs.jsonl" if split == "train" else f"{split}_pairs.jsonl")
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
