"""Synthetic debates: seeded, valid, with ground-truth groups, distinct arguments and consistent votes."""

import argparse
from collections import Counter, defaultdict

import pytest

from pluralign.data import check_debate
from pluralign.data.polis import detect_language
from pluralign.data.synth import TOPICS, SynthSpec, synth_debates


def test_same_spec_same_debates_other_seed_other_debates():
    spec = SynthSpec(n_debates=3, group_sizes=(5, 3, 2), languages=("en", "fr", "de"), seed=7)
    assert list(synth_debates(spec)) == list(synth_debates(spec))
    other = SynthSpec(n_debates=3, group_sizes=(5, 3, 2), languages=("en", "fr", "de"), seed=8)
    assert [d["votes"] for d in synth_debates(spec)] != [d["votes"] for d in synth_debates(other)]


def test_ground_truth_groups_sizes_and_languages():
    spec = SynthSpec(n_debates=6, group_sizes=(12, 8, 3), comments_per_participant=2, languages=("en", "fr", "de"))
    debates = list(synth_debates(spec))
    assert [d["language"] for d in debates] == ["en", "fr", "de"] * 2
    assert len({d["id"] for d in debates}) == 6
    for debate in debates:
        assert check_debate(debate) == []
        assert Counter(debate["groups"].values()) == {"g1": 12, "g2": 8, "g3": 3}
        assert debate["group_stances"] == {"g1": "support", "g2": "oppose", "g3": "conditional"}
        assert len(debate["comments"]) == 2 * 23
        assert all(c["group"] == debate["groups"][c["author"]] for c in debate["comments"])
        assert debate["question"] in {t[debate["language"]]["question"] for t in TOPICS.values()}
        # The text is in the debate's language (langdetect, independent of the templates).
        assert detect_language([c["text"] for c in debate["comments"]]) == debate["language"]


def reason_of(text):
    return text.split(". ", 1)[1] if ". " in text else text.split("? ", 1)[-1]


def test_groups_argue_with_their_own_reasons():
    # Five groups: stances support, oppose, conditional, support, oppose; groups sharing a stance
    # split its reasons, so no reason is used by two groups.
    spec = SynthSpec(n_debates=3, group_sizes=(10, 10, 10, 10, 10), comments_per_participant=3)
    for debate in synth_debates(spec):
        reasons = defaultdict(set)
        for comment in debate["comments"]:
            reasons[comment["group"]].add(reason_of(comment["text"]))
        assert debate["group_stances"]["g4"] == "support" and debate["group_stances"]["g5"] == "oppose"
        groups = sorted(reasons)
        assert len(groups) == 5
        for i, a in enumerate(groups):
            for b in groups[i + 1:]:
                assert not reasons[a] & reasons[b], (a, b)
        # Comments vary within a group (several frames and reasons).
        assert all(len({c["text"] for c in debate["comments"] if c["group"] == g}) > 3 for g in groups)


def test_votes_follow_the_groups_with_noise():
    spec = SynthSpec(n_debates=4, group_sizes=(15, 15, 4), seed=1)
    own, opposite = [], []
    for debate in synth_debates(spec):
        group_of = {c["id"]: c["group"] for c in debate["comments"]}
        author_of = {c["id"]: c["author"] for c in debate["comments"]}
        for vote in debate["votes"]:
            voter, comment = debate["groups"][vote["participant"]], group_of[vote["comment"]]
            if author_of[vote["comment"]] == vote["participant"]:
                assert vote["vote"] == 1  # authors agree with what they wrote
            elif voter == comment:
                own.append(vote["vote"])
            elif {voter, comment} == {"g1", "g2"}:  # support against oppose
                opposite.append(vote["vote"])
    assert sum(own) / len(own) > 0.6 and sum(opposite) / len(opposite) < -0.6
    assert -1 in own and 1 in opposite and 0 in own  # noise: not a caricature


def test_small_minority_and_single_group():
    (debate,) = synth_debates(SynthSpec(n_debates=1, group_sizes=(20, 1)))
    assert Counter(debate["groups"].values()) == {"g1": 20, "g2": 1}
    assert check_debate(debate) == []


def test_spec_from_cli_and_bad_specs():
    args = argparse.Namespace(n_debates=2, group_sizes="12, 8,3", comments_per_participant=2, languages="en,fr", seed=4)
    spec = SynthSpec.from_cli(args)
    assert (spec.n_debates, spec.group_sizes, spec.comments_per_participant, spec.languages, spec.seed) == \
        (2, (12, 8, 3), 2, ("en", "fr"), 4)
    with pytest.raises(ValueError, match="comma-separated integers"):
        SynthSpec.from_cli(argparse.Namespace(**{**vars(args), "group_sizes": "12,big"}))
    with pytest.raises(ValueError, match="no synthetic templates for language"):
        SynthSpec(languages=("en", "xx"))
    with pytest.raises(ValueError, match="positive"):
        SynthSpec(group_sizes=(3, 0))
