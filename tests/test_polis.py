"""The Polis export loader: on the 16 real exports shipped in data/polis/raw (full and partial),
and on the hand-made export folders of tests/fixtures/polis (one per case, see make_fixtures.py)."""

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

from pluralign.cli import main
from pluralign.data import DataError, check_debate
from pluralign.data.polis import load_polis, text_groups

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "polis" / "raw"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "polis"


def read_csv(folder, name):
    with open(folder / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def conversations():
    return {row["conversation"]: row for row in read_csv(RAW, "conversations.csv")}


def expected_counts(folder):
    """What the files say, computed directly: kept comments, their final votes (from votes.csv,
    else from the participants-votes matrix), every participant's group, the topic."""
    kept = {r["comment-id"]: r["author-id"] for r in read_csv(folder, "comments.csv")
            if r["moderated"] != "-1" and r["comment-body"].strip()}
    final = {}
    if (folder / "votes.csv").exists():
        latest = {}
        for r in read_csv(folder, "votes.csv"):
            key = (r["voter-id"], r["comment-id"])
            if r["comment-id"] in kept and (key not in latest or int(r["timestamp"]) >= latest[key][0]):
                latest[key] = (int(r["timestamp"]), int(r["vote"]))
        final = {key: vote for key, (_, vote) in latest.items()}
    matrix = read_csv(folder, "participants-votes.csv") if (folder / "participants-votes.csv").exists() else []
    if matrix and not final:
        final = {(r["participant"], c): int(v) for r in matrix for c, v in r.items() if c in kept and v != ""}
    groups = {r["participant"]: r["group-id"] for r in matrix if r["group-id"]}
    with open(folder / "summary.csv", encoding="utf-8", newline="") as handle:
        summary = {row[0]: row[1] for row in csv.reader(handle) if len(row) == 2}
    return {"comments": len(kept), "votes": final, "groups": groups, "topic": summary["topic"],
            "participants": {p for p, _ in final} | set(kept.values()) | set(groups)}


@pytest.mark.parametrize("name", sorted(conversations()))
def test_every_real_export_imports(name):
    folder = RAW / name
    debate, report = load_polis(folder)
    expected = expected_counts(folder)

    assert check_debate(debate) == []
    assert debate["id"] == name and debate["question"].startswith(expected["topic"].strip())
    assert debate["language"] == conversations()[name]["language"] and report.language_detected
    assert len(debate["comments"]) == expected["comments"] == report.comments_kept
    assert {(v["participant"], v["comment"]): v["vote"] for v in debate.get("votes", [])} == expected["votes"]
    assert report.participants == len(expected["participants"])
    # Every group assignment of the export is kept, also of those who voted only on comments left out.
    assert debate.get("groups", {}) == expected["groups"]
    assert report.votes_read == report.votes_kept + sum(n for r, n in report.skipped.items() if r.startswith("votes"))
    text = report.describe()
    if not (folder / "participants-votes.csv").exists():  # comments and summary only
        assert debate["group_source"] == "text" and "votes" not in debate and "groups" not in debate
        assert {c["group"] for c in debate["comments"]} == set(report.group_sizes)
        assert 2 <= debate["group_method"]["k"] <= 5
        assert "votes.csv: no votes at all" in text and "formed from the comments' text" in text
    else:
        assert debate["group_source"] == "polis" and report.group_sizes == dict(Counter(expected["groups"].values()))
    if not (folder / "votes.csv").exists() and (folder / "participants-votes.csv").exists():
        assert report.votes_from == "participants-votes.csv"
        assert "votes.csv: votes read from participants-votes.csv (final votes only" in text
    else:
        assert "partial export" not in text or debate["group_source"] == "text"


@pytest.mark.parametrize("name", ["scoop-hivemind.ubi", "vtaiwan.uberx"])
def test_votes_from_the_matrix_equal_the_final_votes_of_votes_csv(tmp_path, name):
    partial = tmp_path / name
    shutil.copytree(RAW / name, partial, ignore=shutil.ignore_patterns("votes.csv"))
    full, _ = load_polis(RAW / name, language="xx")
    rebuilt, report = load_polis(partial, language="xx")
    assert rebuilt["votes"] == full["votes"] and rebuilt["groups"] == full["groups"]
    assert rebuilt["comments"] == full["comments"] and report.votes_from == "participants-votes.csv"


# --- hand-made export folders, one per case --------------------------------------------------

FULL_VOTES = [
    {"participant": "0", "comment": "0", "vote": 1}, {"participant": "1", "comment": "0", "vote": 1},
    {"participant": "0", "comment": "1", "vote": -1}, {"participant": "1", "comment": "1", "vote": 1},
    {"participant": "3", "comment": "3", "vote": 1},
]


def test_item_11_full_export_keeps_every_group_assignment():
    debate, report = load_polis(FIXTURES / "full")
    assert check_debate(debate) == []
    assert debate["votes"] == FULL_VOTES
    # Participant 5 voted only on the moderated-out comment: they keep their group all the same.
    assert debate["groups"] == {"0": "0", "1": "1", "5": "1"}
    assert debate["group_source"] == "polis" and report.group_sizes == {"0": 1, "1": 2}
    assert (report.participants, report.participants_grouped, report.grouped_without_votes) == (4, 3, 1)
    assert report.missing == []
    assert "3 in opinion groups, of whom 1 voted only on comments left out" in report.describe()


def test_export_without_votes_csv_reads_the_matrix():
    debate, report = load_polis(FIXTURES / "no-votes-csv")
    full, _ = load_polis(FIXTURES / "full")
    assert check_debate(debate) == []
    assert debate["votes"] == full["votes"] == FULL_VOTES
    assert debate["groups"] == full["groups"]
    assert report.votes_from == "participants-votes.csv" and report.votes_read == 7
    assert report.skipped["votes on comments left out (moderated out or empty)"] == 2
    assert "votes.csv: votes read from participants-votes.csv (final votes only" in report.describe()


def test_export_of_comments_only_gets_groups_from_the_text():
    debate, report = load_polis(FIXTURES / "comments-only")
    assert check_debate(debate) == []
    assert "votes" not in debate and "groups" not in debate
    assert debate["group_source"] == report.group_source == "text"
    # Two topics of four comments each (bike lanes, taxes): the text groups find them.
    assert [c["group"] for c in debate["comments"]] == ["0"] * 4 + ["1"] * 4
    assert debate["group_method"]["k"] == 2 and debate["group_method"]["method"].startswith("tfidf")
    assert report.group_sizes == {"0": 4, "1": 4}
    assert load_polis(FIXTURES / "comments-only")[0] == debate  # seeded: the same groups every time
    text = report.describe()
    assert "(source: text; comments per group)" in text
    assert "participants-votes.csv: no Polis opinion groups" in text and "votes.csv: no votes at all" in text


def test_text_groups_work_on_any_script_and_need_shared_text():
    labels, method = text_groups(["你好世界", "你好朋友", "天氣很好", "天氣不好", "我們的世界"])
    assert labels == ["0", "0", "1", "1", "0"] and method["k"] == 2  # greetings and world / weather
    labels, method = text_groups(["a", "b", "c", "d", "e"])
    assert labels == ["0"] * 5 and method["k"] == 1 and "too little shared text" in method["reason"]


@pytest.mark.parametrize("folder, where", [
    ("header-only", r"header-only/comments\.csv:1: <file>: a header and no comment rows"),
    ("cut-votes", r"cut-votes/votes\.csv:10: vote: the row has 4 fields, the header 5; the file looks cut short"),
    ("latin1", r"latin1/comments\.csv:2: comment-body: bytes are not UTF-8 \(byte 0xe9"),
])
def test_item_11_damaged_exports_give_one_located_error(tmp_path, capsys, folder, where):
    with pytest.raises(DataError, match=where):
        load_polis(FIXTURES / folder)
    out = tmp_path / "debate.jsonl"
    assert main(["data", "import-polis", str(FIXTURES / folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and err.count(":") >= 3
    assert not out.exists()


def test_a_quoted_comment_cut_short_is_located(tmp_path):
    folder = tmp_path / "cut-comments"
    shutil.copytree(FIXTURES / "full", folder)
    data = (folder / "comments.csv").read_bytes()
    (folder / "comments.csv").write_bytes(data[:data.index(b"sur deux lignes")])  # inside the quotes of comment 1
    with pytest.raises(DataError, match=r"comments\.csv:3: <line>: not readable as CSV .* the file looks cut short"):
        load_polis(folder)


def test_other_located_errors(tmp_path):
    folder = tmp_path / "lyon"
    shutil.copytree(FIXTURES / "full", folder)
    with open(folder / "votes.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["timestamp", "comment-id", "voter-id"], ["1", "0", "0"]])
    with pytest.raises(DataError, match=r"votes\.csv:1: vote: column missing"):
        load_polis(folder)
    with open(folder / "votes.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["timestamp", "datetime", "comment-id", "voter-id", "vote"], ["1", "Mon", "0", "0", "yes"]])
    with pytest.raises(DataError, match=r"votes\.csv:2: vote: must be an integer"):
        load_polis(folder)
    (folder / "votes.csv").unlink()
    with open(folder / "participants-votes.csv", "a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(["9", "", "0", "0", "1", "1", "0", "x", "", "", ""])
    with pytest.raises(DataError, match=r"participants-votes\.csv:7: 0: must be an integer, got 'x'"):
        load_polis(folder)
    (folder / "summary.csv").unlink()
    with pytest.raises(DataError, match=r"summary\.csv: <file>: missing"):
        load_polis(folder)


def test_all_comments_moderated_out_is_refused(tmp_path):
    folder = tmp_path / "lyon"
    shutil.copytree(FIXTURES / "full", folder)
    rows = read_csv(folder, "comments.csv")
    with open(folder / "comments.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([{**r, "moderated": "-1"} for r in rows])
    with pytest.raises(DataError, match=r"comments\.csv: moderated: all 4 comments are moderated out"):
        load_polis(folder)


# --- both layouts, sampling ------------------------------------------------------------------

def write_new_layout(folder):
    """The `full` fixture with comments.csv in the newer layout (is-meta, is-seed, ... columns)."""
    shutil.copytree(FIXTURES / "full", folder)
    rows = read_csv(folder, "comments.csv")
    columns = ["timestamp", "comment-id", "author-id", "agrees", "disagrees", "moderated", "is-meta", "is-seed",
               "group-informed-consensus", "comment-body"]
    with open(folder / "comments.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows([{**r, "is-meta": "false", "is-seed": "true", "group-informed-consensus": "0.5"} for r in rows])
    return folder


@pytest.mark.parametrize("layout", ["old", "new"])
def test_hand_made_export_in_both_layouts(tmp_path, layout):
    folder = FIXTURES / "full" if layout == "old" else write_new_layout(tmp_path / "lyon-new")
    debate, report = load_polis(folder, debate_id=f"lyon-{layout}")

    assert check_debate(debate) == []
    assert debate["id"] == f"lyon-{layout}"
    assert debate["question"] == "Mobilité à Lyon\n\nComment se déplacer en 2030 ?\nDites-le nous."
    assert debate["language"] == "fr" and report.language_detected
    assert [c["id"] for c in debate["comments"]] == ["0", "1", "3"]
    assert debate["comments"][1]["text"] == "Les voitures doivent garder leur place,\nsur deux lignes, \"avec des guillemets\"."
    assert [c["author"] for c in debate["comments"]] == ["0", "1", "0"]
    assert debate["votes"] == FULL_VOTES
    assert report.skipped == {
        "comments moderated out (moderated = -1)": 1,
        "votes on comments left out (moderated out or empty)": 2,
        "votes superseded by a later vote of the same participant": 2,
        "participants not in an opinion group (empty group-id)": 2,
    }
    assert "comments: 3 kept of 4 read" in report.describe()


def test_sampling_is_seeded_and_restricts_votes_and_groups():
    folder = FIXTURES / "full"
    first, report = load_polis(folder, max_comments=2, sample="first", language="fr", debate_id="x")
    assert [c["id"] for c in first["comments"]] == ["0", "1"]
    assert {v["comment"] for v in first["votes"]} == {"0", "1"}
    assert first["groups"] == {"0": "0", "1": "1"} and not report.language_detected
    assert report.skipped["comments not sampled (--max-comments 2, first)"] == 1
    assert report.skipped["grouped participants with no vote or comment among the sampled comments"] == 1

    most, _ = load_polis(folder, max_comments=1, sample="most-voted", language="fr")
    assert [c["id"] for c in most["comments"]] == ["0"]  # two final votes each on 0 and 1: the lower id wins

    runs = [load_polis(folder, max_comments=2, sample="random", seed=s, language="fr")[0] for s in (0, 0, 1, 2, 3)]
    assert runs[0] == runs[1]
    assert len({tuple(c["id"] for c in r["comments"]) for r in runs}) > 1

    with pytest.raises(ValueError, match="sample must be one of"):
        load_polis(folder, max_comments=2, sample="best")
    with pytest.raises(ValueError, match="max_comments must be at least 1"):
        load_polis(folder, max_comments=0)
