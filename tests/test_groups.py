"""Opinion groups: given, from votes the Polis way (checked against the exports), from embeddings."""

import os

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from pluralign.data.groups import groups_from_votes, resolve_groups
from pluralign.data.polis import load_polis
from pluralign.data.synth import SynthSpec, synth_debates

# Adjusted Rand index of our vote-based groups against the export's group-id, measured on this
# machine (see the report of issue 2): austria-climate 0.800, bg2050 0.346, biodiversity 0.775,
# ubi 0.095, vtaiwan 0.720. Each floor sits a little under its measurement. The ubi export groups
# everyone (even one-vote participants) into 4 groups, which silhouette over 2..5 does not pick.
ARI_FLOORS = {
    "austria-climate.5twd2jsnkf.2022-08-08": 0.75,
    "bg2050-volunteers": 0.30,
    "scoop-hivemind.biodiversity": 0.72,
    "scoop-hivemind.ubi": 0.05,
    "vtaiwan.uberx": 0.67,
}


def strip_groups(debate):
    bare = {k: v for k, v in debate.items() if k not in ("groups", "group_stances")}
    bare["comments"] = [{k: v for k, v in c.items() if k != "group"} for c in debate["comments"]]
    return bare


def ari(truth: dict, found: dict) -> float:
    common = sorted(set(truth) & set(found))
    return adjusted_rand_score([truth[p] for p in common], [found[p] for p in common])


@pytest.mark.parametrize("name", sorted(ARI_FLOORS))
def test_vote_groups_agree_with_the_polis_export(polis_dir, name):
    debate, _ = load_polis(os.path.join(polis_dir, name), language="xx")
    groups = groups_from_votes(debate)
    score = ari(debate["groups"], groups.participants)
    print(f"ARI {name}: {score:.3f} (k={groups.details['k']}, {groups.details['n_participants_used']} participants)")
    assert score >= ARI_FLOORS[name]
    assert groups.source == "votes" and 2 <= groups.details["k"] <= 5
    # Every comment whose author or voters were clustered has a group.
    assert len(groups.comments) >= 0.9 * len(debate["comments"])


def test_given_groups_come_first():
    (debate,) = synth_debates(SynthSpec(n_debates=1, group_sizes=(4, 3)))
    groups = resolve_groups(debate)
    assert groups.source == "given"
    assert groups.participants == debate["groups"]
    assert groups.comments == {c["id"]: c["group"] for c in debate["comments"]}


def test_given_groups_place_comments_of_ungrouped_authors_by_agreement():
    debate = {
        "id": "d", "question": "Q?", "language": "en", "groups": {"p1": "a", "p2": "a", "p3": "b"},
        "comments": [{"id": "c1", "text": "x", "author": "p1"}, {"id": "c2", "text": "y", "author": "lurker"},
                     {"id": "c3", "text": "z"}, {"id": "c4", "text": "nobody grouped voted on this"}],
        "votes": [{"participant": "p1", "comment": "c2", "vote": -1}, {"participant": "p2", "comment": "c2", "vote": 1},
                  {"participant": "p3", "comment": "c2", "vote": 1}, {"participant": "p3", "comment": "c3", "vote": -1},
                  {"participant": "p1", "comment": "c3", "vote": 0}, {"participant": "lurker", "comment": "c4", "vote": 1}],
    }
    groups = resolve_groups(debate)
    assert groups.source == "given" and groups.participants == debate["groups"]
    # c2: group a's mean vote is 0, group b's is 1; c3: a 0 against b -1.
    assert groups.comments == {"c1": "a", "c2": "b", "c3": "a"}


def test_clear_vote_blocs_are_recovered_exactly():
    # Two groups with opposite stances (affinity -1): the votes separate them without error.
    for debate in synth_debates(SynthSpec(n_debates=3, group_sizes=(10, 6), seed=3)):
        groups = resolve_groups(strip_groups(debate))
        assert groups.source == "votes"
        assert ari(debate["groups"], groups.participants) == 1.0
        assert groups.details["k"] == 2 and groups.details["n_participants_used"] == 16
        assert 0 < groups.details["silhouette"] <= 1
        # Comments take their author's group.
        for comment in debate["comments"]:
            assert groups.comments[comment["id"]] == groups.participants[comment["author"]]
        assert groups.sizes() == {"0": 10, "1": 6}  # group "0" is the largest


def test_vote_groups_polis_rules():
    # 12 participants in two blocs voting on 8 comments; "late" voted twice (the last vote counts),
    # "few" voted on fewer than min(7, 8) comments and stays out.
    comments = [{"id": f"c{i}", "text": f"comment {i}", "author": "a" if i < 4 else "b"} for i in range(8)]
    comments.append({"id": "orphan", "text": "nobody clustered wrote this"})
    votes = []
    for p in range(12):
        side = 1 if p < 6 else -1
        for i in range(8):
            votes.append({"participant": f"p{p}", "comment": f"c{i}", "vote": side if i < 4 else -side})
        votes.append({"participant": f"p{p}", "comment": "orphan", "vote": side})
    for who, side in (("a", 1), ("b", -1)):
        votes += [{"participant": who, "comment": f"c{i}", "vote": side if i < 4 else -side} for i in range(8)]
        votes.append({"participant": who, "comment": "orphan", "vote": side})
    votes += [{"participant": "late", "comment": f"c{i}", "vote": -1 if i < 4 else 1} for i in range(8)]
    votes += [{"participant": "late", "comment": f"c{i}", "vote": 1 if i < 4 else -1} for i in range(8)]
    votes.append({"participant": "late", "comment": "orphan", "vote": 1})
    votes += [{"participant": "few", "comment": f"c{i}", "vote": 1} for i in range(6)]
    debate = {"id": "d", "question": "Q?", "language": "en", "comments": comments, "votes": votes}

    groups = resolve_groups(debate)
    assert groups.details["min_votes"] == 7 and groups.details["n_participants_used"] == 15
    assert groups.details["k"] == 2 and groups.sizes() == {"0": 8, "1": 7}
    assert "few" not in groups.participants
    assert groups.participants["late"] == groups.participants["a"] == groups.participants["p0"]
    assert groups.participants["b"] == groups.participants["p11"] != groups.participants["a"]
    assert groups.comments["c0"] == groups.participants["a"] and groups.comments["c7"] == groups.participants["b"]
    # No clustered author: the comment goes to the group that agrees with it most.
    assert groups.comments["orphan"] == groups.participants["p0"]


def test_too_few_voters_make_one_group():
    debate = {"id": "d", "question": "Q?", "language": "en", "comments": [{"id": "c", "text": "t"}],
              "votes": [{"participant": "p", "comment": "c", "vote": 1}]}
    groups = resolve_groups(debate)
    assert groups.participants == {"p": "0"} and groups.details["k"] == 1


def keyword_embed(texts):
    """A real, transparent embedding: which stance words a text contains."""
    words = ("support", "oppose", "conditions")
    rows = np.array([[float(w in t) for w in words] + [0.1] for t in texts])
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_embedding_groups_without_votes_or_groups():
    texts = ["I support it", "I support it fully", "we support this", "I oppose it", "I oppose it strongly",
             "only under conditions", "with conditions", "I oppose that too"]
    comments = [{"id": f"c{i}", "text": t} for i, t in enumerate(texts)]
    comments[1]["author"] = comments[2]["author"] = "ann"  # one pseudo-participant for both
    debate = {"id": "d", "question": "Q?", "language": "en", "comments": comments}

    with pytest.raises(ValueError, match="neither groups nor votes; pass `embed`"):
        resolve_groups(debate)
    groups = resolve_groups(debate, embed=keyword_embed)
    assert groups.source == "embeddings" and groups.details["k"] == 3
    found = [groups.comments[c["id"]] for c in comments]
    assert adjusted_rand_score([0, 0, 0, 1, 1, 2, 2, 1], found) == 1.0
    assert set(groups.participants) == {"comment:c0", "ann", "comment:c3", "comment:c4", "comment:c5", "comment:c6", "comment:c7"}
    assert groups.participants["ann"] == groups.comments["c0"]
    assert groups.details["n_participants_used"] == 7


def test_vote_groups_are_deterministic():
    (debate,) = synth_debates(SynthSpec(n_debates=1, group_sizes=(12, 8, 3), seed=5))
    first, second = groups_from_votes(debate), groups_from_votes(debate)
    assert first.participants == second.participants and first.details == second.details
