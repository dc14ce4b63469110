"""The recipe's `rewards:` section as TRL reward functions and weights.

Summarize runs are rewarded with `pluralism_reward`, rewrite runs with `fidelity_reward`
(pluralign.rewards.adapters); a reward model distilled by the `reward` method can stand in for
them, or be added to them (TRL accepts a model path as a reward function).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RewardSpec:
    name: str  # pluralism | fidelity | reward_model
    weight: float
    options: dict = field(default_factory=dict)
    path: str | None = None  # reward_model only


def reward_setup(recipe, load: bool = True) -> tuple[list[RewardSpec], list[Any]]:
    """The rewards a recipe asks for; with load=True also the callables TRL takes as reward_funcs."""
    rewards = recipe.rewards
    specs = []
    if rewards.pluralism:
        specs.append(RewardSpec("pluralism", float(rewards.pluralism), dict(rewards.pluralism_options)))
    if rewards.fidelity:
        specs.append(RewardSpec("fidelity", float(rewards.fidelity), dict(rewards.fidelity_options)))
    if rewards.reward_model:
        specs.append(RewardSpec("reward_model", float(rewards.reward_model_weight), path=rewards.reward_model))
    funcs = [build_reward_func(spec, rewards.backend) for spec in specs] if load else []
    return specs, funcs


def build_reward_func(spec: RewardSpec, backend: str):
    if spec.name == "reward_model":
        return spec.path  # TRL loads it as a sequence classifier and scores with it
    from pluralign.rewards import adapters

    factory = {"pluralism": adapters.make_pluralism_reward, "fidelity": adapters.make_fidelity_reward}[spec.name]
    return factory(backend=backend, **spec.options)


def weighted_scores(funcs: list, weights: list[float], prompts: list, completions: list, columns: dict) -> list[float]:
    """Σ weight × reward per completion, as GRPO combines them; callables only (pairs and eval)."""
    total = [0.0] * len(completions)
    for func, weight in zip(funcs, weights, strict=True):
        if not callable(func):
            raise ValueError("a reward model path scores inside TRL trainers only; use the scorers to build pairs")
        values = func(prompts=prompts, completions=completions, **columns)
        total = [t + weight * (v if v is not None else 0.0) for t, v in zip(total, values, strict=True)]
    return total
