"""Batch arithmetic of a recipe, checked before any model is built.

GRPO and RLOO generate once per round: `generation_batch_size` completions (by default
per_device_train_batch_size × processes × steps_per_generation, and steps_per_generation defaults
to gradient_accumulation_steps), `num_generations` per prompt, so a round needs
generation_batch_size / num_generations distinct prompts. TRL's sampler (`RepeatSampler`) drops a
round it cannot fill: with fewer training prompts than one round the dataloader is empty and TRL
stops after loading the models. SFT, DPO and reward models repeat rows instead, so for them too few
rows for one optimizer step is only worth a warning.

The number of processes is `--num-processes` under `--dry-run`, else the launcher's WORLD_SIZE
(accelerate launch and torchrun set it), else 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pluralign.log import get_logger
from pluralign.train import data
from pluralign.train.recipe import Recipe, RecipeError, trl_config_class

logger = get_logger(__name__)
ONLINE = ("grpo", "rloo")


def launched_processes() -> int:
    """The number of training processes the launcher started (WORLD_SIZE), 1 without a launcher."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


@dataclass
class BatchPlan:
    processes: int
    per_device: int
    accumulation: int
    rows: int  # training prompts after the held-out split and data.limit
    held_out: int
    generation_batch: int | None = None  # GRPO/RLOO: completions per generation round
    num_generations: int | None = None

    @property
    def global_batch(self) -> int:
        return self.per_device * self.processes * self.accumulation

    @property
    def prompts_per_round(self) -> int | None:
        return self.generation_batch // self.num_generations if self.generation_batch else None

    def as_overrides(self) -> list[str]:
        """Recipe overrides that give a one-process TRL config this plan's generation batch (dry runs)."""
        if not self.generation_batch:
            return []
        return [f"training.generation_batch_size={self.generation_batch}", "training.steps_per_generation=null"]

    def describe(self) -> str:
        text = (f"{self.processes} process(es) × {self.per_device} per device × {self.accumulation} accumulation "
                f"= {self.global_batch} per optimizer step")
        if self.generation_batch:
            text += (f"; {self.generation_batch} completions per generation round / {self.num_generations} per prompt "
                     f"= {self.prompts_per_round} prompts per round")
        return text + f"; {self.rows} training prompt(s) ({self.held_out} held out)"


def _setting(recipe: Recipe, key: str):
    """A training field as the recipe gives it, else the TRL config class's default."""
    import dataclasses

    if key in recipe.training:
        return recipe.training[key]
    fields = {f.name: f for f in dataclasses.fields(trl_config_class(recipe.method))}
    field = fields[key]
    return field.default if field.default is not dataclasses.MISSING else field.default_factory()


def plan(recipe: Recipe, processes: int, rows: int | None = None) -> BatchPlan:
    """The recipe's batch arithmetic on `processes` processes; RecipeError (with the arithmetic)
    when a generation round cannot be formed or filled. `rows` (the prompt count) is read from the
    data when not given."""
    total = data.count_prompts(recipe) if rows is None else rows
    train_rows, held_out = data.split_sizes(recipe, total)
    per_device, accumulation = _setting(recipe, "per_device_train_batch_size"), _setting(recipe, "gradient_accumulation_steps")
    batch = BatchPlan(processes, per_device, accumulation, train_rows, held_out)
    if recipe.method in ONLINE:
        _plan_generation(recipe, batch)
    if train_rows < 1:
        raise RecipeError(recipe.path, "data.path", f"no training prompt is left: {batch.describe()}")
    if recipe.method not in ONLINE and train_rows < batch.global_batch:
        logger.warning(f"{recipe.path}: {batch.describe()}: fewer rows than one optimizer step, so each step repeats "
                       "rows; give more data or a smaller batch")
    return batch


def _plan_generation(recipe: Recipe, batch: BatchPlan) -> None:
    """TRL's GRPOConfig/RLOOConfig rule for the generation batch, on `batch.processes` processes."""
    per_step = batch.per_device * batch.processes
    given_batch, given_steps = _setting(recipe, "generation_batch_size"), _setting(recipe, "steps_per_generation")
    generations = _setting(recipe, "num_generations")
    batch.num_generations = generations
    if given_batch is not None and given_steps is not None:
        raise RecipeError(recipe.path, "training.generation_batch_size", "set generation_batch_size or "
                          "steps_per_generation, not both")
    if given_batch is not None:
        if given_batch % per_step:
            raise RecipeError(recipe.path, "training.generation_batch_size",
                              f"{given_batch} is not a multiple of per_device_train_batch_size × processes = "
                              f"{batch.per_device} × {batch.processes} = {per_step}")
        batch.generation_batch = given_batch
    else:
        steps = given_steps if given_steps is not None else batch.accumulation
        batch.generation_batch = per_step * steps
    if generations < 2:
        raise RecipeError(recipe.path, "training.num_generations", f"{generations}: the group baseline needs at least 2")
    if batch.generation_batch % generations:
        raise RecipeError(recipe.path, "training.num_generations",
                          f"{batch.describe()}: {batch.generation_batch} completions per round are not a multiple of "
                          f"num_generations={generations}; change per_device_train_batch_size, "
                          "gradient_accumulation_steps or num_generations")
    if batch.rows < batch.prompts_per_round:
        raise RecipeError(recipe.path, "data.path",
                          f"{batch.describe()}: a generation round needs {batch.prompts_per_round} prompts and the data "
                          f"gives {batch.rows} for training, so TRL would stop with an empty dataloader; give more data "
                          "(or data.synth.n_debates), or lower per_device_train_batch_size, gradient_accumulation_steps "
                          "or the number of processes")
    if data.evaluates(recipe):
        eval_generations = _setting(recipe, "num_generations_eval") or generations
        eval_batch = _setting(recipe, "per_device_eval_batch_size") * batch.processes
        if eval_batch % eval_generations:
            raise RecipeError(recipe.path, "training.per_device_eval_batch_size",
                              f"per_device_eval_batch_size × processes = {eval_batch} is not a multiple of "
                              f"num_generations_eval (or num_generations) = {eval_generations}")
