"""`--report-to wandb`: the summary metrics (with CIs) and a table of scored outputs in a W&B run.

W&B honours WANDB_MODE=offline (tests, air-gapped clusters): the run is then written under the
report folder and can be synced later with `wandb sync`.
"""

from __future__ import annotations

import os
from pathlib import Path

TABLE_ROWS = 500  # enough to browse; scores.jsonl holds them all
DEFAULT_PROJECT = "pluralign"  # training runs log here too: eval runs sit beside them, job_type "eval"


def summary_metrics(report: dict) -> dict[str, float]:
    """`<task>/<metric>` and its `_ci_low`/`_ci_high`, for every metric with a value."""
    out = {}
    for task, suite in report["suites"].items():
        for name, ci in suite["metrics"].items():
            if ci.get("mean") is not None:
                out[f"{task}/{name}"] = ci["mean"]
                out[f"{task}/{name}_ci_low"] = ci["ci_low"]
                out[f"{task}/{name}_ci_high"] = ci["ci_high"]
    return out


def log_to_wandb(report: dict, rows: list[dict], out_dir: str | Path, project: str | None = None) -> str:
    """Log one run (project: WANDB_PROJECT, else `pluralign`, as training runs); return its directory."""
    import wandb

    project = project or os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT
    config = {"command": report["command"], "seed": report["seed"], "backend": report["backend"],
              "system": report["system"], "versions": report["versions"],
              "signatures": {t: s["signature"] for t, s in report["suites"].items()}}
    run = wandb.init(project=project, job_type="eval", config=config, dir=str(out_dir), reinit="finish_previous")
    metrics = summary_metrics(report)
    run.log(metrics)
    run.summary.update(metrics)
    columns = ["suite", "id", "sample", "text", "score", "signature"]
    table = wandb.Table(columns=columns)
    for row in rows[:TABLE_ROWS]:
        text = row.get("summary", row.get("output", ""))
        table.add_data(row["suite"], row["id"], row.get("sample", 0), text,
                       row.get("pluralism", row.get("fidelity")), row["signature"])
    run.log({"eval/outputs": table})
    run_dir = run.dir
    run.finish()
    return run_dir
