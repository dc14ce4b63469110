"""The Polis export loader: one conversation folder becomes one debate (docs/design.md §1, §2).

A full export folder holds `comments.csv`, `votes.csv`, `participants-votes.csv` and
`summary.csv` (older and newer layouts differ in extra columns only, which are ignored). Real
exports are often partial, and each partial form is imported:
- no `votes.csv`: the final votes are read from `participants-votes.csv`, a wide matrix with one
  column per comment id (1 / -1 / 0, empty = no vote); it holds no vote history;
- no `participants-votes.csv`: no Polis groups; the votes give them later (docs/design.md §3);
- neither: the comments alone; their groups are formed from their text (`text_groups`), and the
  debate says so in `group_source`.

Conventions of the export, checked against the shipped data: vote 1 = agree, -1 = disagree,
0 = pass; `votes.csv` keeps the vote history, so the latest timestamp per (voter, comment) wins;
a comment moderated -1 is out; an empty `group-id` means the participant was not clustered.
Everything left out is counted in the `PolisReport`, with its reason, and so is every file the
export lacked.
"""

from __future__ import annotations

import codecs
import csv
import io
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
# Where a debate's groups come from: the export's `group-id` (Polis clustered the votes), the
# votes (no group-id in the export; computed later, docs/design.md §3), or the comments' text (no votes).
GROUP_SOURCES = ("polis", "votes", "text")
COMMENT_COLUMNS = ("comment-id", "author-id", "moderated", "comment-body")
VOTE_COLUMNS = ("timestamp", "comment-id", "voter-id", "vote")
MATRIX_COLUMNS = ("participant", "group-id")


@dataclass
class PolisReport:
    """What was read from an export folder, what it lacked, and what was left out and why."""

    folder: str
    language: str = ""
    language_detected: bool = False
    comments_read: int = 0
    comments_kept: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    votes_read: int = 0
    votes_kept: int = 0
    votes_from: str = ""  # "votes.csv", "participants-votes.csv" or "" (no votes)
    participants: int = 0
    participants_grouped: int = 0
    grouped_without_votes: int = 0  # grouped participants with no vote or comment in the debate
    group_sizes: dict[str, int] = field(default_factory=dict)
    group_source: str = ""
    group_method: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # each file the export lacked, and what was done

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] += n

    def lack(self, name: str, consequence: str) -> None:
        self.missing.append(f"{name}: {consequence}")

    def describe(self) -> str:
        how = "detected" if self.language_detected else "given"
        votes = f"{self.votes_kept} final votes kept of {self.votes_read} read"
        votes += f" from {self.votes_from}" if self.votes_from else " (the export has none)"
        grouped = f"{self.participants_grouped} in opinion groups"
        if self.grouped_without_votes:
            grouped += f", of whom {self.grouped_without_votes} voted only on comments left out"
        lines = [
            f"Polis export {self.folder}",
            f"  comments: {self.comments_kept} kept of {self.comments_read} read",
            f"  votes: {votes}",
            f"  participants: {self.participants} ({grouped})",
            "  groups: " + (", ".join(f"{g}: {n}" for g, n in self.group_sizes.items()) or "none")
            + f" (source: {self.group_source}" + ("; comments per group)" if self.group_source == "text" else ")"),
            f"  language: {self.language} ({how})",
        ]
        if self.missing:
            lines.append("  partial export, missing:")
            lines.extend(f"    {line}" for line in self.missing)
        if self.skipped:
            lines.append("  left out:")
            lines.extend(f"    {n:>7}  {reason}" for reason, n in sorted(self.skipped.items()))
        return "\n".join(lines)


# --- reading the CSV files ----------------------------------------------------------------------


def _read_text(path: Path) -> str:
    """The file as text; bytes that are not UTF-8 are a DataError at their line and column."""
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataError(path, line, _column_of_bad_bytes(data), (
            f"bytes are not UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); Polis exports "
            "are UTF-8, so the file was re-saved in another encoding (e.g. Latin-1): re-export it, "
            "or convert it with `iconv -f latin1 -t utf-8`"
        )) from None


def _column_of_bad_bytes(data: bytes) -> str:
    """The header name of the first CSV field holding bytes that are not UTF-8."""
    rows = csv.reader(io.StringIO(data.decode("utf-8", "surrogateescape"), newline=""))
    try:
        header = next(rows)
        for row in [header, *rows]:
            for i, value in enumerate(row):
                if any("\udc80" <= ch <= "\udcff" for ch in value):
                    return header[i].strip() if row is not header and i < len(header) else "<header>"
    except csv.Error:
        pass
    return "<line>"


def _rows(path: Path, required: tuple[str, ...]):
    """(line number, row dict) of a CSV file, the line being where the row starts (quoted fields
    may span lines). A row cut short, a stray quote or bytes that are not UTF-8 are DataErrors."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        if not header:
            raise DataError(path, None, "<file>", "is empty, without even a header row; export the conversation again")
        missing = [c for c in required if c not in header]
        if missing:
            raise DataError(path, 1, missing[0], f"column missing from the header; expected {', '.join(required)}")
        start = reader.line_num + 1
        for row in reader:
            if row and len(row) != len(header):
                field_ = header[len(row)] if len(row) < len(header) else "<line>"
                raise DataError(path, start, field_, (
                    f"the row has {len(row)} fields, the header {len(header)}; the file looks cut short "
                    "or damaged: export the conversation again"
                ))
            if row:
                yield start, dict(zip(header, row, strict=True))
            start = reader.line_num + 1
    except csv.Error as err:
        raise DataError(path, start, "<line>", (
            f"not readable as CSV ({err}); a quoted field never ends, so the file looks cut short: "
            "export the conversation again"
        )) from None


def read_summary(folder: Path) -> dict[str, str]:
    """summary.csv: one `key,value` pair a row (values may span lines)."""
    path = folder / "summary.csv"
    if not path.exists():
        raise DataError(path, None, "<file>", "missing; it gives the conversation's topic")
    rows = csv.reader(io.StringIO(_read_text(path), newline=""))
    return {row[0].strip(): row[1] for row in rows if len(row) >= 2}


def _sort_key(cid: str):
    return (0, int(cid), "") if cid.isdigit() else (1, 0, cid)


def _int(value: str, path: Path, line: int, column: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataError(path, line, column, f"must be an integer, got {value!r:.30}") from None


def _read_comments(path: Path, report: PolisReport) -> tuple[dict[str, dict], set[str]]:
    """Accepted (1) and unmoderated (0) comments by id, and the ids left out (moderated -1, empty)."""
    if not path.exists():
        raise DataError(path, None, "<file>", "missing; a Polis export has at least comments.csv and summary.csv")
    comments: dict[str, dict] = {}
    excluded: set[str] = set()
    for line, row in _rows(path, COMMENT_COLUMNS):
        report.comments_read += 1
        cid, text = row["comment-id"].strip(), row["comment-body"].strip()
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
    if not report.comments_read:
        raise DataError(path, 1, "<file>", "a header and no comment rows; a debate needs comments: "
                        "check that the export finished, or export the conversation again")
    if not comments:
        raise DataError(path, None, "moderated", f"all {report.comments_read} comments are moderated out "
                        "or empty; there is no debate to import")
    return comments, excluded


def _keep_vote(value: int, cid: str, comments: dict, excluded: set[str], report: PolisReport) -> bool:
    if value not in VOTE_VALUES:
        report.skip("votes with a value outside 1, 0, -1")
    elif cid in excluded:
        report.skip("votes on comments left out (moderated out or empty)")
    elif cid not in comments:
        report.skip("votes on comments absent from comments.csv")
    else:
        return True
    return False


def _read_votes(path: Path, comments: dict, excluded: set[str], report: PolisReport) -> dict[tuple[str, str], int]:
    """(voter, comment) -> final vote from votes.csv: the latest timestamp wins (a later row a tie)."""
    final: dict[tuple[str, str], tuple[int, int]] = {}
    for line, row in _rows(path, VOTE_COLUMNS):
        report.votes_read += 1
        cid, voter = row["comment-id"].strip(), row["voter-id"].strip()
        value = _int(row["vote"], path, line, "vote")
        if not _keep_vote(value, cid, comments, excluded, report):
            continue
        key, stamp = (voter, cid), _int(row["timestamp"], path, line, "timestamp")
        if key in final:
            report.skip("votes superseded by a later vote of the same participant")
            if stamp < final[key][0]:
                continue
        final[key] = (stamp, value)
    return {key: value for key, (_, value) in final.items()}


def _read_matrix(path: Path, comments: dict, excluded: set[str], report: PolisReport,
                 with_votes: bool) -> tuple[dict[str, str], dict[tuple[str, str], int]]:
    """participants-votes.csv: every participant's `group-id` (non-empty ones), and, when
    `with_votes`, the final votes from its comment-id columns (1 / -1 / 0; empty = no vote)."""
    groups: dict[str, str] = {}
    final: dict[tuple[str, str], int] = {}
    for line, row in _rows(path, MATRIX_COLUMNS):
        participant, group = row["participant"].strip(), row["group-id"].strip()
        if group:
            groups[participant] = group
        else:
            report.skip("participants not in an opinion group (empty group-id)")
        if not with_votes:
            continue
        for column, cell in row.items():
            if not column.isdigit() or not cell.strip():  # metadata columns; no vote
                continue
            report.votes_read += 1
            value = _int(cell.strip(), path, line, column)
            if _keep_vote(value, column, comments, excluded, report):
                final[(participant, column)] = value
    return groups, final


# --- the debate ---------------------------------------------------------------------------------


def load_polis(folder, max_comments: int | None = None, sample: str = "random", seed: int = 0,
               language: str | None = None, debate_id: str | None = None) -> tuple[dict, PolisReport]:
    """One debate from a Polis export folder, full or partial, and the report of what it lacked
    and what was left out.

    `max_comments` keeps that many accepted comments, picked by `sample`: "first" (lowest ids),
    "random" (seeded) or "most-voted" (most final votes); votes and groups are then restricted to
    the participants who wrote or voted on a kept comment. Without it, every group assignment of
    the export is kept, also that of a participant whose votes were all on comments left out.
    The debate's `group_source` is "polis", "votes" or "text" (see GROUP_SOURCES).
    """
    if sample not in SAMPLES:
        raise UsageError(f"sample must be one of {', '.join(SAMPLES)}, got {sample!r}")
    if max_comments is not None and max_comments < 1:
        raise UsageError(f"max_comments must be at least 1, got {max_comments}")
    folder = Path(folder)
    report = PolisReport(folder=str(folder))
    summary = read_summary(folder)
    comments, excluded = _read_comments(folder / "comments.csv", report)
    final, groups = _read_votes_and_groups(folder, comments, excluded, report)

    keep = _pick_comments(comments, final, max_comments, sample, seed)
    report.skip(f"comments not sampled (--max-comments {max_comments}, {sample})", len(comments) - len(keep))
    report.comments_kept = len(keep)
    votes = [
        {"participant": voter, "comment": cid, "vote": value}
        for (voter, cid), value in sorted(final.items(), key=lambda kv: (_sort_key(kv[0][1]), _sort_key(kv[0][0])))
        if cid in keep
    ]
    report.skip("votes on comments not sampled", len(final) - len(votes))
    report.votes_kept = len(votes)
    kept_comments = [comments[cid] for cid in sorted(keep, key=_sort_key)]
    active = {v["participant"] for v in votes} | {c["author"] for c in kept_comments if "author" in c}
    if max_comments is not None:
        outside = [p for p in groups if p not in active]
        report.skip("grouped participants with no vote or comment among the sampled comments", len(outside))
        groups = {p: g for p, g in groups.items() if p in active}
    report.grouped_without_votes = len(set(groups) - active)
    report.participants = len(active | set(groups))
    report.participants_grouped = len(groups)

    if language is None:
        language = detect_language([c["text"] for c in kept_comments], seed)
        report.language_detected = True
    report.language = language

    topic = (summary.get("topic") or "").strip()
    description = (summary.get("conversation-description") or "").strip()
    question = "\n\n".join(part for part in (topic, description) if part)
    if not question:
        raise DataError(folder / "summary.csv", None, "topic", "missing or empty; the debate needs a question")
    debate = {"id": debate_id or folder.name, "question": question, "language": language, "comments": kept_comments}
    if final:
        debate["votes"] = votes
    if groups:
        debate["groups"] = dict(sorted(groups.items(), key=lambda kv: _sort_key(kv[0])))
    debate["group_source"] = report.group_source
    report.group_sizes = group_sizes(debate)
    if report.group_method:
        debate["group_method"] = report.group_method
    debate["source"] = {"url": summary.get("url", ""), "license": "CC BY 4.0", "attribution": ATTRIBUTION}
    return debate, report


def group_sizes(debate: dict) -> dict[str, int]:
    """The size of each group of an imported debate: participants per group for Polis groups,
    comments per group for groups formed from the text (a comment's text is what was clustered)."""
    if debate.get("group_source") == "text":
        counts = Counter(c["group"] for c in debate["comments"])
    else:
        counts = Counter((debate.get("groups") or {}).values())
    return dict(sorted(counts.items(), key=lambda kv: _sort_key(kv[0])))


def _read_votes_and_groups(folder: Path, comments: dict, excluded: set[str],
                           report: PolisReport) -> tuple[dict[tuple[str, str], int], dict[str, str]]:
    """The final votes and the export's groups, from whichever of the two files the export has.
    With neither, the comments get groups from their text (set on each comment)."""
    votes_csv, matrix_csv = folder / "votes.csv", folder / "participants-votes.csv"
    final: dict[tuple[str, str], int] = {}
    groups: dict[str, str] = {}
    if votes_csv.exists():
        final = _read_votes(votes_csv, comments, excluded, report)
        report.votes_from = votes_csv.name
    if matrix_csv.exists():
        groups, matrix_votes = _read_matrix(matrix_csv, comments, excluded, report, with_votes=not votes_csv.exists())
        if not votes_csv.exists():
            final = matrix_votes
            report.votes_from = matrix_csv.name
            report.lack("votes.csv", "votes read from participants-votes.csv (final votes only: no vote history, no timestamps)")
        if not groups:
            report.lack("group-id", "participants-votes.csv gives no participant a group")
    else:
        report.lack("participants-votes.csv", "no Polis opinion groups" + ("; the scorers compute them from the votes" if final else ""))
    if groups:
        report.group_source = "polis"
    elif final:
        report.group_source = "votes"
    else:
        if not votes_csv.exists() and not matrix_csv.exists():
            report.lack("votes.csv", "no votes at all")
        ids = sorted(comments, key=_sort_key)
        labels, report.group_method = text_groups([comments[cid]["text"] for cid in ids])
        for cid, label in zip(ids, labels, strict=True):
            comments[cid]["group"] = label
        report.group_source = "text"
        report.lack("opinion groups", f"formed from the comments' text ({report.group_method['method']}, "
                    f"k={report.group_method['k']}): topic clusters, not opinion groups")
    return final, groups


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


# --- groups from text, for exports without votes -----------------------------------------------

TEXT_GROUPS_SEED = 0


def text_groups(texts: list[str], seed: int = TEXT_GROUPS_SEED) -> tuple[list[str], dict]:
    """Groups of comments from their text alone, with no neural model and on one thread, so that a
    rebuild gives the same groups: TF-IDF of character n-grams (any script, Chinese included), reduced by a
    truncated SVD (LSA), then k-means with k = 2..5 chosen by silhouette, seeded. Labels are
    "0", "1", ... from the largest group down. Returns (labels, how they were made)."""
    import numpy as np  # scikit-learn is heavy: imported here, so that the CLI starts fast
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize
    from threadpoolctl import threadpool_limits

    from pluralign.data.groups import _by_size, _kmeans_by_silhouette

    method = {"method": "tfidf-char-2-4+svd-50+kmeans", "seed": seed}
    one_group = ["0"] * len(texts)
    if len(texts) < 4:
        return one_group, method | {"k": 1, "reason": "too few comments to cluster"}
    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, max_df=0.5, sublinear_tf=True,
                            lowercase=True, dtype=np.float64)
    try:
        matrix = tfidf.fit_transform(texts)
    except ValueError:  # no n-gram in two comments and at most half of them: nothing to cluster on
        matrix = None
    if matrix is None or matrix.shape[1] < 3:
        return one_group, method | {"k": 1, "reason": "too little shared text to cluster"}
    components = min(50, matrix.shape[1] - 1, len(texts) - 1)
    with threadpool_limits(limits=1):  # one thread: the same sums in the same order on any machine
        points = TruncatedSVD(n_components=components, algorithm="arpack", random_state=seed).fit_transform(matrix)
    points = normalize(points)
    labels, details = _kmeans_by_silhouette(points, seed)
    return [str(label) for label in _by_size(labels)], method | details


# --- language ------------------------------------------------------------------------------------


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
