"""Opinion groups of a debate (DESIGN §1, §3).

A comment's group is its `group` if given, else `groups[author]`, else it comes from the votes
(Polis: PCA to 2 components, k-means with k chosen by silhouette), else from clustering the
comment embeddings. Every result says which source was used.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Groups:
    """Who is in which opinion group, and where that came from.

    participants: participant id -> group, for everyone with a group (authors and voters).
    comments: comment id -> group (the author's group, or the comment's own).
    source: "given" (fields of the debate), "votes" (computed the Polis way) or "embeddings"
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
    return Groups(participants=participants, comments=comments, source="given")
