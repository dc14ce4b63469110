"""pluralign-bench-v1: the benchmark suite built from real Polis conversations, by one command.

    pluralign data bench --raw data/polis/raw --out pluralign/suites/pluralign-bench-v1

reads every export folder listed in `conversations.csv` (country, language, place, period, link)
through the Polis loader, and writes, the same bytes on every run:
- `summarize.jsonl`: debates (docs/design.md §1) of a fixed number of comments, several seeded samples
  per conversation, stratified by opinion group so that small groups appear;
- `reformulate.jsonl`, `translate.jsonl`: rewrite items (docs/design.md §1) from real contributions,
  stratified by opinion group and by the side the voters took (`vote_side`);
- `MANIFEST.json` (version, rebuild command, parameters, sha256 and counts), `DATASHEET.md`
  and `ATTRIBUTION.md`.
Every record carries `conversation`, `country`, `language` and its group structure
(`group_source`, `group_unit`, `group_sizes`, `minority_groups`), for the reports' breakdowns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import shlex
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path

from pluralign import __version__
from pluralign.data.jsonl import validate_file, write_jsonl
from pluralign.data.polis import PolisReport, _sort_key, group_sizes, load_polis
from pluralign.data.schema import DataError
from pluralign.files import staged_folder
from pluralign.tasks import TASKS

NAME = "pluralign-bench-v1"
VERSION = 1
DEFAULT_RAW = "data/polis/raw"
DEFAULT_OUT = f"pluralign/suites/{NAME}"
METADATA = "conversations.csv"
METADATA_COLUMNS = ("conversation", "country", "language", "place", "period", "link")
TARGET_LANGUAGES = ("en", "fr", "de")  # translation targets; sources are the conversations' languages
DATA_FILES = ("summarize.jsonl", "reformulate.jsonl", "translate.jsonl")


def _option(default, help_: str):
    return field(default=default, metadata={"help": help_})


@dataclass(frozen=True)
class BenchSpec:
    """The builder's parameters; each is a `pluralign data bench` option and goes into the manifest."""

    seed: int = _option(0, "seeds every sample")
    summarize_comments: int = _option(40, "comments per summarize debate (fits a small model's context)")
    summarize_samples: int = _option(3, "seeded samples per conversation (one when it has no more comments)")
    min_group_comments: int = _option(4, "each opinion group's floor of comments in a summarize sample")
    summarize_participants: int = _option(200, "most participants whose votes a summarize debate keeps, drawn "
                                               "by group in proportion (its comments' authors always kept)")
    minority_share: float = _option(0.15, "a group under this share of its conversation is a minority")
    reformulate_per_language: int = _option(90, "reformulate items per source language")
    translate_per_language: int = _option(60, "translate sources per source language, each into every target")
    min_source_chars: int = _option(20, "shortest rewrite source, in characters (a Han character counts two)")
    min_side_votes: int = _option(5, "agree + disagree votes needed to say which side the voters took")
    side_margin: float = _option(0.2, "(agree - disagree) / (agree + disagree) beyond it: agreed or rejected")

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "seed" and not value > 0:
                raise ValueError(f"--{f.name.replace('_', '-')} must be positive, got {value}")
        if not (self.minority_share < 1 and self.side_margin < 1):
            raise ValueError("--minority-share and --side-margin are fractions, under 1")

    def options(self) -> list[str]:
        """The command-line options that differ from the defaults, in a fixed order."""
        default = BenchSpec()
        words = []
        for f in fields(self):
            if getattr(self, f.name) != getattr(default, f.name):
                words += ["--" + f.name.replace("_", "-"), str(getattr(self, f.name))]
        return words

    def command(self) -> str:
        """The command that rebuilds the shipped suite with these parameters."""
        return shlex.join(["pluralign", "data", "bench", "--raw", DEFAULT_RAW, "--out", DEFAULT_OUT, *self.options()])


# --- one conversation ---------------------------------------------------------------------------


@dataclass
class Conversation:
    """A conversation as the loader gives it, with what the builder needs to sample it."""

    meta: dict[str, str]
    debate: dict
    report: PolisReport
    comment_group: dict[str, str]  # comment id -> the opinion group it speaks for (absent: none)
    vote_side: dict[str, str]  # comment id -> agreed | rejected | divided | unvoted

    @property
    def name(self) -> str:
        return self.meta["conversation"]

    @cached_property
    def sizes(self) -> dict[str, int]:
        return group_sizes(self.debate)

    def minority_groups(self, share: float) -> list[str]:
        total = sum(self.sizes.values())
        return [g for g, n in self.sizes.items() if n < share * total]

    def tags(self, spec: BenchSpec) -> dict:
        """What every record of this conversation carries, for breakdowns and reports."""
        return {
            "conversation": self.name,
            "country": self.meta["country"],
            "language": self.meta["language"],
            "group_source": self.debate["group_source"],
            "group_unit": "comments" if self.debate["group_source"] == "text" else "participants",
            "group_sizes": self.sizes,
            "minority_groups": self.minority_groups(spec.minority_share),
        }


def read_metadata(raw: Path) -> list[dict[str, str]]:
    """conversations.csv: one row per export folder; every folder must be listed, and every row
    must name a folder."""
    path = raw / METADATA
    if not path.exists():
        raise DataError(path, None, "<file>", f"missing; it lists each conversation's {', '.join(METADATA_COLUMNS[1:])}")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    for line, row in enumerate(rows, start=2):
        for column in METADATA_COLUMNS:
            if not (row.get(column) or "").strip():
                raise DataError(path, line, column, "missing or empty")
        if not (raw / row["conversation"]).is_dir():
            raise DataError(path, line, "conversation", f"no export folder {row['conversation']!r} in {raw}")
    listed = {row["conversation"] for row in rows}
    for folder in sorted(p.name for p in raw.iterdir() if p.is_dir()):
        if folder not in listed:
            raise DataError(path, None, "conversation", f"the export folder {folder!r} is not listed; add its row")
    return sorted(rows, key=lambda row: row["conversation"])


def load_conversations(raw: str | Path, spec: BenchSpec = BenchSpec(),
                       progress: Callable[[str], None] | None = None) -> list[Conversation]:
    """Every conversation listed in `raw`/conversations.csv, in name order."""
    convs = []
    for meta in read_metadata(Path(raw)):
        if progress:
            progress(f"reading {meta['conversation']}")
        convs.append(load_conversation(Path(raw), meta, spec))
    return convs


def load_conversation(raw: Path, meta: dict[str, str], spec: BenchSpec) -> Conversation:
    debate, report = load_polis(raw / meta["conversation"], language=meta["language"])
    return Conversation(meta, debate, report, comment_groups(debate), vote_sides(debate, spec))


PSEUDO_VOTES = 2  # passes added to each group's votes on a comment, so that a handful of votes does not win


def comment_groups(debate: dict) -> dict[str, str]:
    """The opinion group each comment speaks for: the group whose members agree with it most (their
    mean vote, with PSEUDO_VOTES passes added), else its author's group; with text groups, its own.

    Not the author's group first (docs/design.md §1's rule for scoring): a conversation's owner writes its
    seed comments (52 of the 70 in scoop-hivemind.ubi), and their group says nothing of those."""
    if debate["group_source"] == "text":
        return {c["id"]: c["group"] for c in debate["comments"]}
    groups = debate.get("groups") or {}
    sums: dict[str, Counter] = {}
    counts: dict[str, Counter] = {}
    for vote in debate.get("votes") or []:
        group = groups.get(vote["participant"])
        if group is not None:
            sums.setdefault(vote["comment"], Counter())[group] += vote["vote"]
            counts.setdefault(vote["comment"], Counter())[group] += 1
    found = {}
    for comment in debate["comments"]:
        cid = comment["id"]
        if cid in counts:
            found[cid] = max(sorted(counts[cid]), key=lambda g: sums[cid][g] / (counts[cid][g] + PSEUDO_VOTES))
        elif comment.get("author") in groups:
            found[cid] = groups[comment["author"]]
    return found


def vote_sides(debate: dict, spec: BenchSpec) -> dict[str, str]:
    """Which side the voters took on each comment: "agreed" or "rejected" when the agree/disagree
    balance passes the margin, "divided" when it does not, "unvoted" with too few votes."""
    agree, disagree = Counter(), Counter()
    for vote in debate.get("votes") or []:
        if vote["vote"] == 1:
            agree[vote["comment"]] += 1
        elif vote["vote"] == -1:
            disagree[vote["comment"]] += 1
    sides = {}
    for comment in debate["comments"]:
        a, d = agree[comment["id"]], disagree[comment["id"]]
        if a + d < spec.min_side_votes:
            sides[comment["id"]] = "unvoted"
        else:
            balance = (a - d) / (a + d)
            sides[comment["id"]] = "agreed" if balance > spec.side_margin else "rejected" if balance < -spec.side_margin else "divided"
    return sides


# --- stratified sampling ------------------------------------------------------------------------


def allocate(available: dict[str, int], weights: dict[str, float], n: int, floor: int) -> dict[str, int]:
    """How many to draw from each stratum: first `floor` each (all a stratum has, if fewer; when
    the floors do not fit in `n`, as many each as fit, and one more to the lightest strata), then
    one at a time to the stratum with the highest weight / (drawn + 1) (D'Hondt), never more than
    a stratum has. Ties go to the first name."""
    order = sorted(available)
    n = min(n, sum(available.values()))
    fits = min(floor, n // max(len(order), 1))
    take = {name: min(available[name], fits) for name in order}
    if fits < floor:
        for name in sorted(order, key=lambda s: (weights[s], s)):
            if sum(take.values()) < n and take[name] < available[name]:
                take[name] += 1
    for _ in range(n - sum(take.values())):
        open_ = [s for s in order if take[s] < available[s]]
        weighted = [s for s in open_ if weights[s] > 0] or open_
        best = max(weighted, key=lambda s: (weights[s] / (take[s] + 1), -order.index(s)))
        take[best] += 1
    return take


def _rng(spec: BenchSpec, *key: object) -> random.Random:
    # One stream per (task, conversation, stratum): changing one part leaves the others' draws alone.
    return random.Random(":".join(str(k) for k in (spec.seed, *key)))


def _draw(ids: list[str], k: int, rng: random.Random) -> list[str]:
    return rng.sample(sorted(ids, key=_sort_key), k)


def _by_group(ids: Iterable[str], conv: Conversation) -> dict[str, list[str]]:
    strata: dict[str, list[str]] = {}
    for cid in ids:
        strata.setdefault(conv.comment_group.get(cid, "none"), []).append(cid)
    return strata


def _group_quota(strata: dict[str, list[str]], weights: dict[str, float], n: int, floor: int) -> dict[str, int]:
    """`allocate` over the opinion groups; comments with no group ("none") only fill what the
    groups cannot."""
    groups = {g: len(ids) for g, ids in strata.items() if g != "none"}
    quota = allocate(groups, {g: weights[g] for g in groups}, n, floor)
    if "none" in strata:
        quota["none"] = min(len(strata["none"]), n - sum(quota.values()))
    return quota


# --- summarize ----------------------------------------------------------------------------------


def summarize_records(conv: Conversation, spec: BenchSpec) -> list[dict]:
    """`summarize_samples` debates of `summarize_comments` comments each. Each group gets its
    floor of comments, then the rest goes in proportion to the groups' sizes; comments with no
    group are drawn only when the groups run out. A conversation that fits whole is one debate."""
    comments = [c["id"] for c in conv.debate["comments"]]
    strata = _by_group(comments, conv)
    quota = _group_quota(strata, {g: float(conv.sizes.get(g, 0)) for g in strata}, spec.summarize_comments,
                         spec.min_group_comments)
    whole = len(comments) <= spec.summarize_comments
    records = []
    for sample in range(1 if whole else spec.summarize_samples):
        keep = set()
        for group, k in quota.items():
            keep.update(_draw(strata[group], k, _rng(spec, "summarize", conv.name, sample, group)))
        records.append(_sample_debate(conv, keep, spec, sample, quota, len(comments)))
    return records


MIN_GROUP_PARTICIPANTS = 10  # each opinion group's floor of participants when a debate's are capped


def _pick_participants(conv: Conversation, comments: list[dict], votes: list[dict], spec: BenchSpec,
                       sample: int) -> set[str]:
    """The participants whose votes a summarize debate keeps: everyone when they fit in
    `summarize_participants`; else the comments' authors, then the voters drawn by group in
    proportion (each group at least MIN_GROUP_PARTICIPANTS), so that the groups' shares hold."""
    authors = {c["author"] for c in comments if "author" in c}
    voters = {v["participant"] for v in votes} - authors
    if len(authors | voters) <= spec.summarize_participants:
        return authors | voters
    groups = conv.debate.get("groups") or {}
    strata: dict[str, list[str]] = {}
    for participant in voters:
        strata.setdefault(groups.get(participant, "none"), []).append(participant)
    quota = allocate({g: len(m) for g, m in strata.items()}, {g: float(len(m)) for g, m in strata.items()},
                     max(0, spec.summarize_participants - len(authors)), MIN_GROUP_PARTICIPANTS)
    chosen = set(authors)
    for group, k in quota.items():
        chosen.update(_draw(strata[group], k, _rng(spec, "participants", conv.name, sample, group)))
    return chosen


def _sample_debate(conv: Conversation, keep: set[str], spec: BenchSpec, sample: int, quota: dict[str, int],
                   total: int) -> dict:
    """The debate restricted to the kept comments (in their original order), the votes on them of
    the participants kept (`_pick_participants`) and these participants' groups, with the
    conversation's tags."""
    debate = conv.debate
    comments = [c for c in debate["comments"] if c["id"] in keep]
    votes = [v for v in debate.get("votes", []) if v["comment"] in keep]
    participants = _pick_participants(conv, comments, votes, spec, sample)
    record = {"id": f"{conv.name}:s{sample}", "question": debate["question"], "language": debate["language"],
              "comments": comments}
    if "votes" in debate:
        record["votes"] = [v for v in votes if v["participant"] in participants]
    if "groups" in debate:
        record["groups"] = {p: g for p, g in debate["groups"].items() if p in participants}
    record.update(conv.tags(spec))
    if "group_method" in debate:
        record["group_method"] = debate["group_method"]
    everyone = {v["participant"] for v in votes} | {c["author"] for c in comments if "author" in c}
    record["sample"] = {"seed": sample, "comments": len(keep), "comments_of": total,
                        "comments_per_group": {g: n for g, n in sorted(quota.items(), key=lambda kv: _sort_key(kv[0])) if n},
                        "participants": len(participants), "participants_of": len(everyone)}
    record["source"] = debate["source"]
    return record


# --- reformulate and translate ------------------------------------------------------------------


def long_enough(text: str, spec: BenchSpec) -> bool:
    width = sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in text)
    return width >= spec.min_source_chars


def pick_sources(conv: Conversation, n: int, task: str, spec: BenchSpec) -> list[str]:
    """`n` comment ids, stratified: the groups equally (each at least one, capacity allowing;
    comments with no group only when the groups run out), then within a group the vote sides
    equally, so that minority groups and rejected contributions are all there. Comments shorter
    than `min_source_chars` are not rewrite sources."""
    eligible = [c["id"] for c in conv.debate["comments"] if long_enough(c["text"], spec)]
    groups = _by_group(eligible, conv)
    per_group = _group_quota(groups, dict.fromkeys(groups, 1.0), n, 1)
    chosen = []
    for group, k in per_group.items():
        sides: dict[str, list[str]] = {}
        for cid in groups[group]:
            sides.setdefault(conv.vote_side[cid], []).append(cid)
        per_side = allocate({s: len(ids) for s, ids in sides.items()}, dict.fromkeys(sides, 1.0), k, 1)
        for side, m in per_side.items():
            chosen += _draw(sides[side], m, _rng(spec, task, conv.name, group, side))
    return sorted(chosen, key=_sort_key)


def _quotas(convs: list[Conversation], per_language: int, spec: BenchSpec) -> dict[str, int]:
    """`per_language` sources of each language, split evenly among its conversations (capacity allowing)."""
    quotas: dict[str, int] = {}
    for language in sorted({c.meta["language"] for c in convs}):
        mine = [c for c in convs if c.meta["language"] == language]
        available = {c.name: sum(long_enough(x["text"], spec) for x in c.debate["comments"]) for c in mine}
        quotas |= allocate(available, dict.fromkeys(available, 1.0), per_language, 0)
    return quotas


def rewrite_item(conv: Conversation, comment: dict, task: str, target: str, spec: BenchSpec) -> dict:
    cid = comment["id"]
    language = conv.meta["language"]
    item = {
        "id": f"{conv.name}:{cid}:{task}" + ("" if TASKS[task].same_language else f":{target}"),
        "task": task,
        "source": comment["text"],
        "source_language": language,
        "target_language": target,
        "question": conv.debate["question"],
        "debate_id": conv.name,
        "comment_id": cid,
    }
    if "author" in comment:
        item["author"] = comment["author"]
    if cid in conv.comment_group:
        item["group"] = conv.comment_group[cid]
    if comment.get("author") in (conv.debate.get("groups") or {}):
        item["author_group"] = conv.debate["groups"][comment["author"]]
    item["vote_side"] = conv.vote_side[cid]
    item.update(conv.tags(spec))
    item["minority"] = item.get("group") in item["minority_groups"]
    return item


def rewrite_records(convs: list[Conversation], task: str, spec: BenchSpec) -> list[dict]:
    per_language = {"reformulate": spec.reformulate_per_language, "translate": spec.translate_per_language}[task]
    quotas = _quotas(convs, per_language, spec)
    items = []
    for conv in convs:
        language = conv.meta["language"]
        same = TASKS[task].same_language
        targets = [language] if same else [t for t in TARGET_LANGUAGES if t != language.split("-")[0]]
        comments = {c["id"]: c for c in conv.debate["comments"]}
        for cid in pick_sources(conv, quotas[conv.name], task, spec):
            items += [rewrite_item(conv, comments[cid], task, target, spec) for target in targets]
    return items


# --- the suite ----------------------------------------------------------------------------------


def build_bench(raw: str | Path, out: str | Path, spec: BenchSpec = BenchSpec(),
                progress: Callable[[str], None] | None = None) -> dict:
    """Build the suite from the export folders in `raw` into `out`; return the manifest. The files
    are written aside and moved into `out` together, so a failure leaves `out` as it was."""
    conversations = load_conversations(raw, spec, progress)
    with staged_folder(out) as stage:
        return write_bench(conversations, raw, stage, spec)


def write_bench(convs: list[Conversation], raw: str | Path, out: str | Path, spec: BenchSpec = BenchSpec()) -> dict:
    """Write the suite of the loaded conversations into `out`; return the manifest."""
    raw, out = Path(raw), Path(out)
    records = {
        "summarize.jsonl": [r for conv in convs for r in summarize_records(conv, spec)],
        "reformulate.jsonl": rewrite_records(convs, "reformulate", spec),
        "translate.jsonl": rewrite_records(convs, "translate", spec),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in records.items():
        write_jsonl(out / name, rows)
        kind = "debates" if name == "summarize.jsonl" else "items"
        problems = list(validate_file(out / name, kind))
        if problems:  # a builder bug, never the user's: say where
            raise ValueError(f"{NAME}: the records written do not validate: {problems[0]}")
    (out / "ATTRIBUTION.md").write_text(attribution(convs), encoding="utf-8")
    manifest = build_manifest(raw, out, convs, records, spec)
    (out / "DATASHEET.md").write_text(datasheet(convs, records, manifest, spec), encoding="utf-8")
    manifest["files"]["DATASHEET.md"] = _file_entry(out / "DATASHEET.md")
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_entry(path: Path, records: int | None = None) -> dict:
    entry = {"sha256": _sha256(path), "bytes": path.stat().st_size}
    if records is not None:
        entry["records"] = records
    return entry


def counts(rows: list[dict]) -> dict:
    """A file's records by language, country, conversation and group source (and direction)."""
    table = {"records": len(rows)}
    for key in ("language", "country", "group_source", "conversation"):
        table[f"by_{key}"] = dict(sorted(Counter(r[key] for r in rows).items()))
    if rows and "target_language" in rows[0]:
        table["by_direction"] = dict(sorted(Counter(f"{r['source_language']}->{r['target_language']}" for r in rows).items()))
        table["by_vote_side"] = dict(sorted(Counter(r["vote_side"] for r in rows).items()))
        table["minority"] = sum(r["minority"] for r in rows)
    return table


def build_manifest(raw: Path, out: Path, convs: list[Conversation], records: dict[str, list[dict]],
                   spec: BenchSpec) -> dict:
    import numpy
    import sklearn

    inputs = sorted(p for p in raw.rglob("*") if p.is_file())
    return {
        "name": NAME,
        "version": VERSION,
        "command": spec.command(),
        "parameters": asdict(spec),
        "built_with": {"pluralign": __version__, "numpy": numpy.__version__, "scikit-learn": sklearn.__version__},
        "conversations": [conv.name for conv in convs],
        "inputs": {p.relative_to(raw).as_posix(): _sha256(p) for p in inputs},
        "files": {
            **{name: _file_entry(out / name, len(rows)) for name, rows in records.items()},
            "ATTRIBUTION.md": _file_entry(out / "ATTRIBUTION.md"),
        },
        "counts": {name.removesuffix(".jsonl"): counts(rows) for name, rows in records.items()},
    }


# --- the documents ------------------------------------------------------------------------------

STATEMENT = """\
    --------------- BEGIN STATEMENT ---------------

    Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed
    under CC BY 4.0 with Attribution to The Computational Democracy Project. The data and more
    information about how the data was collected can be found at the following link(s):

{links}

    --------------- END STATEMENT ---------------
"""


def attribution(convs: list[Conversation]) -> str:
    links = list(dict.fromkeys(conv.meta["link"] for conv in convs))
    return f"""# Attribution: {NAME} (CC BY 4.0)

{NAME} is derived from the exports of {len(convs)} Polis conversations (Taiwan, Austria, Aotearoa
New Zealand, the United States, the United Kingdom), taken from the GitHub repository
`compdemocracy/openData`, snapshot at commit 0bc2ce0 (2024-10-09); pluralign ships them,
unchanged, in `data/polis/raw/` (see its ATTRIBUTION.md).

All Polis data is licensed under a Creative Commons Attribution 4.0 International license:
https://creativecommons.org/licenses/by/4.0/

{STATEMENT.format(links=chr(10).join("    " + link for link in links))}
Changes made: comments moderated out were dropped; each participant's final vote was kept; where
an export has no `votes.csv`, the votes were read from `participants-votes.csv`; where it has
neither, the comments were grouped by their text; comments were sampled into debates of
{BenchSpec().summarize_comments} comments and into rewrite items (see DATASHEET.md); the records
were converted to the pluralign JSONL formats. The suite is distributed under the same license,
CC BY 4.0.
"""


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _missing(report: PolisReport) -> str:
    return ", ".join(line.split(":")[0] for line in report.missing) or "-"


def conversation_table(convs: list[Conversation], spec: BenchSpec) -> str:
    rows = []
    for conv in convs:
        sizes = " ".join(f"{g}:{n}" for g, n in conv.sizes.items())
        minority = ", ".join(conv.minority_groups(spec.minority_share)) or "-"
        rows.append([f"`{conv.name}`", conv.meta["country"], conv.meta["language"], conv.meta["period"],
                     len(conv.debate["comments"]), conv.report.participants, len(conv.debate.get("votes", [])),
                     sizes, conv.debate["group_source"], minority, _missing(conv.report)])
    return _table(["conversation", "country", "language", "period", "comments", "participants", "votes",
                   "group sizes", "group source", "minority groups", "export lacks"], rows)


def _count_table(manifest: dict, key: str) -> str:
    tasks = list(manifest["counts"])
    values = sorted({v for t in tasks for v in manifest["counts"][t][f"by_{key}"]})
    rows = [[v, *(manifest["counts"][t][f"by_{key}"].get(v, 0) for t in tasks)] for v in values]
    rows.append(["total", *(manifest["counts"][t]["records"] for t in tasks)])
    return _table([key, *tasks], rows)


def _seeded(convs: list[Conversation]) -> int:
    """How many conversations with votes have one author of over a third of their comments."""
    def top_share(comments: list[dict]) -> float:
        authors = Counter(c.get("author") for c in comments if c.get("author"))
        return max(authors.values(), default=0) / len(comments)
    return sum(top_share(c.debate["comments"]) > 1 / 3 for c in convs if "votes" in c.debate)


def datasheet(convs: list[Conversation], records: dict[str, list[dict]], manifest: dict, spec: BenchSpec) -> str:
    summarize = records["summarize.jsonl"]
    translate = manifest["counts"]["translate"]
    shares = sorted(round(n / sum(c.sizes.values()), 3) for c in convs for n in c.sizes.values())
    n_minority = sum(len(c.minority_groups(spec.minority_share)) for c in convs)
    text_convs = [c for c in convs if c.debate["group_source"] == "text"]
    silhouettes = ", ".join(f"{c.name} {c.debate['group_method']['silhouette']}" for c in text_convs)
    sides = Counter(s for c in convs for s in c.vote_side.values())
    return f"""# Datasheet: {NAME}

In the manner of Gebru et al., "Datasheets for Datasets" (2021). Every number below is computed
by the builder from the data; `MANIFEST.json` holds the exact counts and checksums.

## Motivation

LLM assistants on deliberation platforms summarise debates, reformulate citizens' contributions
and translate them. {NAME} measures whether they keep every opinion group visible (summaries)
and keep what each person said (reformulations, translations), on real public deliberations in
several languages and countries, so that scores can be broken down by language, country,
conversation, opinion group and the side voters took. It was built by the pluralign project to
evaluate models and to guard its training rewards; it is not a training set.

## Composition

Three files of JSONL records in the pluralign formats (docs/design.md §1), each record valid under
`pluralign data validate`:
- `summarize.jsonl`: {len(summarize)} debates. Each holds up to {spec.summarize_comments} comments
  of one conversation, the final votes on them of up to {spec.summarize_participants} participants and
  these participants' opinion groups; up to {spec.summarize_samples} samples (seeds 0..{spec.summarize_samples - 1})
  per conversation, one when the conversation has no more comments than that.
- `reformulate.jsonl`: {manifest["counts"]["reformulate"]["records"]} items; each a contribution to rewrite in its own language.
- `translate.jsonl`: {translate["records"]} items; each a contribution to translate into another of
  {", ".join(TARGET_LANGUAGES)} (directions: {", ".join(f"{d} {n}" for d, n in translate["by_direction"].items())}).

Every record carries `conversation`, `country`, `language`, `group_source` (`polis`: the
export's own groups, computed by Polis from the votes; `text`: formed from the comments' text,
see below), `group_unit` (what `group_sizes` counts: participants, or comments for text groups),
`group_sizes` (the whole conversation's), and `minority_groups` (groups under
{spec.minority_share:.0%} of the conversation). Debates also carry their `sample`; items carry
`group` (the comment's opinion group: its author's, else the group that agrees with it most),
`minority`, `vote_side`, `author_group` (the author's Polis group, when they have one) and
`debate_id`/`comment_id`/`author`, which point into the export. A comment's `group` is the
group that agrees with it most (its members' mean vote, with {PSEUDO_VOTES} passes added so that a few
votes do not win), else its author's; for text groups, its text cluster. Not the author's group
first: a conversation's owner writes its seed comments, and the owner's group says nothing of
them (in {_seeded(convs)} of the {sum("votes" in c.debate for c in convs)} conversations with votes, one author wrote over a third of the comments).

Records per task and language:

{_count_table(manifest, "language")}

Records per task and country:

{_count_table(manifest, "country")}

Conversations (whole, as imported; group sizes count participants, comments for text groups;
"export lacks" names what a partial export does not have):

{conversation_table(convs, spec)}

Group-size distribution: {sum(len(c.sizes) for c in convs)} groups in {len(convs)} conversations; a group's
share of its conversation ranges from {shares[0]} to {shares[-1]} (median {shares[len(shares) // 2]}); {n_minority} groups are
minorities (under {spec.minority_share:.0%}). Vote sides of all comments: {", ".join(f"{s} {n}" for s, n in sorted(sides.items()))}.

## Collection process and sources

The conversations ran on Polis (compdemocracy.org/polis) between 2015 and 2024: participants
wrote short statements and voted agree, disagree or pass on others' statements; facilitators
moderated statements. The exports come from the GitHub repository `compdemocracy/openData`
(snapshot at commit 0bc2ce0, 2024-10-09) and are shipped unchanged in `data/polis/raw/`. The
participants are anonymous in the exports (numeric ids); pluralign adds no personal data.

## Preprocessing

Through the project's loader (`pluralign.data.polis.load_polis`): comments moderated out (-1)
are dropped, accepted (1) and unmoderated (0) ones kept; the latest vote of each participant on
each comment is the final one. Three exports have no `votes.csv` (their final votes were read from
`participants-votes.csv`, which has no vote history), three have comments only
({", ".join(c.name for c in text_convs)}). For those three the groups were formed from the
comments' text: TF-IDF of character 2-4-grams, a 50-dimensional truncated SVD, k-means with k
from 2 to 5 chosen by silhouette, seed {text_convs[0].debate["group_method"]["seed"] if text_convs else 0}. Their silhouettes are low
({silhouettes}): these groups are topic clusters, not opinion groups, and each such record says
`group_source: "text"`.

## Sampling

- Summaries: each opinion group first gets {spec.min_group_comments} comments (or all it has), then the rest of the
  {spec.summarize_comments} go to the groups in proportion to their size (D'Hondt); comments with no group are
  drawn only when the groups run out. Within a group, comments are drawn at random (seeded). So a
  small group appears in every sample, a little over-represented. The debate keeps the votes of
  its comments' authors and of up to {spec.summarize_participants} participants in all, drawn by group in
  proportion (each group at least {MIN_GROUP_PARTICIPANTS}), so that the file stays a few MB; the `sample` field
  says how many of how many.
- Rewrites: {spec.reformulate_per_language} reformulate and {spec.translate_per_language} translate sources per source language,
  split evenly among its conversations; within a conversation the groups get equal shares (each
  at least one), and within a group the vote sides (agreed, rejected, divided, unvoted) do, so
  that minority groups and rejected contributions are there in numbers that allow a comparison.
  Every translate source goes into every target language but its own. A comment shorter than
  {spec.min_source_chars} characters (a Han character counts two) is not a rewrite source.
- A comment's vote side: "agreed" or "rejected" when (agree - disagree) / (agree + disagree) is
  above {spec.side_margin} or below -{spec.side_margin}, "divided" in between, "unvoted" with fewer than
  {spec.min_side_votes} agree or disagree votes (and in the exports without votes).

## Languages and countries

Source languages (conversations): {", ".join(f"{lang} ({n})" for lang, n in sorted(Counter(c.meta["language"] for c in convs).items()))}.
Translation targets: {", ".join(TARGET_LANGUAGES)}; French occurs only as a target. Countries:
{", ".join(f"{country} ({n})" for country, n in sorted(Counter(c.meta["country"] for c in convs).items()))}.

## Known biases and limits

- English and the United States and New Zealand dominate; one conversation is in Chinese
  (Taiwan, 2015), five in German (Austria, one citizens' council, 2022). Country and language
  are confounded: each language comes from one or two countries.
- Polis participants self-select; the groups are those of the people who voted, not of a
  population. Polis groups cluster voting patterns, not demographics.
- Translation has no reference translations: the suite measures fidelity to the source
  (docs/design.md §5), not closeness to a human translation.
- The text groups of the three comments-only exports are weak (see the silhouettes above).
- Comments are short (most under 140 characters); some are meta-statements ("I am male").
  Contributions may contain offensive language that moderators accepted.
- A summarize sample holds {spec.summarize_comments} comments of conversations of up to
  {max(len(c.debate["comments"]) for c in convs)}: it is a debate in miniature, not the whole.

## Uses

Evaluating summaries, reformulations and translations of deliberation assistants for pluralism
and fidelity (`pluralign eval`), with breakdowns by group, vote side, language and country. Not
for inferring the opinions of any population, nor for training and testing on the same records.

## Distribution and license

Shipped in the pluralign package (`pluralign/suites/{NAME}/`). CC BY 4.0, with the attribution
statement in `ATTRIBUTION.md`; the pluralign code is Apache-2.0.

## Maintenance

Version {VERSION}, built by pluralign {__version__}. Rebuild, the same bytes on any machine with the
same library versions (`MANIFEST.json` lists them and each file's sha256):

    {spec.command()}

A change of the exports, the loader or the sampling makes a new version (`{NAME.rsplit("-v", 1)[0]}-v{VERSION + 1}`), never a
silent change of this one. Report problems on the pluralign issue tracker.
"""
