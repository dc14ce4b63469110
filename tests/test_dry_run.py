"""A dry run that checks what the run will need (issue #14, items 5-8): everything a run would
crash on, or silently do otherwise, is a located error at load, before any model is built."""

import time
from pathlib import Path

import pytest
import yaml

from pluralign.cli import main
from pluralign.train.recipe import RecipeError, load_recipe, mask_secrets

ROOT = Path(__file__).resolve().parents[1]
DEBATES = ROOT / "data" / "synthetic" / "debates.jsonl"
ITEMS = ROOT / "data" / "synthetic" / "reformulate.jsonl"


def write_recipe(tmp_path, **top):
    raw = {"model": {"name_or_path": "tiny:llama"}, "data": {"path": str(DEBATES)}, "task": "summarize",
           "method": "grpo", "training": {"max_steps": 2}, "rewards": {"funcs": ["pluralism"]},
           "output_dir": str(tmp_path / "out"), **top}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def dry_run(capsys, recipe, *overrides):
    code = main(["train", str(recipe), *overrides, "--dry-run"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("override, key, message", [
    ("rewards.backend=bogus:thing", "rewards.backend", "unknown backend 'bogus:thing'; use embedding:<model id"),
    ("rewards.backend=embedding:/no/such/dir", "rewards.backend", "/no/such/dir does not exist"),
    ("model.name_or_path=/no/such/model", "model.name_or_path", "/no/such/model: no such model folder"),
    (f"data.path={ITEMS}", "data.path", "holds rewrite items; the summarize task reads debates"),
    (f"data.path={ROOT / 'data'}", "data.path", "is a folder but not a saved Dataset"),
    ("training.per_device_train_batch_size=0", "training.per_device_train_batch_size", "must be at least 1, got 0"),
    ("training.learning_rate=-0.001", "training.learning_rate", "must be 0 or more, got -0.001"),
    ("training.max_steps=-5", "training.max_steps", "must be at least 1, or -1 to train for num_train_epochs"),
    ("rewards.weights=[-1.0]", "rewards.weights[0]", "must be a number >= 0, got -1.0"),
    ("eval_hook.n_samples=0", "eval_hook.n_samples", "must be at least 1, got 0"),
])
def test_item_5_dry_run_refuses_what_the_run_would_crash_on(tmp_path, capsys, override, key, message):
    """Item 5: --dry-run used to say "valid" for each of these, which then crashed or trained 18
    steps by epochs; now each is one located line (FILE: key: message), exit 2."""
    recipe = write_recipe(tmp_path)
    code, err = dry_run(capsys, recipe, override)
    assert code == 2 and f"error: {recipe}: {key}: " in err and message in err
    assert not (tmp_path / "out").exists()  # nothing built


def test_item_5_wrong_kind_of_items_and_saved_datasets(tmp_path, capsys):
    """Item 5: items of another task are refused; a saved Dataset folder is accepted."""
    from pluralign.data.jsonl import debates_to_dataset, read_debates

    translate = ROOT / "data" / "synthetic" / "translate.jsonl"
    code, err = dry_run(capsys, write_recipe(tmp_path, task="reformulate", rewards={"funcs": ["fidelity"]}),
                        f"data.path={translate}")
    assert code == 2 and "holds translate items and no reformulate item" in err
    debates_to_dataset(read_debates(DEBATES)).save_to_disk(str(tmp_path / "saved"))
    assert dry_run(capsys, write_recipe(tmp_path), f"data.path={tmp_path / 'saved'}")[0] == 0


def test_item_5_bom_prefixed_data_is_read(tmp_path, capsys):
    """Items 5 and 9: data saved with a BOM (Windows editors) is read as utf-8-sig reads it, by the
    dry run and by the run itself."""
    from pluralign.train.data import build_prompts

    data = tmp_path / "bom.jsonl"
    data.write_bytes(b"\xef\xbb\xbf" + DEBATES.read_bytes())
    recipe = write_recipe(tmp_path, data={"path": str(data)})
    assert dry_run(capsys, recipe)[0] == 0
    assert len(build_prompts(load_recipe(recipe))) == 6
    assert main(["data", "validate", str(data)]) == 0


def test_item_6_a_commit_revision_is_no_secret_but_an_embedded_token_is(tmp_path, capsys):
    """Item 6: `model.revision=<40-hex commit>` pins a model and is accepted; a 40-hex value
    elsewhere (a W&B key) and an `hf_` token inside a longer string are still refused."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    recipe = write_recipe(tmp_path)
    assert dry_run(capsys, recipe, f"model.revision={sha}")[0] == 0
    assert load_recipe(recipe, [f"model.revision={sha}"]).saved_copy()["model"]["revision"] == sha
    with pytest.raises(RecipeError, match="note: looks like a credential"):
        load_recipe(recipe, [f"rewards.options.pluralism.note={sha}"])
    url = "https://user:hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789@huggingface.co/x"
    code, err = dry_run(capsys, recipe, f"rewards.options.pluralism.endpoint={url}")
    assert code == 2 and "endpoint: looks like a credential" in err and "hf_AbCd" not in err
    assert mask_secrets({"cache": "/data/hf_datasets/cache", "revision": sha}) == {
        "cache": "/data/hf_datasets/cache", "revision": sha}


def test_item_7_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    """Item 7: a "billion laughs" recipe used to hang --dry-run (minutes, gigabytes)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nmethod: sft\n", encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(RecipeError, match=r"bomb.yaml: line \d+: its aliases expand to more than 100,000 values"):
        load_recipe(path)
    assert time.perf_counter() - start < 0.5
    loop = tmp_path / "loop.yaml"
    loop.write_text("a: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(RecipeError, match="an alias refers to itself"):
        load_recipe(loop)
    fine = tmp_path / "fine.yaml"  # ordinary aliases (shared settings) still work
    fine.write_text(yaml.safe_dump(yaml.safe_load(write_recipe(tmp_path).read_text()))
                    + "eval_hook: &hook {n_samples: 2}\n", encoding="utf-8")
    assert load_recipe(fine).eval_hook.n_samples == 2


def test_item_8_overrides_may_follow_dry_run(tmp_path, capsys):
    """Item 8: `pluralign train R.yaml --dry-run key=value` was refused with the top-level usage."""
    recipe = write_recipe(tmp_path)
    assert main(["train", str(recipe), "--dry-run", "training.max_steps=7", "seed=3"]) == 0
    assert "valid grpo recipe" in capsys.readouterr().out
    assert main(["train", str(recipe), "seed=1", "--dry-run", "training.max_steps=-5"]) == 2
    assert "training.max_steps: must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # anything else after the recipe is still an unknown argument
        main(["train", str(recipe), "--dry-run", "--no-such-option"])
