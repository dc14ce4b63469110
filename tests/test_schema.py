"""Bad input is refused with `FILE:LINE: field: message`, one case per kind of mistake (issue 2)."""

import copy
import json

import pytest

from pluralign.data import (
    DataError,
    check_debate,
    check_rewrite_item,
    read_debates,
    read_rewrite_items,
)

GOOD = {
    "id": "d1",
    "question": "Should the city ban cars from the centre?",
    "language": "en",
    "comments": [
        {"id": "c1", "text": "Yes, the air would be cleaner.", "author": "p1", "group": "a"},
        {"id": "c2", "text": "No, shops would suffer.", "author": "p2"},
    ],
    "votes": [{"participant": "p1", "comment": "c1", "vote": 1}, {"participant": "p2", "comment": "c1", "vote": -1}],
    "groups": {"p1": "a", "p2": "b"},
}
GOOD_ITEM = {"id": "i1", "task": "translate", "source": "Oui, l'air serait plus propre.",
             "source_language": "fr", "target_language": "en", "question": "Faut-il interdire les voitures ?"}


def write_lines(path, lines):
    path.write_bytes(b"".join(line if isinstance(line, bytes) else (json.dumps(line) + "\n").encode() for line in lines))
    return path


def edited(change):
    debate = copy.deepcopy(GOOD)
    change(debate)
    return debate


def first_error(path, reader=read_debates) -> str:
    with pytest.raises(DataError) as info:
        list(reader(path))
    return str(info.value)


def test_good_records_pass():
    assert check_debate(GOOD) == []
    assert check_rewrite_item(GOOD_ITEM) == []


BAD_DEBATES = {
    "missing field": (lambda d: d.pop("question"), "question: missing"),
    "mistyped field": (lambda d: d.update(language=3), "language: must be a string, got int"),
    "mistyped comments": (lambda d: d.update(comments="c1"), "comments: missing or empty"),
    "mistyped comment": (lambda d: d["comments"].append("c3"), "comments[2]: must be an object, got str"),
    "empty text": (lambda d: d["comments"][1].update(text="  "), "comments[1].text: is empty"),
    "empty question": (lambda d: d.update(question=""), "question: is empty"),
    "duplicate comment id": (lambda d: d["comments"][1].update(id="c1"), "comments[1].id: duplicate comment id 'c1'"),
    "vote with unknown comment": (lambda d: d["votes"][1].update(comment="c9"), "votes[1].comment: unknown comment id 'c9'"),
    "vote outside {1,0,-1}": (lambda d: d["votes"][0].update(vote=2), "votes[0].vote: must be 1, 0 or -1, got 2"),
    "vote as a boolean": (lambda d: d["votes"][0].update(vote=True), "votes[0].vote: must be 1, 0 or -1, got True"),
    "vote as a string": (lambda d: d["votes"][0].update(vote="1"), "votes[0].vote: must be 1, 0 or -1, got '1'"),
    "vote missing": (lambda d: d["votes"][0].pop("vote"), "votes[0].vote: missing"),
    "group given both ways": (lambda d: d["groups"].update(p1="b"), "comments[0].group: 'a' contradicts groups['p1'] = 'b'"),
    "groups not a mapping": (lambda d: d.update(groups=["a"]), "groups: must be an object"),
}


@pytest.mark.parametrize("case", sorted(BAD_DEBATES))
def test_bad_debate_names_file_line_and_field(tmp_path, case):
    change, expected = BAD_DEBATES[case]
    path = write_lines(tmp_path / "debates.jsonl", [{**GOOD, "id": "d0"}, edited(change)])
    message = first_error(path)
    assert message.startswith(f"{path}:2: {expected}"), message


def test_duplicate_debate_id_names_the_first_line(tmp_path):
    path = write_lines(tmp_path / "debates.jsonl", [GOOD, {**GOOD, "id": "d2"}, GOOD])
    assert first_error(path) == f"{path}:3: id: duplicate id 'd1' (first on line 1); ids must be unique"


def test_non_utf8_bytes(tmp_path):
    latin1 = json.dumps({**GOOD, "question": "Faut-il interdire les voitures ? Très bien"}, ensure_ascii=False).encode("latin-1")
    path = write_lines(tmp_path / "debates.jsonl", [GOOD, latin1 + b"\n"])
    assert first_error(path).startswith(f"{path}:2: <line>: bytes are not UTF-8")


def test_non_json_line(tmp_path):
    path = write_lines(tmp_path / "debates.jsonl", [GOOD, b"\n", b"{'id': 'd2'}\n"])  # blank lines are skipped
    assert first_error(path).startswith(f"{path}:3: <line>: not JSON")


def test_line_that_is_not_an_object(tmp_path):
    path = write_lines(tmp_path / "debates.jsonl", [[GOOD]])
    assert first_error(path) == f"{path}:1: <record>: must be a JSON object, got list"


def test_missing_file_is_named(tmp_path):
    assert first_error(tmp_path / "nope.jsonl").startswith(f"{tmp_path / 'nope.jsonl'}: <file>: no such file")


def test_all_problems_of_a_record_are_listed():
    problems = check_debate(edited(lambda d: (d.pop("language"), d["votes"][0].update(vote=5))))
    assert [field for field, _ in problems] == ["language", "votes[0].vote"]


BAD_ITEMS = {
    "missing source": (lambda i: i.pop("source"), "source: missing"),
    "empty source": (lambda i: i.update(source=""), "source: is empty"),
    "unknown task": (lambda i: i.update(task="summarise"), "task: must be one of reformulate, translate"),
    "translation into the same language": (lambda i: i.update(target_language="fr"), "target_language: a translate item needs another language"),
    "reformulation into another language": (lambda i: i.update(task="reformulate"), "target_language: a reformulate item stays in 'fr'"),
    "mistyped question": (lambda i: i.update(question=["q"]), "question: must be a string, got list"),
}


@pytest.mark.parametrize("case", sorted(BAD_ITEMS))
def test_bad_rewrite_item_names_file_line_and_field(tmp_path, case):
    change, expected = BAD_ITEMS[case]
    item = copy.deepcopy(GOOD_ITEM)
    change(item)
    path = write_lines(tmp_path / "items.jsonl", [{**GOOD_ITEM, "id": "i0"}, item])
    message = first_error(path, read_rewrite_items)
    assert message.startswith(f"{path}:2: {expected}"), message
