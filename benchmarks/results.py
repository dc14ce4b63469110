"""Each benchmark owns one section of benchmarks/RESULTS.md, replaced in place on every run."""

from __future__ import annotations

import platform
import re
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    import os

    import torch

    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, Python {platform.python_version()}"


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section `## name` of RESULTS.md with `markdown`, stamped."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = f"## {name}\n\n_Measured {stamp} on {machine()}._\n\n{markdown.strip()}\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\nWritten by the scripts in this folder (`make bench`); do not edit by hand.\n"
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{body}{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")
