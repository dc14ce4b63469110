"""The reference baselines on pluralign-bench-v1: the benchmark's first table.

    python benchmarks/bench_baselines.py                    # every baseline, the default backend
    python benchmarks/bench_baselines.py --baselines one-per-group,majority-only --backend lexical

runs `pluralign eval --suite pluralign-bench-v1 --baseline NAME` for each baseline (the stress
tests off: they test a system's stability, and a baseline has none), times each, and writes the
table with 95% bootstrap CIs to its section of benchmarks/RESULTS.md and between the
`<!-- bench-baselines -->` markers of README.md. It also says whether `one-per-group` beats
`majority-only` on minority coverage with CIs apart: the check that the scores can see a minority.
Rerun it whenever the scorers change; the reports stay in --out for a closer look.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402
from pluralign.eval.baselines import BASELINES  # noqa: E402
from pluralign.eval.run import run_eval  # noqa: E402
from pluralign.rewards.backends import DEFAULT_SPEC, get_backend  # noqa: E402

SUITE = "pluralign-bench-v1"
SECTION = "pluralign-bench baselines"
README = ROOT / "README.md"
MARKER = "bench-baselines"
SUMMARY_METRICS = ("pluralism", "min_group_coverage", "coverage", "minority_recall", "minority_group_coverage",
                   "deficit_mass", "guard")
REWRITE_METRICS = ("fidelity", "meaning", "stance_preservation", "flip", "intensity_drift", "language_ok")


def cell(entry: dict | None) -> str:
    if not entry or entry.get("mean") is None:
        return "–"
    return f"{entry['mean']:.3f} [{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"


def table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                     + ["| " + " | ".join(row) + " |" for row in rows])


def apart(a: dict, b: dict) -> bool:
    """a's CI lies wholly above b's."""
    return a.get("mean") is not None and b.get("mean") is not None and a["ci_low"] > b["ci_high"]


def markdown(reports: dict[str, dict], seconds: dict[str, float], backend: str, command: str) -> str:
    summaries = [[f"`{name}`", *(cell(r["suites"]["summarize"]["metrics"].get(m)) for m in SUMMARY_METRICS)]
                 for name, r in reports.items() if "summarize" in r["suites"]]
    rewrites = [[f"`{name}`", task, *(cell(section["metrics"].get(m)) for m in REWRITE_METRICS)]
                for name, r in reports.items() for task, section in r["suites"].items() if task != "summarize"]
    some = next(iter(reports.values()))
    n = {task: section["n"] for r in reports.values() for task, section in r["suites"].items()}
    lines = [f"`{command}`: {SUITE} ({', '.join(f'{t} {k}' for t, k in n.items())} records), backend `{backend}`, "
             "mean [95% bootstrap CI] over debates or items. `minority_recall`: the share of groups under 1/k of "
             "a debate's participants that are covered; `minority_group_coverage`: the coverage of the groups "
             "under 15% of their whole conversation (debates that have one).", ""]
    if summaries:
        lines += [table(["summaries", *SUMMARY_METRICS], summaries), ""]
    if rewrites:
        lines += [table(["rewrites", "task", *REWRITE_METRICS], rewrites), ""]
    if "one-per-group" in reports and "majority-only" in reports:
        opg, maj = (reports[b]["suites"]["summarize"]["metrics"] for b in ("one-per-group", "majority-only"))
        verdicts = [f"`{m}` {cell(opg.get(m))} against {cell(maj.get(m))}: "
                    + ("CIs apart" if apart(opg.get(m, {}), maj.get(m, {})) else "CIs overlap")
                    for m in ("minority_recall", "minority_group_coverage")]
        lines += ["one-per-group against majority-only: " + "; ".join(verdicts) + ".", ""]
    lines.append(f"Seconds, in this order in one process ({sum(seconds.values()):.0f} in all): "
                 + ", ".join(f"{name} {s:.0f}" for name, s in seconds.items())
                 + "; the first summary baseline pays for embedding every debate's comments (cached by text, so "
                 "the others embed only their own outputs). Scorer signature (summaries): "
                 f"`{some['suites'].get('summarize', {}).get('signature', '-')}`.")
    return "\n".join(lines)


def update_readme(text: str) -> None:
    start, end = f"<!-- {MARKER} -->", f"<!-- /{MARKER} -->"
    readme = README.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README.md has no {start} ... {end} block to fill")
    README.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", readme), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baselines", default=",".join(BASELINES), help="comma-separated (default: all)")
    parser.add_argument("--backend", default=DEFAULT_SPEC)
    parser.add_argument("--out", default="runs/bench-baselines", help="folder for the reports")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    args = parser.parse_args()
    names = [n.strip() for n in args.baselines.split(",") if n.strip()]
    get_backend(args.backend).embed(["warm up"])  # the model load is not timed
    reports, seconds = {}, {}
    for name in names:
        start = time.perf_counter()
        reports[name] = run_eval(Path(args.out) / name, suite=SUITE, baseline=name, backend=args.backend,
                                 stress_debates=0, command=f"pluralign eval --suite {SUITE} --baseline {name}",
                                 log=lambda _: None)
        seconds[name] = time.perf_counter() - start
        print(f"{name}: {seconds[name]:.0f}s", flush=True)
    command = "python benchmarks/bench_baselines.py" + ("" if args.baselines == ",".join(BASELINES) else
                                                        f" --baselines {args.baselines}")
    if args.backend != DEFAULT_SPEC:
        command += f" --backend {args.backend}"
    text = markdown(reports, seconds, args.backend, command)
    write_section(SECTION, text)
    if not args.no_readme:
        update_readme(text)
    print(text)


if __name__ == "__main__":
    main()
