"""`make demo`: the main job, as far as it exists. For now: the shipped data and its statistics."""

from __future__ import annotations

from pathlib import Path

from pluralign.data.stats import file_stats, format_stats

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SHIPPED = [
    "polis/scoop-hivemind-ubi.jsonl",
    "synthetic/debates.jsonl",
    "synthetic/reformulate.jsonl",
    "synthetic/translate.jsonl",
]


def main(data_dir: Path = DATA_DIR) -> int:
    print("pluralign demo: the shipped data (see data/README.md)\n")
    for name in SHIPPED:
        print(format_stats(file_stats(data_dir / name)), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
