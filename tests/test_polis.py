"""The Polis export loader, on the five shipped conversations and on hand-made export folders."""

import csv
import os
from collections import Counter

import pytest

from pluralign.data import DataError, check_debate
from pluralign.data.polis import load_polis

CONVERSATIONS = ["austria-climate.5twd2jsnkf.2022-08-08", "bg2050-volunteers", "scoop-hivemind.biodiversity",
                 "scoop-hivemind.ubi", "vtaiwan.uberx"]
LANGUAGES = {"austria-climate.5twd2jsnkf.2022-08-08": "de", "bg2050-volunteers": "en",
             "scoop-hivemind.biodiversity": "en", "scoop-hivemind.ubi": "en", "vtaiwan.uberx": "zh-tw"}


def read_csv(folder, name):
    with open(os.path.join(folder, name), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_counts(folder):
    """What the files say, computed directly: accepted comments, their final votes, voters and groups."""
    accepted = {r["comment-id"]: r["author-id"] for r in read_csv(folder, "comments.csv") if r["moderated"] != "-1"}
    latest = {}
    for r in read_csv(folder, "votes.csv"):
        if r["comment-id"] in accepted:
            key = (r["voter-id"], r["comment-id"])
            if key not in latest or int(r["timestamp"]) >= latest[key][0]:
                latest[key] = (int(r["timestamp"]), int(r["vote"]))
    participants = {voter for voter, _ in latest} | set(accepted.values())
    groups = Counter(r["group-id"] for r in read_csv(folder, "participants-votes.csv")
                     if r["group-id"] and r["participant"] in participants)
    with open(os.path.join(folder, "summary.csv"), encoding="utf-8", newline="") as handle:
        summary = {row[0]: row[1] for row in csv.reader(handle) if len(row) == 2}
    return {"comments": len(accepted), "votes": latest, "participants": len(participants),
            "group_sizes": dict(groups), "n_groups": int(summary["groups"]), "topic": summary["topic"]}


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_shipped_conversation_counts_match_the_files(polis_dir, name):
    folder = os.path.join(polis_dir, name)
    debate, report = load_polis(folder)
    expected = expected_counts(folder)

    assert check_debate(debate) == []
    assert debate["id"] == name and debate["question"].startswith(expected["topic"].strip())
    assert debate["language"] == LANGUAGES[name]
    assert len(debate["comments"]) == expected["comments"] == report.comments_kept
    assert {(v["participant"], v["comment"]): v["vote"] for v in debate["votes"]} == \
        {key: vote for key, (_, vote) in expected["votes"].items()}
    participants = {v["participant"] for v in debate["votes"]} | {c["author"] for c in debate["comments"]}
    assert len(participants) == expected["participants"] == report.participants
    assert Counter(debate["groups"].values()) == expected["group_sizes"]
    assert len(expected["group_sizes"]) == expected["n_groups"]  # summary.csv's own group count
    # Nothing vanishes: every vote row is kept, superseded or skipped for a stated reason.
    assert report.votes_read == report.votes_kept + sum(n for r, n in report.skipped.items() if r.startswith("votes"))


# --- hand-made exports: any conversation in the format, both layouts -------------------------

OLD_COMMENTS = [
    ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body"],
    ["100", "Mon", "0", "0", "2", "0", "1", "Il faut plus de pistes cyclables en ville."],
    ["101", "Mon", "1", "1", "0", "1", "0", "Les voitures doivent garder leur place,\nsur deux lignes, \"avec des guillemets\"."],
    ["102", "Mon", "2", "2", "0", "0", "-1", "Spam spam spam, achetez maintenant."],
    ["103", "Mon", "3", "0", "1", "0", "1", "Les transports publics devraient être gratuits pour tous."],
]
NEW_COMMENTS = [
    ["timestamp", "comment-id", "author-id", "agrees", "disagrees", "moderated", "is-meta", "is-seed",
     "group-informed-consensus", "comment-body"],
    *[[r[0], *r[2:7], "false", "true", "0.5", r[7]] for r in OLD_COMMENTS[1:]],
]
VOTES = [
    ["timestamp", "datetime", "comment-id", "voter-id", "vote"],
    ["200", "Mon", "0", "0", "1"],
    ["205", "Mon", "0", "1", "1"],   # the latest vote of voter 1 on comment 0: it wins
    ["201", "Mon", "0", "1", "-1"],  # older than the row above: loses although listed after it
    ["202", "Mon", "1", "0", "-1"],
    ["203", "Mon", "1", "1", "1"],
    ["204", "Mon", "2", "1", "1"],   # on a moderated-out comment
    ["206", "Mon", "3", "3", "0"],
    ["207", "Mon", "3", "3", "1"],   # changes the pass to agree
    ["208", "Mon", "3", "4", "7"],   # not a vote value
]
PARTICIPANTS = [
    ["participant", "xid", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree", "0", "1", "3"],
    ["0", "", "0", "2", "2", "1", "1", "1", "-1", ""],
    ["1", "", "1", "1", "2", "2", "0", "1", "1", ""],
    ["3", "", "", "0", "1", "1", "0", "", "", "1"],
    ["4", "", "", "0", "0", "0", "0", "", "", ""],
]
SUMMARY = [["topic", "Mobilité à Lyon"], ["url", "https://pol.is/example"], ["groups", "2"],
           ["conversation-description", "Comment se déplacer en 2030 ?\nDites-le nous."]]


def write_export(folder, comments):
    folder.mkdir()
    for name, rows in [("comments.csv", comments), ("votes.csv", VOTES),
                       ("participants-votes.csv", PARTICIPANTS), ("summary.csv", SUMMARY)]:
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
    return folder


@pytest.mark.parametrize("layout", ["old", "new"])
def test_hand_made_export_in_both_layouts(tmp_path, layout):
    folder = write_export(tmp_path / f"lyon-{layout}", OLD_COMMENTS if layout == "old" else NEW_COMMENTS)
    debate, report = load_polis(folder)

    assert check_debate(debate) == []
    assert debate["id"] == f"lyon-{layout}"
    assert debate["question"] == "Mobilité à Lyon\n\nComment se déplacer en 2030 ?\nDites-le nous."
    assert debate["language"] == "fr" and report.language_detected
    assert [c["id"] for c in debate["comments"]] == ["0", "1", "3"]
    assert debate["comments"][1]["text"] == "Les voitures doivent garder leur place,\nsur deux lignes, \"avec des guillemets\"."
    assert [c["author"] for c in debate["comments"]] == ["0", "1", "0"]
    assert debate["votes"] == [
        {"participant": "0", "comment": "0", "vote": 1}, {"participant": "1", "comment": "0", "vote": 1},
        {"participant": "0", "comment": "1", "vote": -1}, {"participant": "1", "comment": "1", "vote": 1},
        {"participant": "3", "comment": "3", "vote": 1},
    ]
    assert debate["groups"] == {"0": "0", "1": "1"}
    assert report.skipped == {
        "comments moderated out (moderated = -1)": 1,
        "votes on comments left out (moderated out or empty)": 1,
        "votes superseded by a later vote of the same participant": 2,
        "votes with a value outside 1, 0, -1": 1,
        "participants not in an opinion group (empty group-id)": 1,
        "participants in participants-votes.csv with no vote on a kept comment": 1,
    }
    text = report.describe()
    assert "comments: 3 kept of 4 read" in text and "votes superseded" in text


def test_sampling_is_seeded_and_restricts_votes(tmp_path):
    folder = write_export(tmp_path / "lyon", OLD_COMMENTS)
    first, report = load_polis(folder, max_comments=2, sample="first", language="fr", debate_id="x")
    assert [c["id"] for c in first["comments"]] == ["0", "1"]
    assert {v["comment"] for v in first["votes"]} == {"0", "1"}
    assert "3" not in first["groups"] and not report.language_detected
    assert report.skipped["comments not sampled (--max-comments 2, first)"] == 1

    most, _ = load_polis(folder, max_comments=1, sample="most-voted", language="fr")
    assert [c["id"] for c in most["comments"]] == ["0"]  # two final votes each on 0 and 1: the lower id wins

    runs = [load_polis(folder, max_comments=2, sample="random", seed=s, language="fr")[0] for s in (0, 0, 1, 2, 3)]
    assert runs[0] == runs[1]
    assert len({tuple(c["id"] for c in r["comments"]) for r in runs}) > 1

    with pytest.raises(ValueError, match="sample must be one of"):
        load_polis(folder, max_comments=2, sample="best")
    with pytest.raises(ValueError, match="max_comments must be at least 1"):
        load_polis(folder, max_comments=0)


def test_broken_export_names_the_file(tmp_path):
    folder = write_export(tmp_path / "lyon", OLD_COMMENTS)
    (folder / "votes.csv").unlink()
    with pytest.raises(DataError, match=r"votes\.csv: <file>: missing"):
        load_polis(folder)
    with open(folder / "votes.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["timestamp", "comment-id", "voter-id"], ["1", "0", "0"]])
    with pytest.raises(DataError, match=r"votes\.csv:1: vote: column missing"):
        load_polis(folder)
    with open(folder / "votes.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([VOTES[0], ["1", "Mon", "0", "0", "yes"]])
    with pytest.raises(DataError, match=r"votes\.csv:2: vote: must be an integer"):
        load_polis(folder)
