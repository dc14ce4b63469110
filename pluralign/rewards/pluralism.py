"""Pluralism of a summary (docs/design.md §4): are all opinion groups visible, in proportion?

The math is a set of pure functions over arrays, so that it can be checked on toy inputs:
- `a` (L x C): how strongly summary sentence s expresses comment c, in [0, 1];
- `coverage(a)` = cov(c) = max over sentences;
- `utilities(cov, approvals)` = u_i, the best coverage among the comments participant i wrote or
  agreed with (`approvals`, P x C booleans);
- `group_coverage`, `deficit_mass`, `elasticity`, `jr_violations`, `welfare`;
- `debate_z`, `expression`, `shared_attribution`: how `a` and the summary shares t_g are read.

Participants are the authors (a comment without author stands for `comment:<id>`) and everyone
with an agree vote (the latest vote counts); one who neither wrote nor agreed with anything has
no utility and is counted in `n_unscored`. Groups come from `pluralign.data.groups.resolve_groups`
(given, votes or embeddings); the source is in the metrics and the signature.

`PluralismScorer` reads `a` the way the representation model reads a text against one person
(`pluralign/rewards/representation.py`), with the same two features of content, on a scale that
is the same for every backend:

1. **Debate z.** Similarity is dominated by topic: every sentence of a debate on speed limits is
   close to every comment on speed limits. So the question's direction is removed from every
   embedding (`off_question`), and what counts is how much more sentence s speaks of comment c
   than of the debate's other comments: z(s, c) = (sim(s, c) - mean_k sim(s, c_k)) / sd_k sim(s,
   c_k), the comments k other than c (the representation head's z). A z-score has no units, so no
   threshold depends on the model: all-MiniLM-L6-v2 cosines (0.1-0.9) and multilingual-e5's
   (0.75-1) give the same z for the same ordering. Every backend is read through its embeddings
   (an `nli:` backend's are the packaged MiniLM's).
2. **Expression.** a(s, c) = sigmoid(SLOPE * (z - Z_CLEAR)) x statement quality of s (`guards`:
   a list of a group's keywords earns nothing), and 0 when s states the side opposite to c's
   author (negation-aware cues, `sides.py`: "a few oppose the van" does not speak for a supporter
   of it). a = 0.5 where s speaks of c Z_CLEAR standard deviations more than of the typical
   comment. These two constants are in z units, not fitted to a model.
3. **Attribution.** Each sentence carries a unit of summary mass, weighted by how clearly it
   expresses some comment (its best a), and shares it among the comments by a softmax of
   SHARPNESS * z over those whose side it does not contradict; a comment's share goes to its
   group (one without a group: shared among its approvers' groups). t_g is group g's share of the
   attributed mass; framing and filler sentences, which express no comment clearly, carry little.
4. **Elasticity** is the least-squares slope of log t_g on log s_g over groups, with t_g floored
   at ELASTICITY_FLOOR (a group the summary ignores counts as 1% of it, which keeps the slope
   finite and still far from 1). It is None with fewer than two groups or equal shares.
5. **Reward** = guards x (w_min * min-group coverage + w_cov * coverage credit + w_dm * (1 - deficit
   mass)) / sum(w). The coverage credit is the `coverage` metric (the share of groups at or above
   THRESHOLD) made continuous: each group earns 0 up to THRESHOLD - COVERAGE_RAMP, 1 from THRESHOLD
   + COVERAGE_RAMP, linearly between, so that no move of 0.001 in a group's coverage moves the
   reward by 0.05 (`coverage_credit`).

Why not the representation model's calibrated probability for cov(c): it was measured first
(benchmarks/bench_pluralism_design.py). With the same attribution it orders the development pairs
about as well, since the deficit mass does most of that, but its content terms barely move: the
minority's coverage differs by 0.05-0.09 between a summary that gives its view and one that drops
it (0.35-0.61 here), so every majority-only summary counts as covering every group, and coverage,
minority recall and JR stop meaning anything. People's ratings hardly depend on what frozen
embeddings see of content; a coverage metric must. The person terms never enter either way: a
minority would be "unrepresented" by who it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pluralign.errors import UsageError
from pluralign.rewards import guards as G
from pluralign.rewards.backends import DEFAULT_SPEC, LRU, Backend, get_backend
from pluralign.rewards.balance import balance_guard, shipped_reader
from pluralign.rewards.representation import comment_spread, off_question
from pluralign.rewards.sides import CLEAR, cue_stance, opinion_side
from pluralign.rewards.text import split_sentences
from pluralign.signature import make_signature

THRESHOLD = 0.5  # a comment, participant or group counts as covered from here (a = 0.5: z = Z_CLEAR)
WEIGHTS = {"min_group": 0.4, "coverage": 0.2, "deficit": 0.4}
TIE_MARGIN = 0.05  # `attribution` (thresholded, for judges' ratings): ties within this margin share a sentence
ELASTICITY_FLOOR = 0.01
# The reward's coverage term credits a group linearly from THRESHOLD - ramp to THRESHOLD + ramp, not by the count
# of groups at or above THRESHOLD (ramp 0), which steps by w_cov / k on any move across it, float32 against
# bfloat16 arithmetic among them (benchmarks/DECISIONS.md 30).
COVERAGE_RAMP = 0.1
Z_CLEAR, SLOPE = 1.5, 2.0  # expression: sigmoid(SLOPE * (z - Z_CLEAR)), z in standard deviations
SHARPNESS = 4.0  # softmax over z sharing a sentence's mass among comments


# --- the math, on arrays ---------------------------------------------------------------------


def coverage(a: np.ndarray) -> np.ndarray:
    """cov(c) = max over summary sentences of a(s, c); zeros for an empty summary."""
    return a.max(axis=0) if a.shape[0] else np.zeros(a.shape[1])


def coverage_credit(g_cov: np.ndarray, threshold: float, ramp: float) -> float:
    """The reward's coverage term: the mean over groups of each one's credit for reaching `threshold`,
    0 below threshold - ramp, 1 from threshold + ramp, linear between; with ramp 0, the share of groups
    at or above threshold (the `coverage` metric)."""
    g_cov = np.asarray(g_cov, dtype=float)
    if not len(g_cov):
        return 0.0
    if ramp <= 0:
        return float((g_cov >= threshold).mean())
    return float(np.clip((g_cov - threshold + ramp) / (2 * ramp), 0.0, 1.0).mean())


def reward_parts(metrics: dict) -> dict[str, float]:
    """The reward's terms (WEIGHTS' keys) from a summary's metrics, for every scorer of the pluralism family."""
    return {"min_group": metrics["min_group_coverage"], "coverage": metrics["coverage_credit"],
            "deficit": 1.0 - metrics["deficit_mass"]}


def utilities(cov: np.ndarray, approvals: np.ndarray) -> np.ndarray:
    """u_i = max of cov(c) over the comments participant i approves (0 if none)."""
    return np.where(approvals, cov[None, :], 0.0).max(axis=1, initial=0.0)


def group_coverage(u: np.ndarray, member_group: np.ndarray, n_groups: int) -> np.ndarray:
    """G_g = mean of u_i over the members of g (NaN for a group with no scored member)."""
    sums = np.bincount(member_group, weights=u, minlength=n_groups)
    counts = np.bincount(member_group, minlength=n_groups)
    return np.divide(sums, counts, out=np.full(n_groups, np.nan), where=counts > 0)


def debate_z(sim: np.ndarray, spread: float = 1e-6) -> np.ndarray:
    """z (L x C) of each sentence's similarity to comment c among its similarities to the other
    comments: (sim[s, c] - mean_{k != c} sim[s, k]) / max(sd_{k != c} sim[s, k], spread), 0 with
    fewer than 3 comments. `spread` (representation.comment_spread) keeps a sentence that is about
    equally unlike every comment (off topic, a formula) from turning noise into a strong z."""
    n = sim.shape[1]
    if n < 3:
        return np.zeros_like(sim, dtype=float)
    s1, s2 = sim.sum(axis=1, keepdims=True), (sim * sim).sum(axis=1, keepdims=True)
    mean = (s1 - sim) / (n - 1)
    sd = np.sqrt(np.maximum((s2 - sim * sim) / (n - 1) - mean * mean, 0.0))
    return (sim - mean) / np.maximum(sd, spread)


def expression(z: np.ndarray, against: np.ndarray, quality: np.ndarray,
               z_clear: float = Z_CLEAR, slope: float = SLOPE) -> np.ndarray:
    """a(s, c) = sigmoid(slope * (z - z_clear)) x quality(s), 0 where s contradicts c's side."""
    a = 1.0 / (1.0 + np.exp(-slope * (z - z_clear)))
    return np.where(against, 0.0, a) * quality[:, None]


def shared_attribution(a: np.ndarray, z: np.ndarray, against: np.ndarray, profiles: np.ndarray,
                       sharpness: float = SHARPNESS) -> np.ndarray:
    """t_g: each sentence's mass (its best a) shared among comments by softmax(sharpness * z),
    leaving out the comments whose side it contradicts, then among groups by `profiles` (C x G)."""
    n_groups = profiles.shape[1]
    if a.shape[0] == 0:
        return np.zeros(n_groups)
    weights = np.where(against, 0.0, np.exp(sharpness * (z - z.max(axis=1, keepdims=True))))
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    mass = (weights * a.max(axis=1, keepdims=True)) @ profiles  # L x G
    total = mass.sum()
    return mass.sum(axis=0) / total if total > 0 else np.zeros(n_groups)


def attribution(a: np.ndarray, profiles: np.ndarray, threshold: float, tie_margin: float = TIE_MARGIN) -> np.ndarray:
    """t_g from graded ratings (an LLM judge's): each sentence goes to its best comments.

    `profiles` (C x G): the share of each comment's approvers in each group (rows sum to 1, or 0).
    """
    n_groups = profiles.shape[1]
    if a.shape[0] == 0:
        return np.zeros(n_groups)
    best = a.max(axis=1, keepdims=True)
    chosen = (a >= best - tie_margin) & (best >= threshold)
    counts = chosen.sum(axis=1, keepdims=True)
    mass = (chosen / np.maximum(counts, 1)) @ profiles  # L x G: each attributed sentence shares one unit
    total = mass.sum()
    return mass.sum(axis=0) / total if total > 0 else np.zeros(n_groups)


def deficit_mass(s: np.ndarray, t: np.ndarray) -> float:
    """DM = sum over groups of max(0, s_g - t_g): the under-represented share (Zhang et al. 2024)."""
    return float(np.maximum(0.0, np.asarray(s) - np.asarray(t)).sum())


def elasticity(s: np.ndarray, t: np.ndarray, floor: float = ELASTICITY_FLOOR) -> float | None:
    """Least-squares slope of log t_g on log s_g; t_g floored at `floor`. 1 is proportional."""
    s, t = np.asarray(s, dtype=float), np.asarray(t, dtype=float)
    if len(s) < 2:
        return None
    x, y = np.log(s), np.log(np.maximum(t, floor))
    spread = ((x - x.mean()) ** 2).sum()
    if spread < 1e-12:
        return None
    return float(((x - x.mean()) * (y - y.mean())).sum() / spread)


def jr_violations(u: np.ndarray, approvals: np.ndarray, cov: np.ndarray, n_sentences: int,
                  threshold: float) -> int:
    """Comments c not covered for which at least n/L approvers of c are all unrepresented (Fish et al.).

    n is the number of scored participants (rows of `approvals`), L the summary's sentences.
    """
    n, length = approvals.shape[0], max(n_sentences, 1)
    unrepresented = approvals & (u < threshold)[:, None]
    cohesive = unrepresented.sum(axis=0) >= n / length
    return int((cohesive & (cov < threshold)).sum())


def welfare(u: np.ndarray, alpha: float) -> float:
    """Atkinson power mean of utilities: alpha 0 = mean, 1 = geometric (Nash), inf = minimum."""
    u = np.asarray(u, dtype=float)
    if len(u) == 0:
        return 0.0
    if np.isinf(alpha):
        return float(u.min())
    if alpha >= 1 and (u <= 0).any():
        return 0.0
    if alpha == 1:
        return float(np.exp(np.log(u).mean()))
    return float(np.mean(u ** (1 - alpha)) ** (1 / (1 - alpha)))


# --- the debate side, computed once per debate ------------------------------------------------


@dataclass
class DebateIndex:
    """Everything about a debate that does not depend on the summary."""

    comment_texts: list[str]
    topic_texts: list[str]          # question + comments, for the topicality guard
    language: str
    group_names: list[str]
    group_share: np.ndarray         # s_g
    approvals: np.ndarray           # P x C: participant wrote or agreed with comment
    member_group: np.ndarray        # P: index of each scored participant's group (-1: no group)
    profiles: np.ndarray            # C x G: each comment's group (one-hot) or its approvers' groups
    sides: np.ndarray               # C: the side each comment states (sides.opinion_side)
    question: np.ndarray            # d: the question's embedding, removed from every vector
    vectors: np.ndarray             # C x d: the comments' embeddings, question removed, unit-norm
    spread: float                   # the least sd a z divides by (representation.comment_spread)
    group_source: str
    n_unscored: int                 # participants with a group who approve no comment


def debate_key(debate: dict) -> str:
    digest = hashlib.sha1(json.dumps(debate, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"{debate['id']}:{digest}"


def index_debate(debate: dict, backend: Backend) -> DebateIndex:
    from pluralign.data.groups import resolve_groups

    groups = resolve_groups(debate, embed=backend.embed)
    comments = debate["comments"]
    column = {c["id"]: j for j, c in enumerate(comments)}
    approved: dict[str, set[int]] = {}
    for comment in comments:
        approved.setdefault(comment.get("author") or f"comment:{comment['id']}", set()).add(column[comment["id"]])
    final = {(v["participant"], v["comment"]): v["vote"] for v in debate.get("votes") or []}
    for (participant, cid), vote in final.items():
        if vote == 1:
            approved.setdefault(participant, set()).add(column[cid])

    group_names = sorted(set(groups.participants.values()) | set(groups.comments.values()))
    gindex = {g: k for k, g in enumerate(group_names)}
    sizes = np.bincount([gindex[g] for g in groups.participants.values()], minlength=len(group_names))
    participants = sorted(approved)
    approvals = np.zeros((len(participants), len(comments)), dtype=bool)
    for i, participant in enumerate(participants):
        approvals[i, sorted(approved[participant])] = True
    member_group = np.array([gindex.get(groups.participants.get(p, ""), -1) for p in participants], dtype=int)

    # Profiles: a comment belongs to its group (docs/design.md §1); one without a group is shared among
    # the groups of the participants who approve it.
    profiles = np.zeros((len(comments), len(group_names)))
    grouped = member_group >= 0
    np.add.at(profiles.T, member_group[grouped], approvals[grouped].astype(float))
    for j, comment in enumerate(comments):
        if comment["id"] in groups.comments:
            profiles[j] = 0.0
            profiles[j, gindex[groups.comments[comment["id"]]]] = 1.0
    totals = profiles.sum(axis=1, keepdims=True)
    profiles = np.divide(profiles, totals, out=np.zeros_like(profiles), where=totals > 0)
    texts = [c["text"] for c in comments]
    question = np.asarray(backend.embed([debate["question"]]), dtype=float)[0]
    vectors = off_question(backend.embed(texts), question)
    return DebateIndex(
        comment_texts=texts, topic_texts=[debate["question"], *texts], language=debate["language"],
        group_names=group_names, group_share=sizes / max(sizes.sum(), 1),
        approvals=approvals, member_group=member_group, profiles=profiles,
        sides=np.array([opinion_side(t, debate["question"]) for t in texts]),
        question=question, vectors=vectors, spread=comment_spread(vectors),
        group_source=groups.source,
        n_unscored=len(set(groups.participants) - set(approved)),
    )


# --- the scorer ------------------------------------------------------------------------------


def _json_float(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def debate_metrics(index: DebateIndex, cov: np.ndarray, attributed: np.ndarray, n_sentences: int,
                   threshold: float, ramp: float = COVERAGE_RAMP) -> dict:
    """The metrics of one summary (docs/design.md §4), from each comment's coverage `cov` and each group's
    share of the summary `attributed`: every scorer of the pluralism family reports these."""
    n_groups = len(index.group_names)
    u = utilities(cov, index.approvals)
    grouped = index.member_group >= 0
    g_cov = group_coverage(u[grouped], index.member_group[grouped], n_groups)
    scored = ~np.isnan(g_cov)
    s, t = index.group_share, attributed
    minority = scored & (s < 1.0 / max(n_groups, 1))
    return {
        "min_group_coverage": _json_float(g_cov[scored].min()) if scored.any() else 0.0,
        "coverage": _json_float(coverage_credit(g_cov[scored], threshold, 0.0)),
        "coverage_credit": _json_float(coverage_credit(g_cov[scored], threshold, ramp)),
        "minority_recall": _json_float(coverage_credit(g_cov[minority], threshold, 0.0)) if minority.any() else None,
        "deficit_mass": _json_float(deficit_mass(s, t)),
        "elasticity": _json_float(elasticity(s, t)),
        "jr_violations": jr_violations(u, index.approvals, cov, n_sentences, threshold),
        "welfare_mean": _json_float(welfare(u, 0)),
        "welfare_nash": _json_float(welfare(u, 1)),
        "welfare_min": _json_float(welfare(u, np.inf)),
        "comment_coverage": _json_float(cov.mean()) if len(cov) else 0.0,
        "group_coverage": {g: _json_float(v) for g, v in zip(index.group_names, g_cov, strict=True)},
        "group_share": {g: _json_float(v) for g, v in zip(index.group_names, s, strict=True)},
        "summary_share": {g: _json_float(v) for g, v in zip(index.group_names, t, strict=True)},
        "n_sentences": int(n_sentences),
        "n_participants": int(len(u)),
        "n_unscored": index.n_unscored,
        "group_source": index.group_source,
    }


class PluralismScorer:
    """Scores summaries of one debate at a time, in one batch; the debate side is cached."""

    def __init__(self, backend: Backend | str | None = None, threshold: float = THRESHOLD,
                 weights: dict[str, float] | None = None, guards: G.GuardSettings = G.DEFAULT_GUARDS,
                 z_clear: float = Z_CLEAR, slope: float = SLOPE, sharpness: float = SHARPNESS, cache_size: int = 256,
                 balance: bool = True, coverage_ramp: float = COVERAGE_RAMP):
        self.backend = get_backend(backend or DEFAULT_SPEC) if isinstance(backend, str) or backend is None else backend
        if not 0 <= coverage_ramp < threshold:
            raise UsageError(f"pluralism coverage_ramp must be at least 0 (0: count the groups at or above the threshold) "
                             f"and below the threshold {threshold}, got {coverage_ramp}")
        self.threshold, self.guards, self.coverage_ramp = threshold, guards, coverage_ramp
        self.z_clear, self.slope, self.sharpness = z_clear, slope, sharpness
        self.weights = dict(WEIGHTS if weights is None else weights)
        unknown = set(self.weights) - set(WEIGHTS)
        if unknown or sum(self.weights.values()) <= 0:
            raise UsageError(f"pluralism weights must be non-negative numbers for {sorted(WEIGHTS)}, got {self.weights}")
        self.debates = LRU(cache_size)
        self.balance_reader = shipped_reader() if balance else None  # the `balance` guard (balance.py)

    def signature(self, group_source: str) -> str:
        return make_signature(scorer="pluralism", backend=self.backend.spec, threshold=self.threshold,
                              weights=self.weights, guards=self.guards.fields(), groups=group_source,
                              balance=self.balance_reader.version if self.balance_reader else "off",
                              coverage_ramp=self.coverage_ramp,
                              **self.backend.signature_fields(),
                              support={"method": "debate-z", "z_clear": self.z_clear, "slope": self.slope,
                                       "sharpness": self.sharpness})

    def index(self, debate: dict) -> DebateIndex:
        key = debate_key(debate)
        cached = self.debates.get(key)
        if cached is None:
            cached = index_debate(debate, self.backend)
            self.debates.put(key, cached)
        return cached

    def z_scores(self, index: DebateIndex, sim: np.ndarray) -> np.ndarray:
        """z(s, c) from the sentences' similarities to the comments (L x C), question removed."""
        return debate_z(sim, index.spread)

    def expression_matrix(self, index: DebateIndex, sentences: list[str]) -> tuple[np.ndarray, ...]:
        """a(s, c), the z the attribution reads (`share_z`) and `against` (s states the side opposite to
        c's) for sentences of any number of summaries against one debate: one embedding call for the whole batch."""
        sim = off_question(self.backend.embed(sentences), index.question) @ index.vectors.T
        z = self.z_scores(index, sim)
        cues = np.array([cue_stance(s) for s in sentences])
        against = (np.sign(index.sides)[None, :] * cues[:, None] < -CLEAR) & (np.abs(index.sides) > CLEAR)[None, :]
        quality = np.array([G.statement_quality(s, self.guards.function_target, self.guards.list_clause)
                            for s in sentences])
        return expression(z, against, quality, self.z_clear, self.slope), self.share_z(index, sim, z), against

    def share_z(self, index: DebateIndex, sim: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The z the attribution shares a sentence's mass by: a(s, c)'s own z (variants that read the two
        apart override it: benchmarks/explore_group_z.py)."""
        return z

    def score_batch(self, debates: Sequence[dict], summaries: Sequence[str]) -> list[dict]:
        """One result per (debate, summary) pair, in order: each debate's summaries are scored
        together (a GRPO group, an eval run's samples), whatever order the pairs come in."""
        if len(debates) != len(summaries):
            raise UsageError(f"score_batch: {len(debates)} debates but {len(summaries)} summaries; pass one debate per summary")
        keys: dict[int, str] = {}  # the same debate object is hashed once
        by_debate: dict[str, list[int]] = {}
        for i, debate in enumerate(debates):
            key = keys.setdefault(id(debate), debate_key(debate))
            by_debate.setdefault(key, []).append(i)
        results: list[dict] = [{} for _ in summaries]
        for rows in by_debate.values():
            for i, result in zip(rows, self.score(debates[rows[0]], [summaries[i] for i in rows]), strict=True):
                results[i] = result
        return results

    def score(self, debate: dict, summaries: Sequence[str]) -> list[dict]:
        index = self.index(debate)
        split = [split_sentences(s) for s in summaries]
        sentences = [s for parts in split for s in parts]
        # One embedding call for the whole batch (the guards reuse the cached vectors).
        empty = np.zeros((0, len(index.comment_texts)))
        a_all, z_all, against_all = self.expression_matrix(index, sentences) if sentences else (empty, empty, empty > 0)
        vectors = self.backend.embed(sentences) if sentences else None
        claims = self.balance_reader.probability(sentences) if self.balance_reader else None
        topic = self.backend.embed(index.topic_texts)
        signature = self.signature(index.group_source)
        results, start = [], 0
        for summary, parts in zip(summaries, split, strict=True):
            stop = start + len(parts)
            metrics = self.metrics(index, a_all[start:stop], z_all[start:stop], against_all[start:stop])
            claim = None if claims is None else float(claims[start:stop].max(initial=0.0))
            metrics["guards"] = summary_guards(index, summary, vectors[start:stop] if parts else None, topic,
                                               self.guards, claim)
            metrics["guard"] = float(np.prod(list(metrics["guards"].values())))
            reward = metrics["guard"] * self.combine(metrics)
            results.append({"pluralism": round(float(reward), 6), "metrics": metrics, "signature": signature})
            start = stop
        return results

    def combine(self, metrics: dict) -> float:
        parts = reward_parts(metrics)
        return sum(w * parts[k] for k, w in self.weights.items()) / sum(self.weights.values())

    def metrics(self, index: DebateIndex, a: np.ndarray, z: np.ndarray, against: np.ndarray) -> dict:
        attributed = shared_attribution(a, z, against, index.profiles, self.sharpness)
        return debate_metrics(index, coverage(a), attributed, a.shape[0], self.threshold, self.coverage_ramp)


def summary_guards(index: DebateIndex, summary: str, vectors: np.ndarray | None, topic: np.ndarray,
                   settings: G.GuardSettings, claim: float | None) -> dict:
    """Each guard's multiplier for one summary (docs/design.md §7), for every scorer of the pluralism family.
    `vectors`: its sentences' embeddings; `topic`: the question's and comments'; `claim`: P of its most
    balance-claiming sentence (`balance.py`), None when the `balance` guard is off."""
    if vectors is None or not len(vectors):
        return {"empty": 0.0}
    balance = {} if claim is None else {"balance": round(balance_guard(claim, index.group_share), 6)}
    return {
        "empty": 1.0,
        "copying": round(G.copying(summary, index.comment_texts, settings), 6),
        "length": round(G.length_budget(summary, index.comment_texts, settings), 6),
        "stuffing": round(G.keyword_stuffing(summary, settings), 6),
        "repetition": round(G.repetition(summary, settings), 6),
        "topic": round(min(G.topicality(vectors, topic, settings)[0],
                           G.lexical_topicality(summary, index.topic_texts, settings)[0]), 6),
        "language": round(G.language_match(summary, index.language, settings), 6),
        **balance,
    }
