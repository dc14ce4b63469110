"""Stress tests of a summarizer and of the pluralism scorer (docs/design.md §4, after Bakker et al. 2022).

- **Comment order**: the same debate with its comments shuffled. With a model, each order is
  summarised anew and scored on the original debate: the spread of min-group coverage is the
  model's order sensitivity. With given outputs, the same summary is re-scored against each
  order: the spread then measures the scorer's own invariance (it should be zero).
- **Minority ablation**: remove one group's comments (and the votes on them). With a model, its
  summaries of the full and of the ablated debate are both scored on the full debate; with given
  outputs, the same summary is scored on the ablated debate. Either way the removed group's coverage must fall and
  every other group's must hold, within a tolerance. With given outputs and votes, a group whose
  members also agreed with other, covered comments can keep its coverage: `group_fell` and
  `others_held` say which half of the rule failed.
- **Duplication**: repeating every comment, or cloning every participant with their comments and
  votes, must not change any score beyond a tolerance (scores are means and maxima, not counts).

`score` is `PluralismScorer.score` (debate, summaries -> results with `metrics`); `regenerate`
maps debates to one summary each. Opinion groups are resolved once, on the original debate, and
pinned into every variant, so that a variant cannot silently re-cluster its participants.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from pluralign.data.groups import Groups, resolve_groups

Score = Callable[[dict, list[str]], list[dict]]
Regenerate = Callable[[list[dict]], list[str]]

ABLATION_TOLERANCE = 0.05  # how far another group's coverage may move when one group is removed
DUPLICATION_TOLERANCE = 0.01  # how far any score may move when the debate is duplicated


def group_coverage(result: dict) -> dict[str, float]:
    """Group -> coverage G_g, from one pluralism result (groups with no scored member left out)."""
    return {str(g): float(v) for g, v in result["metrics"]["group_coverage"].items() if v is not None}


def min_group_coverage(result: dict) -> float:
    return float(result["metrics"]["min_group_coverage"])


def scalar_scores(result: dict) -> dict[str, float]:
    """The reward and every scalar numeric metric of one result, but the sizes of the input
    (`n_*`), which duplication changes by design."""
    out = {"pluralism": float(result["pluralism"])}
    for key, value in result["metrics"].items():
        if key.startswith("n_"):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            out[key] = float(value)
    return out


# --- debate variants -------------------------------------------------------------------------


def pin_groups(debate: dict, groups: Groups) -> dict:
    """The debate with its resolved groups written into it (`groups` and each comment's `group`)."""
    comments = [dict(c, group=groups.comments[c["id"]]) if c["id"] in groups.comments else dict(c)
                for c in debate["comments"]]
    stated = {p: g for p, g in groups.participants.items() if not p.startswith("comment:")}
    return dict(debate, comments=comments, groups=stated)


def shuffle_comments(debate: dict, rng: random.Random) -> dict:
    comments = list(debate["comments"])
    rng.shuffle(comments)
    return dict(debate, comments=comments)  # votes keep their order: the latest vote wins


def drop_group(debate: dict, groups: Groups, group: str) -> dict:
    """The debate without the comments of `group` and without the votes on them; its members stay."""
    removed = {cid for cid, g in groups.comments.items() if g == group}
    out = dict(debate, comments=[c for c in debate["comments"] if c["id"] not in removed])
    if debate.get("votes") is not None:
        out["votes"] = [v for v in debate["votes"] if v["comment"] not in removed]
    return out


def duplicate_comments(debate: dict) -> dict:
    """Every comment said twice by the same author, with the votes on it repeated on the copy."""
    copies = [dict(c, id=f"{c['id']}#dup") for c in debate["comments"]]
    out = dict(debate, comments=list(debate["comments"]) + copies)
    if debate.get("votes") is not None:
        out["votes"] = list(debate["votes"]) + [dict(v, comment=f"{v['comment']}#dup") for v in debate["votes"]]
    return out


def clone_participants(debate: dict) -> dict:
    """A second, identical copy of the debate merged into it: every participant has a twin who
    wrote a copy of their comments and cast their votes on the copies."""
    def twin(who):
        return f"{who}#twin"

    copies = []
    for c in debate["comments"]:
        copy = dict(c, id=f"{c['id']}#twin")
        if c.get("author"):
            copy["author"] = twin(c["author"])
        copies.append(copy)
    out = dict(debate, comments=list(debate["comments"]) + copies)
    if debate.get("votes") is not None:
        out["votes"] = list(debate["votes"]) + [
            dict(v, participant=twin(v["participant"]), comment=f"{v['comment']}#twin") for v in debate["votes"]]
    if debate.get("groups"):
        out["groups"] = {**debate["groups"], **{twin(p): g for p, g in debate["groups"].items()}}
    return out


# --- the tests -------------------------------------------------------------------------------


def order_sensitivity(debate: dict, summary: str, score: Score, groups: Groups, n_orders: int = 5, seed: int = 0,
                      regenerate: Regenerate | None = None) -> dict:
    """Min-group coverage over `n_orders` shuffled comment orders (the first is the original)."""
    pinned = pin_groups(debate, groups)
    rng = random.Random(f"{seed}:{debate['id']}")
    orders = [pinned] + [shuffle_comments(pinned, rng) for _ in range(n_orders - 1)]
    if regenerate is not None:
        results = score(pinned, regenerate(orders))
    else:
        results = [score(variant, [summary])[0] for variant in orders]
    values = [min_group_coverage(r) for r in results]
    return {"debate": debate["id"], "mode": "regenerated" if regenerate else "rescored", "n_orders": len(values),
            "min_group_coverage": values, "std": float(np.std(values)), "spread": float(max(values) - min(values))}


def minority_ablation(debate: dict, summary: str, score: Score, groups: Groups, group: str | None = None,
                      regenerate: Regenerate | None = None, tolerance: float = ABLATION_TOLERANCE) -> dict:
    """Remove `group`'s comments (default: the smallest group that wrote any) and compare every
    group's coverage.

    A group the ablated run no longer reports (its members have nothing left to be covered by)
    counts as coverage 0. `passed` is None (inconclusive) when the group was not covered at all to
    begin with: its coverage cannot fall.
    """
    sizes = groups.sizes()
    writers = {g: n for g, n in sizes.items() if g in set(groups.comments.values())}
    if len(sizes) < 2 or not writers:
        return {"debate": debate["id"], "skipped": f"needs two opinion groups or more, one of which wrote a comment; "
                                                    f"found {len(sizes)} group(s), {len(writers)} with comments"}
    group = group if group is not None else min(sorted(writers), key=lambda g: writers[g])
    pinned = pin_groups(debate, groups)
    ablated = drop_group(pinned, groups, group)
    if regenerate is not None:
        # Both summaries come from the model, so the difference is the ablation's alone.
        before, after = (group_coverage(r) for r in score(pinned, regenerate([pinned, ablated])))
    else:
        before = group_coverage(score(pinned, [summary])[0])
        after = group_coverage(score(ablated, [summary])[0]) if ablated["comments"] else {}
    deltas = {g: after.get(g, 0.0) - before[g] for g in before}
    others_hold = all(abs(d) <= tolerance for g, d in deltas.items() if g != group)
    covered = before.get(group, 0.0) > 0
    fell = deltas.get(group, 0.0) < 0
    return {
        "debate": debate["id"], "mode": "regenerated" if regenerate else "rescored", "group": group,
        "group_share": sizes[group] / sum(sizes.values()),
        "comments_removed": len(debate["comments"]) - len(ablated["comments"]),
        "before": before, "after": after, "deltas": deltas,
        "rule": f"coverage of group {group!r} must fall; every other group's must move by at most {tolerance:g}",
        "group_fell": bool(fell), "others_held": bool(others_hold),
        "passed": bool(fell and others_hold) if covered else None,
    }


def duplication_invariance(debate: dict, summary: str, score: Score, groups: Groups,
                           tolerance: float = DUPLICATION_TOLERANCE) -> dict:
    """The largest change of any score when comments are repeated or participants cloned."""
    pinned = pin_groups(debate, groups)
    base = scalar_scores(score(pinned, [summary])[0])
    variants = {}
    for name, variant in (("duplicate_comments", duplicate_comments(pinned)), ("clone_participants", clone_participants(pinned))):
        scores = scalar_scores(score(variant, [summary])[0])
        deltas = {k: scores[k] - base[k] for k in base if k in scores}
        worst = max(deltas, key=lambda k: abs(deltas[k]))
        variants[name] = {"max_abs_delta": abs(deltas[worst]), "worst_metric": worst, "deltas": deltas}
    passed = all(v["max_abs_delta"] <= tolerance for v in variants.values())
    return {"debate": debate["id"], "variants": variants, "tolerance": tolerance,
            "rule": f"no score may move by more than {tolerance:g}", "passed": bool(passed)}


def run_stress(debates: list[dict], summaries: list[str], score: Score, embed=None, n_orders: int = 5,
               seed: int = 0, regenerate: Regenerate | None = None) -> dict:
    """All three tests on each debate (with its first summary), and their summary."""
    order, ablation, duplication = [], [], []
    for debate, summary in zip(debates, summaries, strict=True):
        groups = resolve_groups(debate, embed=embed)
        order.append(order_sensitivity(debate, summary, score, groups, n_orders, seed, regenerate))
        ablation.append(minority_ablation(debate, summary, score, groups, regenerate=regenerate))
        duplication.append(duplication_invariance(debate, summary, score, groups))
    ran = [a for a in ablation if "skipped" not in a]
    return {
        "mode": "regenerated" if regenerate else "rescored",
        "comment_order": {"per_debate": order, "mean_std": float(np.mean([o["std"] for o in order])),
                          "max_spread": float(max(o["spread"] for o in order))},
        "minority_ablation": {"per_debate": ablation, "n": len(ran), "passed": sum(a["passed"] is True for a in ran),
                              "failed": sum(a["passed"] is False for a in ran),
                              "inconclusive": sum(a["passed"] is None for a in ran), "skipped": len(ablation) - len(ran),
                              "rule": "removing the comments of the smallest group that wrote any must lower its "
                                      "coverage (inconclusive if it had none) and move "
                                      f"every other group's by at most {ABLATION_TOLERANCE:g}"},
        "duplication": {"per_debate": duplication, "passed": sum(d["passed"] for d in duplication), "n": len(duplication),
                        "max_abs_delta": float(max(max(v["max_abs_delta"] for v in d["variants"].values())
                                                   for d in duplication))},
    } if debates else {}
