"""Nothing lost (issue #14, items 1 and 2): no command writes over its own input, and a command
that fails midway (bad input, Ctrl-C) leaves its inputs and its previous output byte for byte."""

import csv
import shutil
from pathlib import Path

import pytest

from pluralign.cli import main
from pluralign.data.jsonl import read_debates, read_rewrite_items, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic"
POLIS = Path(__file__).resolve().parent / "fixtures" / "polis"
PREVIOUS = b"the previous output\n"


def snapshot(*paths: Path) -> dict:
    """Every file under the paths, with its bytes (None for a path that does not exist)."""
    found = {}
    for path in paths:
        if path.is_dir():
            found.update({p: p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()})
        else:
            found[path] = path.read_bytes() if path.exists() else None
    return found


def run(argv: list) -> int:
    try:
        return main([str(a) for a in argv])
    except KeyboardInterrupt:  # an interrupt that the command did not turn into an exit code
        return 130


def interrupt(*args, **kwargs):
    """A stand-in for a function of the command: Ctrl-C at that point."""
    raise KeyboardInterrupt


@pytest.fixture(scope="module")
def ws(tmp_path_factory, tiny_lm):
    """Small inputs of every kind, made once (tests copy what they may damage)."""
    root = tmp_path_factory.mktemp("inputs")
    debates = list(read_debates(DATA / "debates.jsonl"))[:2]
    write_jsonl(root / "debates.jsonl", debates)
    write_jsonl(root / "summaries.jsonl", [{"id": d["id"], "summary": d["comments"][0]["text"]} for d in debates])
    items = list(read_rewrite_items(DATA / "reformulate.jsonl"))[:4]
    write_jsonl(root / "items.jsonl", items)
    write_jsonl(root / "rewrites.jsonl", [{"id": i["id"], "output": i["source"]} for i in items])
    write_jsonl(root / "opinions.jsonl", [{"id": "o1", "question": "Tax the rich?", "opinion": "Yes, tax them.",
                                           "summary": "Most want to tax the rich."}])
    shutil.copytree(POLIS / "full", root / "polis")
    raw = root / "raw"
    for name in ("full", "no-votes-csv", "comments-only"):
        shutil.copytree(POLIS / name, raw / name)
    with open(raw / "conversations.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([
            ["conversation", "country", "language", "place", "period", "link"],
            ["comments-only", "XX", "en", "Town", "2024", "https://pol.is/example2"],
            ["full", "FR", "fr", "Lyon", "2024", "https://pol.is/example"],
            ["no-votes-csv", "FR", "fr", "Lyon", "2024", "https://pol.is/example"]])
    for name in ("run-a", "run-b"):
        assert main(["eval", "--predictions", str(root / "summaries.jsonl"), "--debates", str(root / "debates.jsonl"),
                     "--out", str(root / name), "--backend", "lexical", "--stress-debates", "0"]) == 0
    shutil.copytree(tiny_lm, root / "model")
    return root


def _score(kind: str, ws: Path, out: Path) -> list:
    return {
        "summaries": ["score", "summaries", "--debates", ws / "debates.jsonl", "--outputs", ws / "summaries.jsonl",
                      "--out", out, "--backend", "lexical"],
        "representation": ["score", "representation", "--input", ws / "opinions.jsonl", "--out", out,
                           "--backend", "lexical"],
        "rewrites": ["score", "rewrites", "--items", ws / "items.jsonl", "--outputs", ws / "rewrites.jsonl",
                     "--out", out, "--backend", "lexical"],
    }[kind]


def test_item_1_out_equal_to_input_is_refused(tmp_path, capsys):
    """Item 1: `data tasks --out` equal to `--debates` used to leave the debates at 0 bytes (exit
    0), and `score summaries --out` equal to `--debates` overwrote them with scores."""
    debates = tmp_path / "d.jsonl"
    shutil.copy(DATA / "debates.jsonl", debates)
    before = debates.read_bytes()
    assert main(["data", "tasks", "--debates", str(debates), "--task", "reformulate", "--out", str(debates)]) == 2
    assert "--out " + str(debates) + " is the same file as --debates; write elsewhere" in capsys.readouterr().err
    outputs = tmp_path / "o.jsonl"
    write_jsonl(outputs, [{"id": d["id"], "summary": "A summary."} for d in read_debates(debates)])
    assert main(["score", "summaries", "--debates", str(debates), "--outputs", str(outputs), "--out",
                 str(tmp_path / "." / "d.jsonl"), "--backend", "lexical"]) == 2
    assert "is the same file as --debates" in capsys.readouterr().err
    assert debates.read_bytes() == before


# Each writing command: (argv, inputs, outputs) with its input as its output path ("input"), or
# failing midway ("midway", with what to break). `outputs` hold a previous output beforehand.

def _case(command: str, mode: str, ws: Path, tmp: Path, monkeypatch) -> tuple[list, list[Path], list[Path]]:
    out = tmp / "out.jsonl"
    if command == "import-polis":
        folder = tmp / "polis"
        shutil.copytree(ws / "polis", folder)
        if mode == "input":
            return ["data", "import-polis", folder, "--out", folder / "comments.csv"], [folder], []
        shutil.copytree(POLIS / "cut-votes", folder, dirs_exist_ok=True)  # votes.csv cut mid-row
        return ["data", "import-polis", folder, "--out", out], [folder], [out]
    if command == "synth":
        if mode == "input":
            pytest.skip("data synth reads no input")
        import pluralign.data.synth as synth

        real = synth.synth_debates

        def cut_short(spec):  # one debate written, then Ctrl-C
            yield next(iter(real(spec)))
            raise KeyboardInterrupt

        monkeypatch.setattr(synth, "synth_debates", cut_short)
        return ["data", "synth", "--out", out, "--n-debates", "3"], [], [out]
    if command == "tasks":
        debates = tmp / "debates.jsonl"
        shutil.copy(ws / "debates.jsonl", debates)
        if mode == "input":
            return ["data", "tasks", "--debates", debates, "--task", "reformulate", "--out", debates], [debates], []
        with open(debates, "a", encoding="utf-8") as handle:
            handle.write('{"id": "broken", "question": \n')  # the third line is not JSON
        return ["data", "tasks", "--debates", debates, "--task", "reformulate", "--out", out], [debates], [out]
    if command == "bench":
        raw = tmp / "raw"
        shutil.copytree(ws / "raw", raw)
        if mode == "input":
            return ["data", "bench", "--raw", raw, "--out", raw], [raw], []
        monkeypatch.setattr("pluralign.data.bench.datasheet", interrupt)  # after the JSONL files are written
        out = tmp / "suite"
        out.mkdir()
        for name in ("summarize.jsonl", "translate.jsonl", "MANIFEST.json"):
            (out / name).write_bytes(PREVIOUS)
        return ["data", "bench", "--raw", raw, "--out", out, "--summarize-comments", "3"], [raw], [out]
    if command.startswith("score-"):
        kind = command.removeprefix("score-")
        inputs = {"summaries": ["debates.jsonl", "summaries.jsonl"], "representation": ["opinions.jsonl"],
                  "rewrites": ["items.jsonl", "rewrites.jsonl"]}[kind]
        for name in inputs:
            shutil.copy(ws / name, tmp / name)
        paths = [tmp / name for name in inputs]
        if mode == "input":
            argv = _score(kind, tmp, paths[-1])
            if kind == "rewrites":  # the second output, --disparity, on an input
                argv = _score(kind, tmp, out) + ["--disparity", paths[0]]
            return argv, paths, []
        argv = _score(kind, tmp, out)
        if kind == "rewrites":  # the scores are done; Ctrl-C while the disparity is computed
            monkeypatch.setattr("pluralign.rewards.fidelity.fidelity_disparity", interrupt)
            return argv + ["--disparity", tmp / "disparity.json"], paths, [out, tmp / "disparity.json"]
        with open(paths[-1], "a", encoding="utf-8") as handle:
            handle.write('{"id": "unknown"}\n')
        return argv, paths, [out]
    if command == "eval":
        debates, predictions = tmp / "debates.jsonl", tmp / "run" / "scores.jsonl"
        shutil.copy(ws / "debates.jsonl", debates)
        predictions.parent.mkdir()
        shutil.copy(ws / "summaries.jsonl", predictions)
        argv = ["eval", "--predictions", predictions, "--debates", debates, "--backend", "lexical",
                "--stress-debates", "0", "--out"]
        if mode == "input":  # the report folder's scores.jsonl is the predictions file
            return argv + [predictions.parent], [debates, predictions], []
        monkeypatch.setattr("pluralign.eval.run.write_html", interrupt)  # after report.json and scores.jsonl
        out = tmp / "report"
        shutil.copytree(ws / "run-a", out)
        return argv + [out], [debates, predictions], [out]
    if command == "compare":
        runs = [tmp / "run-a", tmp / "run-b"]
        for run_dir in runs:
            shutil.copytree(ws / run_dir.name, run_dir)
        if mode == "input":
            return ["eval", "compare", *runs, "--out", runs[0] / "report.json"], runs, []
        (runs[1] / "report.json").write_text('{"suites": {"summarize": {"sig', encoding="utf-8")  # cut short
        return ["eval", "compare", *runs, "--out", out], runs, [out]
    if command == "export":
        model = tmp / "model"
        shutil.copytree(ws / "model", model)
        if mode == "input":
            return ["export", model, "--out", model], [model], []
        monkeypatch.setattr("pluralign.export.build_model_card", interrupt)  # after the weights are written
        return ["export", model, "--out", tmp / "exported"], [model], [tmp / "exported"]
    if command == "train":
        if mode == "midway":
            pytest.skip("a failed or interrupted run is item 3 (tests/test_train_methods.py)")
        model = tmp / "model"
        shutil.copytree(ws / "model", model)
        return ["train", ROOT / "recipes/cpu/sft.yaml", f"model.name_or_path={model}", f"output_dir={model}",
                "training.max_steps=1", "eval_hook.enabled=false"], [model], []
    raise AssertionError(command)


COMMANDS = ["import-polis", "synth", "tasks", "bench", "score-summaries", "score-representation", "score-rewrites",
            "eval", "compare", "export", "train"]


@pytest.mark.parametrize("mode", ["input", "midway"])
@pytest.mark.parametrize("command", COMMANDS)
def test_item_2_every_writing_command_keeps_inputs_and_previous_output(command, mode, ws, tmp_path, monkeypatch,
                                                                      capsys):
    """Item 2: every command that writes, given its input as output path or failing midway, exits
    non-zero and leaves its inputs and its previous output byte for byte (no partial output)."""
    argv, inputs, outputs = _case(command, mode, ws, tmp_path, monkeypatch)
    for path in outputs:
        if not path.exists() and path.suffix:
            path.write_bytes(PREVIOUS)
    before = snapshot(*inputs, *outputs)
    assert run(argv) != 0
    assert snapshot(*inputs, *outputs) == before
    assert not list(tmp_path.glob(".*.partial"))  # no temporary file left behind
    if mode == "input":
        assert "write elsewhere" in capsys.readouterr().err


def test_item_2_writes_aside_keep_links_modes_and_leave_nothing_on_failure(tmp_path):
    """Item 2, the module every command writes through: a failure leaves the file and no temporary
    one; a link stays a link to the file it names; a new file gets the usual mode, not mkstemp's 0600."""
    import os
    import stat

    from pluralign.files import atomic_write, staged_folder, write_lines, write_text

    target = write_text(tmp_path / "t.txt", "old\n")
    with pytest.raises(KeyboardInterrupt):
        write_lines(target, (line if i < 2 else interrupt() for i, line in enumerate(["a\n"] * 5)))
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
    (tmp_path / "link.txt").symlink_to(target)
    write_text(tmp_path / "link.txt", "new\n")
    assert (tmp_path / "link.txt").is_symlink() and target.read_text() == "new\n"
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    with atomic_write(tmp_path / "b.bin", binary=True) as handle:
        handle.write(b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(KeyboardInterrupt), staged_folder(tmp_path / "report") as stage:
        (stage / "report.json").write_text("{}")
        interrupt()
    assert not (tmp_path / "report").exists() and not list(tmp_path.glob(".*"))
