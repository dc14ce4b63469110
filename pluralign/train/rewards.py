"""The recipe's `rewards:` section as TRL reward functions and weights.

Each entry of `rewards.funcs` is resolved by the reward registry (`pluralign.rewards.registry`):
a built-in reward (built with the recipe's backend and its options), a reward-model folder (TRL
loads it and scores with it), or the user's own function. The recipe checked all of them at load.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RewardSpec:
    name: str  # as rewards.funcs gives it
    weight: float
    options: dict = field(default_factory=dict)


def reward_setup(recipe, load: bool = True) -> tuple[list[RewardSpec], list[Any]]:
    """The rewards a recipe asks for; with load=True also what TRL takes as `reward_funcs`."""
    from pluralign.rewards.registry import resolve_reward

    rewards = recipe.rewards
    weights = rewards.weights if rewards.weights is not None else [1.0] * len(rewards.funcs)
    specs = [RewardSpec(str(name), float(weight), dict(rewards.options.get(name) or {}))
             for name, weight in zip(rewards.funcs, weights, strict=True)]
    funcs = [resolve_reward(spec.name).build(rewards.backend, spec.options) for spec in specs] if load else []
    return specs, funcs


def weighted_scores(funcs: list, weights: list[float], prompts: list, completions: list, columns: dict) -> list[float]:
    """Σ weight × reward per completion, as GRPO combines them; callables only (pairs and eval)."""
    total = [0.0] * len(completions)
    for func, weight in zip(funcs, weights, strict=True):
        if not callable(func):
            raise ValueError("a reward model path scores inside TRL trainers only; use the scorers to build pairs")
        values = func(prompts=prompts, completions=completions, **columns)
        if inspect.isawaitable(values):  # an async reward (an LLM judge): run it here
            values = asyncio.run(values)
        total = [t + weight * (v if v is not None else 0.0) for t, v in zip(total, values, strict=True)]
    return total
