"""What a debates or items file holds: `pluralign data stats FILE`. Streams: one record at a time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pluralign.data.groups import given_groups, groups_from_votes
from pluralign.data.jsonl import read_debates, read_rewrite_items, sniff_kind


def debate_stats(debate: dict) -> dict:
    """One debate's counts. Groups are the given ones, else the ones its votes give (docs/design.md §3);
    a debate with neither is left to the scorers, which cluster embeddings with their backend."""
    participants = {v["participant"] for v in debate.get("votes") or []}
    participants |= {c["author"] for c in debate["comments"] if c.get("author")}
    participants |= set(debate.get("groups") or {})
    groups = given_groups(debate)
    if groups is None and debate.get("votes"):
        groups = groups_from_votes(debate)
    group_sizes, source = (groups.sizes(), groups.source) if groups else ({}, "embeddings")
    return {
        "id": debate["id"],
        "language": debate["language"],
        "comments": len(debate["comments"]),
        "votes": len(debate.get("votes") or []),
        "participants": len(participants),
        "groups": group_sizes,
        "group_source": source,
    }


def file_stats(path: str | Path) -> dict:
    """Counts for a debates file (per debate and in total) or an items file (by task and language)."""
    kind = sniff_kind(path)
    if kind == "items":
        tasks, pairs, count = Counter(), Counter(), 0
        for item in read_rewrite_items(path):
            count += 1
            tasks[item["task"]] += 1
            pairs[f"{item['source_language']}->{item['target_language']}"] += 1
        return {"file": str(path), "kind": kind, "items": count, "tasks": dict(tasks), "languages": dict(pairs)}

    debates, languages, sources = [], Counter(), Counter()
    for debate in read_debates(path):
        row = debate_stats(debate)
        debates.append(row)  # a few numbers per debate, not the debate itself
        languages[row["language"]] += 1
        sources[row["group_source"]] += 1
    return {
        "file": str(path),
        "kind": kind,
        "debates": len(debates),
        "comments": sum(d["comments"] for d in debates),
        "votes": sum(d["votes"] for d in debates),
        "participants": sum(d["participants"] for d in debates),
        "languages": dict(languages),
        "group_sources": dict(sources),
        "per_debate": debates,
    }


def format_stats(stats: dict) -> str:
    """A readable table of `file_stats`."""
    if stats["kind"] == "items":
        lines = [f"{stats['file']}: {stats['items']} rewrite item(s)"]
        lines += [f"  task {task}: {n}" for task, n in sorted(stats["tasks"].items())]
        lines += [f"  {pair}: {n}" for pair, n in sorted(stats["languages"].items())]
        return "\n".join(lines)

    header = ("debate", "lang", "comments", "votes", "participants", "groups (sizes)", "group source")
    rows = [
        (d["id"], d["language"], str(d["comments"]), str(d["votes"]), str(d["participants"]),
         " ".join(f"{g}:{n}" for g, n in d["groups"].items()) or "-", d["group_source"])
        for d in stats["per_debate"]
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {2, 3, 4}

    def fmt(row):
        return "  ".join(cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    languages = ", ".join(f"{lang}: {n}" for lang, n in sorted(stats["languages"].items()))
    lines = [
        f"{stats['file']}: {stats['debates']} debate(s), {stats['comments']} comments, "
        f"{stats['votes']} votes, {stats['participants']} participants; languages {languages or '-'}",
        fmt(header),
        fmt(tuple("-" * w for w in widths)),
        *(fmt(r) for r in rows),
    ]
    return "\n".join(lines)
