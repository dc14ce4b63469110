"""Stress tests (pluralign.eval.stress) on constructed debates whose answers are known.

The scorer here is a transparent word-overlap version of docs/design.md §4 (coverage of a comment = the
share of its words the summary contains; u_i = the best coverage among i's comments and the
comments i agreed with; G_g = mean u_i over g's members), so every expected value can be worked
out by hand. A test with the real PluralismScorer closes the file.
"""

import random
import re

import numpy as np
import pytest

from pluralign.data.groups import resolve_groups
from pluralign.eval.stress import (
    clone_participants,
    duplicate_comments,
    duplication_invariance,
    minority_ablation,
    order_sensitivity,
    run_stress,
    shuffle_comments,
)


def words(text):
    return set(re.findall(r"\w+", text.lower()))


def overlap_score(debate, summaries, first_k=None):
    """Word-overlap pluralism; with `first_k`, only the first k comments can count (a position-
    biased scorer, to show the order test sees it)."""
    groups = resolve_groups(debate)
    visible = debate["comments"][:first_k] if first_k else debate["comments"]
    agreed = {}
    for vote in debate.get("votes") or []:
        if vote["vote"] == 1:
            agreed.setdefault(vote["participant"], set()).add(vote["comment"])
    results = []
    for summary in summaries:
        said = words(summary)
        cov = {c["id"]: len(words(c["text"]) & said) / len(words(c["text"])) for c in visible}
        own = {}
        for c in debate["comments"]:
            own.setdefault(c.get("author"), set()).add(c["id"])
        coverage = {}
        for group in sorted(set(groups.participants.values())):
            members = [p for p, g in groups.participants.items() if g == group]
            utilities = [max([cov.get(cid, 0.0) for cid in own.get(p, set()) | agreed.get(p, set())], default=0.0)
                         for p in members]
            coverage[group] = float(np.mean(utilities))
        covered_count = sum(v >= 0.5 for v in cov.values())  # a count: not invariant under duplication
        metrics = {"group_coverage": coverage, "min_group_coverage": min(coverage.values()), "covered_count": covered_count}
        results.append({"pluralism": min(coverage.values()), "metrics": metrics, "signature": "test"})
    return results


def debate(votes=None):
    comments = [
        {"id": "a1", "text": "more parks and green trees", "author": "pa1", "group": "A"},
        {"id": "a2", "text": "green parks for children", "author": "pa2", "group": "A"},
        {"id": "a3", "text": "trees make parks green", "author": "pa3", "group": "A"},
        {"id": "b1", "text": "lower taxes for small shops", "author": "pb1", "group": "B"},
    ]
    d = {"id": "d1", "question": "What should the city fund?", "language": "en", "comments": comments}
    if votes is not None:
        d["votes"] = votes
    return d


BALANCED = "More parks and green trees for children. Lower taxes for small shops."
PARKS_ONLY = "More parks and green trees for children."


def test_order_rescored_is_zero_for_an_order_free_scorer():
    d = debate()
    result = order_sensitivity(d, BALANCED, overlap_score, resolve_groups(d), n_orders=6, seed=0)
    assert result["mode"] == "rescored" and result["n_orders"] == 6
    assert result["spread"] == 0.0 and result["std"] == 0.0
    # A: pa1 and pa2 fully covered, pa3 for 3 of 4 words ("make" is missing); B fully covered.
    assert result["min_group_coverage"][0] == pytest.approx((1 + 1 + 3 / 4) / 3)


def test_order_sees_a_position_biased_scorer():
    d = debate()
    biased = lambda deb, s: overlap_score(deb, s, first_k=2)  # noqa: E731
    result = order_sensitivity(d, BALANCED, biased, resolve_groups(d), n_orders=8, seed=0)
    values = result["min_group_coverage"]
    assert values[0] == 0.0  # in the original order b1 is 4th: invisible, so B's coverage is 0
    assert result["spread"] == pytest.approx(max(values) - min(values))
    assert result["spread"] > 0
    assert result["std"] == pytest.approx(float(np.std(values)))


def test_order_regenerated_measures_a_lead_biased_model():
    d = debate()
    lead = lambda variants: [" ".join(c["text"] for c in v["comments"][:2]) for v in variants]  # noqa: E731
    result = order_sensitivity(d, "", overlap_score, resolve_groups(d), n_orders=8, seed=0, regenerate=lead)
    # The summary of each order is scored on the original debate; B is covered only when b1 leads.
    rng = random.Random("0:d1")
    orders = [d] + [shuffle_comments(d, rng) for _ in range(7)]
    expected = [overlap_score(d, [s])[0]["metrics"]["min_group_coverage"] for s in lead(orders)]
    assert result["mode"] == "regenerated"
    assert result["min_group_coverage"] == pytest.approx(expected)
    assert result["spread"] > 0


def test_ablation_rescored_drops_the_minority_and_holds_the_rest():
    d = debate()
    result = minority_ablation(d, BALANCED, overlap_score, resolve_groups(d))
    assert result["group"] == "B"  # the smallest group by default
    assert result["before"]["B"] == 1.0
    assert result["deltas"]["B"] == -1.0  # pb1 has nothing left to be covered by
    assert result["deltas"]["A"] == 0.0
    assert result["passed"] is True


def test_ablation_fails_when_another_group_depended_on_the_removed_comments():
    # Group A's members agree with b1, and the summary covers only b1: removing B hurts A too.
    votes = [{"participant": p, "comment": "b1", "vote": 1} for p in ("pa1", "pa2", "pa3")]
    d = debate(votes)
    result = minority_ablation(d, "Lower taxes for small shops.", overlap_score, resolve_groups(d))
    assert result["deltas"]["A"] < -0.05
    assert result["group_fell"] and not result["others_held"] and result["passed"] is False


def test_ablation_regenerated_tells_a_faithful_model_from_a_deaf_one():
    d = debate()
    faithful = lambda variants: [" ".join(c["text"] for c in v["comments"]) for v in variants]  # noqa: E731
    deaf = lambda variants: [BALANCED for _ in variants]  # noqa: E731
    good = minority_ablation(d, BALANCED, overlap_score, resolve_groups(d), regenerate=faithful)
    bad = minority_ablation(d, BALANCED, overlap_score, resolve_groups(d), regenerate=deaf)
    assert good["passed"] and good["deltas"]["B"] < 0 and good["deltas"]["A"] == 0
    assert bad["passed"] is False and bad["deltas"]["B"] == 0  # ignoring the input cannot lose the minority


def test_ablation_targets_the_smallest_group_that_wrote_and_knows_when_it_cannot_tell():
    d = debate()
    d["groups"] = {"pc1": "C"}  # a one-member group that wrote nothing: nothing of it to remove
    result = minority_ablation(d, BALANCED, overlap_score, resolve_groups(d))
    assert result["group"] == "B" and result["comments_removed"] == 1
    # A summary that never covered B: its coverage cannot fall, so the test cannot tell.
    unseen = minority_ablation(d, "Parks and trees.", overlap_score, resolve_groups(d))
    assert unseen["before"]["B"] == 0.0 and unseen["passed"] is None


def test_ablation_skips_a_debate_with_one_group():
    d = debate()
    d["comments"] = d["comments"][:3]
    assert "skipped" in minority_ablation(d, BALANCED, overlap_score, resolve_groups(d))


def test_duplication_variants_are_what_they_say():
    votes = [{"participant": "pb1", "comment": "a1", "vote": -1}]
    d = debate(votes)
    dup = duplicate_comments(d)
    assert len(dup["comments"]) == 8 and {c["author"] for c in dup["comments"]} == {c["author"] for c in d["comments"]}
    assert len(dup["votes"]) == 2 and dup["votes"][1]["comment"] == "a1#dup"
    twins = clone_participants(d)
    groups = resolve_groups(twins)
    assert groups.sizes() == {"A": 6, "B": 2}
    assert twins["votes"][1] == {"participant": "pb1#twin", "comment": "a1#twin", "vote": -1}


def test_duplication_invariance_passes_means_and_catches_counts():
    d = debate()
    result = duplication_invariance(d, BALANCED, overlap_score, resolve_groups(d))
    variants = result["variants"]
    assert variants["duplicate_comments"]["deltas"]["pluralism"] == 0.0
    assert variants["clone_participants"]["deltas"]["min_group_coverage"] == 0.0
    # covered_count counts comments, so doubling them doubles it: the test must flag it.
    assert variants["duplicate_comments"]["worst_metric"] == "covered_count"
    assert variants["duplicate_comments"]["max_abs_delta"] == 4.0
    assert result["passed"] is False


def test_run_stress_summarises_every_test():
    d = debate()
    report = run_stress([d, dict(debate(), id="d2")], [BALANCED, PARKS_ONLY], overlap_score, n_orders=3)
    assert report["comment_order"]["max_spread"] == 0.0
    assert report["minority_ablation"]["n"] == 2
    ablation = report["minority_ablation"]
    assert ablation["per_debate"][0]["passed"] is True
    assert ablation["passed"] + ablation["failed"] + ablation["inconclusive"] == 2
    assert report["duplication"]["n"] == 2


def test_with_the_real_pluralism_scorer():
    """The real scorer (lexical backend) is order-free, and removing the minority's only comment
    takes its coverage away (its member has nothing left to be covered by)."""
    from pluralign.rewards.pluralism import PluralismScorer

    score = PluralismScorer("lexical").score
    d = debate()
    groups = resolve_groups(d)
    order = order_sensitivity(d, BALANCED, score, groups, n_orders=4, seed=1)
    # (A's three comments make one point: against the two others saying the same, the sentence that
    # states it speaks of each only a little more than of the typical comment, so A's coverage is low.)
    assert order["spread"] == 0.0 and order["min_group_coverage"][0] > 0.1
    ablation = minority_ablation(d, BALANCED, score, groups)
    assert ablation["before"]["B"] > 0.9 and "B" not in ablation["after"]
    assert ablation["deltas"]["B"] == pytest.approx(-ablation["before"]["B"])
