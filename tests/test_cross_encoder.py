"""The fine-tuned cross-encoder: its recipe, two training steps on a CPU, and scoring with the result."""

import json

import pytest

from pluralign.cli import main
from pluralign.signature import parse_signature
from pluralign.train.cross_encoder import load_cross_recipe
from pluralign.train.recipe import RecipeError

RECIPE = "judge/representation-cross-encoder"


def test_the_shipped_recipe_loads_and_is_checked(tmp_path, capsys):
    recipe = load_cross_recipe(RECIPE, ["training.max_steps=2", "data.limit=4"])
    assert recipe.model.name_or_path == "all-MiniLM-L6-v2" and recipe.alpha == 0.5
    assert recipe.training["max_steps"] == 2 and recipe.data.limit == 4
    with pytest.raises(RecipeError, match="alpha: must be between 0 and 1"):
        load_cross_recipe(RECIPE, ["alpha=2"])
    with pytest.raises(RecipeError, match="data.holdout: unknown key for CrossData; did you mean holdout_topic"):
        load_cross_recipe(RECIPE, ["data.holdout=x"])
    # `pluralign train` says where the recipe runs
    assert main(["train", RECIPE, "--dry-run"]) == 2
    assert "runs with `pluralign fit cross-encoder RECIPE`" in capsys.readouterr().err


@pytest.mark.slow
def test_two_steps_on_a_cpu_then_score_with_it(tmp_path, capsys, small_bank):
    out = tmp_path / "xenc"
    assert main(["fit", "cross-encoder", RECIPE, "training.max_steps=2", "training.per_device_train_batch_size=2",
                 "data.limit=4", "max_length=64", f"data.path={small_bank}", "data.holdout_topic=Binary-Refugee-Policies",
                 f"output_dir={out}"]) == 0
    record = json.loads((out / "pluralign.json").read_text())
    assert record["trained_on"] == 4 and record["holdout_topic"] == "Binary-Refugee-Policies"
    assert record["holdout"]["n_ratings"] == 40 and 0.0 <= record["holdout"]["pair_acc"] <= 1.0
    assert "held-out Binary-Refugee-Policies: r" in capsys.readouterr().out
    # the folder is a backend of the representation score
    rows = [{"id": "a", "question": "Should tipping be abolished?", "opinion": "Yes, pay staff a fair wage.",
             "summary": "Most participants want tipping replaced by fair wages."},
            {"id": "b", "question": "Should tipping be abolished?", "opinion": "Yes, pay staff a fair wage.", "summary": ""}]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    scored_path = tmp_path / "scored.jsonl"
    assert main(["score", "representation", "--input", str(path), "--out", str(scored_path), "--backend", f"cross:{out}"]) == 0
    scored = [json.loads(line) for line in scored_path.read_text().splitlines()]
    assert 0.0 < scored[0]["score"] < 1.0 and scored[1]["score"] == 0.0
    fields = parse_signature(scored[0]["signature"])
    assert fields["backend"] == f"cross:{out}" and len(fields["model"]) == 12
    # and of the representation reward
    from pluralign.rewards.registry import resolve_reward

    reward = resolve_reward("representation").build(f"cross:{out}", {})
    debate = {"id": "d", "question": rows[0]["question"], "language": "en",
              "comments": [{"id": "c1", "text": rows[0]["opinion"]}, {"id": "c2", "text": "No, tips reward good service."}]}
    values = reward(["p"], [rows[0]["summary"]], debate=[json.dumps(debate)])
    assert len(values) == 1 and 0.0 < values[0] < 1.0
