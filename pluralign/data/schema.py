"""The data contracts of docs/design.md §1: a Debate and a Rewrite item, as plain dicts.

Records stay plain dicts (JSON in, JSON out, `datasets` rows) and are checked by the functions
here. A check returns every problem as a `(field, message)` pair, so that `pluralign data
validate` can list them all; readers turn the first one into a `DataError` that names the file,
the line and the field.
"""

from __future__ import annotations

from typing import Any

from pluralign.errors import PluralignError
from pluralign.tasks import ITEM, TASKS, task_names

VOTE_VALUES = (1, 0, -1)  # agree / pass / disagree


class DataError(PluralignError):
    """Bad input, located: `FILE:LINE: field: message`."""

    def __init__(self, path: Any, line: int | None, field: str, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field, message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.field}: {self.message}"


Problems = list[tuple[str, str]]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _need_text(obj: dict, key: str, where: str, problems: Problems, optional: bool = False) -> None:
    """A required non-empty string field (or an optional one that, when present, is a string)."""
    field = f"{where}{key}"
    if key not in obj or obj[key] is None:
        if not optional:
            problems.append((field, "missing; add a non-empty string"))
        return
    value = obj[key]
    if not _is_str(value):
        problems.append((field, f"must be a string, got {_type_name(value)} {value!r:.40}"))
    elif not optional and not value.strip():
        problems.append((field, "is empty; give a non-empty string or drop the record"))


def check_debate(obj: Any) -> Problems:
    """Every problem in one debate record, as (field, message) pairs; [] when it is valid."""
    if not isinstance(obj, dict):
        return [("<record>", f"must be a JSON object, got {_type_name(obj)}")]
    problems: Problems = []
    for key in ("id", "question", "language"):
        _need_text(obj, key, "", problems)

    comments = obj.get("comments")
    comment_ids: set[str] = set()
    comment_group: dict[str, tuple[str, str | None]] = {}
    if not isinstance(comments, list) or not comments:
        problems.append(("comments", "missing or empty; give a non-empty list of comments"))
        comments = []
    for i, comment in enumerate(comments):
        where = f"comments[{i}]."
        if not isinstance(comment, dict):
            problems.append((f"comments[{i}]", f"must be an object, got {_type_name(comment)}"))
            continue
        _need_text(comment, "id", where, problems)
        _need_text(comment, "text", where, problems)
        _need_text(comment, "author", where, problems, optional=True)
        _need_text(comment, "group", where, problems, optional=True)
        cid = comment.get("id")
        if _is_str(cid):
            if cid in comment_ids:
                problems.append((f"{where}id", f"duplicate comment id {cid!r}; ids must be unique"))
            comment_ids.add(cid)
            if _is_str(comment.get("group")):
                comment_group[cid] = (comment["group"], comment.get("author"))

    groups = obj.get("groups")
    if groups is not None:
        if not isinstance(groups, dict):
            problems.append(("groups", f"must be an object {{participant: group}}, got {_type_name(groups)}"))
            groups = {}
        for participant, group in groups.items():
            if not _is_str(group) or not group:
                problems.append((f"groups[{participant!r}]", f"must be a non-empty string, got {group!r:.40}"))
    groups = groups if isinstance(groups, dict) else {}

    # A group given both ways must agree: otherwise which one a metric used would be arbitrary.
    for i, comment in enumerate(comments):
        if not isinstance(comment, dict):
            continue
        author, group = comment.get("author"), comment.get("group")
        if _is_str(author) and _is_str(group) and author in groups and groups[author] != group:
            problems.append((
                f"comments[{i}].group",
                f"{group!r} contradicts groups[{author!r}] = {groups[author]!r}; keep one of them",
            ))

    votes = obj.get("votes")
    if votes is not None:
        if not isinstance(votes, list):
            problems.append(("votes", f"must be a list, got {_type_name(votes)}"))
            votes = []
        for i, vote in enumerate(votes):
            where = f"votes[{i}]."
            if not isinstance(vote, dict):
                problems.append((f"votes[{i}]", f"must be an object, got {_type_name(vote)}"))
                continue
            _need_text(vote, "participant", where, problems)
            _need_text(vote, "comment", where, problems)
            cid = vote.get("comment")
            if _is_str(cid) and cid and cid not in comment_ids:
                problems.append((f"{where}comment", f"unknown comment id {cid!r}; votes must name a comment of this debate"))
            value = vote.get("vote")
            if "vote" not in vote:
                problems.append((f"{where}vote", "missing; give 1 (agree), 0 (pass) or -1 (disagree)"))
            elif isinstance(value, bool) or value not in VOTE_VALUES:
                problems.append((f"{where}vote", f"must be 1, 0 or -1, got {value!r:.20}"))
    return problems


def check_rewrite_item(obj: Any) -> Problems:
    """Every problem in one rewrite item, as (field, message) pairs; [] when it is valid."""
    if not isinstance(obj, dict):
        return [("<record>", f"must be a JSON object, got {_type_name(obj)}")]
    problems: Problems = []
    for key in ("id", "source", "source_language", "target_language"):
        _need_text(obj, key, "", problems)
    _need_text(obj, "question", "", problems, optional=True)
    task = obj.get("task")
    rewrite_tasks = task_names(ITEM)
    if task not in rewrite_tasks:
        problems.append(("task", f"must be one of {', '.join(rewrite_tasks)}, got {task!r:.30}"))
        return problems
    src, tgt = obj.get("source_language"), obj.get("target_language")
    same = TASKS[task].same_language
    if _is_str(src) and _is_str(tgt) and src and tgt and same is not None and (src == tgt) != same:
        if same:
            problems.append(("target_language", f"a {task} item stays in {src!r}; choose a task that changes language for {tgt!r}"))
        else:
            problems.append(("target_language", f"a {task} item needs another language than {src!r}"))
    return problems


def check_output(obj: Any, text_field: str) -> Problems:
    """An outputs line: `{"id": ..., text_field: str, ...}`. An empty text is allowed: it is scored."""
    if not isinstance(obj, dict):
        return [("<record>", f"must be a JSON object, got {_type_name(obj)}")]
    problems: Problems = []
    _need_text(obj, "id", "", problems)
    if text_field not in obj:
        problems.append((text_field, f"missing; each line needs {{'id', '{text_field}'}}"))
    elif not _is_str(obj[text_field]):
        value = obj[text_field]
        problems.append((text_field, f"must be a string, got {_type_name(value)} {value!r:.40}"))
    return problems
