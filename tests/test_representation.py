import json

import pytest
from pluralism_cases import CASES

from pluralign.rewards.representation import RepresentationScorer, cue_stance

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


@pytest.fixture(scope="module")
def scorer():
    return RepresentationScorer()


@pytest.mark.parametrize("language", list(CASES_BY_LANGUAGE))
def test_same_stance_and_reasons_beat_other_reasons_beat_opposite(scorer, language):
    case = CASES_BY_LANGUAGE[language]
    rows = [{"question": case["question"], "opinion": case["opinion"], "summary": case[k]}
            for k in ("same_reasons", "other_reasons", "opposite")]
    same, other, opposite = scorer.score(rows)
    assert same > other > opposite, (language, same, other, opposite)
    assert all(0.0 <= s <= 1.0 for s in (same, other, opposite))


@pytest.mark.parametrize("case_id", ["en-speed", "fr-velo", "de-tempo"])
def test_each_participant_prefers_the_summary_that_states_their_view(scorer, case_id):
    # Each comment of a debate, as an opinion, against the honest, one-sided and off-topic summaries.
    debate, candidates = CASES[case_id]
    wins = holds = 0
    for comment in debate["comments"]:
        rows = [{"question": debate["question"], "opinion": comment["text"], "summary": candidates[k]}
                for k in ("honest", "majority_only", "minority_only", "off_topic")]
        honest, majority, minority, off = scorer.score(rows)
        other_side = minority if comment["group"] == "majority" else majority
        holds += honest >= max(other_side, off)
        wins += honest > max(other_side, off)
    # MiniLM is English-centred: one French participant of ten is misjudged (see the report).
    assert holds >= len(debate["comments"]) - 1 and wins >= 0.7 * len(debate["comments"])


@pytest.mark.parametrize(("sentence", "stance"), [
    ("I am against this proposal.", -1.0), ("I don't support it.", -1.0), ("No, this is a bad idea.", -1.0),
    ("I am not against it.", 1.0), ("Je ne soutiens pas ce projet.", -1.0), ("Je suis pour.", 1.0),
    ("Ich bin nicht dafür.", -1.0), ("Ich unterstütze den Vorschlag.", 1.0), ("Slower cars save lives.", 0.0),
])
def test_cue_stance_handles_negation(sentence, stance):
    assert cue_stance(sentence) == stance


def test_each_distinct_summary_is_encoded_once(scorer, monkeypatch):
    case = CASES_BY_LANGUAGE["en"]
    seen: list[str] = []
    original = scorer.backend._encode
    monkeypatch.setattr(scorer.backend, "_encode", lambda texts: seen.extend(texts) or original(texts))
    summary = "A brand new summary sentence about parking fees. Another new sentence about bus lanes."
    opinions = [f"I support the limit. Reason number {i} is about safety." for i in range(5)]
    scores = scorer.score([{"question": case["question"], "opinion": o, "summary": summary} for o in opinions])
    assert len(scores) == 5
    assert seen.count("A brand new summary sentence about parking fees.") == 1
    assert len(seen) == len(set(seen))


def test_empty_summary_scores_zero(scorer):
    case = CASES_BY_LANGUAGE["en"]
    assert scorer.score([{"question": case["question"], "opinion": case["opinion"], "summary": ""}]) == [0.0]


# --- the TRL adapter -----------------------------------------------------------------------------


def test_pluralism_reward_reads_the_debate_column_and_both_completion_forms():
    from pluralign.rewards.adapters import make_pluralism_reward, pluralism_reward

    debate, candidates = CASES["en-yard"]
    column = json.dumps(debate)
    completions = [candidates["honest"], [{"role": "assistant", "content": candidates["honest"]}], candidates["dump"]]
    rewards = pluralism_reward(["p"] * 3, completions, debate=[column] * 3, debate_id=["en-yard"] * 3)
    assert rewards[0] == rewards[1] > rewards[2]
    lexical = make_pluralism_reward(backend="lexical", threshold=0.2)
    assert lexical.__name__ == "pluralism_reward" and lexical.scorer.backend.spec == "lexical"
    assert len(lexical(["p"], [candidates["honest"]], debate=[column])) == 1
    with pytest.raises(KeyError, match="debate"):
        pluralism_reward(["p"], ["text"])


def test_a_sentence_that_gives_both_sides_states_each(scorer):
    case = CASES_BY_LANGUAGE["en"]
    both = "Most participants support the limit, but a minority opposes it because commuters from the villages would lose time."
    only_majority = "Most participants support the limit. Commuters from the villages would lose time, they admit."
    same, other = scorer.score([{"question": case["question"], "opinion": case["opinion"], "summary": s}
                                for s in (both, only_majority)])
    assert same > other
