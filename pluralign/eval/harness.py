"""pluralign's scorers as per-sample metrics of an evaluation harness (lighteval, lm-eval).

A harness reads the Hub form of a suite (`pluralign.data.bench_hub`: one row per record, with its
`prompt` and the record as JSON), asks the model the prompt, and hands back one output per row.
`HarnessMetric(task)` scores it with the task's scorer and returns the few numbers a harness
averages over the corpus; None (a debate without a minority, say) becomes NaN, for nan-aware
means. The harness's own file (`community_tasks/pluralign_bench.py`) only wires these into its
classes, so that everything here is tested without the harness installed.

A harness averages per row. `pluralign eval` averages per debate or item too, but adds the CIs,
breakdowns, disparities and signatures; use it for numbers to publish.
"""

from __future__ import annotations

import math

from pluralign.data.bench_hub import record_of_row
from pluralign.rewards.backends import DEFAULT_SPEC
from pluralign.tasks import get_task

# The numbers reported per score family (a task's `score_key`): the reward first.
METRICS = {
    "pluralism": ("pluralism", "min_group_coverage", "coverage", "minority_recall", "deficit_mass", "guard"),
    "fidelity": ("fidelity", "meaning", "stance_preservation", "flip", "intensity_drift", "language_ok"),
}


def metric_names(task: str) -> tuple[str, ...]:
    return METRICS[get_task(task).score_key]


def _number(value) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return math.nan


class HarnessMetric:
    """Scores one output of one Hub row of `task`; the scorer is built on first use."""

    def __init__(self, task: str, backend: str = DEFAULT_SPEC):
        self.task = get_task(task)
        self.backend = backend
        self._scorer = None

    @property
    def scorer(self):
        if self._scorer is None:
            from pluralign.rewards.backends import get_backend

            self._scorer = self.task.make_scorer(get_backend(self.backend))
        return self._scorer

    @property
    def names(self) -> tuple[str, ...]:
        return METRICS[self.task.score_key]

    def __call__(self, row: dict, output: str) -> dict[str, float]:
        result = self.scorer.score_batch([record_of_row(row)], [output])[0]
        values = {self.task.score_key: result[self.task.score_key], **result["metrics"]}
        return {name: _number(values.get(name)) for name in self.names}
