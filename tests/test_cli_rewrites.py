"""`pluralign score rewrites` end to end: real files in, scored lines out; bad input named."""

import json

import pytest

from pluralign.cli import main

ITEMS = [
    {"id": "tax:1", "task": "reformulate", "source": "We must tax the rich more. Schools need the money.",
     "source_language": "en", "target_language": "en", "question": "Should the city tax the rich more?", "group": "pro"},
    {"id": "tax:2", "task": "translate", "source": "We must not tax the rich. Investment would leave the city.",
     "source_language": "en", "target_language": "fr", "question": "Should the city tax the rich more?", "group": "contra"},
]
OUTPUTS = [
    {"id": "tax:1", "output": "The rich must be taxed more. Our schools need that money.", "model": "a"},
    {"id": "tax:2", "output": "Nous ne devons pas taxer les riches. Les investissements quitteraient la ville.", "model": "a"},
    {"id": "tax:1", "output": "We must not tax the rich more. Schools need the money.", "model": "b"},
    {"id": "tax:2", "output": "We must not tax the rich. Investment would leave the city.", "model": "b"},
]


def _write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    return _write(tmp_path / "items.jsonl", ITEMS), _write(tmp_path / "outputs.jsonl", OUTPUTS), tmp_path


def test_scores_every_line_in_order(files):
    items, outputs, tmp = files
    out, disparity = tmp / "scores.jsonl", tmp / "disparity.json"
    assert main(["score", "rewrites", "--items", items, "--outputs", outputs, "--out", str(out),
                 "--disparity", str(disparity)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["model"], r["output"]) for r in lines] == [(o["id"], o["model"], o["output"]) for o in OUTPUTS]
    for line in lines:
        assert 0.0 <= line["fidelity"] <= 1.0
        assert {"stance_source", "stance_output", "intensity_drift", "meaning", "stance_preservation", "p_same",
                "flip", "language_ok"} <= set(line["metrics"])
        assert line["signature"].startswith("pluralign:") and "scorer:fidelity" in line["signature"]
    faithful_reformulation, faithful_translation, flipped, untranslated = lines
    assert faithful_reformulation["fidelity"] > flipped["fidelity"]
    assert flipped["metrics"]["p_flipped"] > 10 * faithful_reformulation["metrics"]["p_flipped"]
    assert faithful_translation["fidelity"] > untranslated["fidelity"]
    assert not untranslated["metrics"]["language_ok"]
    report = json.loads(disparity.read_text(encoding="utf-8"))
    assert report["count"] == 4 and set(report["facets"]["group"]["values"]) == {"pro", "contra"}


@pytest.mark.parametrize("outputs,message", [
    ([{"id": "nope", "output": "text"}], "outputs.jsonl:1: id: unknown item id 'nope'"),
    ([{"id": "tax:1", "output": "ok"}, {"id": "tax:1"}], "outputs.jsonl:2: output: missing"),
    ([{"id": "tax:1", "output": 3}], "outputs.jsonl:1: output: must be a string"),
])
def test_bad_outputs_are_located(tmp_path, capsys, outputs, message):
    items = _write(tmp_path / "items.jsonl", ITEMS)
    bad = _write(tmp_path / "outputs.jsonl", outputs)
    assert main(["score", "rewrites", "--items", items, "--outputs", bad, "--out", str(tmp_path / "s.jsonl")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s.jsonl").exists()


def test_bad_items_are_located(tmp_path, capsys):
    items = _write(tmp_path / "items.jsonl", [ITEMS[0], {**ITEMS[1], "task": "summarize"}])
    outputs = _write(tmp_path / "outputs.jsonl", OUTPUTS[:1])
    assert main(["score", "rewrites", "--items", items, "--outputs", outputs, "--out", str(tmp_path / "s.jsonl")]) == 2
    assert "items.jsonl:2: task: must be one of reformulate, translate" in capsys.readouterr().err


def test_unknown_backend_is_an_error(files, capsys):
    items, outputs, tmp = files
    assert main(["score", "rewrites", "--items", items, "--outputs", outputs, "--out", str(tmp / "s.jsonl"),
                 "--backend", "magic:model"]) == 2
    assert "unknown backend 'magic:model'" in capsys.readouterr().err


def test_lexical_backend_changes_the_signature(files):
    items, outputs, tmp = files
    out = tmp / "lexical.jsonl"
    assert main(["score", "rewrites", "--items", items, "--outputs", outputs, "--out", str(out), "--backend", "lexical"]) == 0
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert "backend:lexical" in first["signature"]
