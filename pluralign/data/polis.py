"""The Polis export loader: one conversation folder becomes one debate (docs/design.md §1, §2).

An export folder holds `comments.csv`, `votes.csv`, `participants-votes.csv` and `summary.csv`
(older and newer layouts differ in extra columns only, which are ignored). Conventions of the
export, checked against the shipped data: vote 1 = agree, -1 = disagree, 0 = pass; `votes.csv`
keeps the vote history, so the latest timestamp per (voter, comment) wins; a comment moderated
-1 is out; an empty `group-id` means the participant was not clustered. Everything left out is
counted in the `PolisReport`, with its reason.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pluralign.data.schema import VOTE_VALUES, DataError
from pluralign.errors import UsageError

ATTRIBUTION = (
    "Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed "
    "under CC BY 4.0 with Attribution to The Computational Democracy Project."
)
LANGUAGE_SAMPLE = 200  # comments used to detect the conversation's language
SAMPLES = ("first", "random", "most-voted")  # ways to pick --max-comments comments


@dataclass
class PolisReport:
    """What was read from an export folder and what was left out, and why."""

    folder: str
    language: str = ""
    language_detected: bool = False
    comments_read: int = 0
    comments_kept: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    votes_read: int = 0
    votes_kept: int = 0
    participants: int = 0
    participants_grouped: int = 0
    group_sizes: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] += n

    def describe(self) -> str:
        how = "detected" if self.language_detected else "given"
        lines = [
            f"Polis export {self.folder}",
            f"  comments: {self.comments_kept} kept of {self.comments_read} read",
            f"  votes: {self.votes_kept} final votes kept of {self.votes_read} rows read",
            f"  participants: {self.participants} ({self.participants_grouped} in opinion groups)",
            "  groups: " + (", ".join(f"{g}: {n}" for g, n in self.group_sizes.items()) or "none"),
            f"  language: {self.language} ({how})",
        ]
        if self.skipped:
            lines.append("  left out:")
            lines.extend(f"    {n:>7}  {reason}" for reason, n in sorted(self.skipped.items()))
        return "\n".join(lines)


def _rows(path: Path, required: tuple[str, ...]):
    """(line number, row dict) of a CSV file; quoted fields may span lines."""
    if not path.exists():
        raise DataError(path, None, "<file>", "missing; a Polis export folder has comments.csv, votes.csv, participants-votes.csv and summary.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(path, 1, missing[0], f"column missing from the header; expected {', '.join(required)}")
        for row in reader:
            yield reader.line_num, row


def read_summary(folder: Path) -> dict[str, str]:
    """summary.csv: one `key,value` pair a row (values may span lines)."""
    path = folder / "summary.csv"
    if not path.exists():
        raise DataError(path, None, "<file>", "missing; it gives the conversation's topic")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row[0].strip(): row[1] for row in csv.reader(handle) if len(row) >= 2}


def _sort_key(cid: str):
    return (0, int(cid), "") if cid.isdigit() else (1, 0, cid)


def _int(value: str, path: Path, line: int, column: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataError(path, line, column, f"must be an integer, got {value!r:.30}") from None


def load_polis(folder, max_comments: int | None = None, sample: str = "random", seed: int = 0,
               language: str | None = None, debate_id: str | None = None) -> tuple[dict, PolisReport]:
    """One debate from a Polis export folder, and the report of what was left out.

    `max_comments` keeps that many accepted comments, picked by `sample`: "first" (lowest ids),
    "random" (seeded) or "most-voted" (most final votes). Votes and groups are restricted to the
    participants who wrote or voted on a kept comment.
    """
    if sample not in SAMPLES:
        raise UsageError(f"sample must be one of {', '.join(SAMPLES)}, got {sample!r}")
    if max_comments is not None and max_comments < 1:
        raise UsageError(f"max_comments must be at least 1, got {max_comments}")
    folder = Path(folder)
    report = PolisReport(folder=str(folder))
    summary = read_summary(folder)

    # Comments: accepted (1) and unmoderated (0) are kept; moderated out (-1) are not.
    comments: dict[str, dict] = {}
    excluded: set[str] = set()
    path = folder / "comments.csv"
    for line, row in _rows(path, ("comment-id", "author-id", "moderated", "comment-body")):
        report.comments_read += 1
        cid, text = row["comment-id"].strip(), (row["comment-body"] or "").strip()
        if _int(row["moderated"], path, line, "moderated") == -1:
            report.skip("comments moderated out (moderated = -1)")
            excluded.add(cid)
        elif not text:
            report.skip("comments with an empty body")
            excluded.add(cid)
        elif cid in comments:
            raise DataError(path, line, "comment-id", f"duplicate comment id {cid!r}; the export is damaged")
        else:
            comment = {"id": cid, "text": text}
            if row["author-id"].strip():
                comment["author"] = row["author-id"].strip()
            comments[cid] = comment

    # Votes: the latest timestamp per (voter, comment) is the final vote (a later row wins a tie).
    final: dict[tuple[str, str], tuple[int, int]] = {}
    path = folder / "votes.csv"
    for line, row in _rows(path, ("timestamp", "comment-id", "voter-id", "vote")):
        report.votes_read += 1
        cid, voter = row["comment-id"].strip(), row["voter-id"].strip()
        value = _int(row["vote"], path, line, "vote")
        if value not in VOTE_VALUES:
            report.skip("votes with a value outside 1, 0, -1")
            continue
        if cid in excluded:
            report.skip("votes on comments left out (moderated out or empty)")
            continue
        if cid not in comments:
            report.skip("votes on comments absent from comments.csv")
            continue
        key, stamp = (voter, cid), _int(row["timestamp"], path, line, "timestamp")
        if key in final:
            report.skip("votes superseded by a later vote of the same participant")
            if stamp < final[key][0]:
                continue
        final[key] = (stamp, value)

    keep = _pick_comments(comments, final, max_comments, sample, seed)
    report.skip(f"comments not sampled (--max-comments {max_comments}, {sample})", len(comments) - len(keep))
    report.comments_kept = len(keep)
    votes = [
        {"participant": voter, "comment": cid, "vote": value}
        for (voter, cid), (_, value) in sorted(final.items(), key=lambda kv: (_sort_key(kv[0][1]), _sort_key(kv[0][0])))
        if cid in keep
    ]
    report.skip("votes on comments not sampled", len(final) - len(votes))
    report.votes_kept = len(votes)
    kept_comments = [comments[cid] for cid in sorted(keep, key=_sort_key)]
    participants = {v["participant"] for v in votes} | {c["author"] for c in kept_comments if "author" in c}

    # Groups, from the export's clustering.
    groups: dict[str, str] = {}
    path = folder / "participants-votes.csv"
    for _, row in _rows(path, ("participant", "group-id")):
        participant, group = row["participant"].strip(), (row["group-id"] or "").strip()
        if participant not in participants:
            report.skip("participants in participants-votes.csv with no vote on a kept comment")
        elif not group:
            report.skip("participants not in an opinion group (empty group-id)")
        else:
            groups[participant] = group
    report.participants = len(participants)
    report.participants_grouped = len(groups)
    report.group_sizes = dict(sorted(Counter(groups.values()).items(), key=lambda kv: _sort_key(kv[0])))

    if language is None:
        language = detect_language([c["text"] for c in kept_comments], seed)
        report.language_detected = True
    report.language = language

    topic = (summary.get("topic") or "").strip()
    description = (summary.get("conversation-description") or "").strip()
    question = "\n\n".join(part for part in (topic, description) if part)
    if not question:
        raise DataError(folder / "summary.csv", None, "topic", "missing or empty; the debate needs a question")
    debate = {
        "id": debate_id or folder.name,
        "question": question,
        "language": language,
        "comments": kept_comments,
        "votes": votes,
        "groups": dict(sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))),
        "source": {"url": summary.get("url", ""), "license": "CC BY 4.0", "attribution": ATTRIBUTION},
    }
    return debate, report


def _pick_comments(comments: dict[str, dict], final: dict, max_comments: int | None, sample: str, seed: int) -> set[str]:
    ids = sorted(comments, key=_sort_key)
    if max_comments is None or len(ids) <= max_comments:
        return set(ids)
    if sample == "first":
        return set(ids[:max_comments])
    if sample == "random":
        return set(random.Random(seed).sample(ids, max_comments))
    counts = Counter(cid for _, cid in final)  # "most-voted"
    return set(sorted(ids, key=lambda cid: -counts[cid])[:max_comments])  # stable: ties by id


def detect_language(texts: list[str], seed: int = 0) -> str:
    """The most common language among the texts (langdetect, seeded). Chinese variants count as
    one language when voting, then the most common variant (zh-tw, zh-cn) is returned."""
    from langdetect import DetectorFactory, LangDetectException

    DetectorFactory.seed = seed
    found = []
    for text in texts[:LANGUAGE_SAMPLE]:
        try:
            found.append(_detect_one(text))
        except LangDetectException:  # no letters (only digits, links, emoji)
            continue
    if not found:
        return "und"
    base = Counter(code.split("-")[0] for code in found).most_common(1)[0][0]
    variants = Counter(code for code in found if code.split("-")[0] == base)
    specific = Counter({code: n for code, n in variants.items() if "-" in code})
    return (specific or variants).most_common(1)[0][0]


def _detect_one(text: str) -> str:
    from langdetect import detect_langs

    guesses = detect_langs(text)
    # langdetect often calls Chinese (Han script without kana or hangul) Korean: decide by script.
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    kana_or_hangul = sum("\u3040" <= ch <= "\u30ff" or "\uac00" <= ch <= "\ud7af" or "\u1100" <= ch <= "\u11ff" for ch in text)
    if han and not kana_or_hangul:
        return next((g.lang for g in guesses if g.lang.startswith("zh")), "zh")
    return guesses[0].lang
