"""The flip reader explored in benchmarks/DECISIONS.md 28 (benchmarks/flip_reader.py): its training items, its
seeded training and the file it writes, so that the figures recorded there can be made again."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from pluralign.data.schema import DataError
from pluralign.errors import UsageError

_spec = importlib.util.spec_from_file_location("flip_reader", Path(__file__).resolve().parents[1] / "benchmarks" / "flip_reader.py")
flip_fit = F = sys.modules["flip_reader"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up there
_spec.loader.exec_module(flip_fit)


def _item(n: int, language: str = "en") -> dict:
    return {"id": f"flip-{language}-{n:03d}", "language": language, "topic": f"t{n}", "question": "Free buses?",
            "comments": ["Make the buses free, paid by a levy on big employers.",
                         "Free fares would get people out of their cars.", "A charge hurts shift workers most."],
            "sentences": {"faithful_short": "A few would rather make buses free.",
                          "faithful_reasons": "A few want free buses paid by employers, since a charge hurts shift workers.",
                          "flipped_reject": "A few mention free buses but dismiss them as unaffordable.",
                          "flipped_opposite": "A few back the charge on drivers.",
                          "misattributed": "A few want free buses because the charge is fair to everyone.",
                          "other_camp": "Most support the charge to cut traffic."}}


def _write(folder, lines):
    folder.mkdir(exist_ok=True)
    (folder / "items.jsonl").write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return folder


def test_each_item_gives_a_pair_per_comment_and_kind_labelled_by_kind(tmp_path):
    other = {**_item(2, "fr"), "other_comments": ["The charge works, look at London.", "Jams every morning."]}
    items, sha = flip_fit.read_items(_write(tmp_path / "d", [_item(1), other]))
    pairs = flip_fit.item_pairs(items)
    assert len(pairs) == 2 * 3 * 6 + 2 * 3 and len(sha) == 64
    assert sum(p.label for p in pairs) == 2 * 3 * 4 + 2 * 2  # four of the six kinds contradict the camp
    assert {p.kind for p in pairs if p.label == 0} == {*flip_fit.FAITHFUL, "other_camp/other"}
    assert {p.item for p in pairs} == {"flip-en-001", "flip-fr-002"}
    # Read against the other camp's comments, the same sentences take the other label: their words cannot decide.
    by_sentence = {}
    for p in pairs:
        by_sentence.setdefault(p.sentence, set()).add(p.label)
    assert by_sentence[other["sentences"]["other_camp"]] == by_sentence[other["sentences"]["faithful_short"]] == {0, 1}


@pytest.mark.parametrize(("line", "where"), [
    ({**_item(2), "sentences": {k: v for k, v in _item(2)["sentences"].items() if k != "misattributed"}},
     "items.jsonl:2: sentences.misattributed"),
    ({**_item(2), "comments": []}, "items.jsonl:2: comments"),
    ({**_item(2), "other_comments": ["ok", 3]}, "items.jsonl:2: other_comments"),
    ({k: v for k, v in _item(2).items() if k != "question"}, "items.jsonl:2: question"),
    ("{not json", "items.jsonl:2"),
])
def test_a_bad_item_names_the_file_line_and_field(tmp_path, line, where):
    with pytest.raises(DataError, match=where):
        flip_fit.read_items(_write(tmp_path / "d", [_item(1), line]))


def test_an_empty_folder_says_what_to_give(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="benchmarks/flip_pairs"):
        flip_fit.read_items(tmp_path / "empty")


def test_the_committed_items_are_valid_and_every_sentence_meets_both_labels():
    items, _ = flip_fit.read_items()
    pairs = flip_fit.item_pairs(items)
    assert len(items) == 135 and len(pairs) == 135 * 27
    assert {item["language"] for item in items} == {"en", "fr", "de"}
    labels = {}
    for p in pairs:
        labels.setdefault((p.item, p.sentence), set()).add(p.label)
    both = [key for key, seen in labels.items() if seen == {0, 1}]
    assert len(both) == 135 * 3  # the two faithful sentences and other_camp of every item


def test_training_is_seeded_and_the_written_reader_loads(tmp_path):
    data = _write(tmp_path / "d", [_item(n, "en" if n % 2 else "de") for n in range(1, 4)])
    path, version, meta = flip_fit.fit_flip_reader(data, tmp_path / "reader.npz", epochs=1)
    assert meta["items"] == 3 and meta["pairs"] == 54 and meta["held_out"]["held_out_items"] == 1
    # The same data and seed give the same reader: a fresh model trained on every pair is the one written.
    again = F.CrossEncoder(seed=0)
    flip_fit.train(again, flip_fit.item_pairs(flip_fit.read_items(data)[0]), epochs=1, seed=0)
    assert F.version_of(F.arrays_of(again)) == version
    reader = F.FlipReader(path)
    assert reader.version == version
    p = reader.probability([("Free buses, please.", "A few want free buses."), ("Free buses, please.", "A few back the charge.")])
    assert p.shape == (2,) and ((p > 0) & (p < 1)).all()
    assert reader.probability([("Free buses, please.", "A few want free buses.")])[0] == p[0]  # cached, the same
    with np.load(path, allow_pickle=False) as stored:
        arrays = {k: stored[k] for k in stored.files}
    arrays["head.b"] = arrays["head.b"] + np.float16(1.0)
    np.savez(tmp_path / "tampered.npz", **arrays)
    with pytest.raises(UsageError, match="do not match"):
        F.FlipReader(tmp_path / "tampered.npz")
    with pytest.raises(UsageError, match="builds one"):
        F.FlipReader(tmp_path / "missing.npz")
