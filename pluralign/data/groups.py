"""Opinion groups of a debate (docs/design.md §1, §3).

A comment's group is its `group` if given, else `groups[author]`, else it comes from the votes
(Polis: PCA to 2 components, k-means with k chosen by silhouette), else from clustering the
comment embeddings. Every result says which source was used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from pluralign.errors import UsageError


@dataclass
class Groups:
    """Who is in which opinion group, and where that came from.

    participants: participant id -> group, for everyone with a group (authors and voters).
    comments: comment id -> group: the comment's own, else its author's; where the debate has
    votes, a comment whose author has no group goes to the group that agrees with it most.
    source: "given" (fields of the debate, or the record's own `group_source` when it says where they
    came from: "polis", "text"), "votes" (computed the Polis way) or "embeddings"
    (clustered comment embeddings; then each comment stands for one pseudo-participant,
    its author or `comment:<id>`).
    """

    participants: dict[str, str]
    comments: dict[str, str]
    source: str
    details: dict = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for group in self.participants.values():
            sizes[group] = sizes.get(group, 0) + 1
        return dict(sorted(sizes.items()))


def given_groups(debate: dict) -> Groups | None:
    """The groups the debate states (`comments[].group`, `groups`), or None when it states none."""
    stated = dict(debate.get("groups") or {})
    comments: dict[str, str] = {}
    for comment in debate["comments"]:
        author = comment.get("author")
        if comment.get("group"):
            comments[comment["id"]] = comment["group"]
            if author:
                stated.setdefault(author, comment["group"])
        elif author and author in stated:
            comments[comment["id"]] = stated[author]
    if not stated and not comments:
        return None
    # Comments whose group is given but that have no author stand for a participant of their own.
    participants = dict(stated)
    for comment in debate["comments"]:
        if comment["id"] in comments and not comment.get("author"):
            participants[f"comment:{comment['id']}"] = comments[comment["id"]]
    # A record may say where its stated groups came from (an import: "polis", "votes", "text").
    source = debate.get("group_source") if isinstance(debate.get("group_source"), str) else None
    return Groups(participants=participants, comments=comments, source=source or "given")


# --- computed groups -------------------------------------------------------------------------

MAX_K = 5  # Polis looks for 2 to 5 opinion groups
MIN_VOTES = 7  # Polis clusters participants who voted on at least min(7, n_comments) comments


def resolve_groups(debate: dict, embed: Callable[[list[str]], np.ndarray] | None = None) -> Groups:
    """The debate's opinion groups: given ones first, else from the votes, else from embeddings.

    `embed` (texts -> unit-norm rows) is needed only for a debate with neither groups nor votes.
    """
    given = given_groups(debate)
    if given is not None:
        if debate.get("votes"):  # comments whose author has no group: the group agreeing most
            given.comments = _comment_groups(debate, given.participants, final_votes(debate), given.comments)
            given.details["n_comments_grouped"] = len(given.comments)
        return given
    if debate.get("votes"):
        return groups_from_votes(debate)
    if embed is None:
        raise UsageError(
            f"debate {debate.get('id')!r} has neither groups nor votes; pass `embed` "
            "(texts -> embeddings) to cluster its comments"
        )
    return groups_from_embeddings(debate, embed)


def groups_from_votes(debate: dict, seed: int = 0) -> Groups:
    """Polis groups (docs/design.md §3): PCA of the vote matrix, k-means with k chosen by silhouette."""
    comment_ids = [c["id"] for c in debate["comments"]]
    column = {cid: j for j, cid in enumerate(comment_ids)}
    final = final_votes(debate)
    voters = sorted({p for p, _ in final})
    row = {p: i for i, p in enumerate(voters)}
    matrix = np.full((len(voters), len(comment_ids)), np.nan)
    for (participant, cid), value in final.items():
        matrix[row[participant], column[cid]] = value

    n_voted = np.sum(~np.isnan(matrix), axis=1)
    min_votes = min(MIN_VOTES, len(comment_ids))
    keep = n_voted >= min_votes
    members = [p for p, k in zip(voters, keep, strict=True) if k]
    details = {"n_voters": len(voters), "n_participants_used": len(members), "min_votes": min_votes}
    matrix, n_voted = matrix[keep], n_voted[keep]

    if len(members) < 3 or len(comment_ids) < 2:
        labels = np.zeros(len(members), dtype=int)
        details.update(k=1, reason="too few participants or comments to cluster")
    else:
        # Missing votes take the comment's mean vote, as in Polis.
        counts = np.sum(~np.isnan(matrix), axis=0)
        means = np.nansum(matrix, axis=0) / np.maximum(counts, 1)  # 0 for a comment nobody here voted on
        filled = np.where(np.isnan(matrix), means, matrix)
        with threadpool_limits(limits=1):  # see _kmeans_by_silhouette
            points = PCA(n_components=2, random_state=seed).fit_transform(filled)
        # Polis scales each projection up by sqrt(n_comments / n_voted): a participant who voted on
        # few comments would otherwise sit near the centre for lack of votes, not of opinion.
        points *= np.sqrt(len(comment_ids) / n_voted)[:, None]
        labels, k_details = _kmeans_by_silhouette(points, seed)
        details.update(k_details)

    participants = {p: str(label) for p, label in zip(members, _by_size(labels), strict=True)}
    comments = _comment_groups(debate, participants, final)
    details["n_comments_grouped"] = len(comments)
    return Groups(participants=participants, comments=comments, source="votes", details=details)


def groups_from_embeddings(debate: dict, embed: Callable[[list[str]], np.ndarray], seed: int = 0) -> Groups:
    """Cluster the comments' embeddings; each comment stands for its author or `comment:<id>`."""
    comments = debate["comments"]
    vectors = np.asarray(embed([c["text"] for c in comments]), dtype=float)
    if len(comments) < 3:
        labels = np.zeros(len(comments), dtype=int)
        details = {"k": 1, "reason": "too few comments to cluster"}
    else:
        labels, details = _kmeans_by_silhouette(vectors, seed)
    labels = _by_size(labels)
    by_comment = {c["id"]: str(label) for c, label in zip(comments, labels, strict=True)}
    # A pseudo-participant who wrote several comments joins the group most of them fell in.
    votes_of: dict[str, Counter] = {}
    for comment in comments:
        who = comment.get("author") or f"comment:{comment['id']}"
        votes_of.setdefault(who, Counter())[by_comment[comment["id"]]] += 1
    participants = {who: counts.most_common(1)[0][0] for who, counts in votes_of.items()}
    details["n_participants_used"] = len(participants)
    return Groups(participants=participants, comments=by_comment, source="embeddings", details=details)


def _kmeans_by_silhouette(points: np.ndarray, seed: int) -> tuple[np.ndarray, dict]:
    """k-means for k = 2..5 (fewer when there are few distinct points), keeping the best silhouette."""
    n_distinct = len(np.unique(points.round(9), axis=0))
    best: tuple[float, int, np.ndarray] | None = None
    scores = {}
    # One thread: these matrices are small, and k-means' OpenMP threads on a busy machine cost
    # far more (tens of seconds) in waiting than they save.
    with threadpool_limits(limits=1):
        for k in range(2, min(MAX_K, n_distinct, len(points) - 1) + 1):
            labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(points)
            if len(set(labels)) < 2:
                continue
            score = float(silhouette_score(points, labels, random_state=seed))
            scores[k] = round(score, 4)
            if best is None or score > best[0]:
                best = (score, k, labels)
    if best is None:
        return np.zeros(len(points), dtype=int), {"k": 1, "reason": "points too alike to cluster"}
    score, k, labels = best
    return labels, {"k": k, "silhouette": round(score, 4), "silhouette_by_k": scores}


def _by_size(labels: np.ndarray) -> list[int]:
    """Relabel clusters 0, 1, ... from the largest down, so that names do not depend on k-means' order."""
    counts = Counter(int(label) for label in labels)
    order = {label: rank for rank, (label, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}
    return [order[int(label)] for label in labels]


def final_votes(debate: dict) -> dict[tuple[str, str], int]:
    """(participant, comment) -> vote; a later vote by the same participant replaces an earlier one."""
    return {(v["participant"], v["comment"]): v["vote"] for v in debate.get("votes") or []}


def _comment_groups(debate: dict, participants: dict[str, str], final: dict[tuple[str, str], int],
                    known: dict[str, str] | None = None) -> dict[str, str]:
    """Each comment's group: `known` first, else its author's group, else the group that agrees
    with it most (the mean vote of the group's members who voted on it), when any member voted."""
    votes_by_group: dict[str, dict[str, list[int]]] = {}
    for (participant, cid), value in final.items():
        group = participants.get(participant)
        if group is not None:
            votes_by_group.setdefault(cid, {}).setdefault(group, []).append(value)
    known = known or {}
    comments = {}
    for comment in debate["comments"]:
        cid = comment["id"]
        group = known.get(cid) or participants.get(comment.get("author") or "")
        if group is None and cid in votes_by_group:
            means = {g: sum(v) / len(v) for g, v in votes_by_group[cid].items()}
            group = max(sorted(means), key=lambda g: means[g])
        if group is not None:
            comments[cid] = group
    return comments
