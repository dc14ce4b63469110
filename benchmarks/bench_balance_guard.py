"""The `balance` guard of the pluralism score on the hand-written cases: pairs won with it and without it.

    .venv/bin/python benchmarks/bench_balance_guard.py [--backends ...] [--sets pluralism-f,...] [--candidate FILE]

One scoring run per backend: the guard multiplies the reward, so the reward without it is the reward
divided by the guard (benchmarks/DECISIONS.md 24). Prints every pair whose outcome the guard changes,
then per set the pairs won on and off, and the `false_balance` pairs. `--candidate FILE` (a reader
written by `pluralign fit balance --out FILE`) compares it with the shipped reader instead of with no
guard: the same rewards, with the candidate's guard in place of the shipped one (DECISIONS.md 26).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "tests")]

from bench_handwritten import BACKENDS, HELD_OUT_SETS, pluralism_cases  # noqa: E402

from pluralign.rewards.balance import BalanceReader, balance_guard  # noqa: E402
from pluralign.rewards.pluralism import PluralismScorer  # noqa: E402
from pluralign.rewards.text import split_sentences  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--sets", default=",".join(n for n in HELD_OUT_SETS if n.startswith("pluralism")),
                        help="hand-written pluralism sets (file stems), plus `dev` for tests/pluralism_cases.py")
    parser.add_argument("--candidate", default=None, metavar="FILE", help="a balance reader to compare with the shipped one")
    args = parser.parse_args()
    candidate = BalanceReader.from_file(args.candidate) if args.candidate else None
    other = f"with {candidate.version}" if candidate else "without"
    sets = {name: pluralism_cases(name) for name in args.sets.split(",")}
    for spec in args.backends.split(","):
        scorer = PluralismScorer(spec)
        tally = defaultdict(lambda: [0, 0, 0])  # (set, kind) -> won on, won off, pairs
        honest_marked = defaultdict(list)
        for name, cases in sets.items():
            for debate, honest, hacks in cases:
                kinds = list(hacks)
                results = scorer.score(debate, [honest] + [hacks[k] for k in kinds])
                on = [r["pluralism"] for r in results]
                guard = [r["metrics"]["guards"].get("balance", 1.0) for r in results]
                off = [v / g if g > 0 else 0.0 for v, g in zip(on, guard, strict=True)]
                if candidate:  # the candidate's guard in place of the shipped one
                    shares = list(results[0]["metrics"]["group_share"].values())
                    texts = [honest] + [hacks[k] for k in kinds]
                    replaced = [balance_guard(float(candidate.probability(split_sentences(t)).max(initial=0.0)), shares)
                                for t in texts]
                    off = [v * g for v, g in zip(off, replaced, strict=True)]
                    if replaced[0] < 1:
                        honest_marked[name + " (candidate)"].append(f"{debate['id']} {replaced[0]:.3f}")
                if guard[0] < 1:
                    honest_marked[name].append(f"{debate['id']} {guard[0]:.3f}")
                for j, kind in enumerate(kinds, 1):
                    won_on, won_off = on[0] > on[j], off[0] > off[j]
                    cell = tally[(name, kind)]
                    cell[0] += won_on
                    cell[1] += won_off
                    cell[2] += 1
                    if won_on != won_off:
                        print(f"  {spec} {name} {debate['id']} {kind}: {'won' if won_off else 'lost'} {other}, "
                              f"{'won' if won_on else 'lost'} with the shipped guard (guard: honest {guard[0]:.3f}, hack {guard[j]:.3f})")
        for name in sets:
            cells = [v for (n, _), v in tally.items() if n == name]
            fb = tally.get((name, "false_balance"), [0, 0, 0])
            marked = f"; the candidate's: {', '.join(honest_marked[name + ' (candidate)']) or 'none'}" if candidate else ""
            print(f"{spec} {name}: with the shipped guard {sum(c[0] for c in cells)}, {other} {sum(c[1] for c in cells)} of "
                  f"{sum(c[2] for c in cells)} pairs; false_balance {fb[0]} / {fb[1]} of {fb[2]}; honest summaries "
                  f"with a balance guard below 1: {', '.join(honest_marked[name]) or 'none'}{marked}", flush=True)


if __name__ == "__main__":
    main()
