"""Pluralism of a summary (docs/design.md §4): are all opinion groups visible, in proportion?

The math is a set of pure functions over arrays, so that it can be checked on toy inputs:
- `a` (L x C): how strongly summary sentence s expresses comment c, in [0, 1];
- `coverage(a)` = cov(c) = max over sentences;
- `utilities(cov, approvals)` = u_i, the best coverage among the comments participant i wrote or
  agreed with (`approvals`, P x C booleans);
- `group_coverage`, `deficit_mass`, `elasticity`, `jr_violations`, `welfare`.

Participants are the authors (a comment without author stands for `comment:<id>`) and everyone
with an agree vote (the latest vote counts); one who neither wrote nor agreed with anything has
no utility and is counted in `n_unscored`. Groups come from `pluralign.data.groups.resolve_groups`
(given, votes or embeddings); the source is in the metrics and the signature.

`PluralismScorer` builds `a` from a backend and wraps the math with the guards (docs/design.md §7):

1. **Debate-contrastive support.** Embedding similarity is dominated by topic: every sentence of a
   debate on speed limits is close to every comment on speed limits. What matters is how much more
   a sentence expresses comment c than a typical other comment of the same debate does. So
   a(s, c) = clip((support(s, c) - base_c) / (1 - base_c)), with base_c the mean support that c
   gets from the debate's other comments (a seeded sample of 64 of them in larger debates). With
   an NLI backend base_c is near 0 and this changes little; with embeddings it removes the
   shared topic.
2. **Statements only.** a(s, c) is multiplied by the statement quality of s (`guards`), so a list
   of a group's keywords earns no coverage for it.
3. **Attribution.** Each summary sentence goes to the comments it expresses best (all comments
   within `tie_margin` of its best, if that best reaches the threshold); the sentence's unit of
   summary mass is shared among those comments' groups (a comment without a group is shared
   among the groups of its approvers). t_g is group g's share of the attributed mass; sentences that express no comment
   (framing, filler) are not attributed. With no attributed sentence, t_g = 0 for every g.
4. **Elasticity** is the least-squares slope of log t_g on log s_g over groups, with t_g floored
   at ELASTICITY_FLOOR (a group the summary ignores counts as 1% of it, which keeps the slope
   finite and still far from 1). It is None with fewer than two groups or equal shares.
5. **Reward** = guards x (w_min * min-group coverage + w_cov * coverage + w_dm * (1 - deficit
   mass)) / sum(w).
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
from pluralign.rewards.text import split_sentences
from pluralign.signature import make_signature

THRESHOLD = 0.3
WEIGHTS = {"min_group": 0.4, "coverage": 0.2, "deficit": 0.4}
TIE_MARGIN = 0.05
ELASTICITY_FLOOR = 0.01
BASELINE_SAMPLE = 64


# --- the math, on arrays ---------------------------------------------------------------------


def coverage(a: np.ndarray) -> np.ndarray:
    """cov(c) = max over summary sentences of a(s, c); zeros for an empty summary."""
    return a.max(axis=0) if a.shape[0] else np.zeros(a.shape[1])


def utilities(cov: np.ndarray, approvals: np.ndarray) -> np.ndarray:
    """u_i = max of cov(c) over the comments participant i approves (0 if none)."""
    return np.where(approvals, cov[None, :], 0.0).max(axis=1, initial=0.0)


def group_coverage(u: np.ndarray, member_group: np.ndarray, n_groups: int) -> np.ndarray:
    """G_g = mean of u_i over the members of g (NaN for a group with no scored member)."""
    sums = np.bincount(member_group, weights=u, minlength=n_groups)
    counts = np.bincount(member_group, minlength=n_groups)
    return np.divide(sums, counts, out=np.full(n_groups, np.nan), where=counts > 0)


def attribution(a: np.ndarray, profiles: np.ndarray, threshold: float, tie_margin: float = TIE_MARGIN) -> np.ndarray:
    """t_g: share of the summary attributed to each group.

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
    baseline: np.ndarray            # C: mean support each comment gets from the other comments
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
    # The baseline of each comment: mean support from the other comments (a seeded sample of
    # BASELINE_SAMPLE of them in a large debate, so that an NLI backend need not score C x C pairs).
    sample = np.sort(np.random.default_rng(0).permutation(len(texts))[:BASELINE_SAMPLE])
    among = backend.support([texts[k] for k in sample], texts)
    among[np.arange(len(sample)), sample] = np.nan  # a comment is not its own baseline
    counts = (~np.isnan(among)).sum(axis=0)
    baseline = np.where(counts > 0, np.nansum(among, axis=0) / np.maximum(counts, 1), 0.0)
    return DebateIndex(
        comment_texts=texts, topic_texts=[debate["question"], *texts], language=debate["language"],
        group_names=group_names, group_share=sizes / max(sizes.sum(), 1),
        approvals=approvals, member_group=member_group, profiles=profiles, baseline=baseline,
        group_source=groups.source,
        n_unscored=len(set(groups.participants) - set(approved)),
    )


# --- the scorer ------------------------------------------------------------------------------


def _json_float(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


class PluralismScorer:
    """Scores summaries of one debate at a time, in one batch; the debate side is cached."""

    def __init__(self, backend: Backend | str | None = None, threshold: float = THRESHOLD,
                 weights: dict[str, float] | None = None, guards: G.GuardSettings = G.DEFAULT_GUARDS,
                 tie_margin: float = TIE_MARGIN, cache_size: int = 256):
        self.backend = get_backend(backend or DEFAULT_SPEC) if isinstance(backend, str) or backend is None else backend
        self.threshold, self.tie_margin, self.guards = threshold, tie_margin, guards
        self.weights = dict(WEIGHTS if weights is None else weights)
        unknown = set(self.weights) - set(WEIGHTS)
        if unknown or sum(self.weights.values()) <= 0:
            raise UsageError(f"pluralism weights must be non-negative numbers for {sorted(WEIGHTS)}, got {self.weights}")
        self.debates = LRU(cache_size)

    def signature(self, group_source: str) -> str:
        return make_signature(scorer="pluralism", backend=self.backend.spec, threshold=self.threshold,
                              weights=self.weights, guards=self.guards.fields(), groups=group_source)

    def index(self, debate: dict) -> DebateIndex:
        key = debate_key(debate)
        cached = self.debates.get(key)
        if cached is None:
            cached = index_debate(debate, self.backend)
            self.debates.put(key, cached)
        return cached

    def support_matrix(self, index: DebateIndex, sentences: list[str]) -> np.ndarray:
        """a(s, c) for sentences of any number of summaries: contrastive support x statement quality."""
        raw = self.backend.support(sentences, index.comment_texts)
        base = index.baseline[None, :]
        a = np.clip((raw - base) / np.maximum(1.0 - base, 1e-6), 0.0, 1.0)
        quality = np.array([G.statement_quality(s, self.guards.function_target) for s in sentences])
        return a * quality[:, None]

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
        # One support call and one embedding call for the whole batch.
        a_all = self.support_matrix(index, sentences) if sentences else np.zeros((0, len(index.comment_texts)))
        vectors = self.backend.embed(sentences) if sentences else None
        topic = self.backend.embed(index.topic_texts)
        signature = self.signature(index.group_source)
        results, start = [], 0
        for summary, parts in zip(summaries, split, strict=True):
            stop = start + len(parts)
            metrics = self.metrics(index, a_all[start:stop])
            metrics["guards"] = self.guard_values(index, summary, vectors[start:stop] if parts else None, topic)
            metrics["guard"] = float(np.prod(list(metrics["guards"].values())))
            reward = metrics["guard"] * self.combine(metrics)
            results.append({"pluralism": round(float(reward), 6), "metrics": metrics, "signature": signature})
            start = stop
        return results

    def combine(self, metrics: dict) -> float:
        parts = {"min_group": metrics["min_group_coverage"], "coverage": metrics["coverage"],
                 "deficit": 1.0 - metrics["deficit_mass"]}
        return sum(w * parts[k] for k, w in self.weights.items()) / sum(self.weights.values())

    def metrics(self, index: DebateIndex, a: np.ndarray) -> dict:
        n_groups = len(index.group_names)
        cov = coverage(a)
        u = utilities(cov, index.approvals)
        grouped = index.member_group >= 0
        g_cov = group_coverage(u[grouped], index.member_group[grouped], n_groups)
        scored = ~np.isnan(g_cov)
        s, t = index.group_share, attribution(a, index.profiles, self.threshold, self.tie_margin)
        minority = scored & (s < 1.0 / max(n_groups, 1))
        return {
            "min_group_coverage": _json_float(g_cov[scored].min()) if scored.any() else 0.0,
            "coverage": _json_float((g_cov[scored] >= self.threshold).mean()) if scored.any() else 0.0,
            "minority_recall": _json_float((g_cov[minority] >= self.threshold).mean()) if minority.any() else None,
            "deficit_mass": _json_float(deficit_mass(s, t)),
            "elasticity": _json_float(elasticity(s, t)),
            "jr_violations": jr_violations(u, index.approvals, cov, a.shape[0], self.threshold),
            "welfare_mean": _json_float(welfare(u, 0)),
            "welfare_nash": _json_float(welfare(u, 1)),
            "welfare_min": _json_float(welfare(u, np.inf)),
            "comment_coverage": _json_float(cov.mean()) if len(cov) else 0.0,
            "group_coverage": {g: _json_float(v) for g, v in zip(index.group_names, g_cov, strict=True)},
            "group_share": {g: _json_float(v) for g, v in zip(index.group_names, s, strict=True)},
            "summary_share": {g: _json_float(v) for g, v in zip(index.group_names, t, strict=True)},
            "n_sentences": int(a.shape[0]),
            "n_participants": int(len(u)),
            "n_unscored": index.n_unscored,
            "group_source": index.group_source,
        }

    def guard_values(self, index: DebateIndex, summary: str, vectors: np.ndarray | None, topic: np.ndarray) -> dict:
        if vectors is None or not len(vectors):
            return {"empty": 0.0}
        settings = self.guards
        return {
            "empty": 1.0,
            "copying": round(G.copying(summary, index.comment_texts, settings), 6),
            "length": round(G.length_budget(summary, index.comment_texts, settings), 6),
            "stuffing": round(G.keyword_stuffing(summary, settings), 6),
            "repetition": round(G.repetition(summary, settings), 6),
            "topic": round(min(G.topicality(vectors, topic, settings)[0],
                               G.lexical_topicality(summary, index.topic_texts, settings)[0]), 6),
            "language": round(G.language_match(summary, index.language, settings), 6),
        }
