"""Each method end to end through `pluralign train` on a tiny random model (a few steps), W&B
offline output, on-policy DPO pairs ordered by the scorer, a distilled reward model used in place
of the scorer, and a run interrupted after a checkpoint then resumed."""

import json
import os
import signal
from pathlib import Path

import pytest
import yaml
from transformers import TrainerCallback

from pluralign.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
CPU = ROOT / "recipes" / "cpu"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
SMALL = ["eval_hook.n_samples=2", "eval_hook.max_new_tokens=8", "data.max_comments=6"]

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    # Tiny models gain nothing from threads; on 2 shared cores they lose to oversubscription.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train(recipe: str, out: Path, *overrides: str) -> Path:
    assert cli_main(["train", str(CPU / recipe), f"output_dir={out}", *SMALL, *overrides]) == 0
    return out


def eval_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "eval_metrics.jsonl").read_text().splitlines()]


class ModelSeen(TrainerCallback):
    """Keeps what the trainer's model was built with."""

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.config = model.config


def test_sft_saves_safetensors_eval_log_and_the_recipe(tmp_path):
    """Also: TRL's own evaluation on the held-out split (eval_strategy=steps), and the recipe's
    model_init_kwargs reaching from_pretrained over pluralign's defaults (the recipe wins)."""
    from pluralign.train.recipe import load_recipe
    from pluralign.train.run import train as run_train

    out, seen = tmp_path / "sft", ModelSeen()
    recipe = load_recipe(CPU / "sft.yaml", [f"output_dir={out}", *SMALL, "training.max_steps=2",
                                            "training.eval_strategy=steps", "training.eval_steps=2",
                                            "model.attn_implementation=sdpa",
                                            "training.model_init_kwargs={attn_implementation: eager, attention_dropout: 0.125}"])
    result = run_train(recipe, callbacks=[seen])
    assert (out / "model.safetensors").exists() and not list(out.glob("pytorch_model*"))
    assert seen.config._attn_implementation == "eager" and seen.config.attention_dropout == 0.125
    assert json.loads((out / "config.json").read_text())["attention_dropout"] == 0.125
    assert [h["step"] for h in result["log_history"] if "eval_loss" in h] == [2]  # TRL evaluated the held-out rows
    lines = eval_lines(out)
    assert [(r["step"], r["when"]) for r in lines] == [(0, "begin"), (2, "step")]
    assert "scorer:pluralism" in lines[0]["signature"]["pluralism"]
    assert {"pluralism", "pluralism/min_group_coverage", "pluralism/deficit_mass"} <= set(lines[0]["metrics"])
    saved = yaml.safe_load((out / "recipe.yaml").read_text())
    assert saved["method"] == "sft" and saved["training"]["max_steps"] == 2 and saved["output_dir"] == str(out)


def test_grpo_logs_rewards_and_eval_metrics_to_wandb_offline(tmp_path, monkeypatch):
    """One run checks: the reward's parts at every logged step in TRL's trainer_state.json (through
    TRL's log_metric), TRL's evaluation (eval_strategy=steps), the eval hook generating on the model
    unwrapped by TRL's unwrap_model_for_generation, and what W&B got: the run name from the recipe,
    the whole recipe in the config, the rewards, the hook's metrics and tables."""
    from contextlib import contextmanager

    import trl.models.utils

    import pluralign.train.generate
    from pluralign.train.wandb_files import logged_history, run_file, run_info, summary

    inside_unwrap, hook_generations = [], []
    real_unwrap, real_generate = trl.models.utils.unwrap_model_for_generation, pluralign.train.generate.generate_texts

    @contextmanager
    def unwrap_spy(model, accelerator, **kwargs):
        with real_unwrap(model, accelerator, **kwargs) as unwrapped:
            inside_unwrap.append(unwrapped)
            yield unwrapped
            inside_unwrap.pop()

    def generate_spy(model, *args, **kwargs):
        hook_generations.append(bool(inside_unwrap) and model is inside_unwrap[-1])
        return real_generate(model, *args, **kwargs)

    monkeypatch.setattr(trl.models.utils, "unwrap_model_for_generation", unwrap_spy)
    monkeypatch.setattr(pluralign.train.generate, "generate_texts", generate_spy)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    out = train("grpo.yaml", tmp_path / "grpo", "training.max_steps=2", "report_to=wandb",
                "training.save_strategy=steps", "training.save_steps=2", "training.eval_strategy=steps",
                "training.eval_steps=2", "training.per_device_eval_batch_size=4")
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    steps = [row for row in state["log_history"] if "loss" in row]
    assert [row["step"] for row in steps] == [1, 2]
    for row in steps:  # every logged step, not only the eval hook's
        assert {"rewards/pluralism/mean", "rewards/pluralism/min_group_coverage", "rewards/pluralism/deficit_mass",
                "rewards/pluralism/coverage", "rewards/pluralism/guard", "rewards/pluralism/guards/copying"} <= set(row)
        assert not any(key.endswith("/n_participants") for key in row)  # counts describe the data
        assert 0 <= row["rewards/pluralism/min_group_coverage"] <= 1
    [evaluation] = [row for row in state["log_history"] if "eval_reward" in row]
    assert evaluation["step"] == 2 and "eval_rewards/pluralism/min_group_coverage" in evaluation
    assert hook_generations == [True, True]  # the hook, at steps 0 and 2, generated on TRL's unwrapped model

    path = run_file(out / "wandb")
    history = logged_history(path)
    keys = {k for row in history for k in row}
    assert {"train/rewards/pluralism/mean", "train/reward", "train/rewards/pluralism/min_group_coverage",
            "eval_hook/pluralism", "eval_hook/pluralism/min_group_coverage", "eval_hook/samples/_type"} <= keys
    assert [row["train/global_step"] for row in history if "eval_hook/pluralism" in row] == [0, 2]
    tables = [row for row in history if "eval_hook/samples/_type" in row]
    assert [(t["eval_hook/samples/_type"], t["eval_hook/samples/nrows"]) for t in tables] == [("table-file", 2)] * 2
    assert summary(path)["eval_hook/pluralism_signature"].startswith("pluralign:")
    info = run_info(path)
    assert (info["project"], info["name"]) == ("pluralign", "grpo-grpo-summarize")  # <recipe stem>-<method>-<task>
    recipe = info["config"]["recipe"]
    assert recipe["rewards"]["funcs"] == ["pluralism"] and recipe["eval_hook"]["n_samples"] == 2
    assert recipe["data"]["synth"]["n_debates"] == 12
    assert len(eval_lines(out)) == 2


def test_dpo_on_policy_pairs_are_ordered_by_the_scorer(tmp_path):
    from pluralign.rewards.fidelity import FidelityScorer

    out = train("dpo.yaml", tmp_path / "dpo", "task=reformulate", "rewards.pluralism=0", "rewards.fidelity=1",
                "data.synth=null", f"data.path={ROOT / 'data/synthetic/reformulate.jsonl'}", "data.limit=4", "eval_hook.held_out=0.05",
                "pairs.source=on_policy", "pairs.k=3", "pairs.min_margin=0", "pairs.iterations=2",
                "pairs.max_new_tokens=12", "training.max_steps=1")
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert {p["iteration"] for p in pairs} == {0, 1}
    items = {json.loads(line)["source"]: json.loads(line) for line in (ROOT / "data/synthetic/reformulate.jsonl").open()}
    scorer = FidelityScorer()
    for pair in pairs:
        source = next(s for s in items if s in pair["prompt"][0]["content"])
        chosen, rejected = pair["chosen"][0]["content"], pair["rejected"][0]["content"]
        assert chosen != rejected and pair["chosen_score"] >= pair["rejected_score"]
        scores = [r["fidelity"] for r in scorer.score(items[source], [chosen, rejected])]
        assert scores == pytest.approx([pair["chosen_score"], pair["rejected_score"]], abs=1e-6)
    assert (out / "iteration-1").is_dir() and (out / "model.safetensors").exists()
    assert {r["iteration"] for r in eval_lines(out)} == {0, 1}


def test_rloo_with_the_fidelity_reward(tmp_path):
    out = train("rloo.yaml", tmp_path / "rloo", "training.max_steps=2")
    lines = eval_lines(out)
    assert [r["step"] for r in lines] == [0, 2] and "scorer:fidelity" in lines[-1]["signature"]["fidelity"]
    assert {"fidelity", "fidelity/flip", "fidelity/meaning"} <= set(lines[-1]["metrics"])


def test_distilled_reward_model_replaces_the_scorer_in_grpo(tmp_path):
    from transformers import AutoModelForSequenceClassification

    rm = train("reward.yaml", tmp_path / "rm", "training.max_steps=2")
    pairs = [json.loads(line) for line in (rm / "pairs.jsonl").read_text().splitlines()]
    assert pairs and all(p["chosen_score"] - p["rejected_score"] >= 0.01 for p in pairs)
    model = AutoModelForSequenceClassification.from_pretrained(rm)
    assert model.config.num_labels == 1
    out = train("grpo.yaml", tmp_path / "grpo-rm", "training.max_steps=1", "rewards.pluralism=0",
                f"rewards.reward_model={rm}", "eval_hook.enabled=false")
    assert (out / "model.safetensors").exists()


def sigterm_at(step: int):
    """An `on_step_begin` that sends this process SIGTERM at a step, as a scheduler pre-empting the job would."""

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step + 1 == step:
            os.kill(os.getpid(), signal.SIGTERM)

    return on_step_begin


def test_item_3_an_interrupted_run_exits_143_looks_unfinished_and_resumes(tmp_path, monkeypatch, capsys):
    """Item 3: SIGTERM saves a checkpoint, then the run exits 143 (not 0), writes no final weights,
    marks run.json interrupted; `export` refuses it unless --allow-incomplete, and then the card
    says step 3 of 4. Resuming keeps the run id (item 4: every eval line carries it) and finishes."""
    from pluralign.train.callbacks import SaveOnInterrupt

    out = tmp_path / "resume"
    overrides = [f"output_dir={out}", *SMALL, "training.max_steps=4", "training.save_strategy=steps",
                 "training.save_steps=2", "eval_hook.every_n_steps=2"]
    monkeypatch.setattr(SaveOnInterrupt, "on_step_begin", sigterm_at(3), raising=False)
    assert cli_main(["train", str(CPU / "sft.yaml"), *overrides]) == 143
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "training stopped by SIGTERM at step 3 of 4" in err and f"{out / 'checkpoint-3'}" in err
    assert "training.resume_from_checkpoint=true" in err
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-3"]
    assert not (out / "model.safetensors").exists()  # nothing that passes for a finished model
    run = json.loads((out / "run.json").read_text())
    assert (run["status"], run["step"], run["max_steps"], run["signal"]) == ("interrupted", 3, 4, "SIGTERM")
    assert [(r["step"], r["run_id"]) for r in eval_lines(out)] == [(0, run["run_id"]), (2, run["run_id"]), (3, run["run_id"])]

    assert cli_main(["export", str(out), "--out", str(tmp_path / "refused")]) == 2
    assert "did not finish (interrupted by SIGTERM; step 3 of 4)" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
    assert cli_main(["export", str(out), "--out", str(tmp_path / "exported"), "--allow-incomplete"]) == 0
    card = (tmp_path / "exported" / "README.md").read_text()
    assert "**Incomplete run.**" in card and "`checkpoint-3`" in card and "step 3 of 4" in card
    assert "incomplete-run" in card.split("---")[1]

    assert cli_main(["train", str(CPU / "sft.yaml"), *overrides, "training.resume_from_checkpoint=true"]) == 0
    assert f"saved to {out} (step 4" in capsys.readouterr().err
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    assert [h["step"] for h in state["log_history"] if "loss" in h] == [1, 2, 3, 4]  # step 4 was the only new one
    assert [r["step"] for r in eval_lines(out)] == [0, 2, 3, 3, 4]  # appended, not overwritten
    finished = json.loads((out / "run.json").read_text())
    assert (finished["status"], finished["step"], finished["run_id"]) == ("complete", 4, run["run_id"])
    assert {r["run_id"] for r in eval_lines(out)} == {run["run_id"]}
    assert (out / "model.safetensors").exists()
    assert cli_main(["export", str(out), "--out", str(tmp_path / "complete")]) == 0


def test_gpu_benchmark_cpu_tiny_variant_runs_dpo_and_grpo(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "benchmarks" / "bench_gpu.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = RESULTS_MD.read_text() if RESULTS_MD.exists() else None
    assert bench.main(["--cpu-tiny", "--json", str(tmp_path / "figures.json")]) == 0
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert [r["method"] for r in figures["runs"]] == ["dpo", "grpo"]
    assert all(r["steps"] == 1 and r["tokens"] > 0 and r["tokens_per_s"] > 0 for r in figures["runs"])
    assert (RESULTS_MD.read_text() if RESULTS_MD.exists() else None) == results  # the CPU variant writes nothing
