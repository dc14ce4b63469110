"""`report.html`: one self-contained page with the report's tables and its plots.

The plots are PNG files (matplotlib, Agg) written to `plots/` next to the page and referenced
by relative paths, so the folder can be moved or served as is. A short inline script counts the
plots that loaded and writes the count into the page, so that a missing file shows.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pluralign.eval.report import run_lines, suite_tables  # noqa: E402
from pluralign.files import atomic_write, write_text  # noqa: E402
from pluralign.tasks import TASKS  # noqa: E402

PLOTS = "plots"


def _save(fig, path: Path) -> None:
    """The figure as a PNG, written whole or not at all (pluralign.files)."""
    try:
        with atomic_write(path, binary=True) as handle:
            fig.savefig(handle, format="png")
    finally:
        plt.close(fig)


def _plot_by_group(points: list[dict], y: str, ylabel: str, title: str, path: Path, diagonal: bool = False) -> None:
    """Each (debate, group) as a point, coloured by group: its share of participants against `y`."""
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=100)
    if diagonal:
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--", label="proportional")
    for group in sorted({p["group"] for p in points}):
        mine = [p for p in points if p["group"] == group]
        ax.scatter([p["share"] for p in mine], [p[y] for p in mine], label=f"group {group}", alpha=0.8)
    ax.set_xlabel("group's share of participants")
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    if points or diagonal:
        ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def plot_group_coverage(points: list[dict], path: Path) -> None:
    """Each (debate, group) as a point: its share of participants against its coverage."""
    _plot_by_group(points, "coverage", "group coverage", "Group coverage against group size", path)


def plot_proportionality(points: list[dict], path: Path) -> None:
    """Each (debate, group): its share of the summary against its share of participants. On the
    diagonal the summary is proportional; below it the group is under-represented."""
    _plot_by_group(points, "summary_share", "group's share of the summary", "Representation against group size",
                   path, diagonal=True)


def plot_breakdown(table: dict[str, dict], metric: str, title: str, path: Path) -> None:
    """One bar per value of a breakdown, with its 95% CI as an error bar."""
    names = [name for name, m in table.items() if m.get(metric, {}).get("mean") is not None]
    means = [table[n][metric]["mean"] for n in names]
    errors = [[m - table[n][metric]["ci_low"] for n, m in zip(names, means, strict=True)],
              [table[n][metric]["ci_high"] - m for n, m in zip(names, means, strict=True)]]
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=100)
    ax.bar(names, means, yerr=errors, capsize=4, color="#4c72b0")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel(metric)
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)


def _pluralism_plots(task: str, suite: dict, out_dir: Path) -> list[tuple[str, str]]:
    if not suite["group_points"]:
        return []
    rel = f"{PLOTS}/group_coverage_vs_size.png"
    plot_group_coverage(suite["group_points"], out_dir / rel)
    plots = [(rel, "Group coverage against group size (one point per debate and group)")]
    rel = f"{PLOTS}/summary_share_vs_size.png"
    plot_proportionality(suite["group_points"], out_dir / rel)
    return plots + [(rel, "Share of the summary against share of participants (deficit mass, elasticity)")]


def _fidelity_plots(task: str, suite: dict, out_dir: Path) -> list[tuple[str, str]]:
    # Intensity drift is the softening/amplifying signal; fall back to the reward without it.
    metric = "intensity_drift" if "intensity_drift" in suite["metrics"] else "fidelity"
    plots = []
    for key, what in (("per_stance", "stance side"), ("per_language", "language")):
        if suite.get(key):
            rel = f"{PLOTS}/{task}_{metric}_by_{key.removeprefix('per_')}.png"
            plot_breakdown(suite[key], metric, f"{task}: {metric} by {what}", out_dir / rel)
            plots.append((rel, f"{task}: {metric} by {what}, with 95% CIs"))
    return plots


# The plots of each score family (a task's `score_key`).
PLOTTERS = {"pluralism": _pluralism_plots, "fidelity": _fidelity_plots}


def make_plots(report: dict, out_dir: Path) -> list[tuple[str, str]]:
    """Write the plots; return (relative path, caption) pairs."""
    (out_dir / PLOTS).mkdir(parents=True, exist_ok=True)
    return [plot for task, suite in report["suites"].items()
            for plot in PLOTTERS[TASKS[task].score_key](task, suite, out_dir)]


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pluralign eval report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
td, th {{ border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }}
code {{ font-size: 0.85em; word-break: break-all; }}
figure {{ display: inline-block; margin: 0.5rem; }}
</style></head>
<body>
<h1>pluralign eval report</h1>
<ul>{run}</ul>
<p id="plots-status" data-loaded="0" data-total="{n_plots}">Plots: loading…</p>
{body}
<script>
window.addEventListener("load", function () {{
  var images = Array.prototype.slice.call(document.querySelectorAll("img.plot"));
  var loaded = images.filter(function (img) {{ return img.complete && img.naturalWidth > 0; }});
  var status = document.getElementById("plots-status");
  status.dataset.loaded = loaded.length;
  status.textContent = "Plots: " + loaded.length + " of " + images.length + " loaded" +
    (loaded.length < images.length ? " (keep the plots/ folder next to this page)" : "");
}});
</script>
</body></html>
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_html(report: dict, out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    plots = make_plots(report, out_dir)
    parts = ["<h2>Plots</h2>"]
    parts += [f'<figure><img class="plot" src="{html.escape(rel)}" alt="{html.escape(caption)}" width="550">'
              f"<figcaption>{html.escape(caption)}</figcaption></figure>" for rel, caption in plots]
    for task, suite in report["suites"].items():
        parts.append(f"<h2>{html.escape(suite['suite'])}</h2><p>Signature: <code>{html.escape(suite['signature'])}</code></p>")
        parts.append(f"<p>{suite['n_scored']} of {suite['n']} scored ({suite['n_outputs']} outputs).</p>")
        for title, header, rows in suite_tables(task, suite):
            parts.append(f"<h3>{html.escape(title)}</h3>" + _table(header, rows))
    run = "".join(f"<li>{html.escape(line)}</li>" for line in run_lines(report))
    page = PAGE.format(run=run, n_plots=len(plots), body="\n".join(parts))
    path = out_dir / "report.html"
    write_text(path, page)
    return path
