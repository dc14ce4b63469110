"""Eval throughput of the predictions path: `pluralign eval --predictions` on the shipped
synthetic suites (6 debates, 48 reformulate and 48 translate items), outputs scored per second.

The backend is loaded before the clock starts (a model load is a one-off per process); the
stress tests are timed separately, since they re-score each debate several times.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402
from pluralign.data.jsonl import read_debates, read_rewrite_items, write_jsonl  # noqa: E402
from pluralign.eval.run import run_eval  # noqa: E402
from pluralign.rewards.backends import get_backend  # noqa: E402

DATA = ROOT / "data" / "synthetic"


def predictions(path: Path, items: Path) -> int:
    """An honest-looking summary per debate (one comment per group) and each item's source as its output."""
    lines = []
    for debate in read_debates(DATA / "debates.jsonl"):
        firsts = {}
        for comment in debate["comments"]:
            firsts.setdefault(comment["group"], comment["text"])
        lines.append({"id": debate["id"], "summary": " ".join(firsts.values())})
    lines += [{"id": item["id"], "output": item["source"]} for item in read_rewrite_items(items)]
    return write_jsonl(path, lines)


def timed(backend: str, stress_debates: int, tmp: Path, items: Path, preds: Path, name: str) -> tuple[float, dict]:
    start = time.perf_counter()
    report = run_eval(tmp / f"{backend.replace(':', '_')}-{name}", debates=str(DATA / "debates.jsonl"),
                      items=str(items), predictions=str(preds), backend=backend, stress_debates=stress_debates,
                      log=lambda _: None)
    return time.perf_counter() - start, report


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        items = tmp / "items.jsonl"
        write_jsonl(items, list(read_rewrite_items(DATA / "reformulate.jsonl")) + list(read_rewrite_items(DATA / "translate.jsonl")))
        preds = tmp / "predictions.jsonl"
        n = predictions(preds, items)
        for backend in ("embedding:all-MiniLM-L6-v2", "lexical"):
            get_backend(backend).embed(["warm up"])  # the model load is not timed
            cold, _ = timed(backend, 0, tmp, items, preds, "cold")  # empty text and debate caches
            warm, _ = timed(backend, 0, tmp, items, preds, "warm")  # the backend's caches filled by the first run
            stressed, _ = timed(backend, 3, tmp, items, preds, "stress")
            rows.append((backend, cold, warm, stressed - warm))
            print(json.dumps({"backend": backend, "outputs": n, "cold_s": round(cold, 2), "warm_s": round(warm, 2),
                              "stress_s": round(stressed - warm, 2)}), flush=True)
    table = ["| backend | cold: s | cold: outputs/s | warm: s | warm: outputs/s | stress tests, 3 debates x (5 orders + ablation + duplication): extra s |",
             "|---|---|---|---|---|---|"]
    for backend, cold, warm, stress in rows:
        table.append(f"| `{backend}` | {cold:.1f} | {n / cold:.1f} | {warm:.1f} | {n / warm:.1f} | {stress:.1f} |")
    write_section("Eval", f"`pluralign eval --predictions` on the shipped synthetic suites: {n} outputs (6 debate "
                  "summaries, 48 reformulations, 48 translations), scoring, bootstrap, report, plots and HTML "
                  "included; the backend model is loaded before the clock starts. Cold: the backend's text cache "
                  "is empty; warm: the same run again in the same process (the situation of `eval` inside a "
                  "training loop).\n\n" + "\n".join(table))


if __name__ == "__main__":
    main()
