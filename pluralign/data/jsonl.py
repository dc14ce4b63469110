"""Reading and writing debates, rewrite items and outputs as JSONL and as `datasets.Dataset`.

Readers stream: they hold one record at a time (plus the set of ids seen, to refuse duplicates),
so a file of any size is read in constant memory. Every error names the file, the line and the
field.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pluralign import files
from pluralign.data.schema import (
    DataError,
    Problems,
    check_debate,
    check_output,
    check_rewrite_item,
)


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed JSON) for each non-blank line; raise DataError on bad bytes or JSON."""
    for lineno, parsed in _lines(path):
        if isinstance(parsed, DataError):
            raise parsed
        yield lineno, parsed


def read_records(path: str | Path) -> list:
    """Every record of a JSONL file, in order (read_jsonl's errors, without the line numbers)."""
    return [record for _, record in read_jsonl(path)]


def _lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON or the DataError saying why the line is unreadable), blank lines skipped."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, "<file>", "no such file; check the path")
    if path.is_dir():
        raise DataError(path, None, "<file>", "is a folder; give a JSONL file (one JSON object per line)")
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):  # a BOM is read as utf-8-sig does
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                yield lineno, DataError(path, lineno, "<line>", f"bytes are not UTF-8 ({err.reason} at byte {err.start}); re-encode the file as UTF-8")
                continue
            if not text.strip():
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as err:
                yield lineno, DataError(path, lineno, "<line>", f"not JSON ({err.msg} at column {err.colno}); one JSON object per line")


def read_json(path: str | Path, what: str = "a JSON object") -> dict:
    """One JSON object from a file (a report, a model config); DataError naming the file otherwise."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, None, "<file>", f"is a folder; expected {what}")
    try:
        text = path.read_text(encoding="utf-8-sig")
        if not text.strip():
            raise DataError(path, None, "<file>", f"is empty; expected {what}")
        data = json.loads(text)
    except FileNotFoundError:
        raise DataError(path, None, "<file>", f"not found; expected {what}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(path, None, "<file>", f"not readable JSON ({err}); re-save it or pass another file") from None
    if not isinstance(data, dict):
        raise DataError(path, None, "<file>", f"expected {what}, found {type(data).__name__}")
    return data


def _read_checked(path: str | Path, check: Callable[[Any], Problems], unique_ids: bool = True) -> Iterator[dict]:
    seen: dict[str, int] = {}
    for lineno, obj in read_jsonl(path):
        problems = check(obj)
        if problems:
            field, message = problems[0]
            raise DataError(path, lineno, field, message)
        if unique_ids:
            first = seen.setdefault(obj["id"], lineno)
            if first != lineno:
                raise DataError(path, lineno, "id", f"duplicate id {obj['id']!r} (first on line {first}); ids must be unique")
        yield obj


def validate_file(path: str | Path, kind: str) -> Iterator[DataError]:
    """Every problem in a debates or items file, for `pluralign data validate`."""
    check = {"debates": check_debate, "items": check_rewrite_item}[kind]
    seen: dict[str, int] = {}
    try:
        for lineno, obj in _lines(path):
            if isinstance(obj, DataError):  # an unreadable line; the next ones are still checked
                yield obj
                continue
            for field, message in check(obj):
                yield DataError(path, lineno, field, message)
            rid = obj.get("id") if isinstance(obj, dict) else None
            if isinstance(rid, str):
                first = seen.setdefault(rid, lineno)
                if first != lineno:
                    yield DataError(path, lineno, "id", f"duplicate id {rid!r} (first on line {first}); ids must be unique")
    except DataError as err:  # no such file
        yield err


def sniff_kind(path: str | Path) -> str:
    """'debates' or 'items', from the first readable record's fields."""
    for lineno, obj in _lines(path):
        if isinstance(obj, DataError):
            continue
        if isinstance(obj, dict) and ("comments" in obj or "question" in obj and "source" not in obj):
            return "debates"
        if isinstance(obj, dict) and ("source" in obj or "task" in obj):
            return "items"
        raise DataError(path, lineno, "<record>", "neither a debate (has 'comments') nor a rewrite item (has 'source'); or pass --kind")
    raise DataError(path, None, "<file>", "the file holds no readable records")


def read_debates(path: str | Path) -> Iterator[dict]:
    """Validated debates, one at a time."""
    return _read_checked(path, check_debate)


def read_rewrite_items(path: str | Path) -> Iterator[dict]:
    """Validated rewrite items, one at a time."""
    return _read_checked(path, check_rewrite_item)


def read_outputs(path: str | Path, text_field: str) -> Iterator[tuple[int, dict]]:
    """Outputs to score, `{"id", text_field, ...}`, with their line numbers; ids may repeat."""
    for lineno, obj in read_jsonl(path):
        problems = check_output(obj, text_field)
        if problems:
            raise DataError(path, lineno, *problems[0])
        yield lineno, obj


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Write records one per line (UTF-8, no ASCII escaping, strict JSON: NaN becomes null);
    return how many were written. All or nothing: an error while the records are produced leaves
    the file as it was (`pluralign.files.write_lines`)."""
    return files.write_lines(path, (files.json_text(record) + "\n" for record in records))


# --- datasets -------------------------------------------------------------------------------
# Arrow needs one schema per column, so the optional parts of a debate take a fixed form in a
# Dataset: absent optional fields are None, `groups` (a dict keyed by participant) becomes a
# list of {participant, group}, and extra top-level fields (e.g. `group_stances`, `source`) go
# into one JSON string column, `extra`. The converters below undo exactly that.

DEBATE_FIELDS = ("id", "question", "language", "comments", "votes", "groups")


def _debate_features():
    from datasets import Features, List, Value

    return Features({
        "id": Value("string"),
        "question": Value("string"),
        "language": Value("string"),
        "comments": List({
            "id": Value("string"), "text": Value("string"),
            "author": Value("string"), "group": Value("string"),
        }),
        "votes": List({"participant": Value("string"), "comment": Value("string"), "vote": Value("int8")}),
        "groups": List({"participant": Value("string"), "group": Value("string")}),
        "has_votes": Value("bool"),
        "has_groups": Value("bool"),
        "extra": Value("string"),
    })


def _debate_row(debate: dict) -> dict:
    return {
        "id": debate["id"], "question": debate["question"], "language": debate["language"],
        "comments": [
            {"id": c["id"], "text": c["text"], "author": c.get("author"), "group": c.get("group")}
            for c in debate["comments"]
        ],
        "votes": list(debate.get("votes") or []),
        "groups": [{"participant": p, "group": g} for p, g in (debate.get("groups") or {}).items()],
        "has_votes": "votes" in debate and debate["votes"] is not None,
        "has_groups": "groups" in debate and debate["groups"] is not None,
        "extra": json.dumps({k: v for k, v in debate.items() if k not in DEBATE_FIELDS}, ensure_ascii=False),
    }


def debates_to_dataset(debates: Iterable[dict]):
    """A `datasets.Dataset` with one debate a row (see `debates_from_dataset` for the way back)."""
    from datasets import Dataset

    rows = [_debate_row(d) for d in debates]
    return Dataset.from_list(rows, features=_debate_features())


def debates_from_dataset(dataset) -> Iterator[dict]:
    """Debates in the JSONL form from a Dataset made by `debates_to_dataset` (or the same columns)."""
    for row in dataset:
        debate = {"id": row["id"], "question": row["question"], "language": row["language"], "comments": []}
        for c in row["comments"]:
            comment = {"id": c["id"], "text": c["text"]}
            for key in ("author", "group"):
                if c.get(key) is not None:
                    comment[key] = c[key]
            debate["comments"].append(comment)
        if row.get("has_votes", bool(row.get("votes"))):
            debate["votes"] = [
                {"participant": v["participant"], "comment": v["comment"], "vote": int(v["vote"])}
                for v in row["votes"]
            ]
        if row.get("has_groups", bool(row.get("groups"))):
            debate["groups"] = {g["participant"]: g["group"] for g in row["groups"]}
        debate.update(json.loads(row.get("extra") or "{}"))
        problems = check_debate(debate)
        if problems:
            raise DataError("<dataset>", None, problems[0][0], f"row {row['id']!r}: {problems[0][1]}")
        yield debate


def items_to_dataset(items: Iterable[dict]):
    """Rewrite items as a Dataset; extra fields are kept as columns (None where an item lacks one)."""
    from datasets import Dataset

    items = list(items)
    columns: dict[str, None] = {}
    for item in items:  # `Dataset.from_list` would take the columns of the first item only
        columns.update(dict.fromkeys(item))
    return Dataset.from_list([{k: item.get(k) for k in columns} for item in items])


def items_from_dataset(dataset) -> Iterator[dict]:
    """Rewrite items from a Dataset; None-valued optional fields are dropped again."""
    for row in dataset:
        item = {k: v for k, v in row.items() if v is not None}
        problems = check_rewrite_item(item)
        if problems:
            raise DataError("<dataset>", None, problems[0][0], f"row {row.get('id')!r}: {problems[0][1]}")
        yield item
