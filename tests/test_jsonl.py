"""JSONL streaming in constant memory, and JSONL <-> datasets round trips."""

import json
import tracemalloc

from datasets import Dataset

from pluralign.data import (
    debates_from_dataset,
    debates_to_dataset,
    items_from_dataset,
    items_to_dataset,
    read_debates,
    read_outputs,
    read_rewrite_items,
    write_jsonl,
)
from pluralign.data.synth import SynthSpec, synth_debates
from pluralign.data.tasks import rewrite_items


def big_debates(n_debates, n_comments):
    for d in range(n_debates):
        yield {
            "id": f"d{d}", "question": "Should we do it?", "language": "en",
            "comments": [{"id": f"c{c}", "text": f"Comment {c} of debate {d}, with a few more words.", "author": f"p{c % 37}"}
                         for c in range(n_comments)],
            "votes": [{"participant": f"p{c % 37}", "comment": f"c{c}", "vote": (c % 3) - 1} for c in range(n_comments)],
        }


def test_huge_file_streams_in_constant_memory(tmp_path):
    path = tmp_path / "huge.jsonl"
    assert write_jsonl(path, big_debates(1000, 100)) == 1000
    size = path.stat().st_size

    tracemalloc.start()
    debates = comments = 0
    for debate in read_debates(path):
        debates += 1
        comments += len(debate["comments"])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert (debates, comments) == (1000, 100_000)
    # One debate line is ~size/1000; holding the file (or a tenth of it) would show here.
    assert peak < size / 20, f"peak {peak} bytes while reading a {size}-byte file"


def test_write_then_read_keeps_unicode_and_extra_fields(tmp_path):
    debate = {"id": "d", "question": "Faut-il l'interdire ?", "language": "fr",
              "comments": [{"id": "c1", "text": "Oui — l'air serait plus propre. 我覺得"}], "group_stances": {"g1": "support"}}
    path = tmp_path / "d.jsonl"
    write_jsonl(path, [debate])
    assert "我覺得" in path.read_text(encoding="utf-8")  # not \\u-escaped
    assert list(read_debates(path)) == [debate]


def test_debates_jsonl_to_dataset_and_back(tmp_path):
    debates = list(synth_debates(SynthSpec(n_debates=3, languages=("en", "fr", "de"))))
    # Optional parts absent, empty and present must all survive.
    debates.append({"id": "bare", "question": "Q?", "language": "en", "comments": [{"id": "c1", "text": "t"}]})
    debates.append({"id": "empty-votes", "question": "Q?", "language": "en", "comments": [{"id": "c1", "text": "t"}],
                    "votes": [], "groups": {}})
    path = tmp_path / "debates.jsonl"
    write_jsonl(path, debates)

    dataset = debates_to_dataset(read_debates(path))
    assert len(dataset) == 5
    assert dataset[0]["comments"][0]["group"] in {"g1", "g2", "g3"}
    assert list(debates_from_dataset(dataset)) == debates


def test_debates_dataset_to_jsonl_and_back(tmp_path):
    dataset = debates_to_dataset(synth_debates(SynthSpec(n_debates=2, group_sizes=(3, 2))))
    path = tmp_path / "debates.jsonl"
    write_jsonl(path, debates_from_dataset(dataset))
    again = debates_to_dataset(read_debates(path))
    assert again.features == dataset.features
    assert again.to_list() == dataset.to_list()


def test_debates_from_a_dataset_with_plain_columns():
    rows = [{"id": "d", "question": "Q?", "language": "en", "comments": [{"id": "c1", "text": "t"}],
             "votes": [{"participant": "p", "comment": "c1", "vote": 1}], "groups": [{"participant": "p", "group": "a"}]}]
    (debate,) = debates_from_dataset(Dataset.from_list(rows))
    assert debate["votes"] == [{"participant": "p", "comment": "c1", "vote": 1}]
    assert debate["groups"] == {"p": "a"}


def test_items_jsonl_to_dataset_and_back(tmp_path):
    debates = list(synth_debates(SynthSpec(n_debates=2, languages=("fr", "en"), group_sizes=(3, 2))))
    items = list(rewrite_items(debates, "translate", per_debate=3))
    items[0].pop("group")  # fields some items lack must not vanish from the others
    items[0].pop("stance")
    path = tmp_path / "items.jsonl"
    write_jsonl(path, items)

    dataset = items_to_dataset(read_rewrite_items(path))
    assert "group" in dataset.column_names and dataset[0]["group"] is None
    assert list(items_from_dataset(dataset)) == items

    write_jsonl(path, items_from_dataset(dataset))
    assert items_to_dataset(read_rewrite_items(path)).to_list() == dataset.to_list()


def test_outputs_may_repeat_ids_and_keep_extra_fields(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in [
        {"id": "d1", "summary": "A.", "model": "x"}, {"id": "d1", "summary": ""}]) + "\n")
    assert [(n, o["summary"]) for n, o in read_outputs(path, "summary")] == [(1, "A."), (2, "")]
