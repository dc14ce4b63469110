"""`pluralign eval`: build the suites, get outputs (generate with a model, or read a predictions
file), score them, run the stress tests, and write the report.

Nothing is dropped silently: a debate or item without an output is counted under `skipped` in
the report, and an output line whose id matches no debate or item is an error that names the
file and the line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from pluralign.data.jsonl import read_jsonl
from pluralign.data.schema import DataError, check_output
from pluralign.errors import UsageError
from pluralign.eval.generate import GenerationSettings, Generator
from pluralign.eval.html import write_html
from pluralign.eval.predictions import generate_to_file
from pluralign.eval.report import REPORT_NAME, build_report, write_report
from pluralign.eval.served import ServedGenerator
from pluralign.eval.stress import run_stress
from pluralign.eval.suites import Suite, build_suites, named_suites
from pluralign.files import check_output_folder, staged_folder
from pluralign.rewards.backends import DEFAULT_SPEC
from pluralign.tasks import TASKS


def read_predictions(path: str | Path, suites: list[Suite]) -> tuple[dict[str, dict[str, list[dict]]], dict]:
    """task -> record id -> output lines, and the lines whose id is in no suite (counted, so that
    one outputs file can serve several runs). A line's id picks its suite; its text is `summary`
    for a debate and `output` for a rewrite item. A file that matches nothing is an error."""
    owner = {rid: suite for suite in suites for rid in suite.by_id()}
    found: dict[str, dict[str, list[dict]]] = {s.task: {} for s in suites}
    unmatched: list[tuple[int, str]] = []
    for lineno, obj in read_jsonl(path):
        rid = obj.get("id") if isinstance(obj, dict) else None
        suite = owner.get(rid) if isinstance(rid, str) else None
        field = suite.text_field if suite else "summary" if isinstance(obj, dict) and "summary" in obj else "output"
        problems = check_output(obj, field)
        if problems:
            raise DataError(path, lineno, *problems[0])
        if suite is None:
            unmatched.append((lineno, rid))
        else:
            found[suite.task].setdefault(rid, []).append(obj)
    if unmatched and not any(found.values()):
        raise DataError(path, unmatched[0][0], "id", f"{unmatched[0][1]!r}: no line's id is a debate or item of "
                        f"{', '.join(sorted({s.source for s in suites}))}; check --debates/--items")
    skipped = {"count": len(unmatched), "first": [f"line {n}: {rid}" for n, rid in unmatched[:5]]} if unmatched else {}
    return found, skipped


REPORT_FILES = (REPORT_NAME, "report.md", "report.html", "scores.jsonl")
SCORE_BATCH = 64  # outputs per `score_batch` call: one backend call embeds them all


def score_suite(suite: Suite, outputs: dict[str, list[dict]], scorer) -> tuple[list[dict], dict]:
    """Score lines (the output line plus score, metrics, signature, suite and the record's context)
    and the count of records skipped for want of an output. Outputs go to the scorer in batches in
    record order, so that a debate's summaries are scored together."""
    missing = [r["id"] for r in suite.records if r["id"] not in outputs]
    pairs = [(record, k, line) for record in suite.records for k, line in enumerate(outputs.get(record["id"], []))]
    field = suite.text_field
    results: list[dict] = []
    with tqdm(total=len(pairs), desc=f"scoring {suite.task}", unit="output", disable=None) as bar:
        for start in range(0, len(pairs), SCORE_BATCH):
            chunk = pairs[start:start + SCORE_BATCH]
            results += scorer.score_batch([p[0] for p in chunk], [p[2][field] for p in chunk])
            bar.update(len(chunk))
    rows = [{"suite": suite.name, **line, "sample": line.get("sample", k), **result, **suite.spec.context(record)}
            for (record, k, line), result in zip(pairs, results, strict=True)]
    skipped = {"no output": {"count": len(missing), "ids": missing[:20]}} if missing else {}
    return rows, skipped


def run_eval(out_dir: str | Path, debates: str | None = None, items: str | None = None, model: str | None = None,
             predictions: str | None = None, backend: str = DEFAULT_SPEC,
             generation: GenerationSettings | None = None, seed: int = 0, stress_debates: int = 3,
             stress_orders: int = 5, command: str = "", report_to: str | None = None,
             log: Callable[[str], None] = lambda m: print(m, file=sys.stderr), base_url: str | None = None,
             concurrency: int = 16, resume: bool = False, suite: str | None = None,
             baseline: str | None = None, baseline_k: int | None = None) -> dict:
    """Run the benchmark and write report.json, report.md, report.html (+ plots/) and scores.jsonl.

    The suites are the installed suite `suite` (by name) or those of the `debates`/`items` files;
    the outputs come from `model`, `predictions` or the reference `baseline`. With `model`,
    generations go to OUT/predictions.jsonl as they arrive (`resume` keeps those already there);
    `base_url` generates through the model an OpenAI-compatible server serves."""
    from pluralign.rewards.backends import get_backend

    if sum(x is not None for x in (model, predictions, baseline)) != 1:
        raise UsageError("give exactly one of --model (generate outputs), --predictions (score an outputs file) "
                         "and --baseline (a reference baseline)")
    check_output_folder(out_dir, {"--debates": debates, "--items": items, "--predictions": predictions},
                        writes=REPORT_FILES)
    suites = select_suites(suite, debates, items)
    generator = None
    if baseline is not None:
        suites, outputs, system = run_baseline(baseline, suites, baseline_k, seed, log)
    elif model is not None:
        settings = generation or GenerationSettings(seed=seed)
        generator = (Generator(model, settings) if base_url is None
                     else ServedGenerator(model, base_url, settings, concurrency=concurrency))
        outputs = generate_to_file(generator, suites, out_dir, resume=resume, log=log)
        system = generator.describe()
    else:
        outputs, unmatched = read_predictions(predictions, suites)
        system = {"predictions": str(predictions)}
        if unmatched:
            system["unmatched_outputs"] = unmatched
            log(f"warning: {predictions}: {unmatched['count']} output line(s) match no debate or item of these "
                f"suites and were not scored (first: {unmatched['first'][0]}); the report counts them")
    scoring_backend = get_backend(backend)

    scorers = make_scorers(scoring_backend, {s.task for s in suites})
    rows_by_task, skipped = {}, {}
    for suite in suites:
        rows_by_task[suite.task], skipped[suite.task] = score_suite(suite, outputs.get(suite.task, {}), scorers[suite.task])

    group_stances, stress = {}, None
    stressed = next((s for s in suites if s.spec.stress), None)
    if stressed is not None:
        group_stances = {d["id"]: d["group_stances"] for d in stressed.records if d.get("group_stances")}
        if stress_debates > 0:
            stress = stress_tests(stressed, outputs[stressed.task], scorers[stressed.task], scoring_backend.embed,
                                  generator, stress_debates, stress_orders, seed)

    report = build_report(suites, rows_by_task, skipped, group_stances, system, seed, command, list(sys.argv),
                          scoring_backend.spec, stress)
    rows = [row for suite in suites for row in rows_by_task[suite.task]]
    with staged_folder(out_dir) as stage:  # all the files, or none: the previous report stays whole
        write_report(stage, report, rows)
        write_html(report, stage)
    log(f"wrote {out_dir}/report.json, report.md, report.html and scores.jsonl ({len(rows)} scored outputs)")
    if report_to == "wandb":
        from pluralign.eval.wandb_log import log_to_wandb

        log_to_wandb(report, rows, out_dir)
    return report


def select_suites(suite: str | None, debates: str | None, items: str | None) -> list[Suite]:
    """The installed suite named `suite`, or the suites of the debates/items files (not both)."""
    if suite is None:
        return build_suites(debates, items)
    if debates is not None or items is not None:
        raise UsageError(f"--suite {suite} brings its own data; drop --debates/--items, or drop --suite")
    return named_suites(suite)


def run_baseline(name: str, suites: list[Suite], k: int | None, seed: int,
                 log: Callable[[str], None]) -> tuple[list[Suite], dict[str, dict[str, list[dict]]], dict]:
    """The suites the baseline applies to, its outputs for them and the report's `system`."""
    from pluralign.eval.baselines import BASELINES, BaselineSettings, describe, get_baseline

    baseline = get_baseline(name)
    if k is not None and (not baseline.uses_k or k < 1):
        users = ", ".join(n for n, b in BASELINES.items() if b.uses_k)
        raise UsageError(f"--baseline-k is a number of comments (at least 1) for {users}; got {k} for {name}")
    settings = BaselineSettings(k=k, seed=seed)
    mine = [s for s in suites if s.task in baseline.tasks]
    if not mine:
        raise UsageError(f"baseline {name} answers {', '.join(baseline.tasks)}; these suites are "
                         f"{', '.join(s.name for s in suites)}")
    left = [s.name for s in suites if s not in mine]
    if left:
        log(f"baseline {name} answers {', '.join(baseline.tasks)}; not run on {', '.join(left)}")
    outputs = {s.task: {r["id"]: [{"id": r["id"], s.text_field: baseline.make(r, settings), "sample": 0}]
                        for r in tqdm(s.records, desc=f"baseline {name}: {s.task}", disable=None)} for s in mine}
    return mine, outputs, describe(baseline, settings)


def stress_tests(suite: Suite, outputs: dict[str, list[dict]], scorer, embed, generator, n_debates: int,
                 n_orders: int, seed: int) -> dict:
    """The stress tests on the first `n_debates` debates that have an output."""
    debates = [d for d in suite.records if d["id"] in outputs][:n_debates]
    summaries = [outputs[d["id"]][0][suite.text_field] for d in debates]
    regenerate = None
    if generator is not None:
        def regenerate(variants: list[dict]) -> list[str]:
            return [s[0] for s in generator.generate([suite.spec.prompt(d) for d in variants],
                                                  desc="stress: regenerating", samples=1)]

    return run_stress(debates, summaries, scorer.score, embed=embed, n_orders=n_orders, seed=seed, regenerate=regenerate)


def make_scorers(backend, tasks: set[str]) -> dict:
    """One scorer per task; tasks whose scorers are built the same way share one (and its caches)."""
    built: dict[object, object] = {}
    for name in sorted(tasks):
        factory = TASKS[name].make_scorer
        if factory not in built:
            built[factory] = factory(backend)
    return {name: built[TASKS[name].make_scorer] for name in tasks}
