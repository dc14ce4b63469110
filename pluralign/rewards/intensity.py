"""How strongly a text is said: hedges soften it, boosters and intensifiers amplify it (docs/design.md §5).

Intensity is a lexicon count, per language, squashed to [-1, 1]: boosters (certainty, obligation)
and intensifiers push up, hedges (doubt, downtoners) push down, and so do the typographic signs
of shouting (exclamation marks, words in capitals). The signed **drift** of a rewrite is
`intensity(output) - intensity(source)`: negative means the author's voice was softened, positive
that it was amplified. Softening a minority voice is the bias this catches.

Lexicons are deliberately small and cover en, fr and de; a language without a lexicon is read
with the union of all of them. Matching is on whole words, case-insensitive, and the longest
phrase wins ("ich denke" is one hedge, not a hedge plus noise).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from pluralign.rewards.text import split_sentences

HEDGES = {
    "en": [
        "maybe", "perhaps", "might", "may", "could", "possibly", "probably", "presumably",
        "i think", "i believe", "i guess", "i suppose", "i feel", "it seems", "seems", "seem",
        "somewhat", "sort of", "kind of", "a bit", "a little", "slightly", "rather", "arguably",
        "to some extent", "in a way", "more or less", "likely", "it is possible",
    ],
    "fr": [
        "peut-être", "peut être", "probablement", "possiblement", "éventuellement", "sans doute",
        "je pense", "je crois", "il me semble", "il semble", "semble", "pourrait", "pourraient",
        "un peu", "plutôt", "quelque peu", "en quelque sorte", "plus ou moins", "à mon avis",
        "il est possible",
    ],
    "de": [
        "vielleicht", "eventuell", "möglicherweise", "wahrscheinlich", "vermutlich", "ich denke",
        "ich glaube", "ich finde", "es scheint", "scheint", "könnte", "könnten", "etwas",
        "ein bisschen", "ein wenig", "eher", "irgendwie", "gewissermaßen", "mehr oder weniger",
        "es ist möglich",
    ],
}

BOOSTERS = {
    "en": [
        "definitely", "absolutely", "certainly", "clearly", "obviously", "surely", "undoubtedly",
        "without doubt", "without a doubt", "of course", "must", "have to", "has to", "need to",
        "needs to", "essential", "crucial", "vital", "urgently", "at all costs", "no doubt",
    ],
    "fr": [
        "absolument", "certainement", "clairement", "évidemment", "bien sûr", "sans aucun doute",
        "forcément", "doit", "doivent", "devons", "il faut", "faut", "indispensable", "essentiel",
        "essentielle", "crucial", "cruciale", "vital", "vitale", "urgemment", "à tout prix",
    ],
    "de": [
        "unbedingt", "auf jeden fall", "definitiv", "sicherlich", "eindeutig", "offensichtlich",
        "zweifellos", "ohne zweifel", "natürlich", "selbstverständlich", "muss", "müssen", "musst",
        "absolut", "unverzichtbar", "wesentlich", "entscheidend", "dringend", "um jeden preis",
    ],
}

INTENSIFIERS = {
    "en": [
        "very", "really", "extremely", "incredibly", "hugely", "deeply", "highly", "utterly",
        "totally", "completely", "entirely", "terribly", "enormously", "truly", "so much",
    ],
    "fr": [
        "très", "vraiment", "extrêmement", "tellement", "énormément", "profondément", "totalement",
        "complètement", "entièrement", "terriblement", "incroyablement",
    ],
    "de": [
        "sehr", "wirklich", "extrem", "äußerst", "total", "völlig", "vollkommen", "zutiefst",
        "enorm", "höchst", "unglaublich", "furchtbar",
    ],
}

# What each sign is worth, in "booster" units.
WEIGHTS = {"booster": 1.0, "intensifier": 0.5, "hedge": -1.0, "exclamation": 0.5, "caps": 0.5}
MAX_EXCLAMATIONS = 3  # "!!!!!!" is one shout, not six
CAPS_WORD = re.compile(r"\b[A-ZÄÖÜÀÂÉÈÊÎÔÛÇ]{3,}\b")


@dataclass(frozen=True)
class Intensity:
    """The signs found in one text and its intensity in [-1, 1]."""

    hedges: int
    boosters: int
    intensifiers: int
    exclamations: int
    caps: int
    score: float


def _normalise(text: str) -> str:
    return text.replace("’", "'").replace("\u00a0", " ").lower()


@cache
def _pattern(phrases: tuple[str, ...]) -> re.Pattern:
    alternatives = sorted(phrases, key=len, reverse=True)  # longest first: "ich denke" before "denke"
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in alternatives) + r")(?![\w-])")


def _lexicon(table: dict[str, list[str]], language: str | None) -> tuple[str, ...]:
    if language in table:
        return tuple(table[language])
    return tuple(sorted({p for phrases in table.values() for p in phrases}))


def count(text: str, table: dict[str, list[str]], language: str | None = None) -> int:
    """How many phrases of a lexicon table occur in text, as whole words."""
    return len(_pattern(_lexicon(table, language)).findall(_normalise(text)))


def intensity(text: str, language: str | None = None) -> Intensity:
    """Intensity in [-1, 1]: the weighted signs per sentence, through tanh (0 = plain statement)."""
    hedges = count(text, HEDGES, language)
    boosters = count(text, BOOSTERS, language)
    intensifiers = count(text, INTENSIFIERS, language)
    exclamations = min(MAX_EXCLAMATIONS, len(re.findall(r"!+", text)))
    caps = len(CAPS_WORD.findall(text))
    raw = (WEIGHTS["booster"] * boosters + WEIGHTS["intensifier"] * intensifiers
           + WEIGHTS["hedge"] * hedges + WEIGHTS["exclamation"] * exclamations + WEIGHTS["caps"] * caps)
    # Per sentence, so that a long faithful text is not "more intense" than a short one.
    score = math.tanh(raw / max(1, len(split_sentences(text))))
    return Intensity(hedges, boosters, intensifiers, exclamations, caps, score)


def intensity_drift(source: str, output: str, source_language: str | None = None,
                    output_language: str | None = None) -> float:
    """output intensity - source intensity, in [-2, 2]: negative = softened, positive = amplified."""
    return intensity(output, output_language).score - intensity(source, source_language).score
