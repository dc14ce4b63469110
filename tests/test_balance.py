"""The `balance` guard (pluralign/rewards/balance.py): the reader of claims that the groups are equally large,
the penalty it feeds, `pluralign fit balance`, and the guard inside the pluralism score."""

import json

import numpy as np
import pytest
from pluralism_cases import CASES

from pluralign.cli import main
from pluralign.errors import UsageError
from pluralign.rewards import balance as B
from pluralign.rewards.pluralism import PluralismScorer
from pluralign.rewards.text import split_sentences
from pluralign.signature import parse_signature

TEXTS = ["A smaller group, about   a third, opposed it.", "Ja, also: ab\tin den Zoo! é à", "x", "Les avis  sont partagés."]


@pytest.mark.parametrize("text", TEXTS)
def test_char_ngrams_are_scikit_learns_char_wb(text):
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=B.NGRAMS).build_analyzer()
    assert B.char_ngrams(text) == analyzer(text)


def test_stated_deficit_and_guard_exact_values():
    assert B.stated_deficit([0.6, 0.25, 0.15]) == pytest.approx(0.4)  # (0.6 - 1/3) / (2/3)
    assert B.stated_deficit([0.5, 0.5]) == 0.0  # the claim is true: nothing to mark down
    assert B.stated_deficit([1.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert B.stated_deficit([1.0]) == 0.0  # one group: no balance to claim
    assert B.stated_deficit([6, 2.5, 1.5]) == pytest.approx(0.4)  # counts are normalised
    assert B.balance_guard(0.75, [0.6, 0.25, 0.15]) == pytest.approx(0.8)
    assert B.balance_guard(0.5, [0.9, 0.1]) == 1.0  # a hint (p = 1/2) costs nothing
    assert B.balance_guard(1.0, [0.9, 0.1]) == pytest.approx(1 - 0.8 / 0.5 * 0.5)


def test_shipped_reader_tells_claims_from_honest_proportions_in_three_languages():
    # Sentences written for this test (not in data/balance_claims/), each claim against an honest counterpart.
    pairs = {
        "en": ("Supporters and opponents of the bypass turned out to be about equally numerous.",
               "Most residents back the bypass, while a smaller group fears for the wetland."),
        "fr": ("Partisans et adversaires de la rocade sont à peu près aussi nombreux les uns que les autres.",
               "La plupart des habitants soutiennent la rocade, tandis qu'un groupe plus restreint craint pour le marais."),
        "de": ("Befürworter und Gegner der Umgehungsstraße sind ungefähr gleich zahlreich.",
               "Die meisten Anwohner befürworten die Umgehungsstraße, eine kleinere Gruppe fürchtet um das Feuchtgebiet."),
    }
    reader = B.shipped_reader()
    for language, (claim, honest) in pairs.items():
        p_claim, p_honest = reader.probability([claim, honest])
        assert p_claim > 0.5 > p_honest, (language, p_claim, p_honest)
    assert reader.version.startswith(f"balance-claims.v{B.FORMAT}+")
    assert reader.meta["held_out"]["bank_summaries_read"] < 0.01  # DeliberationBank's summaries are not claims


def _write_rows(folder, rows):
    folder.mkdir()
    with (folder / "sentences.jsonl").open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def _tiny_rows():
    claims = ["The room split evenly between the two camps.", "As many spoke for it as against it.",
              "Both sides were equally large.", "Views were divided half and half."]
    others = ["Most residents back the plan.", "A smaller group opposes the plan.",
              "The council will decide in May.", "Many cited the cost of housing."]
    return [{"text": t, "language": "en", "topic": f"t{i % 4}", "label": label}
            for label, texts in ((1, claims), (0, others)) for i, t in enumerate(texts)]


def test_fit_balance_cli_writes_a_reader_that_is_sklearns_pipeline(tmp_path, capsys):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from pluralign.rewards.balance_fit import bank_rows, prior_weights, written_rows

    data, out = tmp_path / "claims", tmp_path / "reader.npz"
    _write_rows(data, _tiny_rows())
    assert main(["fit", "balance", "--data", str(data), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    reader = B.BalanceReader.from_file(out)
    assert printed["version"] == reader.version and printed["ngrams"] == len(reader.column)
    assert reader.meta["data"]["written"] == 8 and reader.meta["data"]["written_claims"] == 4
    # The same rows through scikit-learn's own pipeline give the same probabilities.
    written, _ = written_rows(data)
    real, _ = bank_rows()
    rows = written + [r for r in real if r["text"] not in {w["text"] for w in written}]
    texts = [r["text"] for r in rows]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=B.NGRAMS, min_df=2, sublinear_tf=True)
    X = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=3.0, max_iter=5000).fit(X, [r["label"] for r in rows], sample_weight=prior_weights(rows))
    probe = ["Both camps were equally large.", "Most people backed it.", "zzzz"]
    np.testing.assert_allclose(reader.probability(probe), model.predict_proba(vectorizer.transform(probe))[:, 1], atol=1e-5)


def test_each_language_s_negatives_weigh_as_much_as_all_english_ones():
    # DECISIONS 27: without this, French and German sentences start closer to a claim (the real negatives are English).
    from pluralign.rewards.balance_fit import prior_weights

    def row(language, label, real=False):
        return {"text": "x", "language": language, "topic": "t", "label": label} | ({"summary": 0} if real else {})

    rows = ([row("en", 0)] * 4 + [row("en", 1)] * 2 + [row("en", 0, real=True)] * 8
            + [row("fr", 0)] * 2 + [row("fr", 1)] * 3 + [row("de", 0)] * 16)
    weight = prior_weights(rows)
    total = {key: weight[[(r["language"], r["label"], "summary" in r) == key for r in rows]].sum()
             for key in {(r["language"], r["label"], "summary" in r) for r in rows}}
    assert total[("en", 0, True)] == total[("en", 0, False)] == 4  # the real ones weigh as the written
    assert total[("fr", 0, False)] == total[("de", 0, False)] == 8  # as all English negatives
    assert total[("en", 1, False)] == 2 and total[("fr", 1, False)] == 3  # claims keep their count


def test_fit_balance_names_the_file_line_and_field_of_a_bad_row(tmp_path, capsys):
    data = tmp_path / "claims"
    rows = _tiny_rows()
    rows[2] = {**rows[2], "label": "yes"}
    _write_rows(data, rows)
    assert main(["fit", "balance", "--data", str(data), "--out", str(tmp_path / "r.npz")]) != 0
    err = capsys.readouterr().err
    assert "sentences.jsonl" in err and "3" in err and "label" in err


def test_a_file_that_is_not_a_reader_is_refused(tmp_path):
    path = tmp_path / "reader.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(UsageError, match="pluralign fit balance"):
        B.BalanceReader.from_file(path)


@pytest.fixture(scope="module")
def scorers():
    return PluralismScorer(), PluralismScorer(balance=False)


def test_the_guard_marks_down_a_claim_of_balance_in_proportion_to_how_wrong_it_is(scorers):
    scorer, without = scorers
    debate, candidates = next(iter(CASES.values()))
    claimed = "Opinion was split evenly, with camps of equal size. " + candidates["honest"]
    on, off = (s.score(debate, [candidates["honest"], claimed]) for s in (scorer, without))
    shares = list(on[1]["metrics"]["group_share"].values())
    p = B.shipped_reader().probability(split_sentences(claimed)).max()
    assert B.stated_deficit(shares) > 0.1 and p > 0.5
    assert on[1]["metrics"]["guards"]["balance"] == pytest.approx(B.balance_guard(p, shares), abs=1e-5)
    assert on[1]["metrics"]["guards"]["balance"] < 0.9
    assert on[0]["metrics"]["guards"]["balance"] == 1.0  # the honest summary claims nothing
    assert on[1]["pluralism"] == pytest.approx(off[1]["pluralism"] * on[1]["metrics"]["guards"]["balance"], abs=2e-6)
    assert on[0]["pluralism"] > on[1]["pluralism"]
    assert "balance" not in off[1]["metrics"]["guards"]


def test_signature_names_the_reader(scorers):
    scorer, without = scorers
    debate, candidates = next(iter(CASES.values()))
    signed = parse_signature(scorer.score(debate, [candidates["honest"]])[0]["signature"])
    assert signed["balance"] == B.shipped_reader().version
    assert parse_signature(without.score(debate, [candidates["honest"]])[0]["signature"])["balance"] == "off"
