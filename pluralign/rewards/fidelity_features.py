"""What the learned fidelity heads read (docs/design.md §5), from any backend's `embed` (unit-norm rows)
plus model-free text measures. Nothing here is tuned to one backend: every weight on these
features is fitted per backend (`pluralign.rewards.fidelity_fit`).

**Adequacy** (is the meaning kept?), 14 numbers per (source, output): the paragraph cosine; the
sentence-aligned cosines (each source sentence's best output sentence: the omission view; each
output sentence's best source sentence: the addition view; the positional diagonal when the
counts match), their means and minima; the sentence-count difference; the length shortfall and
excess of r = log(len out / len src) minus the language pair's expected r (`length_norm`, measured
on human translations); the source's numbers kept, numbers added; across languages, the share of
output words copied from the source (left untranslated). Each has a sign (ADEQUACY_SIGNS_BY_HEAD)
that the fit must respect.

**Stance** (which way did the text move?), per (source, output, question): the unit vector of
e(output) - e(source), the projections of both texts on the axis e("I support: Q") - e("I oppose:
Q") in each text's language (Q = the question, or the source when there is none), their difference
and product, whether the languages differ, and ten lexicon cue differences (negations, support and
oppose cues, modals, hedges, boosters, intensifiers, exclamations, capitals, answer words; the
lexicons of `stance.py` and `intensity.py`), as features only. Then the same changes regardless
of direction: |cue difference| and |axis difference|. A flip is a flip whichever text came first,
so every signed difference is, on average, as often + as - among flips and a linear model cannot
use it to tell flipped from same; the absolute values can (a negation appeared or went: flip
recall on held-out conversations 0.54 -> 0.82 in English with MiniLM). Nothing says how far the
text moved in general (cosine, overlap, length): that is adequacy's business, and with it the
model read any rewording as a change of stance.
"""

from __future__ import annotations

import math
import re

import numpy as np

from pluralign.rewards import intensity as intensity_lexicons
from pluralign.rewards import stance as stance_lexicons
from pluralign.rewards.text import split_sentences

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LONG_WORD = re.compile(r"[^\W\d_]{4,}", re.U)


def sentences_of(text: str) -> list[str]:
    return split_sentences(text) or ([text.strip()] if text.strip() else [" "])


def _numbers(text: str) -> set[str]:
    return {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)}


# --- adequacy ----------------------------------------------------------------------------------

ADEQUACY_FEATURES = (
    "cos_paragraph", "fwd_mean", "fwd_min", "bwd_mean", "bwd_min", "diag_mean", "diag_min",
    "count_diff", "len_shortfall", "len_excess", "numbers_kept", "numbers_added",
    "copied_cross", "cross_lingual",
)
# Monotonicity, imposed when fitting: more similarity never lowers adequacy; a shorter or longer
# output, a missing or invented number, source words left untranslated never raise it (0: no
# weight). Without them the MQM fit learns "longer is better" (omission is MT's commonest error),
# which a rewriter could farm.
ADEQUACY_SIGNS = {"cos_paragraph": 1, "fwd_mean": 1, "fwd_min": 1, "bwd_mean": 1, "bwd_min": 1, "diag_mean": 1,
                  "diag_min": 1, "count_diff": -1, "len_shortfall": -1, "len_excess": -1, "numbers_kept": 1,
                  "numbers_added": -1, "copied_cross": -1, "cross_lingual": 0}
# Per head. A translation renders everything, so a shortfall against the language pair's expected
# length reads as an omission (MT's commonest error). A reformulation may say the same in fewer
# words: there the shortfall gets no weight, and omissions are left to the sentence-aligned
# cosines (a source sentence with no counterpart lowers fwd_min and fwd_mean).
ADEQUACY_SIGNS_BY_HEAD = {"across": ADEQUACY_SIGNS, "within": {**ADEQUACY_SIGNS, "len_shortfall": 0}}


def adequacy_texts(source: str, output: str) -> list[str]:
    """Every text `adequacy_features` embeds (to embed a batch in one call)."""
    return [source, output, *sentences_of(source), *sentences_of(output)]


def adequacy_features(embed, source: str, output: str, source_language: str, target_language: str,
                      length_norm: dict[str, float]) -> np.ndarray:
    """ADEQUACY_FEATURES of one pair; `length_norm` maps "src-tgt" to the expected log length ratio."""
    src_s, out_s = sentences_of(source), sentences_of(output)
    paragraphs = embed([source, output])
    sim = embed(src_s) @ embed(out_s).T  # S x O
    fwd, bwd = sim.max(axis=1), sim.max(axis=0)
    diag = np.diag(sim) if len(src_s) == len(out_s) else np.minimum(fwd.mean(), bwd.mean()) * np.ones(1)
    n_src, n_out = _numbers(source), _numbers(output)
    src_words = {t.lower() for t in _LONG_WORD.findall(source)}
    out_words = [t.lower() for t in _LONG_WORD.findall(output)]
    copied = sum(t in src_words for t in out_words) / max(1, len(out_words))
    across = source_language != target_language
    ratio = math.log(max(1, len(output)) / max(1, len(source))) - length_norm.get(f"{source_language}-{target_language}", 0.0)
    return np.array([
        float(paragraphs[0] @ paragraphs[1]), fwd.mean(), fwd.min(), bwd.mean(), bwd.min(), diag.mean(), diag.min(),
        abs(len(src_s) - len(out_s)), max(0.0, -ratio), max(0.0, ratio),
        len(n_src & n_out) / len(n_src) if n_src else 1.0, len(n_out - n_src) / max(1, len(n_out)) if n_out else 0.0,
        copied * across, float(across),
    ], dtype=np.float64)


# --- stance ------------------------------------------------------------------------------------

CUES = ("negations", "support", "oppose", "modals", "hedges", "boosters", "intensifiers", "exclamations",
        "caps", "answer")
STANCE_SCALARS = ("axis_src", "axis_out", "axis_delta", "axis_product", "cross_lingual", *(f"cue_{c}" for c in CUES),
                  *(f"abs_cue_{c}" for c in CUES), "abs_axis_delta")


def stance_feature_names(dim: int) -> list[str]:
    return [f"unitdiff{i}" for i in range(dim)] + list(STANCE_SCALARS)


def cue_counts(text: str, language: str | None) -> np.ndarray:
    """Lexicon cue counts of a text, in CUES order."""
    neg = sup = opp = mod = answer = 0
    for sentence in sentences_of(text):
        ans, rest = stance_lexicons.split_answer(sentence)
        answer += ans
        neg += stance_lexicons.negation_count(rest)
        core = stance_lexicons.without_negation(rest)
        sup += intensity_lexicons.count(core, stance_lexicons.SUPPORT_CUES, language)
        opp += intensity_lexicons.count(core, stance_lexicons.OPPOSE_CUES, language)
        mod += intensity_lexicons.count(core, stance_lexicons.MODAL_CUES, language)
    signs = intensity_lexicons.intensity(text, language)
    return np.array([neg, sup, opp, mod, signs.hedges, signs.boosters, signs.intensifiers, signs.exclamations,
                     signs.caps, answer], dtype=np.float64)


def anchors(question: str, language: str) -> tuple[str, str]:
    support, oppose = stance_lexicons.ANCHORS.get(language, stance_lexicons.ANCHORS["en"])
    return support.format(q=question), oppose.format(q=question)


def stance_texts(source: str, output: str, question: str | None, source_language: str, target_language: str) -> list[str]:
    """Every text `stance_features` embeds."""
    q = question or source
    return [source, output, *anchors(q, source_language), *anchors(q, target_language)]


def _axis(embed, question: str, language: str) -> np.ndarray:
    support, oppose = embed(list(anchors(question, language)))
    axis = support - oppose
    return axis / (np.linalg.norm(axis) or 1.0)


def stance_features(embed, source: str, output: str, question: str | None, source_language: str,
                    target_language: str) -> np.ndarray:
    """`stance_feature_names(dim)` of one pair."""
    u, v = embed([source, output])
    q = question or source
    a_src = float(u @ _axis(embed, q, source_language))
    a_out = float(v @ _axis(embed, q, target_language))
    diff = (v - u).astype(np.float64)
    norm = float(np.linalg.norm(diff))
    unit = diff / norm if norm > 1e-6 else np.zeros_like(diff)
    cues = cue_counts(output, target_language) - cue_counts(source, source_language)
    return np.concatenate([unit, [a_src, a_out, a_out - a_src, a_src * a_out, float(source_language != target_language)],
                           cues, np.abs(cues), [abs(a_out - a_src)]])
