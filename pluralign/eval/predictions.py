"""`OUT/predictions.jsonl`: every generation of `pluralign eval --model`, written as it arrives.

Each prompt's samples are appended as `{"id", "summary"|"output", "sample", "model"}` lines in one
write, then flushed, as soon as the generator hands them over (a batch of the local model, an
answer of the served one). A killed run therefore loses only what was in flight. `--resume`
keeps the prompts already done (all their samples present, from the same model) and generates
the rest; without it the file starts afresh. The file is also a predictions file:
`pluralign eval --predictions OUT/predictions.jsonl` scores it again.

On resume a line cut short by the kill (the last one) is dropped, as are the samples of a prompt
that did not get all of them; the file is rewritten with what is kept before anything is added.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pluralign.data.jsonl import write_jsonl
from pluralign.data.schema import DataError
from pluralign.errors import UsageError
from pluralign.eval.suites import Suite

FILENAME = "predictions.jsonl"


def read_done(path: Path, suites: list[Suite], samples: int, model: str) -> tuple[dict[str, list[dict]], list[dict]]:
    """The complete prompts of an earlier run ({id: its `samples` lines}) and every line to keep."""
    owner = {rid: suite for suite in suites for rid in suite.by_id()}
    lines: list[dict] = []
    raw = path.read_bytes().split(b"\n")
    for lineno, data in enumerate(raw, start=1):
        if not data.strip():
            continue
        try:
            line = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            if lineno == len(raw):  # the last line, cut short when the run was killed
                continue
            raise DataError(path, lineno, "<line>", "not a JSON line; this is not a predictions file pluralign "
                                                    "wrote: choose another --out or drop --resume") from None
        if not isinstance(line, dict) or not isinstance(line.get("id"), str):
            raise DataError(path, lineno, "id", "missing; this is not a predictions file pluralign wrote")
        if line.get("model") != model:
            raise UsageError(f"{path}:{lineno}: written by model {line.get('model')!r}, not {model!r}; "
                             "resume with the same --model, or choose another --out")
        lines.append(line)
    by_id: dict[str, dict[int, dict]] = {}
    for line in lines:
        by_id.setdefault(line["id"], {}).setdefault(int(line.get("sample", 0)), line)
    done = {rid: [got[k] for k in range(samples)] for rid, got in by_id.items()
            if rid in owner and all(k in got for k in range(samples))}
    kept = [line for rid in done for line in done[rid]] + [line for line in lines if line["id"] not in owner]
    return done, kept


def generate_to_file(generator, suites: list[Suite], out_dir: str | Path, resume: bool = False,
                     log: Callable[[str], None] = print) -> dict[str, dict[str, list[dict]]]:
    """task -> record id -> output lines for every record of every suite, appended to
    OUT/predictions.jsonl as they arrive (skipping, with `resume`, the records already there)."""
    path = Path(out_dir) / FILENAME
    samples, model = generator.settings.samples, generator.model_name
    done: dict[str, list[dict]] = {}
    if resume and path.exists():
        done, kept = read_done(path, suites, samples, model)
        write_jsonl(path, kept)
        log(f"resuming {path}: {len(done)} prompt(s) already done")
    else:
        if path.exists():
            log(f"starting {path} afresh (pass --resume to keep what it holds)")
        write_jsonl(path, [])
    found: dict[str, dict[str, list[dict]]] = {}
    with path.open("a", encoding="utf-8") as handle:
        for suite in suites:
            found[suite.task] = {r["id"]: done[r["id"]] for r in suite.records if r["id"] in done}
            todo = [r for r in suite.records if r["id"] not in done]

            def keep(i: int, texts: list[str], todo=todo, suite=suite) -> None:
                rid = todo[i]["id"]
                lines = [{"id": rid, suite.text_field: text, "sample": k, "model": model} for k, text in enumerate(texts)]
                handle.write("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
                handle.flush()
                found[suite.task][rid] = lines

            if todo:
                generator.generate([suite.spec.prompt(r) for r in todo], desc=f"generating {suite.task}", on_result=keep)
            # Record order, whatever order the answers came in.
            found[suite.task] = {r["id"]: found[suite.task][r["id"]] for r in suite.records}
    return found
