"""Stance of a text toward the debate's question, on [-1, 1] (docs/design.md §5).

Sentence embeddings do not see negation: "We must tax the rich" and "We must not tax the rich"
are neighbours. So a sentence's stance is read in two parts:

- its **core**, the sentence with its negation cues removed, gets a polarity from stance cue
  lexicons (support: "support", "must", "il faut", "dafür"...; oppose: "against", "reject",
  "contre", "ablehnen"...) plus its projection on an embedding axis running from "I oppose: Q" to
  "I support: Q" (Tessler et al., Science 2024);
- each negation cue (not, n't, never, no; ne...pas, jamais; nicht, kein, nie...) then flips that
  polarity, so a negated support statement opposes;
- an answer word opening a sentence ("No, ...", "Oui.", "Nein,") is a clause of its own, with
  the answer's sign, and does not negate what follows.

With an `nli:` backend the model reads negation itself, and the polarity is the entailment of
"I support: Q" minus that of "I oppose: Q". A text's stance is the mean of its sentences'
polarities, weighted by how confident each one is and by how relevant it is to the question.

On the 40 shipped synthetic contributions labelled support or oppose (data/synthetic, en/fr/de,
template-written, so an easy set), the side of 39 is read right with the default backend.

Known limits: cue lexicons cover en, fr and de; stance carried only by argument ("taxing the rich
drives investment away") is left to the embedding axis, which is weak; a negation outside the
main clause ("tax the rich, not the poor") is only caught when it follows a comma; obligation
modals ("must", "il faut", "müssen") count half, since what they oblige is not always the proposal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from pluralign.rewards.intensity import count
from pluralign.rewards.text import split_sentences

SUPPORT_CUES = {
    "en": [
        "support", "supports", "i support", "in favour", "in favor", "favour", "favor", "agree",
        "approve", "welcome", "good idea", "great idea", "yes", "i am for", "i'm for", "we are for",
    ],
    "fr": [
        "soutiens", "soutient", "soutenons", "soutenir", "favorable", "favorables", "d'accord",
        "approuve", "approuvons", "bonne idée", "oui", "suis pour", "sommes pour",
    ],
    "de": [
        "unterstütze", "unterstützen", "unterstützt", "befürworte", "befürworten", "dafür",
        "bin für", "sind für", "stimme zu", "zustimmen", "gute idee", "ja",
    ],
}

# Obligation modals lean toward doing what the sentence names, which is usually, not always, the
# proposal ("we must do it" vs "nobody would have to live in poverty"): they count half.
MODAL_CUES = {
    "en": ["should", "must", "need to", "needs to", "have to", "has to"],
    "fr": ["il faut", "faut", "doit", "doivent", "devons", "devrait", "devraient"],
    "de": ["sollte", "sollten", "muss", "müssen", "darf", "dürfen"],
}
MODAL_WEIGHT = 0.5
# "Je suis (tout à fait) pour." / "Ich bin (absolut) für.": a clause that ends on "for" supports.
_ENDS_ON_FOR = re.compile(r"(?i)\b(?:pour|für)\W*$")

OPPOSE_CUES = {
    "en": [
        "oppose", "opposes", "opposed", "against", "reject", "rejects", "disagree", "disagrees",
        "bad idea", "terrible idea", "mistake",
    ],
    "fr": [
        "contre", "oppose", "opposé", "opposée", "opposés", "rejette", "rejetons", "refuse",
        "refusons", "désaccord", "mauvaise idée", "erreur",
    ],
    "de": [
        "gegen", "dagegen", "lehne", "lehnen", "ablehnen", "abgelehnt", "widerspreche",
        "schlechte idee", "fehler",
    ],
}

# Negation cues, matched on lowercased words; "n't" is matched as a suffix, "n'" as a prefix.
NEGATIONS = {
    "en": ["not", "no", "never", "nobody", "nothing", "none", "neither", "nor", "cannot", "without"],
    "fr": ["ne", "pas", "jamais", "aucun", "aucune", "rien", "ni", "sans", "non"],
    "de": ["nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals",
           "nichts", "ohne", "weder"],
}
# French negation is two words (ne ... pas): it is counted by its second word, so that ne...pas is
# one negation and the restrictive ne...que ("only") none.
FRENCH_PARTICLE = {"ne"}

# An answer word opening a sentence ("No, we should not do it.") is a stance of its own, not a
# negation of the clause after it.
ANSWERS = {"yes": 1, "no": -1, "oui": 1, "non": -1, "ja": 1, "nein": -1}
_ANSWER = re.compile(r"^\W*(" + "|".join(ANSWERS) + r")\s*[,.;:!—–-]+\s*", re.I)

ANCHORS = {
    "en": ("I support: {q}", "I oppose: {q}"),
    "fr": ("Je soutiens : {q}", "Je m'oppose à : {q}"),
    "de": ("Ich unterstütze: {q}", "Ich lehne ab: {q}"),
}

def reads_stance(language: str | None) -> bool:
    """Whether stance can be read in a language: its cue and negation lexicons exist (en, fr, de).
    Elsewhere only the embedding axis is left, which does not see negation: a reversed stance can
    score like a faithful one."""
    return (language or "").split("-")[0].lower() in SUPPORT_CUES


_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|[,;:]", re.U)
_ALL_NEGATIONS = {w for words in NEGATIONS.values() for w in words}


@dataclass(frozen=True)
class Stance:
    """A text's stance in [-1, 1]; its negations, and its clauses with support / oppose cues."""

    score: float
    negations: int
    support_cues: int
    oppose_cues: int


def _is_negation(token: str) -> bool:
    return token in _ALL_NEGATIONS or token.endswith("n't") or token.startswith("n'")


def negation_count(sentence: str) -> int:
    """Negations in a sentence; ne...pas counts once, and a contrast after a comma ("..., not X") none."""
    tokens = [t.replace("’", "'") for t in _TOKEN.findall(sentence.lower())]
    count = 0
    for i, token in enumerate(tokens):
        if not _is_negation(token) or (i > 0 and tokens[i - 1] in ",;:"):
            continue
        if token not in FRENCH_PARTICLE and not token.startswith("n'"):
            count += 1
    return count


def split_answer(sentence: str) -> tuple[int, str]:
    """(+1 yes / -1 no / 0 none, the rest): "No, we should not." -> (-1, "we should not.")."""
    match = _ANSWER.match(sentence)
    if not match:
        return 0, sentence
    return ANSWERS[match.group(1).lower()], sentence[match.end():]


def without_negation(sentence: str) -> str:
    """The sentence with its negation cues dropped ("We must not tax" -> "We must tax")."""
    text = sentence.replace("’", "'")
    text = re.sub(r"(?i)\b(ca|wo|sha)n't\b", r"\1n", text)  # can't -> can, won't -> won
    text = re.sub(r"(?i)n't\b", "", text)
    text = re.sub(r"(?i)\bn'(?=\w)", "", text)
    words = sorted(_ALL_NEGATIONS, key=len, reverse=True)
    text = re.sub(r"(?i)(?<![\w'-])(?:" + "|".join(words) + r")(?![\w'-])", "", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def cue_balance(core: str, language: str | None = None) -> tuple[float, int]:
    """(support cues, modals counting MODAL_WEIGHT; oppose cues) in a sentence without its negations."""
    support = count(core, SUPPORT_CUES, language) + MODAL_WEIGHT * count(core, MODAL_CUES, language)
    support += 1 if _ENDS_ON_FOR.search(core) else 0
    return support, count(core, OPPOSE_CUES, language)


def _anchor_texts(question: str, language: str | None) -> tuple[str, str]:
    support, oppose = ANCHORS.get(language or "en", ANCHORS["en"])
    return support.format(q=question), oppose.format(q=question)


def _clauses(text: str) -> list[str]:
    """The text's sentences, with an opening answer word ("No, ...") cut off into a clause of its own."""
    out = []
    for sentence in split_sentences(text) or ([text] if text.strip() else []):
        answer, rest = split_answer(sentence)
        out += [w for w, a in ANSWERS.items() if a == answer][:1] if answer else []
        out += [rest] if rest.strip() else []
    return out


def embedded_texts(texts: list[str], question: str | None, question_language: str | None = None) -> list[str]:
    """Every text `stances` will embed for these texts, so that a caller can embed them in one batch."""
    if not question:
        return []
    cores = [without_negation(c) for t in texts for c in _clauses(t)]
    return [*_anchor_texts(question, question_language), question, *cores]


def stances(backend, texts: list[str], question: str | None, question_language: str | None = None,
            languages: list[str | None] | None = None, cue_weight: float = 2.0,
            axis_weight: float = 2.0) -> list[Stance]:
    """The stance of each text toward `question` (batched: one embedding call for all sentences).

    `languages` gives each text's language (for the cue lexicons; None = all lexicons).
    `cue_weight` and `axis_weight` scale the cue balance and the axis projection before tanh.
    """
    languages = languages or [None] * len(texts)
    per_text = [_clauses(t) for t in texts]
    clauses = [c for group in per_text for c in group]
    if not clauses:
        return [Stance(0.0, 0, 0, 0) for _ in texts]
    clause_language = [lang for lang, group in zip(languages, per_text, strict=True) for _ in group]
    answers = [ANSWERS.get(c, 0) for c in clauses]
    use_nli = getattr(backend, "spec", "").startswith("nli:") and question
    cores = [without_negation(c) for c in clauses]
    flips = [(-1) ** negation_count(c) for c in clauses]
    cues = [cue_balance(c, lang) for c, lang in zip(cores, clause_language, strict=True)]

    if question:
        support_anchor, oppose_anchor = _anchor_texts(question, question_language)
        if use_nli:
            entail = backend.support(clauses, [support_anchor, oppose_anchor])
            axis = entail[:, 0] - entail[:, 1]
        else:
            anchors = backend.embed([support_anchor, oppose_anchor])
            direction = anchors[0] - anchors[1]
            direction = direction / (np.linalg.norm(direction) or 1.0)
            axis = backend.embed(cores) @ direction
        relevance = np.clip(backend.embed(cores) @ backend.embed([question])[0], 0.0, 1.0)
    else:  # no question: stance is what the cues and negations say, every clause alike
        axis = np.zeros(len(clauses))
        relevance = np.ones(len(clauses))

    polarity = []
    for i in range(len(clauses)):
        support, oppose = cues[i]
        if answers[i]:  # a bare yes/no answers the question itself
            polarity.append(answers[i] * math.tanh(cue_weight))
            relevance[i] = 1.0
        elif use_nli:  # the NLI model reads negation and cues itself
            polarity.append(float(np.clip(axis[i], -1.0, 1.0)))
        else:
            polarity.append(flips[i] * math.tanh(cue_weight * (support - oppose) + axis_weight * axis[i]))

    out, start = [], 0
    for group in per_text:
        idx = range(start, start + len(group))
        start += len(group)
        # Confident, relevant clauses carry the text's stance; the 0.05 floor keeps a text whose
        # clauses all look unrelated (e.g. another language under an English model) readable.
        weights = [(0.05 + relevance[i]) * abs(polarity[i]) for i in idx]
        total = sum(weights)
        score = sum(w * polarity[i] for w, i in zip(weights, idx, strict=True)) / total if total > 1e-9 else 0.0
        out.append(Stance(
            score=float(np.clip(score, -1.0, 1.0)),
            negations=sum(negation_count(clauses[i]) for i in idx if not answers[i]),
            support_cues=sum(cues[i][0] > 0 for i in idx) + sum(a > 0 for a in (answers[i] for i in idx)),
            oppose_cues=sum(cues[i][1] > 0 for i in idx) + sum(a < 0 for a in (answers[i] for i in idx)),
        ))
    return out


def is_flip(source: float, output: float, margin: float = 0.2) -> bool:
    """A flip: the stance changed sign, and both sides were clear (|stance| > margin)."""
    return abs(source) > margin and abs(output) > margin and (source > 0) != (output > 0)
