"""The reward registry: built-in names, a user's own reward by dotted path (trained in a CPU GRPO
run and logged by name beside `pluralism`), declared tasks and columns checked at load, and the
0.1 recipe keys read as aliases."""

import json
import sys
from pathlib import Path

import pytest
import yaml

from pluralign.cli import main as cli_main
from pluralign.rewards.registry import REWARDS, resolve_reward
from pluralign.train.recipe import RecipeError, load_recipe
from pluralign.train.rewards import reward_setup

ROOT = Path(__file__).resolve().parents[1]
CPU = ROOT / "recipes" / "cpu"
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))  # where custom_rewards lives


def test_builtin_rewards_declare_tasks_and_columns_the_task_datasets_have():
    from pluralign.tasks import TASKS

    assert set(REWARDS) >= {"pluralism", "representation", "fidelity"}
    for entry in REWARDS.values():
        for task in entry.tasks:
            assert set(entry.columns) <= set(TASKS[task].columns), (entry.name, task)
    # every task's default reward exists and judges it
    assert all(task.name in REWARDS[task.reward].tasks for task in TASKS.values())


def test_a_dotted_path_resolves_to_the_users_function_with_its_declarations():
    reward = resolve_reward("custom_rewards.brevity")
    assert reward.kind == "import" and reward.tasks == ("summarize", "reformulate", "translate")
    func = reward.build("lexical", {})
    assert func.__name__ == "brevity" and func([""], ["one two"]) == [pytest.approx(1 / 1.1)]


def test_a_reward_reading_a_column_the_dataset_lacks_fails_at_load(tmp_path):
    with pytest.raises(RecipeError) as err:
        load_recipe(CPU / "grpo.yaml", ["rewards.funcs=[pluralism, custom_rewards.reads_votes_column]",
                                        "rewards.weights=[1.0, 1.0]", f"output_dir={tmp_path}"])
    assert str(err.value).startswith(str(CPU / "grpo.yaml") + ": rewards.funcs[1]: ")
    assert "reads the column(s) ['votes_json'], which the summarize dataset lacks" in str(err.value)
    assert not any(tmp_path.iterdir())  # nothing built


def test_the_old_reward_keys_are_read_as_aliases(tmp_path, caplog):
    raw = yaml.safe_load((CPU / "grpo.yaml").read_text())
    raw["rewards"] = {"pluralism": 0.5, "pluralism_options": {"threshold": 0.4}, "backend": "lexical"}
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(raw))
    recipe = load_recipe(path, ["data.synth=null", f"data.path={ROOT / 'data/synthetic/debates.jsonl'}"])
    assert (recipe.rewards.funcs, recipe.rewards.weights) == (["pluralism"], [0.5])
    assert recipe.rewards.options == {"pluralism": {"threshold": 0.4}}
    specs, funcs = reward_setup(recipe)
    assert funcs[0].scorer.threshold == 0.4 and funcs[0].__name__ == "pluralism"
    # 0.1 overrides still apply on top of a recipe written the new way
    both = load_recipe(CPU / "grpo.yaml", ["rewards.pluralism=2.0", "rewards.fidelity=0"])
    assert (both.rewards.funcs, both.rewards.weights) == (["pluralism"], [2.0])


@pytest.mark.slow
def test_a_custom_reward_trains_in_grpo_and_is_logged_by_name(tmp_path):
    out = tmp_path / "grpo"
    assert cli_main(["train", str(CPU / "grpo.yaml"), f"output_dir={out}", "training.max_steps=2",
                     "rewards.funcs=[pluralism, custom_rewards.brevity]", "rewards.weights=[1.0, 0.5]",
                     "eval_hook.enabled=false", "data.max_comments=6", "training.save_strategy=steps",
                     "training.save_steps=2"]) == 0
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())  # TRL's own log, on disk
    logged = {k for row in state["log_history"] for k in row}
    assert {"rewards/pluralism/mean", "rewards/brevity/mean"} <= logged
    brevity = [row["rewards/brevity/mean"] for row in state["log_history"] if "rewards/brevity/mean" in row]
    assert all(0 < value <= 1 for value in brevity)
