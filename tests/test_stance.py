"""Stance toward the question: negation flips it, in en, fr and de; cues and the axis agree."""

import pytest

from pluralign.rewards.stance import is_flip, negation_count, stances, without_negation


@pytest.fixture(scope="session")
def backend():
    from pluralign.rewards.backends import get_backend

    return get_backend()


def test_we_must_tax_the_rich_vs_must_not(backend):
    q = "Should the city tax the rich more?"
    pro, con = stances(backend, ["We must tax the rich.", "We must not tax the rich."], q, "en", ["en", "en"])
    assert pro.score > 0.5 and con.score < -0.5
    # The negation is handled explicitly: the two are exact mirror images.
    assert pro.score == pytest.approx(-con.score)
    assert is_flip(pro.score, con.score)


@pytest.mark.parametrize("language,question,pro,con", [
    ("en", "Should the city tax the rich more?", "I support taxing the rich.", "I don't support taxing the rich."),
    ("en", "Should the city tax the rich more?", "I am not against taxing the rich.", "I oppose taxing the rich."),
    ("fr", "Faut-il taxer les riches ?", "Il faut taxer les riches.", "Il ne faut pas taxer les riches."),
    ("fr", "Faut-il taxer les riches ?", "Je soutiens une taxe sur les riches.", "Je suis contre une taxe sur les riches."),
    ("de", "Sollte man die Reichen besteuern?", "Wir müssen die Reichen besteuern.", "Wir dürfen die Reichen nicht besteuern."),
    ("de", "Sollte man die Reichen besteuern?", "Ich bin dafür, die Reichen zu besteuern.", "Ich bin gegen eine Reichensteuer."),
])
def test_opposite_stances(backend, language, question, pro, con):
    a, b = stances(backend, [pro, con], question, language, [language, language])
    assert a.score > 0.2 > -0.2 > b.score
    assert is_flip(a.score, b.score)


def test_negation_counting():
    assert negation_count("We must not tax the rich.") == 1
    assert negation_count("We shouldn't tax the rich.") == 1
    assert negation_count("Il ne faut pas taxer les riches.") == 1  # ne...pas is one negation
    assert negation_count("Wir sollten keine Steuer erheben.") == 1
    assert negation_count("I don't think we should never tax them.") == 2
    assert negation_count("Tax the rich, not the poor.") == 0  # a contrast, not a negated claim
    assert negation_count("Il ne devrait être versé qu'aux pauvres.") == 0  # ne...que means "only"


@pytest.mark.parametrize("language,question,pro,con", [
    ("en", "Should we introduce a basic income?", "Yes, we should do it.", "No, we should not do it."),
    ("fr", "Faut-il un revenu de base ?", "Oui. Je suis clairement pour.", "Non, il ne faut pas le faire."),
    ("de", "Brauchen wir ein Grundeinkommen?", "Ja, wir sollten es tun.", "Nein. Ich bin dagegen."),
])
def test_answer_words_are_stances_not_negations(backend, language, question, pro, con):
    a, b = stances(backend, [pro, con], question, language, [language, language])
    assert a.score > 0.5 and b.score < -0.5


def test_without_negation_keeps_the_claim():
    assert without_negation("We must not tax the rich.") == "We must tax the rich."
    assert without_negation("Il ne faut pas taxer les riches.") == "Il faut taxer les riches."
    assert without_negation("I don't support it.") == "I do support it."


def test_unrelated_and_empty_texts_are_near_neutral(backend):
    weather, empty = stances(backend, ["The weather is nice today.", ""], "Should the city tax the rich more?", "en")
    assert abs(weather.score) < 0.3 and empty.score == 0.0


def test_without_question_cues_still_decide(backend):
    a, b = stances(backend, ["We must act.", "We must not act."], None)
    assert a.score > 0.5 and b.score < -0.5


def test_nli_backend_gives_bounded_stances(tiny_classifier):
    from pluralign.rewards.backends import NLIBackend

    nli = NLIBackend(str(tiny_classifier))  # its own instance: the shared one's cache is another test's business
    out = stances(nli, ["We must tax the rich.", "We must not tax the rich."], "Tax the rich?", "en")
    assert all(-1.0 <= s.score <= 1.0 for s in out)


def test_flip_needs_both_sides_clear():
    assert is_flip(0.8, -0.5)
    assert not is_flip(0.8, -0.1)  # erased, not flipped (|delta| still penalises it)
    assert not is_flip(0.1, -0.8)
    assert not is_flip(0.5, 0.9)
