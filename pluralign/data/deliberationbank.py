"""DeliberationBank human judgments (Zhu et al. 2025, Apache-2.0), as the representation head reads them.

The repository ships five of the study's topics in `data/deliberationbank/` (its README: source,
licence, fields); the other five are kept aside to judge the project on topics it never trained on.
`load_bank(folder)` gives:

- `ratings`: one per annotation, {topic, question, opinion, summary, rep (1-5)}: how well the
  summary represents the annotator's own opinion;
- `pairs`: one per annotation with an A/B preference on representation, {topic, question, opinion,
  a, b, y, strength}: y = 1 when A was preferred (label 1-2), 0 for B (4-5); label 3 is dropped;
- `debates`: topic -> {question, comments}: the ~94 raw opinions the summaries were written from;
- `judgments`: one per annotation, both at once, {topic, question, opinion, a, b, rep, y} with
  y None when the annotator had no preference (what the cross-encoder trains on).

The question in judgments.jsonl carries an instruction ("Please answer briefly in 2-3
sentences.") that opinions.jsonl lacks; `clean_question` removes it so both read the same.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pluralign.data.schema import DataError

FILES = ("judgments.jsonl", "opinions.jsonl")
SHORT = {"Binary-Refugee-Policies": "refugee", "Binary-Health-Care-Policy": "health",
         "Binary-Vaccination-Policy": "vaccine", "Openqa-Tipping-System": "tipping",
         "Openqa-Trump-cutting-funding": "trump"}


def default_folder() -> Path:
    """`data/deliberationbank` of the checkout this package runs from (an installed wheel has none)."""
    return Path(__file__).resolve().parents[2] / "data" / "deliberationbank"


def clean_question(question: str) -> str:
    return re.sub(r"\s*Please answer briefly.*$", "", question).strip()


@dataclass
class Bank:
    ratings: list[dict]
    pairs: list[dict]
    debates: dict[str, dict]
    judgments: list[dict]
    sha256: str  # of the two files, in order: names the training data in a fitted head

    @property
    def topics(self) -> list[str]:
        return list(self.debates)


def _lines(path: Path):
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(str(path), lineno, "<line>", f"not JSON ({error.msg})") from None


def load_bank(folder: str | Path | None = None) -> Bank:
    folder = Path(folder) if folder else default_folder()
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(str(folder), 0, "<folder>", f"no {', '.join(missing)} here: give the DeliberationBank folder "
                        "of a pluralign checkout (data/deliberationbank)")
    digest = hashlib.sha256()
    for name in FILES:
        digest.update((folder / name).read_bytes())
    debates = {}
    for lineno, d in _lines(folder / "opinions.jsonl"):
        try:
            debates[d["topic"]] = {"question": clean_question(d["question"]), "comments": list(d["comments"])}
        except (KeyError, TypeError):
            raise DataError(str(folder / "opinions.jsonl"), lineno, "topic", "needs topic, question, comments") from None
    ratings, pairs, judgments = [], [], []
    for lineno, j in _lines(folder / "judgments.jsonl"):
        try:
            row = {"topic": j["topic"], "question": clean_question(j["question"]), "opinion": j["opinion"]}
            ratings.append({**row, "summary": j["summary"], "rep": int(j["rating"]["rep"])})
            label = int(j["comparison"]["rep"])
            if label != 3:
                pairs.append({**row, "a": j["summary"], "b": j["b_summary"], "y": int(label < 3),
                              "strength": abs(label - 3)})
            judgments.append({**row, "a": j["summary"], "b": j["b_summary"], "rep": ratings[-1]["rep"],
                              "y": None if label == 3 else int(label < 3)})
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(str(folder / "judgments.jsonl"), lineno, str(error), "missing or malformed field") from None
        if j["topic"] not in debates:
            raise DataError(str(folder / "judgments.jsonl"), lineno, "topic", f"{j['topic']!r} has no line in opinions.jsonl")
    return Bank(ratings, pairs, debates, judgments, digest.hexdigest())
