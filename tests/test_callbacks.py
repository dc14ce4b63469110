"""The eval hook (PluralismEvalCallback) and save-on-interrupt, driven directly with a tiny model."""

import json
import os
import signal
from pathlib import Path

import pytest
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)

from pluralign.data.jsonl import read_debates
from pluralign.data.tasks import build_rewrite_dataset, build_summarize_dataset, rewrite_items
from pluralign.train.callbacks import PluralismEvalCallback, SaveOnInterrupt, summarise
from pluralign.train.generate import generate_texts

ROOT = Path(__file__).resolve().parents[1]
DEBATES = list(read_debates(ROOT / "data" / "synthetic" / "debates.jsonl"))


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_lm):
    return AutoModelForCausalLM.from_pretrained(tiny_lm), AutoTokenizer.from_pretrained(tiny_lm)


def test_summarise_means_rewards_and_numeric_metrics():
    results = [{"pluralism": 0.2, "metrics": {"a": 1, "flip": True, "none": None, "nested": {"x": 1}}},
               {"pluralism": 0.4, "metrics": {"a": 3, "flip": False}}]
    assert summarise(results, "pluralism") == pytest.approx({"pluralism": 0.3, "a": 2.0, "flip": 0.5})


def test_generation_is_left_padded_and_restores_the_model_and_tokenizer(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    model.train()
    prompts = [[{"role": "user", "content": "short"}], [{"role": "user", "content": "a much longer prompt " * 5}]]
    batched = generate_texts(model, tokenizer, prompts, max_new_tokens=6, batch_size=2)
    one_by_one = [generate_texts(model, tokenizer, [p], max_new_tokens=6)[0] for p in prompts]
    assert batched == one_by_one  # greedy, left padding: batching does not change the outputs
    assert model.training and tokenizer.padding_side == "right"


def drive(callback, model, tokenizer, steps, every):
    args = TrainingArguments(output_dir="unused", use_cpu=True, report_to=[])
    state, control = TrainerState(), TrainerControl()
    kwargs = {"model": model, "processing_class": tokenizer}
    callback.on_train_begin(args, state, control, **kwargs)
    for step in range(1, steps + 1):
        state.global_step = step
        callback.on_step_end(args, state, control, **kwargs)
    callback.on_train_end(args, state, control, **kwargs)
    return state


def test_pluralism_hook_writes_one_line_per_evaluation(tmp_path, model_and_tokenizer):
    from pluralign.rewards.pluralism import PluralismScorer

    model, tokenizer = model_and_tokenizer
    held_out = build_summarize_dataset(DEBATES[:2], max_comments=5)
    hook = PluralismEvalCallback(held_out, "summarize", tmp_path, scorer=PluralismScorer(),
                                 every_n_steps=2, max_new_tokens=6)
    state = drive(hook, model, tokenizer, steps=4, every=2)
    lines = [json.loads(line) for line in (tmp_path / "eval_metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["when"]) for r in lines] == [(0, "begin"), (2, "step"), (4, "step")]  # end at 4: no repeat
    assert all(r["n"] == 2 and r["signature"]["pluralism"].startswith("pluralign:") for r in lines)
    assert {s["id"] for s in lines[0]["samples"]} == {d["id"] for d in DEBATES[:2]}
    assert lines[0]["metrics"]["pluralism"] == pytest.approx(sum(s["pluralism"] for s in lines[0]["samples"]) / 2)
    assert [h["step"] for h in state.log_history if "eval_hook/pluralism" in h] == [0, 2, 4]


def test_fidelity_hook_and_non_main_processes_write_nothing(tmp_path, model_and_tokenizer):
    from pluralign.rewards.fidelity import FidelityScorer

    model, tokenizer = model_and_tokenizer
    items = list(rewrite_items(DEBATES[:1], "reformulate", per_debate=2))
    hook = PluralismEvalCallback(build_rewrite_dataset(items), "reformulate", tmp_path,
                                 scorer=FidelityScorer(), every_n_steps=0, max_new_tokens=6)
    args, state = TrainingArguments(output_dir="unused", use_cpu=True, report_to=[]), TrainerState()
    state.is_world_process_zero = False
    assert hook.evaluate(args, state, {"model": model, "processing_class": tokenizer}, "begin") is None
    assert not (tmp_path / "eval_metrics.jsonl").exists()
    state.is_world_process_zero, state.global_step = True, 1
    record = hook.evaluate(args, state, {"model": model, "processing_class": tokenizer}, "end")
    assert record["n"] == 2 and {"fidelity", "fidelity/flip", "fidelity/meaning"} <= set(record["metrics"])
    assert len((tmp_path / "eval_metrics.jsonl").read_text().splitlines()) == 1


def test_save_on_interrupt_saves_stops_and_restores_the_handler():
    callback, control = SaveOnInterrupt(), TrainerControl()
    before = signal.getsignal(signal.SIGTERM)
    callback.on_train_begin(None, None, control)
    callback.on_step_end(None, None, control)
    assert not control.should_save
    os.kill(os.getpid(), signal.SIGTERM)
    callback.on_step_end(None, None, control)
    assert control.should_save and control.should_training_stop
    callback.on_train_end(None, None, control)
    assert signal.getsignal(signal.SIGTERM) == before


class FakeVLLMEngine:
    """The part of TRL 1.16's `VLLMGeneration` that pluralign uses: `sync_weights()`, the sampling
    attributes read at generation time, and `generate(prompts=token ids, images, num_generations)`
    returning (prompt_ids, completion_ids, logprobs, logprob_token_ids)."""

    def __init__(self, tokenizer):
        self.tokenizer, self.syncs, self.calls = tokenizer, 0, []
        self.max_completion_length, self.temperature = 512, 1.0

    def sync_weights(self):
        self.syncs += 1

    def generate(self, prompts, images, num_generations):
        self.calls.append({"prompts": prompts, "n": num_generations, "max_tokens": self.max_completion_length,
                           "temperature": self.temperature, "images": images})
        completions = [self.tokenizer(f"reply {i}", add_special_tokens=False)["input_ids"] for i in range(len(prompts))]
        return prompts, completions, None, None


def test_with_use_vllm_the_hook_generates_through_the_trainers_engine(model_and_tokenizer, tmp_path):
    """TRL's vLLM engine (fake here: vLLM needs CUDA): the current weights are pushed once per step,
    every prompt is rendered through the chat template and repeated once per sample, as TRL passes
    them, and the call's own length and temperature are used, then the trainer's restored."""
    from types import SimpleNamespace

    from pluralign.train.callbacks import bind_trainer
    from pluralign.train.generate import sharded_generate

    model, tokenizer = model_and_tokenizer
    engine = FakeVLLMEngine(tokenizer)
    trainer = SimpleNamespace(use_vllm=True, vllm_generation=engine, state=SimpleNamespace(global_step=3))
    prompts = [[{"role": "user", "content": "first"}], [{"role": "user", "content": "second"}]]
    texts = sharded_generate(model, tokenizer, prompts, trainer=trainer, max_new_tokens=24, temperature=0.0,
                             num_return_sequences=2)
    assert texts == ["reply 0", "reply 1", "reply 2", "reply 3"]
    [call] = engine.calls
    rendered = [tokenizer(tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False),
                          add_special_tokens=False)["input_ids"] for p in prompts]
    assert call["prompts"] == [rendered[0], rendered[0], rendered[1], rendered[1]] and call["n"] == 2
    assert (call["max_tokens"], call["temperature"]) == (24, 0.0)
    assert (engine.max_completion_length, engine.temperature) == (512, 1.0)
    sharded_generate(model, tokenizer, prompts, trainer=trainer, max_new_tokens=8)
    assert engine.syncs == 1  # same step: the weights are already there
    trainer.state.global_step = 4
    sharded_generate(model, tokenizer, prompts, trainer=trainer, max_new_tokens=8)
    assert engine.syncs == 2

    rows = build_summarize_dataset(DEBATES[:2], max_comments=4)
    hook = PluralismEvalCallback(rows, "summarize", tmp_path, scorer=make_lexical_scorer("summarize"), tokenizer=tokenizer)
    bind_trainer([hook, SaveOnInterrupt()], trainer)
    assert hook.trainer is trainer
    hook.evaluate(TrainingArguments(str(tmp_path), report_to=[]), TrainerState(), {"model": model}, "begin")
    assert len(engine.calls) == 4 and engine.calls[-1]["n"] == 1


def make_lexical_scorer(task):
    from pluralign.rewards.backends import get_backend
    from pluralign.tasks import get_task

    return get_task(task).make_scorer(get_backend("lexical"))


def test_a_vllm_recipe_without_vllm_is_refused_before_any_model(tmp_path, capsys):
    from pluralign.cli import main

    out = tmp_path / "out"
    assert main(["train", "qwen2.5-1.5b-full-ddp/summarize-pluralism-vllm", f"output_dir={out}"]) == 2
    assert "training.use_vllm: vLLM is not installed: pip install 'pluralign[vllm]'" in capsys.readouterr().err
    assert not out.exists()
