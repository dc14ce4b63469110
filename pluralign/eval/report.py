"""The report of a benchmark run: `report.json` (every number with its bootstrap CI), `report.md`
(tables) and `scores.jsonl` (one line per scored output).

Each metric is averaged over a unit's outputs first (a debate, or a rewrite item), then its mean
over units gets a seeded percentile bootstrap 95% CI that resamples units. Breakdowns (per opinion
group, stance side, language, and, where the records say them, country, conversation, group
source, vote side and minority status) and disparities (the gap between the best- and
worst-served group, side or language) get CIs the same way. Every section says where its opinion
groups came from (`group_sources`).
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from pluralign.data.jsonl import read_json, write_jsonl
from pluralign.errors import UsageError
from pluralign.eval.bootstrap import CONFIDENCE, N_RESAMPLES, mean_ci, per_unit_means, statistic_ci
from pluralign.eval.stress import DUPLICATION_TOLERANCE
from pluralign.files import json_text, write_text
from pluralign.signature import make_signature, parse_signature
from pluralign.tasks import TASKS

REPORT_FORMAT = 1
REPORT_NAME = "report.json"
PACKAGES = ("pluralign", "torch", "transformers", "trl", "sentence-transformers", "datasets", "numpy")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def merge_signatures(signatures: list[str], **suite_fields) -> str:
    """One signature for a suite's scores: each field's distinct values joined by '+' (a suite of
    debates may mix group sources), then the suite's own fields."""
    fields: dict[str, list[str]] = {}
    for signature in sorted(set(signatures)):
        for key, value in parse_signature(signature).items():
            fields.setdefault(key, [])
            if value not in fields[key]:
                fields[key].append(value)
    merged = {k: "+".join(sorted(v)) for k, v in fields.items()}
    return make_signature(**merged, **suite_fields)


def scalar_metrics(row: dict, score_key: str) -> dict[str, float]:
    """The reward and every scalar metric of one scored output (booleans as 0/1)."""
    out = {score_key: float(row[score_key])}
    for key, value in row["metrics"].items():
        if isinstance(value, bool):
            out[key] = float(value)
        elif isinstance(value, (int, float)) and value is not None and np.isfinite(value):
            out[key] = float(value)
    return out


def _metric_table(rows: list[dict], score_key: str, seed: int) -> dict[str, dict]:
    """metric -> mean_ci over units, for every scalar metric the rows carry."""
    names: dict[str, None] = {}
    per_row = [scalar_metrics(r, score_key) for r in rows]
    for m in per_row:
        names.update(dict.fromkeys(m))
    out = {}
    for name in names:
        _, values = per_unit_means([r["id"] for r in rows], [m.get(name, np.nan) for m in per_row])
        out[name] = mean_ci(values, seed)
    return out


# Breakdowns by the record fields a scored line carries (pluralign.tasks.CONTEXT_FIELDS), for both
# score families: report key -> row attribute.
RECORD_BREAKDOWNS = {"per_language": "language", "per_country": "country", "per_conversation": "conversation",
                     "per_group_source": "group_source"}
# What each group source means, for the report's "Opinion groups" table (docs/design.md §1, §3).
GROUP_SOURCES = {
    "given": "stated in the data",
    "votes": "computed from the votes, the Polis way (docs/design.md §3)",
    "embeddings": "clusters of the comments' embeddings (no groups, no votes)",
    "polis": "the export's own groups, computed by Polis from the votes",
    "text": "clusters of the comments' text (an export without votes): topic clusters, not opinion groups",
}
MINORITY, NOT_MINORITY = "minority", "not minority"


def minority_status(flag: bool | None) -> str | None:
    """The label a breakdown by minority status uses (None: the record does not say)."""
    return None if flag is None else MINORITY if flag else NOT_MINORITY


def group_sources(rows: list[dict]) -> dict[str, dict]:
    """source -> {records, meaning}: where the scored records' opinion groups came from (the
    record's own `group_source`, else the scorer's)."""
    found: dict[str, set] = {}
    for r in rows:
        source = r.get("group_source") or (r.get("metrics") or {}).get("group_source")
        if isinstance(source, str):
            found.setdefault(source, set()).add(r["id"])
    return {s: {"records": len(ids), "meaning": GROUP_SOURCES.get(s, "as the data says")} for s, ids in sorted(found.items())}


def _record_breakdowns(rows: list[dict], score_key: str, seed: int) -> dict[str, dict]:
    return {key: _breakdown(rows, attribute, score_key, seed) for key, attribute in RECORD_BREAKDOWNS.items()}


def _breakdown(rows: list[dict], attribute: str, score_key: str, seed: int) -> dict[str, dict]:
    """attribute value -> metric -> mean_ci, over the rows that have the attribute."""
    values = sorted({r[attribute] for r in rows if r.get(attribute) is not None})
    return {v: _metric_table([r for r in rows if r.get(attribute) == v], score_key, seed) for v in values}


def _gap(rows: list[dict], attribute: str, metric: str, score_key: str, seed: int) -> dict | None:
    """max − min over the attribute's values of the metric's mean, with a CI from resampling units."""
    units, unit_values, unit_attr = {}, {}, {}
    for r in rows:
        value = scalar_metrics(r, score_key).get(metric)
        if r.get(attribute) is None or value is None:
            continue
        units.setdefault(r["id"], []).append(value)
        unit_attr[r["id"]] = r[attribute]
    if len(set(unit_attr.values())) < 2:
        return None
    ids = list(units)
    unit_values = np.array([np.mean(units[i]) for i in ids])
    names = sorted(set(unit_attr.values()))
    codes = np.array([names.index(unit_attr[i]) for i in ids])

    def gap(idx: np.ndarray) -> np.ndarray:
        """One gap per resample (row of idx); NaN where a value of the attribute was not drawn."""
        values, drawn = unit_values[idx], codes[idx]
        means = np.stack([np.where((drawn == k).any(axis=1), (values * (drawn == k)).sum(axis=1)
                                   / np.maximum((drawn == k).sum(axis=1), 1), np.nan) for k in range(len(names))], axis=1)
        return means.max(axis=1) - means.min(axis=1)  # NaN propagates from an undrawn value

    means = {name: float(unit_values[codes == k].mean()) for k, name in enumerate(names)}
    out = statistic_ci(len(ids), gap, seed)
    out.update(highest=max(means, key=means.get), lowest=min(means, key=means.get), means=means)
    return out


# --- summarize -------------------------------------------------------------------------------


def summarize_section(rows: list[dict], seed: int, group_stances: dict[str, dict[str, str]]) -> dict:
    """Metrics; each (debate, group)'s coverage against its share of participants (and of the
    summary); per-group, per-stance (where debates give `group_stances`) and per-language
    breakdowns; the within-debate gap between the best- and worst-covered group."""
    metrics = _metric_table(rows, "pluralism", seed)
    found: dict[tuple[str, str], dict[str, list[float]]] = {}
    minority_groups: dict[str, list[str]] = {}  # debate -> the groups its record calls minorities
    for r in rows:
        m = r["metrics"]
        if isinstance(r.get("minority_groups"), list):
            minority_groups[r["id"]] = [str(g) for g in r["minority_groups"]]
        for group, value in (m.get("group_coverage") or {}).items():
            if value is None:  # a group with no scored member
                continue
            point = found.setdefault((r["id"], str(group)), {"coverage": [], "summary_share": [], "share": []})
            point["coverage"].append(float(value))
            point["summary_share"].append(float((m.get("summary_share") or {}).get(group) or 0.0))
            point["share"].append(float((m.get("group_share") or {}).get(group) or 0.0))
    points = [{"debate": debate, "group": group, "stance": group_stances.get(debate, {}).get(group),
               "minority": minority_status(group in minority_groups[debate]) if debate in minority_groups else None,
               **{k: float(np.mean(v)) for k, v in values.items()}} for (debate, group), values in found.items()]
    # The coverage of the groups the records call minorities (pluralign-bench: under 15% of their
    # whole conversation), per debate that has one: unlike the scorer's minority_recall (groups
    # under 1/k of the debate's participants, covered or not), a fixed set of groups and a degree.
    by_debate: dict[str, list[float]] = {}
    for p in points:
        if p["minority"] == MINORITY:
            by_debate.setdefault(p["debate"], []).append(p["coverage"])
    if minority_groups:
        metrics["minority_group_coverage"] = mean_ci([float(np.mean(v)) for v in by_debate.values()], seed)

    def by(key: str) -> dict:
        out = {}
        for value in sorted({p[key] for p in points if p[key] is not None}):
            mine = [p for p in points if p[key] == value]
            out[value] = {"coverage": mean_ci([p["coverage"] for p in mine], seed),
                          "mean_share": float(np.mean([p["share"] for p in mine])), "n_debates": len(mine)}
        return out

    gaps: dict[str, list[float]] = {}
    for p in points:
        gaps.setdefault(p["debate"], []).append(p["coverage"])
    gap_values = [max(v) - min(v) for v in gaps.values() if len(v) > 1]
    return {
        "metrics": metrics,
        "per_group": by("group"),
        "per_stance": by("stance"),
        "per_minority": by("minority"),
        **_record_breakdowns(rows, "pluralism", seed),
        "group_points": points,
        "disparities": {"group_coverage_gap": mean_ci(gap_values, seed) | {
            "definition": "per debate, the best-covered group's coverage minus the worst-covered group's"}},
    }


# --- reformulate / translate -----------------------------------------------------------------


def rewrite_section(rows: list[dict], seed: int, group_stances: dict | None = None) -> dict:
    """Metrics, breakdowns by the author's group, the source's stance side and the language, and
    the gap of each measure across each of them."""
    from pluralign.rewards.fidelity import DISPARITY_MEASURES, fidelity_disparity, stance_side

    for r in rows:
        # The item's own stance label when the data has one, else the scorer's reading of the source.
        r["stance_side"] = r.get("stance") or stance_side(r["metrics"]["stance_source"])
        if "minority" in r:
            r["minority_status"] = minority_status(r["minority"])
    metrics = _metric_table(rows, "fidelity", seed)
    attributes = {"group": "per_group", "stance_side": "per_stance", "language": "per_language",
                  "vote_side": "per_vote_side", "minority_status": "per_minority"}
    section = {"metrics": metrics, **_record_breakdowns(rows, "fidelity", seed)}
    for attribute, key in attributes.items():
        section[key] = _breakdown(rows, attribute, "fidelity", seed)
    disparities: dict = {}
    for attribute in attributes:
        gaps = {m: _gap(rows, attribute, m, "fidelity", seed) for m in DISPARITY_MEASURES if m in metrics}
        gaps = {m: g for m, g in gaps.items() if g is not None}
        if gaps:
            disparities[attribute] = gaps
    # The scorer's own summary (no CIs, and stance sides read by the scorer): a row is both its
    # item's context and its result.
    disparities["fidelity_disparity"] = fidelity_disparity(rows, rows)
    section["disparities"] = disparities
    return section


# The section of each score family (a task's `score_key`).
SECTIONS = {"pluralism": summarize_section, "fidelity": rewrite_section}


# --- the whole report ------------------------------------------------------------------------


def build_report(suites: list, rows_by_task: dict[str, list[dict]], skipped: dict[str, dict],
                 group_stances: dict[str, dict[str, str]], system: dict, seed: int, command: str,
                 argv: list[str], backend: str, stress: dict | None = None) -> dict:
    report = {
        "pluralign_report": REPORT_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "argv": argv,
        "seed": seed,
        "bootstrap": {"method": "percentile", "n_resamples": N_RESAMPLES, "confidence": CONFIDENCE,
                      "unit": "debate (summarize) or item (reformulate, translate)"},
        "system": system,
        "backend": backend,
        "versions": versions(),
        "suites": {},
    }
    for suite in suites:
        rows = rows_by_task.get(suite.task, [])
        scorer_signatures = sorted({r["signature"] for r in rows})
        entry = suite.describe() | {
            "signature": merge_signatures(scorer_signatures, suite=suite.name, data=suite.data_hash, n=len(suite.records)),
            "scorer_signatures": scorer_signatures,
            "n_outputs": len(rows),
            "n_scored": len({r["id"] for r in rows}),
            "skipped": skipped.get(suite.task, {}),
            "group_sources": group_sources(rows),
        }
        entry |= SECTIONS[suite.spec.score_key](rows, seed, group_stances)
        if suite.spec.stress and stress:
            entry["stress"] = stress
        report["suites"][suite.task] = entry
    return report


def _fmt(ci: dict) -> str:
    if ci.get("mean") is None and ci.get("value") is None:
        return "–"
    value = ci["mean"] if "mean" in ci else ci["value"]
    return f"{value:.3f} [{ci['ci_low']:.3f}, {ci['ci_high']:.3f}]"


Table = tuple[str, list[str], list[list[str]]]  # title, header, rows
# The breakdown tables of a section, in order: report key -> what its rows are.
BREAKDOWN_TITLES = {"per_group": "opinion group", "per_stance": "stance side of the source",
                    "per_minority": "minority status", "per_vote_side": "vote side", "per_language": "language",
                    "per_country": "country", "per_conversation": "conversation", "per_group_source": "group source"}


def suite_tables(task: str, suite: dict) -> list[Table]:
    """The tables of one suite, for report.md and report.html alike."""
    tables: list[Table] = [("Metrics", ["metric", "mean [95% CI]", "n"],
                            [[name, _fmt(ci), str(ci["n"])] for name, ci in suite["metrics"].items()])]
    if suite.get("group_sources"):
        tables.append(("Opinion groups", ["group source", "records", "meaning"],
                       [[s, str(v["records"]), v["meaning"]] for s, v in suite["group_sources"].items()]))
    score = TASKS[task].score_key
    points = {"per_group": "group", "per_stance": "group's stance", "per_minority": "minority status"}
    for key, title in BREAKDOWN_TITLES.items():
        table = suite.get(key) or {}
        if not table:
            continue
        if score == "pluralism" and key in points:
            name = points[key]
            tables.append((f"By {name}", [name, "coverage [95% CI]", "mean share", "debates"],
                           [[g, _fmt(v["coverage"]), f"{v['mean_share']:.3f}", str(v["n_debates"])] for g, v in table.items()]))
        else:
            shown = [m for m in (score, "intensity_drift", "flip", "min_group_coverage", "minority_recall")
                     if any(m in v for v in table.values())]
            tables.append((f"By {title}", [title, *shown, "n"],
                           [[value, *(_fmt(m[s]) if s in m else "–" for s in shown), str(m[score]["n"])]
                            for value, m in table.items()]))
    rows = []
    for across, measures in (suite.get("disparities") or {}).items():
        if across == "group_coverage_gap":
            rows.append(["groups (within a debate)", "coverage", _fmt(measures), "", ""])
        elif across != "fidelity_disparity":
            rows += [[across, m, _fmt(g), g["highest"], g["lowest"]] for m, g in measures.items()]
    if rows:
        tables.append(("Disparities", ["across", "measure", "gap [95% CI]", "highest", "lowest"], rows))
    stress = suite.get("stress")
    if stress:
        order, ablation, dup = stress["comment_order"], stress["minority_ablation"], stress["duplication"]
        tables.append((f"Stress tests ({stress['mode']})", ["test", "result"], [
            ["comment order", f"min-group coverage std {order['mean_std']:.4f} (mean over debates), "
                              f"max spread {order['max_spread']:.4f}"],
            ["minority ablation", f"{ablation['passed']} of {ablation['n']} debates pass, {ablation['failed']} fail, "
                                  f"{ablation['inconclusive']} inconclusive: {ablation['rule']}"],
            ["duplication", f"{dup['passed']} of {dup['n']} debates pass; largest change {dup['max_abs_delta']:.4f} "
                            f"(tolerance {DUPLICATION_TOLERANCE:g})"],
        ]))
    return tables


def run_lines(report: dict) -> list[str]:
    """What was run, how, and with what: the header of both reports."""
    system = ", ".join(f"{k}={v}" for k, v in report["system"].items() if not isinstance(v, dict))
    return [f"command: `{report['command']}`", f"system: {system}",
            f"seed {report['seed']}; 95% percentile bootstrap CIs over {report['bootstrap']['n_resamples']} "
            "resamples of debates/items",
            f"versions: {', '.join(f'{k} {v}' for k, v in report['versions'].items())}"]


def to_markdown(report: dict) -> str:
    lines = ["# pluralign eval report", "", *(f"- {line}" for line in run_lines(report)), ""]
    for task, suite in report["suites"].items():
        lines += [f"## {suite['suite']}", "", f"Signature: `{suite['signature']}`", "",
                  f"{suite['n_scored']} of {suite['n']} scored ({suite['n_outputs']} outputs)."
                  + (f" Skipped: {json.dumps(suite['skipped'])}." if suite["skipped"] else ""), ""]
        for title, header, rows in suite_tables(task, suite):
            lines += [f"### {title}", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines) + "\n"


# --- reading a report back (for model cards) ------------------------------------------------


@dataclass
class Score:
    name: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    signature: str | None = None
    suite: str | None = None  # e.g. pluralign-summarize-v1
    task: str | None = None  # summarize, reformulate or translate, where known


@dataclass
class EvalResults:
    scores: list[Score]
    source: str  # what the numbers come from, for the card
    backend: str | None = None
    command: str | None = None  # the eval command line, where the report keeps it
    skipped: list[str] = field(default_factory=list)  # metrics that are not finite numbers


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _signature_for(metric: str, signature: Any) -> str | None:
    """A metric's signature: the one given, or, from the eval hook's `{"pluralism": sig, "fidelity":
    sig}`, the one its name starts with (`pluralism/min_group_coverage`), or the only one."""
    if isinstance(signature, str):
        return signature
    if isinstance(signature, Mapping):
        own = signature.get(metric.split("/")[0])
        if own is None and len(signature) == 1:
            own = next(iter(signature.values()))
        return own if isinstance(own, str) else None
    return None


def scores_from_metrics(metrics: Mapping, signature: Any, suite: Any = None, task: Any = None,
            default_n: Any = None) -> tuple[list[Score], list[str]]:
    """Scores from `{name: number}` or `{name: {"mean"|"value", "ci_low", "ci_high", "n", "signature"?}}`."""
    scores, skipped = [], []
    for name, entry in metrics.items():
        details = entry if isinstance(entry, Mapping) else {"mean": entry}
        value = _number(details.get("mean", details.get("value")))
        if value is None:
            skipped.append(f"{suite}/{name}" if suite else str(name))
            continue
        n = details.get("n", default_n)
        own_signature = details.get("signature") or _signature_for(str(name), signature)
        scores.append(Score(
            name=str(name), value=value, ci_low=_number(details.get("ci_low")),
            ci_high=_number(details.get("ci_high")), n=n if isinstance(n, int) else None,
            signature=own_signature if isinstance(own_signature, str) else None,
            suite=str(suite) if suite else None, task=str(task) if task else None,
        ))
    return scores, skipped


def read_eval_report(report: str | Path) -> EvalResults:
    """The results of a `pluralign eval` run: its folder (or its report.json). Reads the per-suite
    layout (`suites: {task: {suite, signature, metrics}}`) and a flat one (`suite`, `signature`,
    `metrics` at the top)."""
    path = Path(report)
    path = path / REPORT_NAME if path.is_dir() else path
    if not path.is_file():
        raise UsageError(f"{path}: not found; pass --report the folder that `pluralign eval --out` wrote")
    data = read_json(path, "a pluralign eval report")
    sections = data.get("suites")
    if isinstance(sections, Mapping) and sections:
        sections = {task: s for task, s in sections.items() if isinstance(s, Mapping)}
    elif isinstance(data.get("metrics"), Mapping):
        sections = {data.get("task"): data}
    else:
        raise UsageError(f"{path}: suites: missing or empty; pass the report.json of a `pluralign eval` run")
    scores, skipped = [], []
    for task, section in sections.items():
        metrics = section.get("metrics")
        if not isinstance(metrics, Mapping):
            raise UsageError(f"{path}: suites.{task}.metrics: missing; pass the report.json of a `pluralign eval` run")
        suite = section.get("suite")
        suite = suite.get("name") if isinstance(suite, Mapping) else suite
        found, left_out = scores_from_metrics(metrics, section.get("signature"), suite=suite or task,
                                  task=section.get("task") or task)
        scores += found
        skipped += left_out
    if not scores:
        raise UsageError(f"{path}: metrics: no metric has a finite mean")
    backend = data.get("backend") if isinstance(data.get("backend"), str) else None
    command = data.get("command") if isinstance(data.get("command"), str) else None
    return EvalResults(scores=scores, source=f"`pluralign eval` report ({path.name})", backend=backend,
                       command=command, skipped=skipped)


def write_report(out_dir: str | Path, report: dict, rows: list[dict]) -> None:
    """report.json (strict JSON: NaN is null), report.md and scores.jsonl, each written whole or not at all."""
    out_dir = Path(out_dir)
    write_text(out_dir / REPORT_NAME, json_text(report, indent=2) + "\n")
    write_text(out_dir / "report.md", to_markdown(report))
    write_jsonl(out_dir / "scores.jsonl", rows)
