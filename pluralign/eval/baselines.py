"""Reference baselines: outputs made without a model, one registry entry each.

`pluralign eval --suite pluralign-bench-v1 --baseline NAME --out DIR` scores them like any
system's outputs, so that a model's numbers can be read against what no effort gets, and so that
the scores themselves are checked: a score that cannot tell `one-per-group` from `majority-only`
apart cannot see a minority.

Summaries are comments of the debate, verbatim, one per line:
- `dump`: every comment, in the debate's order (what the copying and length guards are for);
- `lead`: the first k comments; `random`: k comments drawn at random (seeded by the run's seed
  and the debate's id), in the debate's order;
- `majority-only`: the k most representative comments of the largest opinion group;
- `one-per-group`: the most representative comment of each opinion group, largest group first.

k defaults to the debate's number of opinion groups, so that `lead`, `random`, `majority-only`
and `one-per-group` pick the same number of comments and differ only in which; `--baseline-k N`
fixes it.

A comment's representativeness for a group is Polis's (the `repness` of its agree side):
pa = (1 + agree) / (2 + votes) among the group's members, times pa / pa_rest, the same ratio
among everyone else; only comments some member voted on are candidates. A group without votes
(exports with comments only, whose groups are clusters of the comments' text) is represented by
its most central comments instead: the highest mean TF-IDF cosine (character 2-4-grams, the
features its groups were formed from) to the group's other comments.

Rewrites: `identity` returns the source unchanged (a perfect-meaning reformulation, and a
translation into the wrong language).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pluralign.errors import UsageError
from pluralign.tasks import DEBATE, ITEM, task_names


@dataclass(frozen=True)
class BaselineSettings:
    k: int | None = None  # comments per summary; None: the debate's number of opinion groups
    seed: int = 0


@dataclass(frozen=True)
class Baseline:
    name: str
    record: str  # DEBATE or ITEM: the kind of record it answers
    make: Callable[[dict, BaselineSettings], str]  # record -> output text
    description: str
    uses_k: bool = False

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks it applies to: every task over its record kind."""
        return task_names(self.record)


# --- opinion groups and representativeness ----------------------------------------------------


def _groups(debate: dict):
    from pluralign.data.groups import resolve_groups

    try:
        return resolve_groups(debate)
    except UsageError as err:
        raise UsageError(f"baseline: {err}; the group baselines need a debate's groups or votes") from None


def _by_size(groups) -> list[str]:
    """Group names, largest first (ties by name)."""
    sizes = Counter(groups.participants.values())
    names = set(sizes) | set(groups.comments.values())
    return sorted(names, key=lambda g: (-sizes.get(g, 0), g))


def repness(debate: dict, participants: dict[str, str]) -> dict[str, dict[str, float]]:
    """group -> comment id -> Polis representativeness (agree side), for the comments some member
    of the group voted on."""
    from pluralign.data.groups import final_votes

    seen, agree, seen_all, agree_all = Counter(), Counter(), Counter(), Counter()
    for (participant, cid), vote in final_votes(debate).items():
        group = participants.get(participant)
        if group is None:
            continue
        seen[group, cid] += 1
        agree[group, cid] += vote == 1
        seen_all[cid] += 1
        agree_all[cid] += vote == 1
    out: dict[str, dict[str, float]] = {}
    for (group, cid), n in seen.items():
        pa = (1 + agree[group, cid]) / (2 + n)
        pa_rest = (1 + agree_all[cid] - agree[group, cid]) / (2 + seen_all[cid] - n)
        out.setdefault(group, {})[cid] = pa * pa / pa_rest
    return out


def centrality(texts: list[str]) -> list[float]:
    """Each text's mean TF-IDF cosine (character 2-4-grams) to the others; 0 for a lone text."""
    if len(texts) < 2:
        return [0.0] * len(texts)
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit_transform(texts)
    similarity = (vectors @ vectors.T).toarray()
    return list((similarity.sum(axis=1) - similarity.diagonal()) / (len(texts) - 1))


def ranked(debate: dict, groups, group: str, scores: dict[str, dict[str, float]]) -> list[str]:
    """The group's comments, most representative first (ties: the debate's order)."""
    order = {c["id"]: j for j, c in enumerate(debate["comments"])}
    mine = scores.get(group)
    if not mine:  # no votes from this group: its own comments, most central first
        own = [c for c in debate["comments"] if groups.comments.get(c["id"]) == group]
        mine = dict(zip((c["id"] for c in own), centrality([c["text"] for c in own]), strict=True))
    return sorted(mine, key=lambda cid: (-mine[cid], order[cid]))


def _texts(debate: dict, ids: list[str]) -> str:
    text = {c["id"]: c["text"] for c in debate["comments"]}
    return "\n".join(text[cid] for cid in ids)


def _in_order(debate: dict, ids: set[str]) -> list[str]:
    return [c["id"] for c in debate["comments"] if c["id"] in ids]


def _k(debate: dict, settings: BaselineSettings) -> int:
    if settings.k is not None:
        return settings.k
    return len(_by_size(_groups(debate))) or 1


# --- the baselines ---------------------------------------------------------------------------


def dump(debate: dict, settings: BaselineSettings) -> str:
    return _texts(debate, [c["id"] for c in debate["comments"]])


def lead(debate: dict, settings: BaselineSettings) -> str:
    return _texts(debate, [c["id"] for c in debate["comments"][:_k(debate, settings)]])


def random_comments(debate: dict, settings: BaselineSettings) -> str:
    ids = [c["id"] for c in debate["comments"]]
    # One stream per (seed, debate): a debate's draw does not depend on the others.
    drawn = random.Random(f"{settings.seed}:{debate['id']}").sample(ids, min(_k(debate, settings), len(ids)))
    return _texts(debate, _in_order(debate, set(drawn)))


def majority_only(debate: dict, settings: BaselineSettings) -> str:
    groups = _groups(debate)
    largest = _by_size(groups)[0]
    best = ranked(debate, groups, largest, repness(debate, groups.participants))
    return _texts(debate, best[:_k(debate, settings)])


def one_per_group(debate: dict, settings: BaselineSettings) -> str:
    groups = _groups(debate)
    scores = repness(debate, groups.participants)
    picked: list[str] = []
    for group in _by_size(groups):
        best = [cid for cid in ranked(debate, groups, group, scores) if cid not in picked]
        picked += best[:1]
    return _texts(debate, picked)


def identity(item: dict, settings: BaselineSettings) -> str:
    return item["source"]


BASELINES: dict[str, Baseline] = {b.name: b for b in (
    Baseline("dump", DEBATE, dump, "every comment, verbatim, in the debate's order"),
    Baseline("lead", DEBATE, lead, "the first k comments", uses_k=True),
    Baseline("random", DEBATE, random_comments, "k comments drawn at random (seeded)", uses_k=True),
    Baseline("majority-only", DEBATE, majority_only, "the k most representative comments of the largest group",
             uses_k=True),
    Baseline("one-per-group", DEBATE, one_per_group, "the most representative comment of each opinion group"),
    Baseline("identity", ITEM, identity, "the source, unchanged"),
)}


def get_baseline(name: str) -> Baseline:
    baseline = BASELINES.get(name) if isinstance(name, str) else None
    if baseline is None:
        known = ", ".join(f"{b.name} ({'/'.join(b.tasks)})" for b in BASELINES.values())
        raise UsageError(f"unknown baseline {name!r}; choose one of {known}")
    return baseline


def describe(baseline: Baseline, settings: BaselineSettings) -> dict:
    """What a report's `system` says about the baseline that made its outputs."""
    out = {"baseline": baseline.name, "description": baseline.description}
    if baseline.uses_k:
        out["k"] = settings.k if settings.k is not None else "number of opinion groups"
    if baseline.make is random_comments:
        out["seed"] = settings.seed
    return out
