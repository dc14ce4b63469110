"""Recipes: loading, overrides, clear errors, masked secrets, and every shipped recipe validated
(TRL config, LoraConfig, rewards, eval-hook settings) without downloading anything."""

from pathlib import Path

import pytest
import yaml

from pluralign.cli import main as cli_main
from pluralign.train.recipe import RecipeError, load_recipe, mask_secrets, validate_recipe
from pluralign.train.rewards import reward_setup

ROOT = Path(__file__).resolve().parents[1]
# The demo's recipes name data that `make demo` writes first; these run on shipped data.
RECIPES = sorted(p for folder in ("cpu", "llama3-8b-lora-zero3", "qwen2.5-1.5b-full-ddp")
                 for p in (ROOT / "recipes" / folder).glob("*.yaml"))
DEBATES = ROOT / "data" / "synthetic" / "debates.jsonl"


def write_recipe(tmp_path, **changes):
    raw = {
        "model": {"name_or_path": "tiny:llama"}, "data": {"path": str(DEBATES)},
        "task": "summarize", "method": "grpo", "training": {"max_steps": 2},
        "rewards": {"funcs": ["pluralism"]}, "output_dir": str(tmp_path / "out"),
    }
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            raw.setdefault(section, {})[field] = value
        elif value is None:
            raw.pop(section, None)
        else:
            raw[section] = value
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_every_shipped_recipe_builds_its_configs_offline():
    assert {"cpu", "llama3-8b-lora-zero3", "qwen2.5-1.5b-full-ddp"} <= {p.parent.name for p in RECIPES}
    for path in RECIPES:
        built = validate_recipe(path)
        recipe, args = built["recipe"], built["training"]
        assert type(args).__name__ == {"sft": "SFTConfig", "dpo": "DPOConfig", "grpo": "GRPOConfig",
                                       "rloo": "RLOOConfig", "reward": "RewardConfig"}[recipe.method]
        assert args.output_dir == recipe.output_dir and args.seed == recipe.seed
        assert recipe.model.trust_remote_code is False
        specs, _ = built["rewards"]
        if recipe.method != "sft":
            assert specs[0].name == ("pluralism" if recipe.task == "summarize" else "fidelity")
            # The judge variant mixes the fast scorer with an LLM judge served next to the run.
            assert [s.name for s in specs[1:]] == (["judge_pluralism"] if path.stem.endswith("-judge") else [])
        if path.parent.name == "llama3-8b-lora-zero3":
            assert built["lora"].r == 16 and "Llama-3.1-8B" in recipe.model.name_or_path
        if path.parent.name == "qwen2.5-1.5b-full-ddp":
            assert built["lora"] is None
        if recipe.method == "grpo":
            assert args.num_iterations >= 1 and args.epsilon == 0.2
        assert recipe.eval_hook.every_n_steps > 0 and recipe.eval_hook.max_new_tokens > 0


def test_cluster_recipes_cover_each_task_and_say_why_grpo():
    for folder in ("llama3-8b-lora-zero3", "qwen2.5-1.5b-full-ddp"):
        names = {p.stem for p in (ROOT / "recipes" / folder).glob("*.yaml")}
        assert {"summarize-pluralism", "summarize-pluralism-vllm", "reformulate-fidelity", "translate-fidelity"} <= names
        assert "PPOTrainer" in (ROOT / "recipes" / folder / "summarize-pluralism.yaml").read_text()


def test_vllm_variants_colocate_and_serve_with_lengths_for_40_comment_prompts():
    colocate = load_recipe(ROOT / "recipes/qwen2.5-1.5b-full-ddp/summarize-pluralism-vllm.yaml")
    server = load_recipe(ROOT / "recipes/llama3-8b-lora-zero3/summarize-pluralism-vllm.yaml")
    assert (colocate.training["use_vllm"], colocate.training["vllm_mode"]) == (True, "colocate")
    assert (server.training["use_vllm"], server.training["vllm_mode"]) == (True, "server") and server.lora
    for recipe in (colocate, server):
        assert recipe.data.max_comments == 40 and recipe.training["max_completion_length"] >= 256
    # vLLM's context holds the longest 40-comment prompt of the real-debate suite plus a completion
    # (~4 characters a token is generous for BPE vocabularies on these languages).
    from pluralign.data.jsonl import read_debates
    from pluralign.data.tasks import build_summarize_dataset

    suite = list(read_debates(ROOT / "pluralign/suites/pluralign-bench-v1/summarize.jsonl"))
    longest = max(len(r["prompt"][0]["content"]) for r in build_summarize_dataset(suite, max_comments=40))
    assert longest / 3 + colocate.training["max_completion_length"] <= colocate.training["vllm_max_model_length"]
    assert "--max_model_len 4096" in Path(server.path).read_text()
    sft = load_recipe(ROOT / "recipes/qwen2.5-1.5b-full-ddp/summarize-sft.yaml")
    assert sft.method == "sft" and sft.training["packing"] is True


def test_every_shipped_recipe_fits_8_processes_by_name(capsys):
    from pluralign.resources import shipped_recipes

    # the demo's data is made by make demo; judge/ recipes run with `pluralign fit cross-encoder` (tests/test_cross_encoder.py)
    names = [n for n in shipped_recipes() if not n.startswith(("demo/", "judge/"))]
    assert {"cpu/grpo", "qwen2.5-1.5b-full-ddp/summarize-pluralism", "llama3-8b-lora-zero3/summarize-pluralism-vllm"} <= set(names)
    for name in names:
        assert cli_main(["train", name, "--dry-run", "--num-processes", "8"]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert "8 process(es)" in out, out
        if "grpo" in out or "rloo" in out:
            assert "prompts per round" in out


def test_a_round_the_data_cannot_fill_fails_at_load_with_the_arithmetic(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    path = write_recipe(tmp_path, training={"per_device_train_batch_size": 4, "num_generations": 8,
                                            "gradient_accumulation_steps": 4}, output_dir=str(out))
    expected = ("data.path: 8 process(es) × 4 per device × 4 accumulation = 128 per optimizer step; 128 completions "
                "per generation round / 8 per prompt = 16 prompts per round; 5 training prompt(s) (1 held out): a "
                "generation round needs 16 prompts and the data gives 5")
    assert cli_main(["train", str(path), "--dry-run", "--num-processes", "8"]) == 2
    assert expected in capsys.readouterr().err
    # a real launch reads the process count from the launcher (WORLD_SIZE), and fails before any model
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert cli_main(["train", str(path)]) == 2
    assert expected in capsys.readouterr().err
    assert not out.exists()
    monkeypatch.delenv("WORLD_SIZE")
    # one process: 16 accumulation steps need 16 prompts too
    assert cli_main(["train", "--dry-run", str(path), "training.gradient_accumulation_steps=32"]) == 2
    assert "= 16 prompts per round; 5 training prompt(s)" in capsys.readouterr().err
    assert cli_main(["train", "--dry-run", "--num-processes", "3", str(path), "training.gradient_accumulation_steps=1"]) == 2
    assert "training.num_generations: 3 process(es) × 4 per device × 1 accumulation = 12 per optimizer step" in (
        err := capsys.readouterr().err) and "12 completions per round are not a multiple of num_generations=8" in err


def test_prompt_counts_match_the_built_datasets():
    from pluralign.train.data import build_prompts, count_prompts

    for path, overrides in ((ROOT / "recipes/cpu/grpo.yaml", []), (ROOT / "recipes/cpu/rloo.yaml", []),
                            (ROOT / "recipes/cpu/dpo.yaml", ["task=translate", "data.synth=null", f"data.path={DEBATES}",
                                                             "data.per_debate=3", "rewards.funcs=[fidelity]",
                                                             "pairs.source=on_policy"])):
        recipe = load_recipe(path, overrides)
        assert count_prompts(recipe) == len(build_prompts(recipe)), path


def test_shipped_recipes_resolve_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli_main(["train", "cpu/grpo", "--dry-run"]) == 0
    assert "grpo.yaml: valid grpo recipe" in capsys.readouterr().out
    assert cli_main(["train", "cpu/nope", "--dry-run"]) == 2
    assert "the shipped ones are " in capsys.readouterr().err
    assert cli_main(["train", "cpu/grpo", "--num-processes", "8"]) == 2
    assert "--num-processes applies to --dry-run" in capsys.readouterr().err


def test_model_options_and_synthetic_data_are_checked_at_load(tmp_path, monkeypatch):
    import torch

    from pluralign.train.model import model_init_kwargs

    recipe = load_recipe(write_recipe(tmp_path), ["model.attn_implementation=sdpa", "model.dtype=bfloat16",
                                                  "training.model_init_kwargs={attn_implementation: eager, use_kernels: true}"])
    assert model_init_kwargs(recipe) == {"dtype": "bfloat16", "trust_remote_code": False, "attn_implementation": "eager",
                                         "use_kernels": True}  # the recipe's own kwargs win
    with pytest.raises(RecipeError, match="training.model_init_kwargs.trust_remote_code: set model.trust_remote_code"):
        load_recipe(write_recipe(tmp_path), ["training.model_init_kwargs={trust_remote_code: true}"])
    with pytest.raises(RecipeError, match="model.load_in_4bit: 4-bit weights are frozen: add a lora: section"):
        load_recipe(write_recipe(tmp_path), ["model.load_in_4bit=true"])
    qlora = load_recipe(write_recipe(tmp_path), ["model.load_in_4bit=true", "lora.r=8"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RecipeError, match="model.load_in_4bit: 4-bit .QLoRA. loading needs a CUDA GPU"):
        model_init_kwargs(qlora)
    with pytest.raises(RecipeError, match="data.synth: give data.path or data.synth, not both"):
        load_recipe(write_recipe(tmp_path), ["data.synth={n_debates: 4}"])
    with pytest.raises(RecipeError, match="data.synth.n_debate: unknown key for SynthSpec; did you mean n_debates"):
        load_recipe(write_recipe(tmp_path), ["data.path=", "data.synth={n_debate: 4}"])
    synth = load_recipe(write_recipe(tmp_path), ["data.path=", "data.synth={n_debates: 20, languages: [en, fr]}"])
    from pluralign.train.data import count_prompts

    assert count_prompts(synth) == 20


def test_reward_functions_build_offline_from_a_recipe():
    recipe = load_recipe(ROOT / "recipes" / "cpu" / "rloo.yaml")
    specs, funcs = reward_setup(recipe)
    assert [s.weight for s in specs] == [1.0] and funcs[0].__name__ == "fidelity"


def test_dry_run_through_the_cli(capsys):
    assert cli_main(["train", "--dry-run", str(ROOT / "recipes/llama3-8b-lora-zero3/summarize-pluralism.yaml"),
                     "training.max_steps=7"]) == 0
    assert "valid grpo recipe for summarize" in capsys.readouterr().out


def test_overrides_set_nested_keys_with_yaml_types(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path), ["training.learning_rate=3e-4", "training.max_steps=5",
                                                  "eval_hook.enabled=false", "lora.r=4", "seed=7"])
    args = recipe.training_config(use_cpu=True, bf16=False)
    assert args.learning_rate == 3e-4 and args.max_steps == 5 and args.seed == 7
    assert recipe.eval_hook.enabled is False and recipe.lora_config().r == 4


@pytest.mark.parametrize("changes, overrides, message", [
    ({}, ["training.learnin_rate=1e-5"], "recipe.yaml: training.learnin_rate: unknown key for GRPOConfig; did you mean learning_rate?"),
    ({}, ["training.max_steps=many"], "training.max_steps: expected int, got str 'many'"),
    ({}, ["training.bf16=3"], "training.bf16: expected"),
    ({}, ["method=ppo"], "method: unknown method 'ppo'"),
    ({}, ["task=translation"], "task: unknown task 'translation'"),
    ({}, ["eval_hok.every_n_steps=3"], "eval_hok: unknown recipe section; did you mean eval_hook?"),
    ({}, ["eval_hook.every_n_step=3"], "eval_hook.every_n_step: unknown key for EvalHookSection; did you mean every_n_steps?"),
    ({}, ["lora.rank=8"], "lora.rank: unknown key for LoraConfig"),
    ({}, ["data.path=missing.jsonl"], "data.path: missing.jsonl: no such file or folder"),
    ({}, ["rewards.funcs=[]"], "rewards.funcs: a grpo run needs a reward"),
    ({}, ["rewards.funcs=[pluralism, fidelity]"], "rewards.funcs[1]: fidelity judges reformulate, translate outputs, not summarize"),
    ({}, ["rewards.funcs=[pluralsim]"], "rewards.funcs[0]: unknown reward 'pluralsim'; did you mean pluralism?"),
    ({}, ["rewards.weights=[1.0, 2.0]"], "rewards.weights: 2 weight(s) for 1 reward(s)"),
    ({}, ["rewards.weights=[-1.0]"], "rewards.weights[0]: must be a number >= 0, got -1.0"),
    ({}, ["rewards.funcs=[no_such_module.reward]"], "rewards.funcs[0]: reward 'no_such_module.reward': cannot import no_such_module"),
    ({}, ["rewards.options={fidelity: {threshold: 0.5}}"], "rewards.options.fidelity: 'fidelity' is not in rewards.funcs"),
    ({}, ["training.output_dir=x"], "training.output_dir: also given at the top level"),
    ({}, ["training.trust_remote_code=true"], "set model.trust_remote_code instead"),
    ({"method": "dpo"}, ["pairs.source=candidates"], "pairs.candidates: None: no such candidates file"),
    ({}, ["training"], "an override is key=value"),
])
def test_recipe_errors_name_the_file_and_the_key(tmp_path, changes, overrides, message):
    path = write_recipe(tmp_path, **changes)
    with pytest.raises(RecipeError) as err:
        load_recipe(path, overrides)
    assert str(err.value).startswith(str(path)) and message.split(": ", 1)[-1] in str(err.value)
    assert message.replace("recipe.yaml: ", "") in str(err.value)


def test_missing_recipe_file_and_cli_exit_code(tmp_path, capsys):
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "nope.yaml")
    path = write_recipe(tmp_path)
    assert cli_main(["train", str(path), "training.learnin_rate=1e-5"]) == 2
    assert "did you mean learning_rate?" in capsys.readouterr().err


def test_yaml_is_read_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("method: !!python/object/apply:os.system ['echo hacked']\n", encoding="utf-8")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(path)


def test_credentials_are_refused_and_masked(tmp_path, capsys):
    path = write_recipe(tmp_path)
    with pytest.raises(RecipeError, match=r"training.hub_token: looks like a credential; .* HF_TOKEN"):
        load_recipe(path, ["training.hub_token=hf_abcdefghijklmnop"])
    assert cli_main(["train", str(path), "rewards.pluralism_options.note=hf_abcdefghijklmnop"]) == 2
    captured = capsys.readouterr()
    assert "hf_abcdefghijklmnop" not in captured.out + captured.err
    recipe = load_recipe(path, ["training.max_completion_length=16"])
    assert "max_completion_length: 16" in yaml.safe_dump(recipe.saved_copy())  # a token count is no secret
    assert mask_secrets({"wandb_api_key": "abc", "note": "hf_ABCDEFGHIJKLMNOPQ", "pad_token": "[PAD]"}) == {
        "wandb_api_key": "***", "note": "***", "pad_token": "[PAD]"}


def test_launch_configs_load_in_accelerate_and_name_their_deepspeed_json():
    import json

    from accelerate.commands.config.config_args import load_config_from_file

    expected = {"cpu": "NO", "single_gpu": "NO", "multi_gpu": "MULTI_GPU", "zero2": "DEEPSPEED",
                "zero3": "DEEPSPEED", "fsdp": "FSDP"}
    for name, kind in expected.items():
        config = load_config_from_file(str(ROOT / "configs" / "accelerate" / f"{name}.yaml"))
        assert config.distributed_type == kind, name
        if kind == "DEEPSPEED":
            ds = json.loads((ROOT / config.deepspeed_config["deepspeed_config_file"]).read_text())
            assert ds["zero_optimization"]["stage"] == int(name[-1]) and ds["train_batch_size"] == "auto"
    assert load_config_from_file(str(ROOT / "configs/accelerate/cpu.yaml")).use_cpu is True


def test_data_may_be_a_saved_dataset_folder(tmp_path):
    from pluralign.data.jsonl import (
        debates_to_dataset,
        items_to_dataset,
        read_debates,
        read_rewrite_items,
    )
    from pluralign.train.data import build_prompts, split_prompts

    debates_to_dataset(read_debates(DEBATES)).save_to_disk(str(tmp_path / "debates"))
    recipe = load_recipe(write_recipe(tmp_path), [f"data.path={tmp_path / 'debates'}", "data.max_comments=5"])
    prompts = build_prompts(recipe)
    assert len(prompts) == 6 and {"prompt", "debate", "debate_id"} <= set(prompts.column_names)
    train, held_out = split_prompts(recipe, prompts)
    assert len(train) + len(held_out) == 6 and not set(train["debate_id"]) & set(held_out["debate_id"])

    items_to_dataset(read_rewrite_items(ROOT / "data/synthetic/translate.jsonl")).save_to_disk(str(tmp_path / "items"))
    recipe = load_recipe(write_recipe(tmp_path), [f"data.path={tmp_path / 'items'}", "task=translate",
                                                  "rewards.pluralism=0", "rewards.fidelity=1"])
    prompts = build_prompts(recipe)
    assert len(prompts) == 48 and set(prompts["task"]) == {"translate"}


def test_a_tiny_model_build_killed_midway_is_not_reused(tmp_path, monkeypatch):
    # A build stopped after config.json but before the tokenizer: the old check (config.json
    # exists) took such a folder as built, and loading its tokenizer then failed.
    import pluralign.tiny
    from pluralign.train.run import load_tokenizer, resolve_model_path

    recipe = load_recipe(write_recipe(tmp_path))
    real_build = pluralign.tiny.build_tiny_causal_lm

    def killed_after_the_config(out_dir, **kwargs):
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "config.json").write_text("{}")
        (Path(out_dir) / "tokenizer.json").write_text("")
        raise KeyboardInterrupt

    monkeypatch.setattr(pluralign.tiny, "build_tiny_causal_lm", killed_after_the_config)
    with pytest.raises(KeyboardInterrupt):
        resolve_model_path(recipe)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith("base-model")]

    monkeypatch.setattr(pluralign.tiny, "build_tiny_causal_lm", real_build)
    path = resolve_model_path(recipe)
    assert path == str(tmp_path / "out" / "base-model")
    assert load_tokenizer(recipe, path).eos_token == "[SEP]"
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith("base-model")] == ["base-model"]


def test_the_slurm_script_checks_the_recipe_for_its_process_count_before_launching(capsys):
    import subprocess

    script = ROOT / "scripts/slurm/train_multinode.slurm"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    dry_run = text.index('pluralign train --dry-run --num-processes "$NUM_PROCESSES"')
    assert dry_run < text.index("trl vllm-serve --model") < text.index("accelerate launch --config_file")
    assert "training.vllm_server_base_url=http://$VLLM_NODE:8000" in text and "#SBATCH --signal=B:TERM@" in text
    assert cli_main(["recipes", "--path", "."]) == 0
    assert Path(capsys.readouterr().out.strip()) == ROOT / "configs"
