"""How well a summary represents ONE person's opinion on a question (u_i for an opinion outside the debate).

People asked "how well does this summary represent my opinion?" (1-5) judge two things: whether
the summary states *their side*, and whether it gives *their reasons*. A general LLM judge reaches
a Pearson r of about 0.2 on such ratings, largely because similarity of topic says little: every
sentence of a summary is about the question. The score therefore combines:

(a) **Stance.** The opinion's stance toward the question and each summary sentence's stance, in
    [-1, 1] (a summary's stance per clause: one sentence often gives both sides), from explicit cues (support/oppose phrases in en, fr, de, with negation in a small
    window flipping them: "not in favour", "ne soutiens pas", "nicht dafür") plus the backend's
    stance axis: support(text, "I support this: Q") - support(text, "I oppose this: Q"),
    normalised. Sentence embeddings do not see negation (the axis is near 0 with MiniLM), so
    the cues carry the stance there; an NLI backend makes the axis informative. The stance term
    is the strongest statement of the person's side in the summary (max over sentences). When
    the opinion states no side, the score is the reasons term alone.
(b) **Reasons.** The opinion is split into claims (sentences). Each claim's coverage is its best
    support among the summary sentences, contrasted with QUESTION_CONTRAST (half) of the support
    the bare question gives it, so that merely being on topic earns little. Claims are weighted by their content words that the
    question does not already contain, so "I am against this." weighs little and a specific
    reason weighs much.
(c) **Opposite prominence.** A small penalty for the share of summary clauses that state the
    opposite side: a summary that is mostly the other side's case represents the person less.

score = W_REASONS * reasons + W_STANCE * stance - W_OPPOSITE * opposite, clipped to [0, 1]
(reasons alone for an opinion without a side).

No human ratings were available while building this: the weights and QUESTION_CONTRAST were
chosen among a few settings on a proxy (each comment of the hand-written test debates as an
opinion, against honest, one-sided and off-topic summaries, with expected ratings written down
beforehand), where they reach Pearson r = 0.77 (en 0.84, fr 0.70, de 0.76). Refit them on real
ratings when there are some.

`RepresentationScorer(backend).score(rows)` takes rows `{"question", "opinion", "summary"}`;
each distinct summary is split and encoded once however many opinions it is scored against.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from pluralign.rewards.backends import DEFAULT_SPEC, Backend, CachedEmbedder, get_backend
from pluralign.rewards.guards import language_probabilities
from pluralign.rewards.text import content_words, split_sentences, words
from pluralign.signature import make_signature

W_REASONS, W_STANCE, W_OPPOSITE = 0.6, 0.4, 0.15
QUESTION_CONTRAST = 0.5  # how much of the bare question's support for a claim is discounted
CLEAR_STANCE = 0.3  # |stance| above which a text takes a side

# Cue patterns over normalised text (case-folded, accents stripped, see text.words).
_SUPPORT = [
    r"support\w*", r"in favou?r", r"favou?r\w*", r"agree\w*", r"^yes", r"good idea", r"great idea",
    r"welcome\w*", r"approv\w*", r"endorse\w*", r"back(?:s|ed)? (?:it|this|the)", r"should do it",
    r"suis pour", r"sont pour", r"sommes pour", r"favorable\w*", r"soutien\w*", r"soutenir", r"soutient",
    r"d'accord", r"^oui", r"bonne idee", r"approuv\w*", r"il faut le faire",
    r"dafur", r"unterstutz\w*", r"befurwort\w*", r"zustimm\w*", r"stimme\w* zu", r"^ja", r"gute idee",
]
_OPPOSE = [
    r"oppos\w*", r"(?:am|are|is|was|were|be|strongly|firmly|'m|'re) against", r"against (?:it|this|that|the (?:idea|proposal|plan))",
    r"disagree\w*", r"reject\w*", r"^no\b", r"bad idea", r"terrible idea", r"object(?:s|ed)? to", r"critic\w*",
    r"sceptic\w*", r"skeptic\w*", r"refuse\w*",
    r"suis contre", r"sont contre", r"sommes contre", r"contre (?:cette|ce|la|le) (?:proposition|projet|idee|mesure)",
    r"s'oppos\w*", r"m'y oppose", r"defavorable\w*", r"rejet\w*", r"^non\b", r"mauvaise idee", r"refus\w*",
    r"dagegen", r"gegen (?:diesen|den|das|die) (?:vorschlag|plan|idee)", r"lehn\w* .{0,30}\bab\b", r"ablehn\w*",
    r"^nein", r"schlechte idee", r"kritisch\w*",
]
_NEGATORS = {"not", "never", "don't", "doesn't", "isn't", "aren't", "won't", "cannot", "can't", "shouldn't",
             "wouldn't", "nor", "neither", "pas", "jamais", "aucun", "aucune", "nicht", "kein", "keine",
             "keinen", "nie", "niemals", "no"}
_SUPPORT_RE = re.compile("|".join(f"(?:\\b{p})" if not p.startswith("^") else f"(?:{p})" for p in _SUPPORT))
_OPPOSE_RE = re.compile("|".join(f"(?:\\b{p})" if not p.startswith("^") else f"(?:{p})" for p in _OPPOSE))

TEMPLATES = {
    "en": ("I support this: {q}", "I oppose this: {q}"),
    "fr": ("Je suis pour : {q}", "Je suis contre : {q}"),
    "de": ("Ich bin dafür: {q}", "Ich bin dagegen: {q}"),
}


# Clause breaks: one sentence often states both sides ("Most support it, but a minority opposes it").
_CLAUSE_BREAK = re.compile(r"[;:]|,?\s+(?=(?:but|while|whereas|although|however|mais|tandis que|alors que|"
                           r"cependant|aber|während|wahrend|jedoch|doch)\b)", re.IGNORECASE)


def clauses(sentence: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_BREAK.split(sentence) if c.strip()]


def _negated(tokens_before: list[str], tokens_after: list[str]) -> bool:
    return any(t in _NEGATORS for t in tokens_before[-3:] + tokens_after[:2])


@lru_cache(maxsize=65536)
def cue_stance(sentence: str) -> float:
    """Explicit stance cues of one sentence, in [-1, 1]: (support - oppose) / cues, negation-aware."""
    text = " ".join(words(sentence))
    votes = []
    for pattern, sign in ((_SUPPORT_RE, 1.0), (_OPPOSE_RE, -1.0)):
        for match in pattern.finditer(text):
            before, after = text[:match.start()].split(), text[match.end():].split()
            # "no" opening a sentence is itself a cue, not a negation of the next one.
            if before[:1] == ["no"] and len(before) == 1:
                before = []
            votes.append(-sign if _negated(before, after) else sign)
    return float(np.clip(sum(votes), -1, 1)) if votes else 0.0


def _language(text: str) -> str:
    probabilities = language_probabilities(text)
    best = max(probabilities, key=probabilities.get) if probabilities else "en"
    return best if best in TEMPLATES else "en"


class RepresentationScorer:
    """`score(rows)`: one float in [0, 1] per `{"question", "opinion", "summary"}` row; higher is better represented."""

    def __init__(self, backend: Backend | str | None = None):
        self.backend = get_backend(backend or DEFAULT_SPEC) if isinstance(backend, str) or backend is None else backend
        self.signature = make_signature(scorer="representation", backend=self.backend.spec, threshold=CLEAR_STANCE,
                                        weights={"reasons": W_REASONS, "stance": W_STANCE, "opposite": W_OPPOSITE},
                                        contrast=QUESTION_CONTRAST)

    def stances(self, texts: list[str], question: str, language: str) -> np.ndarray:
        """Cue stance plus the backend's stance axis (normalised), clipped to [-1, 1]."""
        if not texts:
            return np.zeros(0)
        support, oppose = (t.format(q=question) for t in TEMPLATES[language])
        axis = self.backend.support(texts, [support, oppose])
        model = (axis[:, 0] - axis[:, 1]) / np.maximum(axis.sum(axis=1), 1e-6)
        cues = np.array([cue_stance(t) for t in texts])
        return np.clip(cues + model, -1.0, 1.0)

    def score(self, rows: Sequence[dict]) -> list[float]:
        split = {s: split_sentences(s) for s in dict.fromkeys(r["summary"] for r in rows)}
        claims = {o: split_sentences(o) or [o] for o in dict.fromkeys(r["opinion"] for r in rows)}
        # Warm the backend's cache in one batch: each distinct text is encoded once.
        distinct = {t for parts in split.values() for t in parts} | {t for parts in claims.values() for t in parts}
        distinct |= {r["question"] for r in rows}
        if isinstance(self.backend, CachedEmbedder):
            self.backend.embed(sorted(distinct))
        return [self.score_one(r["question"], claims[r["opinion"]], r["opinion"], split[r["summary"]]) for r in rows]

    def score_one(self, question: str, claims: list[str], opinion: str, sentences: list[str]) -> float:
        if not sentences:
            return 0.0
        language = _language(opinion)
        # (b) reasons: contrastive support of each claim, weighted by its own content words.
        support = self.backend.support(sentences, claims)
        base = QUESTION_CONTRAST * self.backend.support([question], claims)[0]
        coverage = np.clip((support.max(axis=0) - base) / np.maximum(1 - base, 1e-6), 0, 1)
        asked = set(content_words(question))
        weights = np.array([len(set(content_words(c)) - asked) for c in claims], dtype=float)
        weights = weights if weights.sum() > 0 else np.ones(len(claims))
        reasons = float((coverage * weights).sum() / weights.sum())
        # (a) stance of the opinion (as a whole) and of each summary sentence.
        own = self.stances([opinion], question, language)[0]
        if abs(own) < CLEAR_STANCE:  # no side to judge: the reasons are all there is
            return float(np.clip(reasons, 0.0, 1.0))
        units = [c for s in sentences for c in clauses(s)]
        side = np.sign(own) * self.stances(units, question, language)
        stance = float(np.clip(side.max(), 0, 1))
        opposite = float((side < -CLEAR_STANCE).mean())
        return float(np.clip(W_REASONS * reasons + W_STANCE * stance - W_OPPOSITE * opposite, 0.0, 1.0))
