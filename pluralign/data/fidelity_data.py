"""The real data the learned fidelity scorer is fitted on (docs/design.md §5), read from a checkout.

Under `root` (the repository's `data/`):
- `mqm/`: expert MQM judgments of WMT23 en->de translations (Apache-2.0; see its README): 104 news
  paragraphs, each with 10 German outputs (one the human reference `refA`) and `mqm_accuracy`, the
  meaning-error points (lower is better);
- `polis/raw/`: Polis exports (CC BY 4.0); their comments are the contributions the contrast pairs
  are made from, in the languages `conversations.csv` gives (en, de; zh is left out: no rules);
- `deliberationbank/opinions.jsonl`: the raw opinions of five DeliberationBank topics (Apache-2.0);
- `fidelity/fr_seeds.jsonl`: 80 French contributions in Polis style, written for pluralign (there is
  no real French deliberation data here).

`stance_pairs(root)` is the stance model's training set: `contrast.contrast_pairs` on every
contribution (at most CAP per conversation) plus `mqm_stance_pairs`, sentence pairs cut from MQM.
Seeded and deterministic. Every row keeps its `conversation`, the unit of every split.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

from pluralign.data.contrast import RULES, apply_rule, contrast_pairs
from pluralign.data.jsonl import read_records
from pluralign.errors import UsageError
from pluralign.rewards.text import split_sentences

CAP = 250  # contributions per conversation: march-on's 1,733 comments must not make the set its own
LANGUAGES = ("en", "de", "fr")  # those the generator has rules for


def _need(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"{path} is missing; fitting reads the repository's data/ folder: "
                         "run from a checkout of pluralign or pass --data DIR")
    return path


# --- MQM -------------------------------------------------------------------------------------


def load_mqm(root: Path) -> tuple[dict[str, dict], list[dict]]:
    """(items by id, outputs in file order); each output gets its item's `doc` (news story)."""
    items = {item["id"]: item for item in read_records(_need(root / "mqm" / "items.jsonl"))}
    outputs = read_records(_need(root / "mqm" / "outputs.jsonl"))
    for out in outputs:
        out["doc"] = items[out["id"]]["doc"]
    return items, outputs


def mqm_rows(items: dict, outputs: list[dict], setting: str) -> list[dict]:
    """Candidates {item, output, mqm, reference, doc, group, system} of one MQM setting:
    - `cross` (translation): the English paragraph against its 10 German outputs, refA included;
    - `within` (same-language rewrite): the reference refA (German) against the 9 other outputs.
    The target is each candidate's `mqm_accuracy` against the English original; refA is not
    error-free everywhere, so `within` is the noisier one."""
    rows = []
    if setting == "cross":
        for out in outputs:
            rows.append({"item": items[out["id"]], "output": out["output"], "mqm": out["mqm_accuracy"],
                         "reference": out["reference"], "doc": out["doc"], "group": out["id"], "system": out["system"]})
    elif setting == "within":
        refs = {o["id"]: o for o in outputs if o["reference"]}
        for out in outputs:
            if out["reference"]:
                continue
            item = {"id": out["id"] + ":refA", "task": "reformulate", "source": refs[out["id"]]["output"],
                    "source_language": "de", "target_language": "de", "doc": out["doc"]}
            rows.append({"item": item, "output": out["output"], "mqm": out["mqm_accuracy"], "reference": False,
                         "doc": out["doc"], "group": out["id"], "system": out["system"]})
    else:
        raise ValueError(f"setting must be cross or within, got {setting!r}")
    return rows


# --- contributions ----------------------------------------------------------------------------


def _summary_field(folder: Path, field: str) -> str:
    path = folder / "summary.csv"
    if not path.exists():
        return ""
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if row and row[0] == field and len(row) > 1:
                return row[1].strip()
    return ""


def polis_contributions(root: Path, min_words: int = 4, max_words: int = 60) -> list[dict]:
    """Polis comments {text, language, conversation, question, corpus}: moderated-out ones (-1)
    skipped, and fragments under `min_words` or over `max_words` (not what a citizen rewrites)."""
    raw = root / "polis" / "raw"
    with open(_need(raw / "conversations.csv"), encoding="utf-8", newline="") as handle:
        languages = {row["conversation"]: row["language"] for row in csv.DictReader(handle)}
    out = []
    for name, language in sorted(languages.items()):
        if language not in LANGUAGES:
            continue
        folder = raw / name
        # The topic is the question people answered; descriptions are often "This HiveMind is closed".
        question = _summary_field(folder, "topic") or _summary_field(folder, "conversation-description")
        with open(folder / "comments.csv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("moderated", "").strip() == "-1":
                    continue
                text = " ".join((row.get("comment-body") or "").split())
                if min_words <= len(text.split()) <= max_words:
                    out.append({"text": text, "language": language, "conversation": name, "corpus": "polis",
                                "question": question.split("\n")[0][:300]})
    return out


def deliberationbank_opinions(root: Path, max_words: int = 80) -> list[dict]:
    """DeliberationBank's raw opinions (English), one conversation per topic."""
    out = []
    for topic in read_records(_need(root / "deliberationbank" / "opinions.jsonl")):
        question = topic["question"].split(" Please answer")[0]
        for text in topic["comments"]:
            text = " ".join(text.split())
            if 4 <= len(text.split()) <= max_words:
                out.append({"text": text, "language": "en", "conversation": "db:" + topic["topic"],
                            "corpus": "deliberationbank", "question": question})
    return out


def french_seeds(root: Path) -> list[dict]:
    return [{**row, "language": "fr", "corpus": "fr-seeds"} for row in read_records(_need(root / "fidelity" / "fr_seeds.jsonl"))]


def contributions(root: Path, seed: int = 0, cap: int = CAP) -> list[dict]:
    """Every contribution, at most `cap` per conversation (a seeded sample), conversations sorted."""
    rng = random.Random(seed)
    by_conversation = defaultdict(list)
    for row in polis_contributions(root) + deliberationbank_opinions(root) + french_seeds(root):
        by_conversation[row["conversation"]].append(row)
    out = []
    for name in sorted(by_conversation):
        group = by_conversation[name]
        rng.shuffle(group)
        out += group[:cap]
    return out


# --- stance pairs -----------------------------------------------------------------------------


def plausibly_aligned(en: str, de: str) -> bool:
    """Two sentences paired by position translate each other, by a model-free check: similar length,
    and some of the English one's names and numbers (capitalised words after the first, digits)
    found in the German one. Sentence counts can match by accident."""
    if not 0.7 <= len(de) / max(1, len(en)) <= 1.9:
        return False
    anchors = {w.strip(".,;:!?\"'()") for w in en.split()[1:] if w[:1].isupper() or any(ch.isdigit() for ch in w)}
    anchors = {a for a in anchors if len(a) >= 3}
    return not anchors or any(a in de for a in anchors)


def mqm_stance_pairs(items: dict, outputs: list[dict], seed: int = 0, per_doc: int = 20, mt_per_sentence: int = 3,
                     max_mqm: float = 1.0) -> list[dict]:
    """Sentence pairs from MQM where the English paragraph, refA and a machine translation with at
    most `max_mqm` meaning-error points split into as many sentences and `plausibly_aligned`:
    - en -> de: the English sentence against refA and against up to `mt_per_sentence` machine
      translations (same: a change of language is not a change of stance), and against generator
      edits of refA (flipped, softened, amplified);
    - de -> de: refA against each machine translation (same: two translators' wordings, real
      paraphrases) and against an edited one (a paraphrase and a stance change at once)."""
    rng = random.Random(seed)
    by_item = defaultdict(list)
    for out in outputs:
        by_item[out["id"]].append(out)
    rows, per = [], defaultdict(int)

    def edited(sentence: str, label: str | None = None) -> tuple[str, str, str] | None:
        label = label or rng.choice(["flipped", "softened", "amplified"])
        rule, text = apply_rule(label, RULES["de"][label], [sentence], rng)
        return (label, rule, text) if text else None

    for item_id, outs in by_item.items():
        item = items[item_id]
        src = split_sentences(item["source"])
        de = split_sentences(next(o for o in outs if o["reference"])["output"])
        good = [split_sentences(o["output"]) for o in outs if not o["reference"] and o["mqm_accuracy"] <= max_mqm]
        good = [g for g in good if len(g) == len(src)]
        if len(src) != len(de):
            continue
        for k, (s, d) in enumerate(zip(src, de, strict=True)):
            if len(s.split()) < 5 or per[item["doc"]] >= per_doc or not plausibly_aligned(s, d):
                continue
            per[item["doc"]] += 1
            conversation = "mqm:" + item["doc"]
            x = {"source_language": "en", "target_language": "de", "conversation": conversation, "corpus": "mqm-x",
                 "question": "", "language": "en-de", "reversed": False}
            w = {"source_language": "de", "target_language": "de", "conversation": conversation, "corpus": "mqm-de",
                 "question": "", "language": "de", "reversed": False}
            rows.append({**x, "source": s, "output": d, "label": "same", "rule": "same:reference"})
            for label in ("flipped", "softened", "amplified"):
                e = edited(d, label)
                if e:
                    rows.append({**x, "source": s, "output": e[2], "label": e[0], "rule": f"{e[0]}:{e[1]}"})
            mts = list(dict.fromkeys(g[k] for g in good if g[k] != d and plausibly_aligned(s, g[k])))
            rng.shuffle(mts)
            for j, mt in enumerate(mts[:mt_per_sentence]):
                rows.append({**x, "source": s, "output": mt, "label": "same", "rule": "same:mt"})
                rows.append({**w, "source": d, "output": mt, "label": "same", "rule": "same:mt-paraphrase"})
                e = edited(mt) if j == 0 else None
                if e:
                    rows.append({**w, "source": d, "output": e[2], "label": e[0], "rule": f"{e[0]}:{e[1]}+mt-paraphrase"})
    return rows


def stance_pairs(root: Path, seed: int = 0) -> list[dict]:
    """The stance model's training pairs {source, output, label, rule, reversed, source_language,
    target_language, language, conversation, corpus, question}."""
    rng = random.Random(seed)
    rows = []
    for c in contributions(root, seed):
        for pair in contrast_pairs(c["text"], c["language"], rng):
            rows.append({**pair, "source_language": c["language"], "target_language": c["language"],
                         "language": c["language"], "conversation": c["conversation"], "corpus": c["corpus"],
                         "question": c["question"]})
    return rows + mqm_stance_pairs(*load_mqm(root), seed=seed)
