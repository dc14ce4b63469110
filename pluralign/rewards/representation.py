"""How well a text represents ONE person's opinion: R(question, opinion, text), learned from people.

The model is a linear head over five features of (opinion, text, debate), fitted on DeliberationBank's
human judgments (ratings and A/B choices; `pluralign/rewards/fit.py`, docs/design.md §4). Every
feature is relative to the debate's comments (z-scores, shares), so it has the same scale on every
embedding backend and no threshold is tuned per model:

person terms (the opinion and the debate only, not the text):
  my_side_share    share of the debate's comments that state a side and are on my side, - 0.5
                   (0 when I state no side or fewer than 5 comments do): people on the debate's
                   minority side rate every summary lower;
  density_z        mean similarity to my NEAR nearest comments, z-scored against the comments' own:
                   is what I say something many participants say?
content terms (the text against me):
  z_best           the largest z_j = (o.s_j - mean_k c_k.s_j) / sd_k(c_k.s_j) over the text's
                   sentences s_j: "this sentence speaks about me more than about the typical
                   participant" (c_k: the comments, o: my opinion; unit-norm embeddings with the
                   question's direction removed, so that being on topic earns nothing);
  cue_other_share  share of the text's sentences whose cues state the side opposite to mine: the one
                   term that reads what the text says about my side (`sides.py`);
  log_words        log length of the text, clipped to the lengths people rated (a longer, more
                   detailed summary is preferred in A/B choices; clipping caps what padding earns).

score = w . (x - mu) / sd; the full output is P(this person rates the text 4-5 for representing
them) = sigmoid(k * score + b). The ratings are mostly about the person (minority-side people rate
every summary lower), so the **content-only** output holds the person terms at their training mean:
it is what rewards and the pluralism scorer use, because a person term is a constant per person
that would rank groups by who they are, not by what the summary says of them.

The context: the z's and the person terms compare the opinion with what the debate's other
participants said, so every call needs the debate's comments (at least MIN_CONTEXT distinct
texts). `score(rows, comments)` takes them per row (`comments`), per question (a dict), or for all
rows (a list); without any, the other rows' opinions on the same question stand in. When an opinion
is itself one of the comments, it is left out of its own contrast set and neighbourhood. A text off
the debate's topic scores 0 (the pluralism scorer's topic guard): no rated summary was off topic,
so the head never learnt what one is worth.

The head's weights ship as JSON in `pluralign/rewards/heads/` for the backends they were fitted on;
their sha256 goes into every signature, so a refitted head never compares silently with an old one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pluralign.errors import UsageError
from pluralign.rewards.backends import DEFAULT_SPEC, Backend, get_backend
from pluralign.rewards.guards import off_topic
from pluralign.rewards.sides import CLEAR, cue_stance, opinion_side
from pluralign.rewards.text import split_sentences, words
from pluralign.signature import make_signature

__all__ = ["RepresentationScorer", "cue_stance", "opinion_side", "Head", "load_head"]

FEATURES = ("my_side_share", "density_z", "z_best", "cue_other_share", "log_words")
PERSON = ("my_side_share", "density_z")
CLIPPED = ("log_words",)  # clipped to the training range: no extrapolation beyond the lengths people rated
NEAR = 10  # nearest comments that stand for "people like me"
MIN_SIDED = 5  # comments stating a side needed before my side's share means anything
MIN_CONTEXT = 8  # distinct comments a debate needs for z-scores against it
FORMAT = "pluralign-representation-head/1"
HEADS = Path(__file__).with_name("heads")


# --- the debate and the texts, embedded once -------------------------------------------------


@dataclass
class Context:
    """A debate's comments: what every feature is relative to."""

    question: str
    texts: list[str]
    vecs: np.ndarray  # (n, d) unit-norm
    question_vec: np.ndarray  # (d,)
    topical: np.ndarray  # (n, d): vecs with the question's direction removed (off_question)
    spread: float  # the median comment's sd of similarity to the others: the least sd a z divides by
    sides: np.ndarray  # (n,) opinion_side of each comment
    density_mu: float
    density_sd: float
    position: dict  # text -> row


class ContextError(UsageError):
    """Too few comments to compare an opinion with; `question` names the debate."""

    def __init__(self, question: str, n: int):
        self.question = question
        super().__init__(f"representation needs the debate's comments as context: got {n} distinct for question "
                         f"{question[:80]!r}, at least {MIN_CONTEXT}; give each row's `comments`, or --debates with "
                         f"this question, or at least {MIN_CONTEXT} opinions on it (the score compares an opinion "
                         "with what the other participants said)")


def off_question(vectors: np.ndarray, question: np.ndarray) -> np.ndarray:
    """Unit-norm rows with the question's direction removed: being on topic earns nothing."""
    q = question / (np.linalg.norm(question) + 1e-12)
    rest = np.asarray(vectors, dtype=float) - np.outer(np.asarray(vectors, dtype=float) @ q, q)
    return rest / (np.linalg.norm(rest, axis=1, keepdims=True) + 1e-12)


def comment_spread(vectors: np.ndarray) -> float:
    """Median over comments of the sd of their similarities to the other comments: how unequal a real
    statement of this debate is to its comments. A sentence about nothing in the debate (off topic,
    a formula) is about equally (un)like every comment; dividing by its own tiny sd would make noise
    look like a strong preference, so z divides by at least this spread."""
    sims = vectors @ vectors.T
    n = len(vectors)
    if n < 3:
        return 1e-6
    off = sims[~np.eye(n, dtype=bool)].reshape(n, n - 1)
    return float(np.median(off.std(axis=1))) + 1e-6


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Mean of the k largest values of each row (k at most the row's finite values)."""
    return np.sort(sims, axis=1)[:, -max(k, 1):].mean(axis=1)


def make_context(question: str, comments: Sequence[str], embed) -> Context:
    texts = list(dict.fromkeys(c for c in comments if c.strip()))
    if len(texts) < MIN_CONTEXT:
        raise ContextError(question, len(texts))
    vecs = np.asarray(embed(texts), dtype=np.float64)
    question_vec = np.asarray(embed([question]), dtype=np.float64)[0]
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)
    density = _top_mean(sims, min(NEAR, len(texts) - 1))
    topical = off_question(vecs, question_vec)
    return Context(question, texts, vecs, question_vec, topical, comment_spread(topical),
                   np.array([opinion_side(t, question) for t in texts]),
                   float(density.mean()), float(density.std() + 1e-6), {t: i for i, t in enumerate(texts)})


@dataclass
class Texts:
    """Texts split into sentences, every sentence embedded in one call."""

    vecs: np.ndarray  # (L, d): all sentences, text after text
    cue: np.ndarray  # (L,) cue stance of each sentence
    slots: np.ndarray  # (T, Lmax): each text's sentence rows, -1 padding
    lengths: np.ndarray  # (T,) sentences per text
    log_words: np.ndarray  # (T,)


def split_texts(texts: Sequence[str], embed) -> Texts:
    split = [split_sentences(t) for t in texts]
    sentences = [s for parts in split for s in parts]
    lengths = np.array([len(parts) for parts in split], dtype=int)
    slots = np.full((len(texts), max(lengths.max(initial=0), 1)), -1, dtype=int)
    start = 0
    for t, n in enumerate(lengths):
        slots[t, :n] = np.arange(start, start + n)
        start += n
    vecs = np.asarray(embed(sentences), dtype=np.float64) if sentences else np.zeros((0, 1))
    # (one padding cue when there are no sentences at all, so that the padded slots index something)
    return Texts(vecs, np.array([cue_stance(s) for s in sentences] or [0.0]), slots, lengths,
                 np.log(np.maximum([len(words(t)) for t in texts], 1)).astype(float))


# --- the features --------------------------------------------------------------------------


def sentence_z(context: Context, opinion_vecs: np.ndarray, own: np.ndarray, sentence_vecs: np.ndarray) -> np.ndarray:
    """z[i, j] = (o_i.s_j - mean_k c_k.s_j) / sd_k(c_k.s_j), off the question, the comments k excluding
    opinion i's own comment (own[i] >= 0): does sentence j speak about opinion i more than about the
    typical comment?"""
    opinion_vecs = off_question(opinion_vecs, context.question_vec)
    sentence_vecs = off_question(sentence_vecs, context.question_vec)
    sc = sentence_vecs @ context.topical.T  # (L, n)
    s1, s2 = sc.sum(axis=1), (sc * sc).sum(axis=1)
    mine = np.where(own[:, None] >= 0, sc[:, np.maximum(own, 0)].T, 0.0)  # (m, L): my own comment's similarity
    n = len(context.texts) - (own >= 0)[:, None]
    base = (s1 - mine) / n
    sd = np.sqrt(np.maximum((s2 - mine * mine) / n - base * base, 0.0))
    return (opinion_vecs @ sentence_vecs.T - base) / np.maximum(sd, context.spread)


def person_features(context: Context, opinion_vecs: np.ndarray, own: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """(m, 2): my_side_share and density_z of each opinion."""
    oc = opinion_vecs @ context.vecs.T
    oc[own >= 0, own[own >= 0]] = -np.inf
    density = _top_mean(oc, min(NEAR, len(context.texts) - 1))
    sided = np.abs(context.sides) > CLEAR
    same = (np.sign(context.sides)[None, :] == np.sign(sides)[:, None]) & sided[None, :]
    drop = np.zeros_like(same)
    drop[own >= 0, own[own >= 0]] = True  # my own comment does not count for my side
    n_sided = (sided[None, :] & ~drop).sum(axis=1)
    share = (same & ~drop).sum(axis=1) / np.maximum(n_sided, 1) - 0.5
    share = np.where((np.abs(sides) > CLEAR) & (n_sided >= MIN_SIDED), share, 0.0)
    return np.stack([share, (density - context.density_mu) / context.density_sd], axis=1)


def content_features(z: np.ndarray, sides: np.ndarray, texts: Texts, pair_o: np.ndarray, pair_t: np.ndarray) -> np.ndarray:
    """(R, 3): z_best, cue_other_share, log_words of each (opinion, text) pair; z is sentence_z's."""
    slots = texts.slots[pair_t]
    zs = np.where(slots >= 0, z[pair_o[:, None], np.maximum(slots, 0)], -np.inf)
    n = texts.lengths[pair_t]
    top = np.where(n > 0, zs.max(axis=1), 0.0)
    mine = sides[pair_o]
    against = np.where(slots >= 0, np.sign(mine)[:, None] * texts.cue[np.maximum(slots, 0)] < -CLEAR, False)
    other = np.where(np.abs(mine) > CLEAR, against.sum(axis=1) / np.maximum(n, 1), 0.0)
    return np.stack([top, other, texts.log_words[pair_t]], axis=1)


def feature_matrix(context: Context, opinions: Sequence[str], texts: Sequence[str], pair_o, pair_t, embed) -> np.ndarray:
    """The FEATURES of each pair (opinions[pair_o[r]], texts[pair_t[r]]) against one debate's context."""
    pair_o, pair_t = np.asarray(pair_o, dtype=int), np.asarray(pair_t, dtype=int)
    o_vecs = np.asarray(embed(list(opinions)), dtype=np.float64)
    own = np.array([context.position.get(o, -1) for o in opinions], dtype=int)
    sides = np.array([opinion_side(o, context.question) for o in opinions])
    split = split_texts(texts, embed)
    z = sentence_z(context, o_vecs, own, split.vecs) if len(split.vecs) else np.zeros((len(opinions), 1))
    person = person_features(context, o_vecs, own, sides)[pair_o]
    return np.concatenate([person, content_features(z, sides, split, pair_o, pair_t)], axis=1)


# --- the head ------------------------------------------------------------------------------


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class Head:
    """A fitted head: standardise, dot with w, calibrate. `data` is the whole JSON file."""

    data: dict
    sha256: str

    @classmethod
    def from_file(cls, path: str | Path) -> Head:
        raw = Path(path).read_bytes()
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UsageError(f"{path}: not a representation head (JSON): {error}") from None
        if data.get("format") != FORMAT or list(data.get("features", [])) != list(FEATURES):
            raise UsageError(f"{path}: format {data.get('format')!r} with features {data.get('features')}; this "
                             f"pluralign reads {FORMAT} with {list(FEATURES)}: refit it (pluralign fit representation)")
        return cls(data, hashlib.sha256(raw).hexdigest())

    def vector(self, key: str) -> np.ndarray:
        return np.asarray(self.data[key], dtype=float)

    @property
    def name(self) -> str:
        """What signatures carry: the format and the file's short hash."""
        return f"{FORMAT.rsplit('-', 1)[-1]}@{self.sha256[:12]}"

    def raw(self, X: np.ndarray, person: bool = True) -> np.ndarray:
        """w . standardised features (the Bradley-Terry scale); person terms at their mean if not `person`."""
        lo, hi = (np.asarray(r, dtype=float) for r in self.data["range"])
        X = np.array(X, dtype=float)
        for name in CLIPPED:
            i = FEATURES.index(name)
            X[:, i] = np.clip(X[:, i], lo[i], hi[i])
        z = (X - self.vector("mu")) / self.vector("sd")
        if not person:
            z[:, [FEATURES.index(f) for f in PERSON]] = 0.0
        return z @ self.vector("w")

    def probability(self, X: np.ndarray, person: bool = True) -> np.ndarray:
        """P(rating >= 4): the person's own rating (full) or an average person's (content only)."""
        calibration = self.data["calibration"]
        return sigmoid(calibration["k"] * self.raw(X, person) + calibration["b"])


def head_file(spec: str) -> Path:
    return HEADS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", spec) + ".json")


def load_head(spec: str, path: str | Path | None = None) -> Head:
    """The head shipped for backend `spec`, or the file `path`."""
    if path is not None:
        if not Path(path).is_file():
            raise UsageError(f"representation head {path} does not exist")
        head = Head.from_file(path)
    elif head_file(spec).is_file():
        head = Head.from_file(head_file(spec))
    else:
        shipped = sorted(json.loads(p.read_text())["backend"] for p in HEADS.glob("*.json"))
        raise UsageError(f"no representation head for backend {spec}: heads ship for {', '.join(shipped)}. Fit one "
                         f"from a pluralign checkout with `pluralign fit representation --backend {spec} --out HEAD.json` "
                         "(DeliberationBank, data/deliberationbank) and pass it as the scorer's `head` option")
    if head.data["backend"] != spec:
        raise UsageError(f"representation head {path or head_file(spec)} was fitted for {head.data['backend']}, "
                         f"not {spec}: its features would be read on another model's embeddings")
    return head


# --- the scorer ----------------------------------------------------------------------------


class RepresentationScorer:
    """`score(rows, comments=None)`: one float in [0, 1] per `{"question", "opinion", "summary"}` row.

    `output="full"`: P(the person rates the text 4-5), person terms included (benchmarks,
    `pluralign score representation`); `output="content"`: the same for an average person (rewards).
    """

    OUTPUTS = ("full", "content")

    def __init__(self, backend: Backend | str | None = None, head: str | None = None, output: str = "full"):
        self.backend = get_backend(backend or DEFAULT_SPEC) if isinstance(backend, str) or backend is None else backend
        if output not in self.OUTPUTS:
            raise UsageError(f"representation output {output!r}: choose one of {', '.join(self.OUTPUTS)}")
        self.head, self.output = load_head(self.backend.spec, head), output
        self.signature = make_signature(scorer="representation", backend=self.backend.spec, head=self.head.name,
                                        output=output, guards="topic", **self.backend.signature_fields())

    def contexts(self, rows: Sequence[dict], comments=None) -> list[tuple[str, tuple[str, ...], list[int]]]:
        """Rows grouped by the comments they are read against: a row's own `comments`, else
        `comments` (a dict question -> texts, or one list for all), else the other rows' opinions."""
        groups: dict[tuple, list[int]] = {}
        for i, row in enumerate(rows):
            given = row.get("comments")
            if given is None and isinstance(comments, dict):
                given = comments.get(row["question"])
            elif given is None and comments is not None:
                given = comments
            key = (row["question"], tuple(given) if given is not None else None)
            groups.setdefault(key, []).append(i)
        out = []
        for (question, given), members in groups.items():
            if given is None:
                given = tuple(dict.fromkeys(r["opinion"] for r in rows if r["question"] == question))
            out.append((question, given, members))
        return out

    def score(self, rows: Sequence[dict], comments=None) -> list[float]:
        scores = np.zeros(len(rows))
        for question, given, members in self.contexts(rows, comments):
            context = make_context(question, given, self.backend.embed)
            opinions = list(dict.fromkeys(rows[i]["opinion"] for i in members))
            texts = list(dict.fromkeys(rows[i]["summary"] for i in members))
            o_index, t_index = {o: n for n, o in enumerate(opinions)}, {t: n for n, t in enumerate(texts)}
            pair_o = [o_index[rows[i]["opinion"]] for i in members]
            pair_t = [t_index[rows[i]["summary"]] for i in members]
            X = feature_matrix(context, opinions, texts, pair_o, pair_t, self.backend.embed)
            p = self.head.probability(X, person=self.output == "full")
            # A text off the debate's topic represents nobody (no rated summary was off topic, so the
            # head never learnt it): the pluralism scorer's topic guard, 1 for on-topic text.
            references = [question, *context.texts]
            topic = {t: off_topic(t, references, self.backend.embed) for t in texts}
            scores[members] = p * np.array([topic[rows[i]["summary"]] for i in members])
        return [float(s) for s in scores]
