"""Which side of the question a text states, from explicit cues (en, fr, de), without a model.

Sentence embeddings do not see negation ("I support it" and "I do not support it" are
neighbours), so the representation score (docs/design.md §4) reads sides from text:

- `cue_stance(sentence)`: support/oppose phrases, a negation in a small window flipping them
  ("not in favour", "ne soutiens pas", "nicht dafür"), in [-1, 1];
- `opinion_side(text, question)`: the side a person's answer states. An opening answer word to a
  yes/no question ("No.", "Absolutely not", "Oui", "Nein") states it for the whole text; else the
  first sentence whose cues state a side; else 0. The *first* stated position, not an average: a
  later "anyone who does not support ..." must not cancel it. Reading the side this way instead
  of averaging cues raised the learned head's leave-one-topic-out r from 0.29 to 0.33.

Known limits: the lexicons cover en, fr and de; a side carried only by argument ("tipping lets
owners underpay staff") is invisible here (open questions have few cues).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from pluralign.rewards.text import split_sentences, words

CLEAR = 0.3  # |cue stance| above which a text states a side

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


# A yes/no question ("Do you support ...?", "Faut-il ...?", "La ville doit-elle ...?", "Soll die Stadt ...?").
_YES_NO_QUESTION = re.compile(
    r"^\W*(?:do|does|did|should|is|are|was|would|will|can|could|has|have|"
    r"est-ce que|faut-il|doit-on|peut-on|"
    r"soll|sollte|sollen|sollten|ist|sind|darf|dürfen|muss|müssen|brauchen|braucht|kann|können|wollen|"
    r"würden?|hat|haben|gibt)\b|^[^?]*\b\w+-(?:t-)?(?:il|elle|on|ils|elles)\b", re.I)
# An opening answer to it: it states the side for the whole text ("Absolutely not. Refugees should ...").
_ANSWER_NO = re.compile(
    r"^\W*(?:no\b|nope|nah|absolutely not|definitely not|certainly not|not really|never\b|i do not|i don'?t|"
    r"i wouldn'?t|i would not|i disagree|i oppose|i'm against|i am against|"
    r"non\b|pas du tout|certainement pas|surtout pas|absolument pas|"
    r"nein\b|auf keinen fall|keinesfalls|bloß nicht|ganz sicher nicht)", re.I)
_ANSWER_YES = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|of course|absolutely(?! not)|definitely(?! not)|certainly(?! not)|sure\b|"
    r"i do\b(?! not)|i would\b(?! not)|i agree|i think so|i believe so|i support|"
    r"oui\b|bien sûr|absolument(?! pas)|évidemment|"
    r"ja\b|jawohl|auf jeden fall|unbedingt|natürlich)", re.I)


# An open question starts with a question word, whatever follows: "Comment la commune devrait-elle ...?" and
# "Was sollte die Stadt tun?" ask how and what, not whether (the inversion and "Was" would match above). The
# cost: an English "Was the council right?" reads as open, and its answers' sides come from their cue words.
_OPEN_QUESTION = re.compile(
    r"^\W*(?:how|what|which|why|where|when|who|whom|whose|"
    r"comment|quel|quelle|quels|quelles|lequel|laquelle|lesquels|lesquelles|pourquoi|où|quand|combien|qui|que|qu'|"
    r"wie|was|welche|welcher|welches|welchen|welchem|warum|wieso|weshalb|wo|wann|wer|wen|wem|wessen|inwiefern)\b",
    re.I)


def is_yes_no(question: str) -> bool:
    question = question.replace("\u2019", "'")
    return bool(_YES_NO_QUESTION.match(question)) and not _OPEN_QUESTION.match(question)


@lru_cache(maxsize=65536)
def opinion_side(text: str, question: str) -> float:
    """The side a person's text states toward the question: -1, 1, a cue value in [-1, 1], or 0."""
    if is_yes_no(question):
        opening = text.replace("\u2019", "'")
        if _ANSWER_NO.match(opening):
            return -1.0
        if _ANSWER_YES.match(opening):
            return 1.0
    for sentence in split_sentences(text) or [text]:
        value = cue_stance(sentence)
        if abs(value) > CLEAR:
            return value
    return 0.0
