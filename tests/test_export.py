"""`pluralign export`: merged LoRA weights, the model card, the dry run and the push (against a
local server that records what a Hub would receive)."""

import base64
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from conftest import FAKE_HUB_TOKEN as FAKE_TOKEN  # the token the fake_hub fixture sets

from pluralign.cli import main

SIGNATURE = ("pluralign:0.1.0|scorer:pluralism|backend:embedding:all-MiniLM-L6-v2|threshold:0.3|groups:given"
             "|data:sha256:b251db5ce0dda780|n:24|suite:pluralign-summarize-v1")
FIDELITY_SIGNATURE = ("pluralign:0.1.0|scorer:fidelity|backend:embedding:all-MiniLM-L6-v2|groups:given"
                      "|data:sha256:0123456789abcdef|n:10|suite:pluralign-reformulate-v1")
# The layout `pluralign eval` writes: one section per suite, each with its signature.
REPORT = {
    "pluralign_report": 1,
    "command": "pluralign eval --model out/grpo --debates data/polis/scoop-hivemind-ubi.jsonl --out eval",
    "backend": "embedding:all-MiniLM-L6-v2",
    "suites": {
        "summarize": {
            "suite": "pluralign-summarize-v1", "task": "summarize", "signature": SIGNATURE,
            "metrics": {
                "pluralism": {"mean": 0.5125, "ci_low": 0.45, "ci_high": 0.57, "n": 24},
                "min_group_coverage": {"mean": 0.4125, "ci_low": 0.31, "ci_high": 0.52, "n": 24},
                "deficit_mass": {"mean": 0.2, "ci_low": 0.1, "ci_high": 0.3, "n": 24},
                "minority_recall": {"mean": None, "ci_low": None, "ci_high": None, "n": 0},
                "n_participants": {"mean": 180.5, "ci_low": 170.0, "ci_high": 190.0, "n": 24},  # a count, not a result
            },
        },
        "reformulate": {
            "suite": "pluralign-reformulate-v1", "task": "reformulate", "signature": FIDELITY_SIGNATURE,
            "metrics": {"fidelity": {"mean": 0.7, "ci_low": 0.6, "ci_high": 0.8, "n": 10},
                        "stance_flip": {"value": 0.1, "ci_low": 0.0, "ci_high": 0.3, "n": 10}},
        },
    },
}
RECIPE = """\
model: {base}
task: summarize
method: grpo
data:
  train: data/synthetic/debates.jsonl
  eval: data/polis/scoop-hivemind-ubi.jsonl
  hub: example-org/deliberation-debates
lora:
  r: 4
  target_modules: [q_proj, v_proj]
"""
BENCHMARK = "example-org/pluralign-bench-v1"
WANDB_URL = "https://wandb.ai/someone/pluralign/runs/abc123"


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    """A training output dir as `pluralign train` leaves it: a LoRA adapter in checkpoint-4 (no
    tokenizer there: export must take the base's), the recipe and the eval hook's log."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from pluralign.tiny import build_tiny_causal_lm

    root = tmp_path_factory.mktemp("lora-run")
    base = build_tiny_causal_lm(root / "base")
    (root / "base" / "README.md").write_text("---\nlicense: apache-2.0\n---\n\n# tiny base\n")
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    torch.manual_seed(1)
    for name, param in model.named_parameters():
        if "lora_B" in name:  # peft starts B at zero, which would make merging trivially exact
            torch.nn.init.normal_(param, std=0.5)
    run = root / "run"
    model.save_pretrained(run / "checkpoint-4")
    (run / "recipe.yaml").write_text(RECIPE.format(base=base))
    # The eval hook's lines: metrics named `<scorer>` and `<scorer>/<metric>`, one signature per scorer.
    log = [{"step": step, "epoch": 1.0, "when": "step", "n": 6,
            "metrics": {"pluralism": value + 0.1, "pluralism/min_group_coverage": value},
            "signature": {"pluralism": SIGNATURE}, "samples": []}
           for step, value in ((0, 0.1), (4, 0.25), (8, 0.5))]
    (run / "eval_metrics.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in log))
    # The card TRL writes into the output dir at each checkpoint, with its W&B link and versions.
    from trl.trainer.utils import generate_model_card

    generate_model_card(base_model=None, model_name="run", hub_model_id="run", dataset_name=None, tags=["grpo", "trl"],
                        wandb_url=WANDB_URL, trackio_url=None, trainer_name="GRPO").save(run / "README.md")
    report = root / "eval"
    report.mkdir()
    (report / "report.json").write_text(json.dumps(REPORT))
    return {"base": base, "run": run, "checkpoint": run / "checkpoint-4", "report": report, "root": root}


@pytest.fixture(scope="module")
def merged(lora_run):
    out = lora_run["root"] / "merged"
    assert main(["export", str(lora_run["run"]), "--out", str(out), "--merge-lora", "--report", str(lora_run["report"]),
                 "--base-model", "example-org/tiny-base", "--benchmark-dataset", BENCHMARK,
                 "--push-to-hub", "someone/tiny-plural", "--dry-run"]) == 0
    return out


def test_merged_lora_generates_like_the_unmerged_adapter(lora_run, merged):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert (merged / "model.safetensors").is_file() and not (merged / "adapter_config.json").exists()
    tokenizer = AutoTokenizer.from_pretrained(merged)
    merged_model = AutoModelForCausalLM.from_pretrained(merged).eval()
    base_model = AutoModelForCausalLM.from_pretrained(lora_run["base"]).eval()
    adapter_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(lora_run["base"]),
                                              lora_run["checkpoint"]).eval()
    inputs = tokenizer(["the council should fund more bike lanes"], return_tensors="pt")
    with torch.no_grad():
        merged_logits = merged_model(**inputs).logits
        adapter_logits = adapter_model(**inputs).logits
        base_logits = base_model(**inputs).logits
        greedy = {"max_new_tokens": 12, "do_sample": False}
        merged_tokens = merged_model.generate(**inputs, **greedy)
        adapter_tokens = adapter_model.generate(**inputs, **greedy)
    assert (adapter_logits - base_logits).abs().max() > 1e-2  # the adapter really changes the model
    torch.testing.assert_close(merged_logits, adapter_logits, atol=1e-4, rtol=1e-4)
    assert merged_tokens.tolist() == adapter_tokens.tolist()


def test_model_card_has_model_index_with_metrics_and_signature(lora_run, merged):
    from huggingface_hub import ModelCard

    card = ModelCard.load(merged / "README.md")
    meta = card.data.to_dict()
    assert meta["base_model"] == "example-org/tiny-base"
    assert meta["library_name"] == "transformers"
    assert meta["license"] == "apache-2.0"  # from the base model's own card
    assert {"pluralign", "deliberation", "trl", "grpo", "summarize", "lora"} <= set(meta["tags"])
    assert meta["datasets"] == ["example-org/deliberation-debates", BENCHMARK]  # Hub ids only, no file stems
    [index] = meta["model-index"]
    results = {r["task"]["type"]: r for r in index["results"]}
    assert set(results) == {"summarization", "text2text-generation"}
    summarize = results["summarization"]
    assert summarize["dataset"] == {"name": "pluralign-summarize-v1", "type": BENCHMARK, "config": "summarize",
                                    "split": "test"}
    metrics = {m["type"]: m for m in summarize["metrics"]}
    # the metric without a mean is left out, and so is the count
    assert set(metrics) == {"pluralism", "min_group_coverage", "deficit_mass"}
    assert metrics["min_group_coverage"]["value"] == 0.4125
    assert metrics["min_group_coverage"]["args"] == {"signature": SIGNATURE, "ci_low": 0.31, "ci_high": 0.52, "n": 24}
    assert all(m["args"]["signature"] == SIGNATURE for m in metrics.values())
    flip = {m["type"]: m for m in results["text2text-generation"]["metrics"]}["stance_flip"]
    assert (flip["value"], flip["args"]["signature"]) == (0.1, FIDELITY_SIGNATURE)
    # The body: results with CIs, counts apart, the recipe, the Polis attribution and the limits.
    assert "| min_group_coverage | 0.4125 | [0.3100, 0.5200] | 24 |" in card.text
    assert "| n_participants |" not in card.text and "n_participants 180.5" in card.text
    assert SIGNATURE in card.text and FIDELITY_SIGNATURE in card.text and "method: grpo" in card.text
    assert "CC BY 4.0" in card.text and "The Computational Democracy Project" in card.text
    assert "English-centred" in card.text
    # TRL's own card content is kept: the W&B link, framework versions, citations.
    assert WANDB_URL in card.text and "### Framework versions" in card.text and "vonwerra2020trl" in card.text
    assert (merged / "recipe.yaml").read_text() == (lora_run["run"] / "recipe.yaml").read_text()


def test_eval_results_entries_point_at_the_benchmark_and_validate(lora_run, merged, fake_hub):
    """The card parses back with huggingface_hub (model-index into EvalResult objects), is what
    ModelCard.validate sends to the Hub (here the local server), and `.eval_results/` parses with
    huggingface_hub's own reader; every dataset is a Hub id."""
    from huggingface_hub import ModelCard, parse_eval_result_entries
    from huggingface_hub.utils import validate_repo_id

    card = ModelCard.load(merged / "README.md")
    assert {(r.dataset_type, r.metric_type) for r in card.data.eval_results} >= {(BENCHMARK, "pluralism"),
                                                                                (BENCHMARK, "stance_flip")}
    card.validate()
    assert [r["path"].split("?")[0] for r in fake_hub.requests] == ["/api/validate-yaml"]
    sent = json.loads(fake_hub.requests[0]["body"])
    assert sent["repoType"] == "model" and yaml.safe_load(sent["content"].split("---")[1])["datasets"] == meta_datasets(card)
    [path] = (merged / ".eval_results").iterdir()
    assert path.name == "pluralign-bench-v1.yaml"
    entries = parse_eval_result_entries(yaml.safe_load(path.read_text()))
    assert [(e.dataset_id, e.task_id, e.value) for e in entries] == [(BENCHMARK, "summarize", 0.5125),
                                                                     (BENCHMARK, "reformulate", 0.7)]
    assert SIGNATURE in entries[0].notes and "95% CI [0.4500, 0.5700]" in entries[0].notes and "n=24" in entries[0].notes
    assert entries[0].source_url == "https://huggingface.co/someone/tiny-plural"
    for dataset in {e.dataset_id for e in entries} | set(meta_datasets(card)):
        validate_repo_id(dataset)
        assert "/" in dataset


def meta_datasets(card) -> list[str]:
    return card.data.to_dict()["datasets"]


def test_adapter_export_keeps_the_adapter_and_reads_the_eval_hook_log(lora_run, tmp_path):
    from huggingface_hub import ModelCard

    out = tmp_path / "adapter"
    assert main(["export", str(lora_run["checkpoint"]), "--out", str(out)]) == 0
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (out / name).read_bytes() == (lora_run["checkpoint"] / name).read_bytes()
    assert not (out / "model.safetensors").exists() and (out / "tokenizer_config.json").is_file()
    meta = ModelCard.load(out / "README.md").data.to_dict()
    assert meta["library_name"] == "peft"
    assert "base_model" not in meta  # a local path is not a Hub id
    [result] = meta["model-index"][0]["results"]
    assert result["task"]["type"] == "summarization"  # the recipe's task
    # the held-out split of the recipe's Hub training data: the only Hub dataset these numbers come from
    assert result["dataset"]["type"] == "example-org/deliberation-debates" and result["dataset"]["split"] == "held-out"
    assert not (out / ".eval_results").exists()
    metrics = {m["type"]: m for m in result["metrics"]}
    # checkpoint-4 gets the hook's entry for step 4, not the later step-8 one.
    assert metrics["pluralism/min_group_coverage"]["value"] == 0.25
    assert metrics["pluralism"]["value"] == pytest.approx(0.35)
    assert metrics["pluralism"]["args"] == {"signature": SIGNATURE, "n": 6}


def test_full_model_export_writes_the_same_weights(lora_run, tmp_path, capfd):
    from safetensors.torch import load_file

    out = tmp_path / "full"
    assert main(["export", lora_run["base"], "--out", str(out)]) == 0
    written, original = load_file(out / "model.safetensors"), load_file(Path(lora_run["base"]) / "model.safetensors")
    assert written.keys() == original.keys()
    assert all(torch.equal(written[k], original[k]) for k in original)
    err = capfd.readouterr().err
    assert "no recipe.yaml" in err and "no --report and no eval_metrics.jsonl" in err
    assert "No pluralign results were found" in (out / "README.md").read_text()


def _written_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_dry_run_lists_files_and_sizes_and_pushes_nothing(lora_run, fake_hub, tmp_path, capfd):
    out = tmp_path / "dry"
    assert main(["export", str(lora_run["run"]), "--out", str(out), "--merge-lora",
                 "--push-to-hub", "someone/tiny-plural", "--dry-run"]) == 0
    printed = capfd.readouterr().out
    assert "would upload" in printed and "someone/tiny-plural" in printed
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {"README.md", "model.safetensors", "recipe.yaml", "tokenizer_config.json"} <= {p.name for p in files}
    for path in files:
        assert f"{path.stat().st_size:>14,d}  {path.relative_to(out).as_posix()}" in printed
    assert f"total ({len(files)} files)" in printed
    assert fake_hub.requests == []


def test_push_sends_card_and_weights_with_the_token_and_never_prints_it(lora_run, fake_hub, tmp_path, capfd):
    # A careless recipe holding the token: export must not copy it into the card or the recipe.
    run = Path(shutil.copytree(lora_run["run"], tmp_path / "run"))
    with open(run / "recipe.yaml", "a") as recipe:
        recipe.write(f"hub_token: {FAKE_TOKEN}\n")
    out = tmp_path / "pushed"
    repo = "someone/tiny-plural"
    assert main(["export", str(run), "--out", str(out), "--merge-lora", "--report", str(lora_run["report"]),
                 "--benchmark-dataset", BENCHMARK, "--push-to-hub", repo, "--private"]) == 0
    captured = capfd.readouterr()
    assert f"/{repo}/commit/" in captured.out

    paths = [r["path"].split("?")[0] for r in fake_hub.requests]
    assert paths[0] == "/api/repos/create"
    assert json.loads(fake_hub.requests[0]["body"]) == {"name": "tiny-plural", "organization": "someone",
                                                        "visibility": "private"}
    assert f"/api/models/{repo}/preupload/main" in paths and paths[-1] == f"/api/models/{repo}/commit/main"
    commit = [json.loads(line) for line in fake_hub.requests[-1]["body"].splitlines()]
    sent = {item["value"]["path"]: base64.b64decode(item["value"]["content"])
            for item in commit if item["key"] == "file"}
    for name in ("README.md", "model.safetensors", "recipe.yaml", "tokenizer.json", ".eval_results/pluralign-bench-v1.yaml"):
        assert sent[name] == (out / name).read_bytes()
    assert yaml.safe_load(sent["README.md"].decode().split("---")[1])["model-index"][0]["name"] == repo
    # Every request authenticates with the token; nothing the user sees or keeps contains it.
    assert all(r["headers"].get("authorization", r["headers"].get("Authorization")) == f"Bearer {FAKE_TOKEN}"
               for r in fake_hub.requests)
    assert FAKE_TOKEN not in captured.out and FAKE_TOKEN not in captured.err
    assert FAKE_TOKEN.encode() not in _written_bytes(out)
    assert "hub_token: <redacted>" in (out / "recipe.yaml").read_text()


def test_item_12_a_refused_push_is_refused_before_any_export_work(lora_run, fake_hub, tmp_path, capfd):
    """Item 12: the token, the network and the right to write are checked first, so a refused
    push costs no export work and leaves nothing behind; the token is never printed."""
    out = tmp_path / "refused"
    assert main(["export", str(lora_run["checkpoint"]), "--out", str(out), "--merge-lora",
                 "--push-to-hub", "not-yours/x"]) == 2
    captured = capfd.readouterr()
    assert "cannot push to not-yours/x" in captured.err and "may write to not-yours" in captured.err
    assert "nothing was exported" in captured.err and "writing safetensors" not in captured.err
    assert FAKE_TOKEN not in captured.out + captured.err
    assert not out.exists()
    assert [r["path"].split("?")[0] for r in fake_hub.requests] == ["/api/repos/create"]


def test_push_refuses_offline_mode_and_says_what_to_do(lora_run, tmp_path, capfd, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    out = tmp_path / "offline"
    assert main(["export", str(lora_run["checkpoint"]), "--out", str(out), "--push-to-hub", "someone/x"]) == 2
    assert "HF_HUB_OFFLINE is set" in capfd.readouterr().err


def test_a_flat_report_is_read_too(tmp_path):
    from pluralign.eval.report import read_eval_report

    flat = {"suite": "my-suite", "signature": SIGNATURE,
            "metrics": {"pluralism": {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 8}, "coverage": 1.0}}
    (tmp_path / "report.json").write_text(json.dumps(flat))
    scores = read_eval_report(tmp_path).scores
    assert [(s.name, s.value, s.ci_low, s.n, s.suite, s.signature) for s in scores] == [
        ("pluralism", 0.5, 0.4, 8, "my-suite", SIGNATURE), ("coverage", 1.0, None, None, "my-suite", SIGNATURE)]


@pytest.mark.parametrize("problem", ["no-model", "out-not-empty", "no-report", "report-without-metrics",
                                     "base-not-found"])
def test_bad_inputs_name_the_path_and_the_fix(lora_run, tmp_path, capfd, problem):
    empty, out = tmp_path / "empty", tmp_path / "out"
    empty.mkdir()
    moved = Path(shutil.copytree(lora_run["checkpoint"], tmp_path / "moved"))  # its base is gone
    config = json.loads((moved / "adapter_config.json").read_text())
    (moved / "adapter_config.json").write_text(json.dumps(config | {"base_model_name_or_path": str(tmp_path / "gone")}))
    args = {
        "no-model": [str(empty), "--out", str(out)],
        "out-not-empty": [str(lora_run["checkpoint"]), "--out", str(lora_run["run"])],
        "no-report": [str(lora_run["checkpoint"]), "--out", str(out), "--report", str(empty)],
        "report-without-metrics": [str(lora_run["checkpoint"]), "--out", str(out), "--report", str(tmp_path / "r.json")],
        "base-not-found": [str(moved), "--out", str(out), "--merge-lora"],
    }[problem]
    (tmp_path / "r.json").write_text(json.dumps({"suites": {"summarize": {"suite": "s"}}}))
    assert main(["export", *args]) == 2
    err = capfd.readouterr().err
    expected = {
        "no-model": f"{empty}: CHECKPOINT has no config.json or adapter_config.json",
        "out-not-empty": f"{lora_run['run']}: --out exists and is not an empty folder",
        "no-report": f"{empty / 'report.json'}: not found; pass --report the folder",
        "report-without-metrics": f"{tmp_path / 'r.json'}: suites.summarize.metrics: missing",
        "base-not-found": f"{moved / 'adapter_config.json'}: base model '{tmp_path / 'gone'}' could not be loaded",
    }[problem]
    assert expected in err
    assert not out.exists()  # nothing half-written


def test_item_12_the_readme_export_commands_work_in_sequence(lora_run, fake_hub, tmp_path, monkeypatch, capfd):
    """Item 12: the README's dry run and then its push used to fail (`exported` not empty)."""
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "pluralign export" in b)
    commands = [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if "pluralign export" in line]
    assert len(commands) == 2 and "--dry-run" in commands[0] and "--push-to-hub" in commands[1]
    given = {"outputs/cpu-grpo": str(lora_run["run"]), "runs/audit": str(lora_run["report"])}
    monkeypatch.chdir(tmp_path)
    for words in commands:
        words = words[words.index("pluralign") + 1:]
        assert main([given.get(word, word) for word in words]) == 0, words
    assert fake_hub.requests[-1]["path"].split("?")[0] == "/api/models/you/model/commit/main"
    assert (tmp_path / "exported" / "README.md").is_file() and (tmp_path / "exported-hub" / "README.md").is_file()


def test_the_base_models_license_comes_from_its_cached_hub_card(tmp_path, monkeypatch):
    import huggingface_hub

    from pluralign.export.card import license_of

    card = tmp_path / "README.md"
    card.write_text("---\nlicense: other\nlicense_name: llama3.1\nlicense_link: https://llama.meta.com/llama3_1/license\n"
                    "---\n\n# base\n")
    asked = []
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache",
                        lambda repo, name: asked.append((repo, name)) or str(card))
    assert license_of("meta-llama/Llama-3.1-8B-Instruct") == {
        "license": "other", "license_name": "llama3.1", "license_link": "https://llama.meta.com/llama3_1/license"}
    assert asked == [("meta-llama/Llama-3.1-8B-Instruct", "README.md")]
    # not cached and offline (the tests are): nothing is claimed
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: None)
    assert license_of("meta-llama/Llama-3.1-8B-Instruct") == {}
