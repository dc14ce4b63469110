"""`pluralign fit fidelity`: the contrast-pair generator, the data it reads, the fitting maths, and the
command end to end on a small copy of the repository's data (lexical backend: no model)."""

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from pluralign.cli import main
from pluralign.data import fidelity_data
from pluralign.data.contrast import answer_flip, contrast_pairs, de_negate, en_negate, fr_negate
from pluralign.rewards import fidelity_fit
from pluralign.rewards.fidelity_features import (
    ADEQUACY_FEATURES,
    ADEQUACY_SIGNS,
    ADEQUACY_SIGNS_BY_HEAD,
)
from pluralign.rewards.fidelity_model import CLASSES

DATA = Path(__file__).resolve().parent.parent / "data"


# --- the generator ---------------------------------------------------------------------------------


def test_flip_rules_in_each_language():
    rng = random.Random(0)
    assert en_negate("We should tax the rich.", rng) == "We should not tax the rich."
    assert de_negate("Wir sollten die Reichen besteuern.", rng) == "Wir sollten nicht die Reichen besteuern."
    assert fr_negate("Il faut taxer les riches.", rng) == "Il ne faut pas taxer les riches."
    assert answer_flip("Yes, tax them.", rng) == "No, tax them."
    assert en_negate("We should not tax the rich.", rng) is None  # negated already: no double negation


def test_contrast_pairs_are_seeded_and_reverse_with_their_label():
    text = "We should tax the rich more because schools need money."
    first = contrast_pairs(text, "en", random.Random(1))
    assert first == contrast_pairs(text, "en", random.Random(1))
    assert [p["label"] for p in first] == ["same", "flipped", "amplified", "softened"]
    # a softening edit read backwards is an amplification: the hedged text is the source
    weakened = first[2]
    assert weakened["reversed"] and weakened["rule"] == "softened:weaken" and weakened["output"] == text
    for seed in range(20):
        for pair in contrast_pairs(text, "en", random.Random(seed)):
            assert pair["source"] != pair["output"] or pair["label"] == "same"


def test_stance_pairs_from_the_repository_data():
    pairs = fidelity_data.stance_pairs(DATA)
    assert len(pairs) == 14575 and len({p["conversation"] for p in pairs}) == 53
    assert {p["language"] for p in pairs} == {"en", "de", "fr", "en-de"}
    # Each contribution gives one pair per class; a reversed softening is an amplification, so
    # those two share their count. The pairs cut from MQM are mostly `same` by design (real
    # German paraphrases: refA against machine outputs), so German as a whole is not balanced.
    by_language: dict[str, dict[str, int]] = {}
    for p in pairs:
        if not p["corpus"].startswith("mqm"):
            by_language.setdefault(p["language"], dict.fromkeys(CLASSES, 0))[p["label"]] += 1
    for language, counts in by_language.items():
        assert counts["same"] == counts["flipped"] and counts["softened"] + counts["amplified"] == 2 * counts["same"]
        assert max(counts.values()) - min(counts.values()) <= 0.025 * sum(counts.values()), (language, counts)
    assert {p["corpus"] for p in pairs} == {"polis", "deliberationbank", "fr-seeds", "mqm-x", "mqm-de"}


def test_mqm_settings():
    items, outputs = fidelity_data.load_mqm(DATA)
    cross, within = (fidelity_data.mqm_rows(items, outputs, s) for s in ("cross", "within"))
    assert len(items) == 104 and len(cross) == 1040 and len(within) == 936
    assert sum(r["reference"] for r in cross) == 104 and not any(r["reference"] for r in within)
    assert all(r["item"]["source_language"] == "de" for r in within)


# --- the maths -------------------------------------------------------------------------------------


def test_same_bias_reaches_the_false_alarm_rate():
    log_odds = np.linspace(-3, 5, 81)
    for rate in (0.05, 0.1, 0.5):
        bias = fidelity_fit.same_bias(log_odds, rate)
        assert np.mean(log_odds + bias < 0) == pytest.approx(rate, abs=0.02)


def test_light_normalisation_keeps_the_words():
    assert fidelity_fit.light_normalisation("we need  more buses") == "We need more buses."
    assert fidelity_fit.light_normalisation("Ok!  then. no more cars") == "Ok! Then. No more cars."


def synthetic_mqm(seed: int, tracks_quality: dict) -> tuple[np.ndarray, list[dict]]:
    """30 sources x 6 outputs of random quality, with noise features; `tracks_quality` maps a
    feature to f(quality), added to it."""
    rng = np.random.default_rng(seed)
    rows, X = [], []
    for source in range(30):
        for _ in range(6):
            quality = rng.normal()
            x = rng.normal(size=len(ADEQUACY_FEATURES)) * 0.1
            for name, f in tracks_quality.items():
                x[ADEQUACY_FEATURES.index(name)] += f(quality)
            X.append(x)
            rows.append({"group": source, "doc": f"d{source % 6}", "mqm": float(round(-quality * 3)),
                         "item": {"source": "One sentence."}})
    return np.array(X), rows


def test_the_adequacy_ranker_keeps_every_sign():
    """A feature that MQM would reward with the wrong sign (here: the length excess, made to track
    quality: "longer is better", forbidden) gets no weight; the others keep theirs."""
    X, rows = synthetic_mqm(0, {"cos_paragraph": lambda q: q, "len_excess": lambda q: q})
    coef, _, info = fidelity_fit.fit_adequacy(X, rows)
    signs = np.array([ADEQUACY_SIGNS[f] for f in ADEQUACY_FEATURES])
    assert np.all(coef * signs >= -1e-12) and coef[signs == 0].tolist() == [0.0]
    assert coef[ADEQUACY_FEATURES.index("len_excess")] == 0.0 and coef[ADEQUACY_FEATURES.index("cos_paragraph")] > 0
    assert info["C"] in fidelity_fit.C_ADEQUACY


def test_only_the_translation_head_reads_a_shorter_output_as_an_omission():
    """Where shorter outputs are the worse ones (omissions), `across` learns a negative weight on the
    length shortfall; `within` (a reformulation may be concise) must give it none."""
    X, rows = synthetic_mqm(1, {"len_shortfall": lambda q: max(0.0, -q)})
    shortfall = ADEQUACY_FEATURES.index("len_shortfall")
    across, _, _ = fidelity_fit.fit_adequacy(X, rows, signs=ADEQUACY_SIGNS_BY_HEAD["across"])
    within, _, _ = fidelity_fit.fit_adequacy(X, rows, signs=ADEQUACY_SIGNS_BY_HEAD["within"])
    assert across[shortfall] < 0 and within[shortfall] == 0.0


# --- the command -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """A copy of data/ cut down: the MQM items of 8 documents, three Polis conversations (two en,
    one de) of 30 comments, one DeliberationBank topic, 24 French seeds."""
    root = tmp_path_factory.mktemp("data")
    items = [json.loads(line) for line in (DATA / "mqm" / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    docs = list(dict.fromkeys(i["doc"] for i in items))[:8]
    keep = {i["id"] for i in items if i["doc"] in docs}
    (root / "mqm").mkdir()
    for name in ("items.jsonl", "outputs.jsonl"):
        lines = (DATA / "mqm" / name).read_text(encoding="utf-8").splitlines()
        (root / "mqm" / name).write_text("".join(x + "\n" for x in lines if json.loads(x)["id"] in keep), encoding="utf-8")
    conversations = ["bg2050-volunteers", "scoop-hivemind.ubi", "austria-climate.2vkxcncppn.2022-07-07"]
    raw = root / "polis" / "raw"
    with open(DATA / "polis" / "raw" / "conversations.csv", encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["conversation"] in conversations]
    raw.mkdir(parents=True)
    with open(raw / "conversations.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for name in conversations:
        (raw / name).mkdir()
        shutil.copy(DATA / "polis" / "raw" / name / "summary.csv", raw / name)
        with open(DATA / "polis" / "raw" / name / "comments.csv", encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            comments = [r for r in reader if len(r["comment-body"].split()) >= 4][:30]
            fields = reader.fieldnames
        with open(raw / name / "comments.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(comments)
    (root / "deliberationbank").mkdir()
    topic = json.loads((DATA / "deliberationbank" / "opinions.jsonl").read_text(encoding="utf-8").splitlines()[0])
    (root / "deliberationbank" / "opinions.jsonl").write_text(
        json.dumps({**topic, "comments": topic["comments"][:20]}) + "\n", encoding="utf-8")
    (root / "fidelity").mkdir()
    seeds = (DATA / "fidelity" / "fr_seeds.jsonl").read_text(encoding="utf-8").splitlines()
    (root / "fidelity" / "fr_seeds.jsonl").write_text("\n".join(seeds[:12] + seeds[-12:]) + "\n", encoding="utf-8")
    return root


@pytest.mark.slow
def test_fit_command_end_to_end(small_data, tmp_path, capsys):
    from pluralign.rewards.fidelity import FidelityScorer
    from pluralign.rewards.fidelity_model import read_model

    out = tmp_path / "lexical.npz"
    assert main(["fit", "fidelity", "--backend", "lexical", "--data", str(small_data), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    model = read_model(out)
    assert model.backend == "lexical" == printed["backend"] and printed["stance"] == model.versions["stance"]
    calibration = model.meta["calibration"]
    assert calibration["false_alarm"] == 0.05
    assert calibration["across"]["mqm"]["read_as_changed_after"] <= 0.05 + 1e-9
    assert model.meta["fit"]["data"]["stance_pairs"] > 100 and set(model.meta["topicality"]) == {"across", "within"}
    scorer = FidelityScorer("lexical", weights=out)
    item = {"id": "x", "task": "reformulate", "source": "We need more buses in the evening.", "source_language": "en",
            "target_language": "en", "question": "How should the city improve transport?"}
    faithful, empty = scorer.score(item, ["More evening buses are needed.", ""])
    assert 0 < faithful["fidelity"] <= 1 and empty["fidelity"] == 0
    assert model.versions["stance"] in faithful["signature"]


def test_fit_without_the_data_says_where_it_looked(tmp_path, capsys):
    assert main(["fit", "fidelity", "--backend", "lexical", "--data", str(tmp_path / "nothing"),
                 "--out", str(tmp_path / "w.npz")]) == 2
    err = capsys.readouterr().err
    assert "nothing/polis/raw/conversations.csv is missing" in err and "--data DIR" in err
    assert not (tmp_path / "w.npz").exists()
