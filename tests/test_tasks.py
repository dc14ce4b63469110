"""Task builders: summarize prompt datasets and reformulate/translate items (docs/CONTRACTS.md)."""

import json

import pytest

from pluralign.data import check_debate, check_rewrite_item
from pluralign.data.synth import SynthSpec, synth_debates
from pluralign.data.tasks import (
    build_rewrite_dataset,
    build_summarize_dataset,
    rewrite_items,
    rewrite_prompt,
    summarize_prompt,
)

SUMMARIZE_COLUMNS = ["prompt", "debate_id", "question", "language", "debate", "group_sizes", "group_source"]


@pytest.fixture(scope="module")
def debates():
    return list(synth_debates(SynthSpec(n_debates=3, group_sizes=(8, 5, 2), languages=("en", "fr", "de"), seed=2)))


def test_summarize_rows_sample_shuffle_and_restrict_votes(debates):
    dataset = build_summarize_dataset(debates, max_comments=6, seed=1)
    assert dataset.column_names == SUMMARIZE_COLUMNS and len(dataset) == 3
    for row, original in zip(dataset, debates, strict=True):
        sampled = json.loads(row["debate"])
        assert check_debate(sampled) == []
        assert row["debate_id"] == original["id"] and row["language"] == original["language"]
        kept = [c["id"] for c in sampled["comments"]]
        assert len(kept) == 6 and set(kept) <= {c["id"] for c in original["comments"]}
        assert sampled["votes"] == [v for v in original["votes"] if v["comment"] in set(kept)]
        assert sampled["groups"] == original["groups"] and sampled["group_stances"] == original["group_stances"]
        assert json.loads(row["group_sizes"]) == {"g1": 8, "g2": 5, "g3": 2} and row["group_source"] == "given"
        (message,) = row["prompt"]
        assert message["role"] == "user" and message["content"] == summarize_prompt(sampled)
        assert all(c["text"] in message["content"] for c in sampled["comments"])
        assert original["question"] in message["content"]

    again = build_summarize_dataset(debates, max_comments=6, seed=1)
    assert again.to_list() == dataset.to_list()
    other = build_summarize_dataset(debates, max_comments=6, seed=2)
    assert other["debate"] != dataset["debate"]


def test_summarize_keeps_all_comments_but_shuffles_them(debates):
    dataset = build_summarize_dataset(debates[:1], seed=0)
    sampled = json.loads(dataset[0]["debate"])
    original_ids = [c["id"] for c in debates[0]["comments"]]
    assert sorted(c["id"] for c in sampled["comments"]) == sorted(original_ids)
    assert [c["id"] for c in sampled["comments"]] != original_ids


def test_summarize_group_source_follows_the_debate(debates):
    votes_only = {k: v for k, v in debates[0].items() if k not in ("groups", "group_stances")}
    votes_only["comments"] = [{k: v for k, v in c.items() if k != "group"} for c in debates[0]["comments"]]
    nothing = {k: v for k, v in votes_only.items() if k != "votes"}
    rows = build_summarize_dataset([votes_only, nothing])
    assert rows[0]["group_source"] == "votes" and sum(json.loads(rows[0]["group_sizes"]).values()) == 15
    assert rows[1]["group_source"] == "embeddings" and rows[1]["group_sizes"] == "{}"


def test_prompts_state_the_task_and_the_languages(debates):
    assert "summary of this debate in French" in summarize_prompt(debates[1])
    (fr_item,) = rewrite_items(debates[1:2], "translate", per_debate=1)
    prompt = rewrite_prompt(fr_item)
    assert "from French into English" in prompt and fr_item["source"] in prompt and fr_item["question"] in prompt
    (de_item,) = rewrite_items(debates[2:3], "reformulate", per_debate=1)
    assert "in German" in rewrite_prompt(de_item) and "Keep the author's position" in rewrite_prompt(de_item)


def test_rewrite_items_carry_their_origin_and_ground_truth(debates):
    items = list(rewrite_items(debates, "reformulate"))
    assert len(items) == sum(len(d["comments"]) for d in debates)
    assert len({i["id"] for i in items}) == len(items)
    comment = {(d["id"], c["id"]): (d, c) for d in debates for c in d["comments"]}
    for item in items:
        assert check_rewrite_item(item) == []
        debate, c = comment[(item["debate_id"], item["comment_id"])]
        assert item["source"] == c["text"] and item["author"] == c["author"] and item["group"] == c["group"]
        assert item["stance"] == debate["group_stances"][c["group"]]
        assert item["source_language"] == item["target_language"] == debate["language"]


def test_translate_targets(debates):
    default = list(rewrite_items(debates, "translate", per_debate=2, seed=3))
    assert [(i["source_language"], i["target_language"]) for i in default] == \
        [("en", "fr")] * 2 + [("fr", "en")] * 2 + [("de", "en")] * 2
    assert all(check_rewrite_item(i) == [] for i in default)
    assert default == list(rewrite_items(debates, "translate", per_debate=2, seed=3))
    with pytest.warns(UserWarning, match="skipped 1 debate"):
        into_german = list(rewrite_items(debates, "translate", target_language="de", per_debate=2))
    assert {i["source_language"] for i in into_german} == {"en", "fr"}
    with pytest.raises(ValueError, match="task must be"):
        list(rewrite_items(debates, "summarize"))


def test_rewrite_dataset_has_prompt_and_every_field(debates):
    items = list(rewrite_items(debates, "translate", per_debate=2))
    del items[0]["author"]
    dataset = build_rewrite_dataset(items)
    assert dataset.column_names[0] == "prompt"
    assert set(dataset.column_names) == {"prompt"} | {k for i in items for k in i}
    assert dataset[0]["author"] is None and dataset[1]["author"] == items[1]["author"]
    assert dataset[3]["prompt"] == [{"role": "user", "content": rewrite_prompt(items[3])}]
