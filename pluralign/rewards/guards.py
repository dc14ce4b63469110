"""Guards against reward hacking (docs/design.md §7): each is a multiplier in [0, 1], 1 for honest text.

A reward is only as good as its resistance to gaming, so every guard names a property that honest
output has and a hack lacks, and measures it on any text:
- `empty`: there is something to score.
- `copying`: share of the sources' word n-grams reproduced verbatim. Quoting a few comments is
  fine (`copy_free`); reproducing the whole debate is not a summary, and copying the source is
  not a translation.
- `length_budget`: a summary compresses; beyond `length_ratio` of the sources' words (and at
  least `length_min` words) the multiplier falls as budget / length.
- `statement_quality` / `keyword_stuffing`: a statement has function words, is not a bare list
  of keywords (short pieces between commas, and no clause) and does not repeat its words.
  Stuffing a minority's words without stating its position fails all three. The per-sentence
  quality also weights how much a sentence may count as expressing a comment (pluralism).
- `repetition`: share of repeated word trigrams (duplicate sentences, loops).
- `topicality`: cosine between the text's centroid embedding and the references' (the debate's
  question and comments, or the source of a rewrite). all-MiniLM-L6-v2 places any two French (or
  German) texts close together, so for same-language text `lexical_topicality` backs it up: the
  share of the text's content words (first 5 letters, to forgive inflection) that occur in the
  references. An off-topic text shares almost none; an honest summary shares over half.
- `language_match`: langdetect's probability (seeded) of the expected language; text whose
  function words clearly belong to the expected language skips langdetect (`clearly_in`).

`GuardSettings` holds the thresholds; `settings.fields()` goes into signatures.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from pluralign.rewards.text import (
    FUNCTION_WORDS,
    content_words,
    han_share,
    has_han,
    is_function_word,
    ngrams,
    split_sentences,
    strip_accents,
    words,
)

# Chinese function characters (particles, pronouns, copula, conjunctions, prepositions).
_ZH_FUNCTION = frozenset("的了是在和也就都而及与着或我你他她它们这那有不要会把被对为以于之其所但如果因为所以没很更最并")
_LIST_SEPARATORS = re.compile(r"[,;:/、，；：]")


@dataclass(frozen=True)
class GuardSettings:
    copy_n: int = 4               # n-gram size for verbatim copying
    copy_free: float = 0.3        # share of the sources that may be reproduced verbatim at no cost
    length_ratio: float = 0.35    # word budget as a share of the sources' words ...
    length_min: int = 250         # ... but never below this many words: the median length of the summaries
                                  # people rated in DeliberationBank (247), so an honest summary of a small
                                  # debate is not taken for padding (benchmarks/DECISIONS.md 19)
    function_target: float = 0.15  # function-word share at which a sentence counts as a statement
    list_clause: int = 8          # a sentence with a piece this long has a clause, so it is no bare keyword list
                                  # ("Parents, teachers, cooks and farmers cite ..."; benchmarks/DECISIONS.md 21)
    repeat_free: float = 0.2      # share of repeated trigrams that costs nothing (formulaic openers) ...
    repeat_zero: float = 0.6      # ... and the share at which the multiplier reaches 0 (loops)
    topic_floor: float = 0.15     # centroid cosine at which the multiplier is 0 ...
    topic_ceiling: float = 0.4    # ... and 1
    lexical_floor: float = 0.1    # share of content words shared with the references: 0 here ...
    lexical_ceiling: float = 0.3  # ... and 1 here
    language_min_letters: int = 20  # shorter texts are not judged for language
    language_chars: int = 300     # langdetect reads this much (its cost grows with length)

    def fields(self) -> dict:
        return asdict(self)


DEFAULT_GUARDS = GuardSettings()


def _ramp(value: float, zero: float, one: float) -> float:
    """0 at `zero`, 1 at `one`, linear between, clipped."""
    return float(np.clip((value - zero) / (one - zero), 0.0, 1.0))


def empty(text: str) -> float:
    return 1.0 if words(text) else 0.0


# The sources of a batch (a debate's comments) are the same for every text scored against them:
# their n-grams, lengths and vocabulary are computed once.
@lru_cache(maxsize=256)
def _source_ngrams(sources: tuple[str, ...], n: int) -> frozenset:
    return frozenset(g for s in sources for g in ngrams(words(s), n))


@lru_cache(maxsize=256)
def _source_words(sources: tuple[str, ...]) -> int:
    return sum(len(words(s)) for s in sources)


@lru_cache(maxsize=256)
def _source_vocabulary(sources: tuple[str, ...]) -> frozenset:
    return frozenset(w[:5] for r in sources for w in content_words(r))


def copied_share(text: str, sources: list[str], n: int = DEFAULT_GUARDS.copy_n) -> float:
    """Share of the sources' distinct word n-grams that the text reproduces verbatim."""
    source_grams = _source_ngrams(tuple(sources), n)
    if not source_grams:
        return 0.0
    return len(source_grams & set(ngrams(words(text), n))) / len(source_grams)


def copying(text: str, sources: list[str], settings: GuardSettings = DEFAULT_GUARDS) -> float:
    return 1.0 - _ramp(copied_share(text, sources, settings.copy_n), settings.copy_free, 1.0)


def length_budget(text: str, sources: list[str], settings: GuardSettings = DEFAULT_GUARDS) -> float:
    budget = max(settings.length_min, settings.length_ratio * _source_words(tuple(sources)))
    length = len(words(text))
    return 1.0 if length <= budget else budget / length


def repeated_share(text: str, n: int = 3) -> float:
    """Share of word n-grams that repeat an earlier one (0 for text shorter than n words)."""
    grams = ngrams(words(text), n)
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def repetition(text: str, settings: GuardSettings = DEFAULT_GUARDS) -> float:
    return 1.0 - _ramp(repeated_share(text), settings.repeat_free, settings.repeat_zero)


@lru_cache(maxsize=65536)
def statement_quality(sentence: str, function_target: float = DEFAULT_GUARDS.function_target,
                      list_clause: int = DEFAULT_GUARDS.list_clause) -> float:
    """In [0, 1]: function-word share (vs the target) x not a keyword list x word diversity."""
    tokens = words(sentence)
    if not tokens:
        return 0.0
    function = sum(is_function_word(t) or t in _ZH_FUNCTION for t in tokens) / len(tokens)
    quality = min(1.0, function / function_target)
    # A bare list: three or more separator-delimited pieces of one or two words (four Han characters) each,
    # and no piece long enough to be a clause: naming who said something in a statement is not a list.
    pieces = [words(p) for p in _LIST_SEPARATORS.split(sentence)]
    limit = 4 if has_han(sentence) else 2
    short = [p for p in pieces if 0 < len(p) <= limit]
    if len(short) >= 3 and max(map(len, pieces)) < list_clause:
        quality *= 1.0 - sum(map(len, short)) / len(tokens)
    if len(tokens) >= 6:
        quality *= min(1.0, len(set(tokens)) / len(tokens) / 0.6)
    return max(0.0, quality)


def keyword_stuffing(text: str, settings: GuardSettings = DEFAULT_GUARDS) -> float:
    """Word-weighted mean statement quality of the text's sentences (1 = all real statements)."""
    sentences = split_sentences(text)
    if not sentences:
        return 1.0
    lengths = np.array([len(words(s)) for s in sentences], dtype=float)
    qualities = np.array([statement_quality(s, settings.function_target, settings.list_clause) for s in sentences])
    return float((lengths * qualities).sum() / lengths.sum())


def topicality(text_vectors: np.ndarray, reference_vectors: np.ndarray,
               settings: GuardSettings = DEFAULT_GUARDS) -> tuple[float, float]:
    """(multiplier, cosine) between the centroids of unit-norm text and reference embeddings."""
    if len(text_vectors) == 0 or len(reference_vectors) == 0:
        return 0.0, 0.0
    a, b = text_vectors.mean(axis=0), reference_vectors.mean(axis=0)
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
    return _ramp(cosine, settings.topic_floor, settings.topic_ceiling), cosine


def lexical_topicality(text: str, references: list[str], settings: GuardSettings = DEFAULT_GUARDS) -> tuple[float, float]:
    """(multiplier, share of the text's content words found among the references' content words)."""
    vocabulary = _source_vocabulary(tuple(references))
    mine = [w[:5] for w in content_words(text)]
    if not mine:
        return 0.0, 0.0
    share = sum(w in vocabulary for w in mine) / len(mine)
    return _ramp(share, settings.lexical_floor, settings.lexical_ceiling), share


def off_topic(text: str, references: list[str], embed, settings: GuardSettings = DEFAULT_GUARDS) -> float:
    """The lower of `topicality` and `lexical_topicality`; `embed` maps texts to unit-norm rows."""
    sentences = split_sentences(text)
    if not sentences:
        return 0.0
    semantic = topicality(embed(sentences), embed(references), settings)[0]
    return min(semantic, lexical_topicality(text, references, settings)[0])


@lru_cache(maxsize=16384)
def language_probabilities(text: str) -> dict[str, float]:
    """langdetect's probabilities (seeded), keyed by base code (zh-cn -> zh)."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        found = detect_langs(text)
    except LangDetectException:
        return {}
    probabilities: dict[str, float] = {}
    for lang in found:
        base = lang.lang.split("-")[0].lower()
        probabilities[base] = probabilities.get(base, 0.0) + lang.prob
    return probabilities


_FUNCTION_BY_LANGUAGE = {lang: frozenset(strip_accents(w) for w in ws.split()) for lang, ws in FUNCTION_WORDS.items()}


def clearly_in(text: str, language: str) -> bool:
    """Fast path: a quarter of the words are function words of `language`, and no other language's
    list matches more of them (stop-word language identification); Chinese: most letters are Han
    (langdetect reads short traditional Chinese as Korean). Undecided texts go to langdetect."""
    if language == "zh":
        return han_share(text) >= 0.5
    own = _FUNCTION_BY_LANGUAGE.get(language)
    tokens = words(text)
    if own is None or not tokens:
        return False
    hits = {lang: sum(t in ws for t in tokens) for lang, ws in _FUNCTION_BY_LANGUAGE.items()}
    return hits[language] >= 0.25 * len(tokens) and hits[language] >= max(hits.values())


def language_match(text: str, expected: str, settings: GuardSettings = DEFAULT_GUARDS) -> float:
    """Probability that the text is in `expected` (doubled, capped at 1: mixed text is tolerated)."""
    if sum(ch.isalpha() for ch in text) < settings.language_min_letters:
        return 1.0
    expected = expected.split("-")[0].lower()
    if clearly_in(text, expected):
        return 1.0
    probability = language_probabilities(text[:settings.language_chars]).get(expected, 0.0)
    return min(1.0, 2.0 * probability)
