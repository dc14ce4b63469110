"""`pluralign`: the command line. Command names, options and file formats are contracts.

Each handler parses nothing itself: it calls the library function that does the work, so that
everything the CLI does can also be done from Python. Heavy imports (torch, transformers) happen
inside the handlers, so that `pluralign --help` and the data commands start fast.
"""

from __future__ import annotations

import argparse
import sys

from pluralign import __version__
from pluralign.data.schema import DataError

DEFAULT_BACKEND = "embedding:all-MiniLM-L6-v2"


# --- data ------------------------------------------------------------------------------------


def cmd_data_import_polis(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import write_jsonl
    from pluralign.data.polis import load_polis

    debate, report = load_polis(
        args.dir, max_comments=args.max_comments, sample=args.sample, seed=args.seed,
        language=args.language, debate_id=args.id,
    )
    write_jsonl(args.out, [debate])
    print(report.describe(), file=sys.stderr)
    return 0


def cmd_data_validate(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import sniff_kind, validate_file

    kind = args.kind or sniff_kind(args.file)
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
    count = write_jsonl(args.out, synth_debates(spec))
    print(f"wrote {count} synthetic debate(s) to {args.out}", file=sys.stderr)
    return 0


def cmd_data_tasks(args: argparse.Namespace) -> int:
    from pluralign.data.jsonl import read_debates, write_jsonl
    from pluralign.data.tasks import rewrite_items

    items = rewrite_items(read_debates(args.debates), task=args.task, target_language=args.target_language,
                          per_debate=args.per_debate, seed=args.seed)
    count = write_jsonl(args.out, items)
    print(f"wrote {count} {args.task} item(s) to {args.out}", file=sys.stderr)
    return 0


# --- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pluralign",
        description="Measure and train pluralism and fidelity in deliberation assistants.",
    )
    parser.add_argument("--version", action="version", version=f"pluralign {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_data_commands(commands)
    add_score_commands(commands)
    add_train_commands(commands)
    add_eval_commands(commands)
    add_export_commands(commands)
    return parser


def add_data_commands(commands) -> None:
    data = commands.add_parser("data", help="import, validate, describe and generate deliberation data")
    data_cmds = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    p = data_cmds.add_parser("import-polis", help="convert a Polis export folder to one debate JSONL line")
    p.add_argument("dir", help="folder with comments.csv, votes.csv, participants-votes.csv, summary.csv")
    p.add_argument("--out", required=True, help="debates JSONL to write")
    p.add_argument("--max-comments", type=int, default=None, help="keep at most this many comments")
    p.add_argument("--sample", choices=["first", "random", "most-voted"], default="random",
                   help="how --max-comments picks comments (default: random, seeded)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--language", default=None, help="the conversation's language code (default: detected)")
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
    p.add_argument("--out", required=True)
    p.add_argument("--n-debates", type=int, default=4)
    p.add_argument("--group-sizes", default="12,8,3", help="participants per group, comma-separated (default 12,8,3)")
    p.add_argument("--comments-per-participant", type=int, default=1)
    p.add_argument("--languages", default="en", help="comma-separated, from en,fr,de")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_data_synth)

    p = data_cmds.add_parser("tasks", help="turn debates' comments into reformulate/translate items")
    p.add_argument("--debates", required=True)
    p.add_argument("--task", choices=["reformulate", "translate"], required=True)
    p.add_argument("--target-language", default=None, help="for translate (default: en, or fr from en)")
    p.add_argument("--per-debate", type=int, default=None, help="at most this many comments per debate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_data_tasks)


# --- score (issue: pluralism and fidelity scorers) --------------------------------------------


def add_score_commands(commands) -> None:
    pass  # TODO(score): `score summaries`, `score representation`, `score rewrites`


# --- train -----------------------------------------------------------------------------------


def add_train_commands(commands) -> None:
    pass  # TODO(train): `train RECIPE.yaml [key=value ...]`


# --- eval ------------------------------------------------------------------------------------


def add_eval_commands(commands) -> None:
    pass  # TODO(eval): `eval`, `eval compare`


# --- export ----------------------------------------------------------------------------------


def add_export_commands(commands) -> None:
    pass  # TODO(export): `export CHECKPOINT --out DIR ...`


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
