"""Intensity: hedges soften, boosters and shouting amplify, in en, fr and de; drift is signed."""

import pytest

from pluralign.rewards.intensity import HEDGES, count, intensity, intensity_drift

PLAIN_HEDGED_BOOSTED = {
    "en": ("We tax the rich.", "Maybe we could tax the rich a bit.", "We absolutely must tax the rich!"),
    "fr": ("On taxe les riches.", "Peut-être qu'on pourrait taxer un peu les riches.", "Il faut absolument taxer les riches !"),
    "de": ("Wir besteuern die Reichen.", "Vielleicht könnten wir die Reichen etwas besteuern.", "Wir müssen die Reichen auf jeden Fall besteuern!"),
}


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_hedged_below_plain_below_boosted(language):
    plain, hedged, boosted = PLAIN_HEDGED_BOOSTED[language]
    assert intensity(plain, language).score == 0.0  # no sign at all: exactly neutral
    assert intensity(hedged, language).score < 0.0 < intensity(boosted, language).score


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_drift_sign(language):
    plain, hedged, boosted = PLAIN_HEDGED_BOOSTED[language]
    assert intensity_drift(plain, hedged, language, language) < 0  # softened
    assert intensity_drift(plain, boosted, language, language) > 0  # amplified
    assert intensity_drift(plain, plain, language, language) == 0.0


def test_phrases_match_whole_words_longest_first():
    assert count("I think so.", HEDGES, "en") == 1  # "i think", not also something inside it
    assert count("Mayberry is a town.", HEDGES, "en") == 0  # not "maybe" inside a word
    assert count("Ich denke, vielleicht.", HEDGES, "de") == 2
    assert count("peut-être", HEDGES, "fr") == 1


def test_shouting_counts_and_is_bounded():
    calm = intensity("We need schools.", "en")
    loud = intensity("We need SCHOOLS!!!", "en")
    assert loud.exclamations == 1 and loud.caps == 1 and loud.score > calm.score
    many = intensity("Schools" + "!" * 50, "en")
    assert many.exclamations == 1 and -1.0 <= many.score <= 1.0


def test_unknown_language_uses_every_lexicon():
    assert intensity("vielleicht", None).hedges == 1
    assert intensity("vielleicht", "en").hedges == 0
