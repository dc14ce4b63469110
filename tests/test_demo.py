"""The demo's own pieces: majority-biased targets, the ground-truth minority check, the tiny LM
builder, the log and the verdict. (The full `make demo` takes about 15 minutes; it is not run here.)"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from pluralign.data import synth
from pluralign.data.synth import SynthSpec, synth_debates
from pluralign.tiny import build_tiny_bpe_causal_lm

# The demo is a script of the repository, not part of the package.
_spec = importlib.util.spec_from_file_location("demo", Path(__file__).resolve().parent.parent / "scripts" / "demo.py")
demo = importlib.util.module_from_spec(_spec)
sys.modules["demo"] = demo  # dataclasses look their module up
_spec.loader.exec_module(demo)


@pytest.fixture(scope="module")
def debates():
    return list(synth_debates(SynthSpec(n_debates=10, group_sizes=(6, 2, 4), seed=3)))


def test_smallest_group_is_the_minority(debates):
    assert {synth.smallest_group(d) for d in debates} == {"g2"}


def test_majority_biased_targets_leave_the_minority_out_most_of_the_time(debates):
    targets = synth.majority_biased_summaries(debates, minority_share=0.2, seed=0)
    assert [t["id"] for t in targets] == [d["id"] for d in debates]
    assert sum(t["minority"] for t in targets) == 2  # exactly round(0.2 * 10)
    for debate, target in zip(debates, targets, strict=True):
        by_group = synth.comments_by_group(debate)
        quoted = [g for g, texts in by_group.items() if any(text in target["summary"] for text in texts)]
        majority = {"g1", "g3"}
        assert majority <= set(quoted)
        assert ("g2" in quoted) == target["minority"]
        assert synth.mentions_minority(debate, target["summary"]) == target["minority"]


def test_shares_zero_and_one_differ_only_by_the_minority_sentence(debates):
    without = synth.majority_biased_summaries(debates, minority_share=0.0, seed=5)
    with_minority = synth.majority_biased_summaries(debates, minority_share=1.0, seed=5)
    assert not any(t["minority"] for t in without) and all(t["minority"] for t in with_minority)
    for a, b in zip(without, with_minority, strict=True):
        assert b["summary"].startswith(a["summary"] + " ")


def test_targets_need_ground_truth_groups(debates):
    stripped = json.loads(json.dumps(debates[0]))
    for comment in stripped["comments"]:
        del comment["group"]
    with pytest.raises(ValueError, match="no ground-truth group"):
        synth.majority_biased_summaries([stripped])


def test_mentions_minority_ignores_case_and_tokenizer_spacing(debates):
    debate = debates[0]
    sentence = synth.minority_sentences(debate)[0]
    spaced = sentence.lower().replace(".", " .").replace(",", " ,")
    assert synth.mentions_minority(debate, f"some words first. {spaced}")
    majority_only = " ".join(synth.comments_by_group(debate)["g1"])
    assert not synth.mentions_minority(debate, majority_only)
    assert not synth.mentions_minority(debate, "")


def test_tiny_lm_round_trips_text_and_learns_to_stop_from_its_template(tmp_path, debates):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pluralign.data.tasks import summarize_prompt

    texts = [summarize_prompt(d) for d in debates]
    path = build_tiny_bpe_causal_lm(texts, tmp_path / "lm", vocab_size=400, hidden_size=32, num_layers=1)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    assert len(tokenizer) == model.config.vocab_size <= 400
    sample = "Die Luft wäre sauberer, n'est-ce pas? 公平"
    assert tokenizer.decode(tokenizer(sample)["input_ids"]) == sample  # byte-level: any text survives
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "A summary."}]
    prompt = tokenizer.apply_chat_template(chat[:1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(chat, tokenize=False)
    assert full.startswith(prompt) and full.endswith("A summary.<eos>")
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id


def test_log_keeps_each_progress_bar_final_state():
    chunks = ["step 1\n", "bar  10%\rbar  50%\rbar 100%\n", "done\n"]
    assert demo.log_text(chunks) == "step 1\nbar 100%\ndone\n"


def test_verdict_says_whether_the_cis_separate():
    def ci(mean, low, high):
        return {"mean": mean, "ci_low": low, "ci_high": high, "n": 24}

    before = {"minority_group_coverage": ci(0.4, 0.3, 0.5), "minority_mention_rate": ci(0.1, 0.05, 0.15),
              "pluralism": ci(0.6, 0.55, 0.65), "reward_std_within_debate": 0.05,
              "debates_with_zero_reward_spread": 2, "n_debates": 24}
    after = {**before, "minority_group_coverage": ci(0.8, 0.7, 0.9), "pluralism": ci(0.62, 0.57, 0.67),
             "reward_std_within_debate": 0.04}
    lines = demo.verdict(before, after)
    assert "ROSE" in lines[0]
    assert "did not change clearly" in lines[1] and "did not change clearly" in lines[2]
    assert "10.0%" in lines[3] and "2 of 24" in lines[4]


def test_demo_refuses_to_run_outside_the_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert demo.main(["--quick", "--out", str(tmp_path / "out")]) == 2
    assert "repository root" in capsys.readouterr().err


def test_paired_difference_uses_the_debates_both_runs_scored():
    before = {"per_debate": {"pluralism": {"a": 0.2, "b": 0.4, "c": 0.9}}}
    after = {"per_debate": {"pluralism": {"a": 0.3, "b": 0.6}}}
    paired = demo.paired_difference(before, after, "pluralism")
    assert paired["n"] == 2 and paired["mean"] == pytest.approx(0.15)
    assert paired["ci_low"] == pytest.approx(0.1) and paired["ci_high"] == pytest.approx(0.2)
    assert demo.paired_difference({}, after, "pluralism") is None
