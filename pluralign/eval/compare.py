"""`pluralign eval compare DIR1 DIR2 ...`: runs side by side, only when their numbers are comparable.

Each suite's signature names the scorer, its backend and settings, the group source, the suite
version and a hash of its data. A suite whose signatures differ between runs is refused, with
the differing fields named, unless `force` is set; then the table says so.
"""

from __future__ import annotations

from pathlib import Path

from pluralign.data.jsonl import read_json
from pluralign.errors import PluralignError, UsageError
from pluralign.eval.report import _fmt
from pluralign.signature import signature_difference


class SignatureMismatch(PluralignError):
    """Runs whose numbers are not comparable; `--force` compares them anyway (exit 1, not a usage error)."""

    exit_code = 1


def load_report(run_dir: str | Path) -> dict:
    """A run's report.json; a missing, empty, truncated or foreign one is a located UsageError."""
    path = Path(run_dir) / "report.json"
    if not path.exists():
        raise UsageError(f"{path}: no report.json; give folders written by `pluralign eval --out DIR`")
    report = read_json(path, "the report.json of a `pluralign eval` run")
    suites = report.get("suites")
    if not isinstance(suites, dict) or not all(
            isinstance(s, dict) and isinstance(s.get("signature"), str) and isinstance(s.get("metrics"), dict)
            for s in suites.values()):
        raise UsageError(f"{path}: suites: missing, or a suite without its signature and metrics; "
                         "this is not a report written by `pluralign eval`: run it again")
    if not isinstance(report.get("system"), dict):
        report["system"] = {}
    return report


def mismatches(reports: list[dict], names: list[str]) -> list[str]:
    """One line per (suite, run) whose signature differs from the first run's, naming the fields."""
    lines = []
    first = reports[0]["suites"]
    for task in sorted({t for r in reports for t in r["suites"]}):
        for name, report in zip(names[1:], reports[1:], strict=True):
            if task not in first or task not in report["suites"]:
                lines.append(f"{task}: only in {names[0] if task in first else name}")
                continue
            diff = signature_difference(first[task]["signature"], report["suites"][task]["signature"])
            if diff:
                fields = "; ".join(f"{k}: {a!r} vs {b!r}" for k, (a, b) in diff.items())
                lines.append(f"{task}: {names[0]} and {name} differ in {fields}")
    return lines


def compare(run_dirs: list[str | Path], force: bool = False) -> tuple[str, list[str]]:
    """The side-by-side Markdown table and the signature mismatches (raises when there are some
    and `force` is not set)."""
    reports = [load_report(d) for d in run_dirs]
    names = [Path(d).name or str(d) for d in run_dirs]
    problems = mismatches(reports, names)
    if problems and not force:
        raise SignatureMismatch("signatures differ, so these numbers are not comparable:\n  "
                                + "\n  ".join(problems) + "\nrerun on the same suite and scorer settings, "
                                "or pass --force to print the table anyway (marked as not comparable)")
    lines = []
    if problems:
        lines += ["> **WARNING: not comparable.** Signatures differ (compared with --force):", ">"]
        lines += [f"> - {p}" for p in problems] + [""]
    systems = [r["system"].get("model") or r["system"].get("predictions") or "?" for r in reports]
    for task in sorted({t for r in reports for t in r["suites"]}):
        flagged = any(p.startswith(f"{task}:") for p in problems)
        lines += [f"## {task}" + (" (signatures differ: NOT comparable)" if flagged else ""), ""]
        lines += ["| metric | " + " | ".join(f"{n} ({s})" for n, s in zip(names, systems, strict=True)) + " |",
                  "|---" * (len(reports) + 1) + "|"]
        metrics: dict[str, None] = {}
        for r in reports:
            metrics.update(dict.fromkeys(r["suites"].get(task, {}).get("metrics", {})))
        for metric in metrics:
            cells = [_fmt(r["suites"][task]["metrics"][metric]) if metric in r["suites"].get(task, {}).get("metrics", {})
                     else "–" for r in reports]
            lines.append(f"| {metric} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines), problems
