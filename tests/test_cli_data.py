"""`pluralign data ...` end to end, and the shipped data files (remade byte for byte)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pluralign.cli import main
from pluralign.data import read_debates, read_rewrite_items

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
RAW = DATA / "polis" / "raw"  # the Polis exports, shipped with their attribution
BANK = DATA / "deliberationbank"  # human judgments the representation head is fitted on (tests/test_fit.py)
# What the fidelity head is fitted on (tests/test_fidelity_fit.py): expert MQM judgments of translations
# (the items are rewrite items; the outputs, {"id", "output", "mqm", ...} lines, are no debate or item) and
# French seed contributions ({"conversation", "question", "text"}).
MQM, SEEDS = DATA / "mqm", DATA / "fidelity"
BALANCE = DATA / "balance_claims"  # sentences the balance reader is fitted on ({"text", "label", ...}; tests/test_balance.py)
FITTED_ON = (BANK, MQM, SEEDS, BALANCE)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_synth_validate_stats_tasks(tmp_path, capsys):
    debates = tmp_path / "debates.jsonl"
    code, _, err = run(capsys, "data", "synth", "--out", debates, "--n-debates", 3, "--group-sizes", "6,4,1",
                       "--languages", "en,fr,de", "--seed", 1)
    assert code == 0 and "wrote 3 synthetic debate(s)" in err
    assert [d["language"] for d in read_debates(debates)] == ["en", "fr", "de"]

    code, out, err = run(capsys, "data", "validate", debates)
    assert (code, out) == (0, "") and "valid debates" in err

    code, out, _ = run(capsys, "data", "stats", debates)
    assert code == 0 and "3 debate(s), 33 comments" in out and "g1:6 g2:4 g3:1" in out and "given" in out
    code, out, _ = run(capsys, "data", "stats", debates, "--json")
    stats = json.loads(out)
    assert (stats["debates"], stats["comments"], stats["languages"]) == (3, 33, {"en": 1, "fr": 1, "de": 1})

    items = tmp_path / "items.jsonl"
    code, _, err = run(capsys, "data", "tasks", "--debates", debates, "--task", "translate", "--per-debate", 4, "--out", items)
    assert code == 0 and "wrote 12 translate item(s)" in err
    assert {(i["source_language"], i["target_language"]) for i in read_rewrite_items(items)} == {("en", "fr"), ("fr", "en"), ("de", "en")}
    code, out, _ = run(capsys, "data", "validate", items)
    assert code == 0
    code, out, _ = run(capsys, "data", "stats", items)
    assert "12 rewrite item(s)" in out and "en->fr: 4" in out


def test_validate_lists_every_problem_as_file_line_field(tmp_path, capsys):
    good = {"id": "d1", "question": "Q?", "language": "en", "comments": [{"id": "c1", "text": "yes"}]}
    lines = [
        json.dumps(good),
        json.dumps({**good, "id": "d2", "votes": [{"participant": "p", "comment": "c9", "vote": 3}]}),
        json.dumps({**good, "comments": [{"id": "c1", "text": ""}]}),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "data", "validate", path)
    assert code == 1 and "4 problem(s) found" in err
    assert out.splitlines() == [
        f"{path}:2: votes[0].comment: unknown comment id 'c9'; votes must name a comment of this debate",
        f"{path}:2: votes[0].vote: must be 1, 0 or -1, got 3",
        f"{path}:3: comments[0].text: is empty; give a non-empty string or drop the record",
        f"{path}:3: id: duplicate id 'd1' (first on line 1); ids must be unique",
    ]


def test_validate_unreadable_files(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id": "d1", "question": "\xe9t\xe9"}\n')
    code, out, _ = run(capsys, "data", "validate", path)
    assert code == 1 and out.startswith(f"{path}: <file>: the file holds no readable records")
    code, out, _ = run(capsys, "data", "validate", path, "--kind", "debates")
    assert code == 1 and out.startswith(f"{path}:1: <line>: bytes are not UTF-8")
    # Every line is checked, past unreadable ones.
    item = '{"id": "i", "task": "translate", "source": "x", "source_language": "en", "target_language": "fr"}'
    path.write_text(f"not json\n{item}\n[1,\n{item}\n")
    code, out, _ = run(capsys, "data", "validate", path)
    assert code == 1
    assert [line.split(": ")[0:2] for line in out.splitlines()] == [
        [f"{path}:1", "<line>"], [f"{path}:3", "<line>"], [f"{path}:4", "id"]]
    code, _, err = run(capsys, "data", "stats", tmp_path / "missing.jsonl")
    assert code == 2 and "missing.jsonl: <file>: no such file" in err


def test_bad_synth_spec_exits_with_a_message(tmp_path, capsys):
    code, _, err = run(capsys, "data", "synth", "--out", tmp_path / "x.jsonl", "--languages", "en,xx")
    assert code == 2 and "no synthetic templates for language(s) ['xx']" in err
    assert not (tmp_path / "x.jsonl").exists()


def test_import_polis_with_sampling(tmp_path, capsys):
    out_file = tmp_path / "ubi.jsonl"
    code, _, err = run(capsys, "data", "import-polis", RAW / "scoop-hivemind.ubi", "--out", out_file,
                       "--max-comments", 12, "--sample", "most-voted", "--id", "ubi")
    assert code == 0
    (debate,) = read_debates(out_file)
    assert debate["id"] == "ubi" and len(debate["comments"]) == 12 and debate["language"] == "en"
    assert "comments: 12 kept of 71 read" in err and "comments moderated out (moderated = -1)" in err
    code, _, err = run(capsys, "data", "import-polis", tmp_path, "--out", tmp_path / "x.jsonl")
    assert code == 2 and "summary.csv: <file>: missing" in err


def test_console_script_runs():
    exe = Path(sys.executable).parent / "pluralign"
    result = subprocess.run([str(exe), "data", "stats", str(DATA / "synthetic" / "translate.jsonl")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "48 rewrite item(s)" in result.stdout


# --- shipped data ------------------------------------------------------------------------------

def test_shipped_data_is_remade_by_its_documented_commands(tmp_path, capsys):
    # data/README.md documents these commands; each must remake its file byte for byte.
    readme = " ".join((DATA / "README.md").read_text().replace("\\\n", " ").split())
    debates = tmp_path / "debates.jsonl"
    commands = {
        "polis/scoop-hivemind-ubi.jsonl": ("import-polis", RAW / "scoop-hivemind.ubi",
                                           "--max-comments 40 --seed 0 --id scoop-hivemind-ubi"),
        "synthetic/debates.jsonl": ("synth", None, "--n-debates 6 --group-sizes 12,8,3 --languages en,fr,de --seed 0"),
        "synthetic/reformulate.jsonl": ("tasks", debates, "--task reformulate --per-debate 8 --seed 0"),
        "synthetic/translate.jsonl": ("tasks", debates, "--task translate --per-debate 8 --seed 0"),
    }
    for shipped, (command, source, options) in commands.items():
        made = debates if command == "synth" else tmp_path / Path(shipped).name
        argv = ["data", command, *([source] if command == "import-polis" else [])]
        argv += ["--debates", source] if command == "tasks" else []
        assert run(capsys, *argv, "--out", made, *options.split())[0] == 0
        assert f"--out data/{shipped} {options}" in readme or f"{options} --out data/{shipped}" in readme, shipped
        assert (DATA / shipped).read_bytes() == made.read_bytes(), shipped
    # Small, but for the raw Polis exports (the input of `pluralign data bench`) and the data the
    # learned heads are fitted on (DeliberationBank, MQM, the French seeds, the balance sentences).
    assert sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file() and RAW not in p.parents
               and not any(d in p.parents for d in FITTED_ON)) < 1_000_000


def test_polis_excerpt_carries_its_attribution():
    text = (DATA / "polis" / "ATTRIBUTION.md").read_text()
    assert "sub-licensed\n    under CC BY 4.0 with Attribution to The Computational Democracy Project" in text
    assert "https://compdemocracy.org/case-studies/2017-scoop-hivemind-ubi" in text
    assert "https://creativecommons.org/licenses/by/4.0/" in text
    (debate,) = read_debates(DATA / "polis" / "scoop-hivemind-ubi.jsonl")
    assert debate["source"]["license"] == "CC BY 4.0"


@pytest.mark.parametrize("path", sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.jsonl")
                                         if not {BANK, SEEDS, BALANCE} & set(p.parents)
                                         and p != MQM / "outputs.jsonl"))
def test_shipped_files_are_valid(path, capsys):
    assert run(capsys, "data", "validate", DATA / path)[0] == 0


def test_stats_of_the_shipped_data(capsys):
    for name in ("polis/scoop-hivemind-ubi.jsonl", "synthetic/debates.jsonl", "synthetic/reformulate.jsonl"):
        assert main(["data", "stats", str(DATA / name)]) == 0
    out = capsys.readouterr().out
    assert "scoop-hivemind-ubi  en          40   4006           212  0:70 1:91 2:42 3:9  polis" in out
    assert "6 debate(s), 138 comments" in out and "48 rewrite item(s)" in out
