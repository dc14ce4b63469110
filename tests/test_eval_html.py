"""report.html opens in headless Chromium (Debian's `chromium`) and its plots load.

The page's inline script counts the plots that loaded (`naturalWidth > 0`) into
`#plots-status[data-loaded]`; `--dump-dom` prints the DOM after the scripts ran.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pluralign.cli import main
from pluralign.data.jsonl import read_debates, read_rewrite_items, write_jsonl

DATA = Path(__file__).resolve().parents[1] / "data" / "synthetic"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, installed once with apt-get when missing (we run as root in CI)."""
    if not os.path.exists(CHROMIUM):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True, timeout=900)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, env=env,
                       capture_output=True, timeout=1800)
    return CHROMIUM


def dump_dom(chromium, page: Path, profile: Path) -> str:
    done = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def plots_status(dom: str) -> tuple[int, int]:
    match = re.search(r'id="plots-status" data-loaded="(\d+)" data-total="(\d+)"', dom)
    assert match, dom[:2000]
    return int(match.group(1)), int(match.group(2))


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    debates = list(read_debates(DATA / "debates.jsonl"))[:2]
    items = list(read_rewrite_items(DATA / "translate.jsonl"))[:4]
    write_jsonl(root / "debates.jsonl", debates)
    write_jsonl(root / "items.jsonl", items)
    write_jsonl(root / "predictions.jsonl", [{"id": d["id"], "summary": " ".join(c["text"] for c in d["comments"][:6])}
                                             for d in debates] + [{"id": i["id"], "output": i["source"]} for i in items])
    out = root / "report"
    assert main(["eval", "--predictions", str(root / "predictions.jsonl"), "--debates", str(root / "debates.jsonl"),
                 "--items", str(root / "items.jsonl"), "--out", str(out), "--backend", "lexical",
                 "--stress-debates", "1", "--stress-orders", "2"]) == 0
    return out


def test_report_page_and_its_plots_load(chromium, report_dir, tmp_path):
    dom = dump_dom(chromium, report_dir / "report.html", tmp_path / "profile")
    loaded, total = plots_status(dom)
    # group coverage and summary share vs size, and translate drift by stance side and by language
    assert total == 4 and loaded == total
    assert "pluralign-summarize-v1" in dom and "Stress tests" in dom
    assert len(re.findall(r'<img class="plot" src="plots/[^"]+\.png"', dom)) == 4  # relative paths


def test_a_moved_page_shows_its_missing_plots(chromium, report_dir, tmp_path):
    """The check can fail: the page alone, without plots/, reports the plots as not loaded."""
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(report_dir / "report.html", alone / "report.html")
    dom = dump_dom(chromium, alone / "report.html", tmp_path / "profile")
    assert plots_status(dom) == (0, 4)
    assert "keep the plots/ folder next to this page" in dom


def test_plots_are_real_pngs(report_dir):
    pngs = sorted((report_dir / "plots").glob("*.png"))
    assert [p.name for p in pngs] == ["group_coverage_vs_size.png", "summary_share_vs_size.png",
                                      "translate_intensity_drift_by_language.png", "translate_intensity_drift_by_stance.png"]
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
