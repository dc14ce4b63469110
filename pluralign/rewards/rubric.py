"""The questions an LLM judge is asked, and how its answers are read.

A rubric is one question, written once per language in `pluralign/rewards/rubrics/NAME.LANG.md`
(a `## System` and a `## User` part, with `{{placeholders}}`), and the integer fields its JSON
answer carries:

- `representation`: how well a summary represents *my* opinion, 1-5 (the DeliberationBank
  question, asked of the judge in the participant's place);
- `coverage`: how well a summary expresses each numbered comment, 0-4 per comment;
- `attribution`: the same for one sentence of a summary;
- `fidelity`: the stance of a contribution and of its rewrite toward the question (1-5 each), the
  rewrite's intensity against the original (1-5, 3 = as strong), its additions and omissions (0-4).

The answer is requested as a JSON schema (structured output) where the server offers it, and read
tolerantly otherwise (`parse_reply`: a JSON object anywhere in the reply, code fences, `"field": n`
pairs, a bare integer for a one-field rubric). A rubric's hash (all its languages and fields) goes
into every signature made with it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pluralign.errors import UsageError

FOLDER = Path(__file__).with_name("rubrics")
LANGUAGES = ("en", "fr", "de")  # every rubric exists in these; other languages are asked in English
ITEMS_PER_REQUEST = 40  # comments rated in one coverage/attribution request, so that answers stay short


@dataclass(frozen=True)
class Field:
    name: str
    low: int
    high: int


@dataclass(frozen=True)
class Rubric:
    name: str
    fields: tuple[Field, ...] = ()  # fixed fields; empty: one field per numbered item
    item_scale: tuple[int, int] | None = None  # the scale of each numbered item

    def answer_fields(self, n_items: int = 0) -> tuple[Field, ...]:
        if self.item_scale is None:
            return self.fields
        return tuple(Field(str(k), *self.item_scale) for k in range(1, n_items + 1))


RUBRICS = {r.name: r for r in (
    Rubric("representation", (Field("score", 1, 5),)),
    Rubric("coverage", item_scale=(0, 4)),
    Rubric("attribution", item_scale=(0, 4)),
    Rubric("fidelity", (Field("source_stance", 1, 5), Field("output_stance", 1, 5), Field("intensity", 1, 5),
                        Field("additions", 0, 4), Field("omissions", 0, 4))),
)}


@dataclass(frozen=True)
class Question:
    """One request to a judge: a rubric, the language it is asked in, and its placeholders."""

    rubric: str
    language: str
    values: tuple[tuple[str, str], ...]  # placeholder -> text, as pairs (hashable, ordered)
    n_items: int = 0  # numbered items to rate (coverage, attribution)

    @property
    def fields(self) -> tuple[Field, ...]:
        return RUBRICS[self.rubric].answer_fields(self.n_items)


def question(rubric: str, language: str, n_items: int = 0, **values: str) -> Question:
    if rubric not in RUBRICS:
        raise UsageError(f"unknown rubric {rubric!r}; the rubrics are {', '.join(RUBRICS)}")
    return Question(rubric, rubric_language(language), tuple(sorted(values.items())), n_items)


def rubric_language(language: str | None) -> str:
    """The language a rubric is asked in: the debate's, when the rubric is written in it, else English."""
    code = (language or "en").lower().split("-")[0].split("_")[0]
    return code if code in LANGUAGES else "en"


@cache
def rubric_text(name: str, language: str) -> tuple[str, str]:
    """(system, user) parts of a rubric file."""
    path = FOLDER / f"{name}.{language}.md"
    parts = re.split(r"^## (System|User)\s*$", path.read_text(encoding="utf-8"), flags=re.M)
    sections = {parts[i].lower(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return sections["system"], sections["user"]


@cache
def rubric_hash(name: str) -> str:
    """sha256 (12 hex) of every language's text of the rubric and its answer fields."""
    digest = hashlib.sha256(repr(RUBRICS[name]).encode())
    for language in LANGUAGES:
        digest.update((FOLDER / f"{name}.{language}.md").read_bytes())
    return digest.hexdigest()[:12]


def messages(q: Question) -> list[dict]:
    """The chat messages of a question: the rubric's system part, and its user part filled in."""
    system, user = rubric_text(q.rubric, q.language)
    values = {**dict(q.values), "n": str(q.n_items)}
    filled = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], user)
    return [{"role": "system", "content": system}, {"role": "user", "content": filled}]


def numbered(texts: list[str]) -> str:
    """Comments as the numbered list the coverage and attribution rubrics rate (1-based)."""
    return "\n".join(f"{k}. {' '.join(t.split())}" for k, t in enumerate(texts, start=1))


def json_schema(fields: tuple[Field, ...]) -> dict:
    return {"type": "object",
            "properties": {f.name: {"type": "integer", "minimum": f.low, "maximum": f.high} for f in fields},
            "required": [f.name for f in fields], "additionalProperties": False}


def response_format(q: Question) -> dict:
    """The OpenAI `response_format` asking for the question's JSON object (vLLM: guided decoding)."""
    return {"type": "json_schema", "json_schema": {"name": q.rubric, "schema": json_schema(q.fields), "strict": True}}


class ReplyError(ValueError):
    """A judge's reply that does not carry the rubric's fields."""


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def _json_object(text: str) -> dict | None:
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        found = json.loads(text[start:end + 1])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _integer(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.0+)?\s*", value):
        return int(float(value))
    return None


def parse_reply(text: str, fields: tuple[Field, ...]) -> dict[str, int]:
    """The integer value of every field in a judge's reply, within its scale; ReplyError otherwise."""
    text = text or ""
    found = _json_object(text) or {}
    values: dict[str, int] = {}
    for f in fields:
        value = _integer(found.get(f.name)) if f.name in found else None
        if value is None:  # "score": 4 in prose or in broken JSON
            match = re.search(rf"[\"']?\b{re.escape(f.name)}\b[\"']?\s*[:=]\s*[\"']?(-?\d+)", text, re.I)
            value = int(match.group(1)) if match else None
        if value is None and len(fields) == 1 and re.fullmatch(r"\s*-?\d+\s*\.?\s*", text):
            value = int(text.strip().rstrip("."))
        if value is None:
            raise ReplyError(f"no integer {f.name!r} in the reply")
        if not f.low <= value <= f.high:
            raise ReplyError(f"{f.name!r} is {value}, outside {f.low}-{f.high}")
        values[f.name] = value
    return values
