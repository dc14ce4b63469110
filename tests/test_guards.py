import pytest
from pluralism_cases import CASES

from pluralign.rewards import guards as G
from pluralign.rewards.backends import get_backend

DEBATE, CANDIDATES = CASES["en-speed"]
COMMENTS = [c["text"] for c in DEBATE["comments"]]


def test_empty():
    assert G.empty("") == G.empty("  ...  ") == 0.0
    assert G.empty("Yes.") == 1.0


def test_copying_penalises_reproducing_the_sources_not_quoting_one():
    assert G.copying(" ".join(COMMENTS), COMMENTS) == 0.0
    assert G.copying(COMMENTS[0] + " " + CANDIDATES["honest"], COMMENTS) == 1.0
    assert G.copying(CANDIDATES["honest"], COMMENTS) == 1.0
    assert G.copied_share(COMMENTS[0], COMMENTS[:1]) == 1.0
    assert G.copied_share("no overlap at all here", COMMENTS) == 0.0
    # a "translation" that copies its source
    assert G.copying("Ich bin dagegen, weil es teuer ist.", ["Ich bin dagegen, weil es teuer ist."]) == 0.0


def test_length_budget_exact():
    sources = ["word " * 100]  # 100 words: budget = max(250, 35) = 250
    assert G.length_budget("word " * 250, sources) == 1.0
    assert G.length_budget("word " * 500, sources) == pytest.approx(0.5)
    sources = ["word " * 2000]  # 2000 words: budget = max(250, 700) = 700
    assert G.length_budget("word " * 700, sources) == 1.0
    assert G.length_budget("word " * 1400, sources) == pytest.approx(0.5)


def test_repetition():
    assert G.repeated_share("a b c a b c") == pytest.approx(0.25)  # abc, bca, cab, abc
    assert G.repeated_share("too short") == 0.0
    assert G.repetition(CANDIDATES["honest"]) == 1.0
    assert G.repetition(" ".join([CANDIDATES["honest"]] * 3)) == 0.0


@pytest.mark.parametrize("sentence", [
    "Most participants argue that lower speed limits save lives in town centres.",
    "A small group says that costs such as rent, heating, food and transport are too high.",
    "La plupart des participants pensent que limiter la vitesse sauve des vies.",
    "Die meisten Teilnehmenden sagen, dass Tempolimits Leben retten.",
    "大多数人支持降低限速，因为这样可以挽救生命。",
])
def test_statements_pass(sentence):
    assert G.statement_quality(sentence) == 1.0


@pytest.mark.parametrize("stuffed", [
    "rural commuters time lose limit farmers",
    "The minority: villages, commuters, delivery, craftsmen, time, money.",
    "Artisans, livreurs, camionnette, stationnement, embouteillages, âgées.",
    "Pendler Dörfer Handwerker Lieferdienste Zeit Geld",
    "commuters commuters commuters villages villages time time time",
])
def test_keyword_lists_fail(stuffed):
    assert G.statement_quality(stuffed) < 0.2


@pytest.mark.parametrize("sentence", [
    "Parents, teachers, nurses, shopkeepers and two residents' associations argued that the new crossing would make the walk to school safer.",
    "Agriculteurs, pêcheurs, élus, habitants et associations rappellent que la nappe reste déficitaire depuis trois étés.",
    "Elternbeirat, Sportverein, Seniorenrat, Kirchengemeinde und mehrere Anwohner verweisen darauf, dass die Straße vor der Schule zu schmal ist.",
])
def test_naming_who_said_it_is_a_statement(sentence):
    # three one- or two-word pieces, but also a clause of 8+ words: a statement, not a keyword list (DECISIONS 21)
    assert G.statement_quality(sentence) == 1.0
    assert G.statement_quality(sentence, list_clause=10**9) < 1.0  # the rule before: every such sentence marked down


@pytest.mark.parametrize("listed", [
    "Keywords: park and ride, evening buses from the villages, Sunday services, cheaper fares, Mill Lane.",
    "Mots-clés : LED, détecteur de présence, éclairage à la demande, économies d'énergie, sécurité.",
    "Stichworte: Bürgerwindpark, Genossenschaft, Beteiligung der Anwohner, Pacht, Gewinn.",
])
def test_keyword_lists_of_phrases_stay_lists(listed):
    # no piece is a clause, so the list rule still applies even where the phrases carry function words
    assert G.statement_quality(listed) == G.statement_quality(listed, list_clause=10**9) < 0.9


def test_keyword_stuffing_is_word_weighted():
    assert G.keyword_stuffing(CANDIDATES["honest"]) == 1.0
    assert G.keyword_stuffing(CANDIDATES["keyword_stuffing"]) < 0.95
    assert G.keyword_stuffing("") == 1.0


def test_language_match():
    assert G.language_match(CANDIDATES["honest"], "en") == 1.0
    assert G.language_match(CANDIDATES["honest"], "fr") < 0.1
    assert G.language_match(CASES["fr-velo"][1]["honest"], "fr") == 1.0
    assert G.language_match("大多数人支持降低限速，因为这样可以挽救生命。少数人反对，因为会增加通勤时间。", "zh-TW") == 1.0
    assert G.language_match("Oui.", "en") == 1.0  # too short to judge


def test_topicality_embedding_and_lexical():
    embed = get_backend().embed
    references = [DEBATE["question"], *COMMENTS]
    assert G.off_topic(CANDIDATES["honest"], references, embed) == 1.0
    assert G.off_topic(CANDIDATES["off_topic"], references, embed) == 0.0
    assert G.off_topic("", references, embed) == 0.0
    fr_debate, fr_candidates = CASES["fr-velo"]
    fr_refs = [fr_debate["question"], *(c["text"] for c in fr_debate["comments"])]
    assert G.lexical_topicality(fr_candidates["off_topic"], fr_refs)[0] == 0.0
    assert G.lexical_topicality(fr_candidates["honest"], fr_refs)[0] == 1.0


def test_settings_are_signature_fields():
    fields = G.GuardSettings(copy_free=0.2).fields()
    assert fields["copy_free"] == 0.2 and fields["length_min"] == 250


def test_language_fast_path_only_accepts_clear_cases():
    assert G.clearly_in(CANDIDATES["honest"], "en")
    assert not G.clearly_in(CANDIDATES["honest"], "de")
    assert G.clearly_in(CASES["de-tempo"][1]["honest"], "de")
    assert G.clearly_in("大多数人支持降低限速。", "zh")  # by script
    assert not G.clearly_in("Most people support it.", "zh")
    # langdetect alone reads this short traditional Chinese as Korean
    assert G.language_match("我有用過 Uber 叫車。我覺得很好用。司機很有禮貌。", "zh-TW") == 1.0


def test_chinese_keyword_list_fails():
    assert G.statement_quality("通勤、时间、乡村、司机、工资。") < 0.2
