"""The scores asked of an LLM judge: representation, pluralism and fidelity on a `judge:` backend.

`pluralign.rewards.scorers.SCORERS` gives these classes for backends of kind `judge` and
`judge-local`; they return what the default scorers return (same keys), with signatures that name
the judge, the rubric's hash and the sampling settings. Every question of a batch goes to the
judge in one `ask`, so a served judge answers them concurrently.

- **Representation**: the `representation` rubric (1-5, "how well does this summary represent
  *my* opinion", asked in the opinion's language), mapped to (score - 1) / 4.
- **Pluralism** (docs/design.md §4) with the judge's coverage: one `coverage` request per summary
  rates every numbered comment 0-4 (in blocks of `rubric.ITEMS_PER_REQUEST`), and one
  `attribution` request per summary sentence rates every comment for that sentence, which gives
  a(s, c) = rating / 4. A comment's coverage is the larger of the summary's rating and its best
  sentence's (a point may be spread over sentences). The rest is the maths of
  `pluralign.rewards.pluralism` (utilities, group coverage, deficit mass over the sentences'
  attribution, elasticity, JR, welfare), the same guards, and the same reward. No debate-
  contrastive baseline: the rubric asks for the comment's own point, not its topic.
- **Fidelity** (docs/design.md §5) with the `fidelity` rubric: the stance of source and output
  toward the question (1-5, mapped to [-1, 1]), the output's intensity against the source (1-5,
  3 = as strong, mapped to a drift in [-1, 1]), additions and omissions (0-4, mapped to [0, 1]).
  meaning = 1 - (additions + omissions) / 2; then a weighted mean of meaning, stance kept and
  intensity kept (FIDELITY_WEIGHTS), the flip and language penalties, and guards (empty,
  repetition, copying for translations). `threshold` and `cross_lingual`, settings of pluralign
  0.1's support alignment, are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pluralign.errors import UsageError
from pluralign.rewards import guards as G
from pluralign.rewards.backends import LRU
from pluralign.rewards.balance import shipped_reader
from pluralign.rewards.pluralism import (
    COVERAGE_RAMP,
    THRESHOLD,
    TIE_MARGIN,
    WEIGHTS,
    attribution,
    coverage,
    debate_key,
    debate_metrics,
    index_debate,
    reward_parts,
    summary_guards,
)
from pluralign.rewards.rubric import ITEMS_PER_REQUEST, numbered, question, rubric_hash
from pluralign.rewards.stance import is_flip
from pluralign.rewards.text import split_sentences
from pluralign.signature import make_signature

# The judge's fidelity: a weighted mean of what the rubric asks (meaning, stance kept, intensity kept).
FIDELITY_WEIGHTS = {"meaning": 0.4, "stance": 0.35, "intensity": 0.25}


def text_language(text: str) -> str:
    probabilities = G.language_probabilities(text)
    return max(probabilities, key=probabilities.get) if probabilities else "en"


class JudgeRepresentationScorer:
    """`score(rows)`: one float in [0, 1] per `{"question", "opinion", "summary"}` row, from the judge.

    The judge reads the opinion and the summary only: the debate's `comments` and the embedding
    scorer's `output` (full or content-only) do not apply, and are accepted for the common interface."""

    def __init__(self, backend, output: str = "full"):
        self.backend, self.judge = backend, backend.judge
        self.signature = make_signature(scorer="representation", backend=backend.spec,
                                        rubric=f"representation@{rubric_hash('representation')}", **self.judge.settings())

    def score(self, rows: Sequence[dict], comments=None) -> list[float]:
        asked = [i for i, r in enumerate(rows) if r["summary"].strip()]
        questions = [question("representation", rows[i].get("language") or text_language(rows[i]["opinion"]),
                              question=rows[i]["question"], opinion=rows[i]["opinion"], summary=rows[i]["summary"])
                     for i in asked]
        scores = [0.0] * len(rows)  # an empty summary represents no one
        for i, answer in zip(asked, self.judge.ask(questions), strict=True):
            scores[i] = (answer["score"] - 1) / 4
        return scores


class _EmbedOnly:
    """The backend as `index_debate` sees it: its embeddings (groups), and no contrastive baseline."""

    def __init__(self, backend):
        self.embed = backend.embed

    @staticmethod
    def support(premises, hypotheses) -> np.ndarray:
        return np.zeros((len(premises), len(hypotheses)))


def _blocks(texts: list[str]) -> list[list[str]]:
    return [texts[k:k + ITEMS_PER_REQUEST] for k in range(0, len(texts), ITEMS_PER_REQUEST)] or [[]]


class JudgePluralismScorer:
    """Pluralism of summaries with the judge's coverage of each comment (see the module notes)."""

    def __init__(self, backend, threshold: float = THRESHOLD, weights: dict[str, float] | None = None,
                 guards: G.GuardSettings = G.DEFAULT_GUARDS, tie_margin: float = TIE_MARGIN, cache_size: int = 256):
        self.backend, self.judge = backend, backend.judge
        self.threshold, self.tie_margin, self.guards = threshold, tie_margin, guards
        self.balance_reader = shipped_reader()  # the `balance` guard, as in the default scorer
        self.weights = dict(WEIGHTS if weights is None else weights)
        if set(self.weights) - set(WEIGHTS) or sum(self.weights.values()) <= 0:
            raise UsageError(f"pluralism weights must be non-negative numbers for {sorted(WEIGHTS)}, got {self.weights}")
        self.debates = LRU(cache_size)

    def signature(self, group_source: str) -> str:
        return make_signature(scorer="pluralism", backend=self.backend.spec, threshold=self.threshold,
                              weights=self.weights, guards=self.guards.fields(), groups=group_source,
                              balance=self.balance_reader.version, coverage_ramp=COVERAGE_RAMP,
                              rubric=f"coverage@{rubric_hash('coverage')},attribution@{rubric_hash('attribution')}",
                              **self.judge.settings())

    def index(self, debate: dict):
        key = debate_key(debate)
        cached = self.debates.get(key)
        if cached is None:
            cached = index_debate(debate, _EmbedOnly(self.backend))
            self.debates.put(key, cached)
        return cached

    def score(self, debate: dict, summaries: Sequence[str]) -> list[dict]:
        return self.score_batch([debate] * len(summaries), summaries)

    def score_batch(self, debates: Sequence[dict], summaries: Sequence[str]) -> list[dict]:
        """One result per (debate, summary) pair, in order; every question of the batch in one `ask`."""
        if len(debates) != len(summaries):
            raise UsageError(f"score_batch: {len(debates)} debates but {len(summaries)} summaries; pass one debate per summary")
        indexes: dict[int, object] = {}
        plans, questions = [], []
        for debate, summary in zip(debates, summaries, strict=True):
            index = indexes.setdefault(id(debate), self.index(debate))
            sentences = split_sentences(summary) if isinstance(summary, str) else []
            ask = dict(question=debate["question"])
            blocks = _blocks(index.comment_texts)
            whole = [question("coverage", debate["language"], len(b), summary=summary, comments=numbered(b), **ask)
                     for b in blocks] if sentences else []
            parts = [[question("attribution", debate["language"], len(b), sentence=s, comments=numbered(b), **ask)
                      for b in blocks] for s in sentences]
            questions += whole + [q for row in parts for q in row]
            plans.append((index, summary if isinstance(summary, str) else "", sentences, whole, parts))
        answers = dict(zip(questions, self.judge.ask(questions), strict=True))

        def ratings(blocks) -> np.ndarray:
            return np.array([answers[q][str(k)] / 4 for q in blocks for k in range(1, q.n_items + 1)], dtype=float)

        vectors = self.backend.embed([s for plan in plans for s in plan[2]]) if questions else None
        results, start = [], 0
        for index, summary, sentences, whole, parts in plans:
            n_comments = len(index.comment_texts)
            a = np.array([ratings(row) for row in parts]).reshape(len(sentences), n_comments)
            cov = np.maximum(ratings(whole), coverage(a)) if sentences else np.zeros(n_comments)
            metrics = self.metrics(index, cov, a)
            mine = vectors[start:start + len(sentences)] if sentences else None
            start += len(sentences)
            metrics["guards"] = self.guard_values(index, summary, sentences, mine)
            metrics["guard"] = float(np.prod(list(metrics["guards"].values())))
            parts_of_reward = reward_parts(metrics)
            combined = sum(w * parts_of_reward[k] for k, w in self.weights.items()) / sum(self.weights.values())
            results.append({"pluralism": round(float(metrics["guard"] * combined), 6), "metrics": metrics,
                            "signature": self.signature(index.group_source)})
        return results

    def metrics(self, index, cov: np.ndarray, a: np.ndarray) -> dict:
        """The default scorer's metrics, from the judge's comment coverage `cov` and sentence ratings `a`."""
        attributed = attribution(a, index.profiles, self.threshold, self.tie_margin)
        return debate_metrics(index, cov, attributed, a.shape[0], self.threshold)

    def guard_values(self, index, summary: str, sentences: list[str], vectors: np.ndarray | None) -> dict:
        """The default scorer's guards (docs/design.md §7), `balance` included: the judge does not replace them."""
        claim = float(self.balance_reader.probability(sentences).max(initial=0.0))
        return summary_guards(index, summary, vectors, self.backend.embed(index.topic_texts), self.guards, claim)


class JudgeFidelityScorer:
    """Fidelity of rewrites from the judge's `fidelity` rubric (see the module notes)."""

    def __init__(self, backend, weights: dict[str, float] | None = None, flip_margin: float = 0.2,
                 flip_penalty: float = 0.5, language_penalty: float = 0.75,
                 guard_settings: G.GuardSettings = G.DEFAULT_GUARDS, threshold: float | None = None,
                 cross_lingual: bool | None = None):
        self.backend, self.judge = backend, backend.judge
        self.weights = dict(weights or FIDELITY_WEIGHTS)
        if set(self.weights) != set(FIDELITY_WEIGHTS) or min(self.weights.values()) < 0 or sum(self.weights.values()) <= 0:
            raise UsageError(f"weights must give {sorted(FIDELITY_WEIGHTS)} as non-negative numbers, got {weights}")
        self.flip_margin, self.flip_penalty, self.language_penalty = flip_margin, flip_penalty, language_penalty
        self.guard_settings = guard_settings
        self.signature = make_signature(
            scorer="fidelity", backend=backend.spec, weights=self.weights, guards=guard_settings.fields(),
            flip_margin=flip_margin, flip_penalty=flip_penalty, language_penalty=language_penalty,
            rubric=f"fidelity@{rubric_hash('fidelity')}", **self.judge.settings())

    def score(self, item: dict, outputs: Sequence[str]) -> list[dict]:
        return self.score_batch([item] * len(outputs), outputs)

    def score_batch(self, items: Sequence[dict], outputs: Sequence[str]) -> list[dict]:
        if len(items) != len(outputs):
            raise UsageError(f"score_batch: {len(items)} items but {len(outputs)} outputs; pass one item per output")
        outputs = [o if isinstance(o, str) else "" for o in outputs]
        questions = [question("fidelity", item["source_language"], question=item.get("question") or "-",
                              source=item["source"], output=text, source_language=item["source_language"],
                              target_language=item["target_language"])
                     for item, text in zip(items, outputs, strict=True)]
        answers = self.judge.ask(questions)
        return [self._result(item, text, answer) for item, text, answer in zip(items, outputs, answers, strict=True)]

    def _result(self, item: dict, text: str, answer: dict[str, float]) -> dict:
        target = item["target_language"]
        across = item["source_language"] != target
        stance_source, stance_output = (answer["source_stance"] - 3) / 2, (answer["output_stance"] - 3) / 2
        delta = stance_output - stance_source
        flip = is_flip(stance_source, stance_output, self.flip_margin)
        stance_kept = max(0.0, 1.0 - abs(delta))
        drift = (answer["intensity"] - 3) / 2
        intensity_kept = max(0.0, 1.0 - abs(drift))
        additions, omissions = answer["additions"] / 4, answer["omissions"] / 4
        meaning = 1.0 - (additions + omissions) / 2

        language = G.language_match(text, target, self.guard_settings)
        language_ok = language >= 0.5
        guard = {
            "empty": G.empty(text),
            "repetition": G.repetition(text, self.guard_settings),
            "copying": G.copying(text, [item["source"]], self.guard_settings) if across else 1.0,
        }
        w = self.weights
        mean = (w["meaning"] * meaning + w["stance"] * stance_kept + w["intensity"] * intensity_kept) / sum(w.values())
        fidelity = mean * (1.0 - self.flip_penalty * flip) * (1.0 - self.language_penalty * (not language_ok))
        fidelity *= float(np.prod(list(guard.values())))
        metrics = {
            "task": item["task"],
            "stance_source": round(stance_source, 6), "stance_output": round(stance_output, 6),
            "stance_delta": round(delta, 6), "stance_preservation": round(stance_kept, 6), "flip": flip,
            "intensity_drift": round(drift, 6), "intensity_preservation": round(intensity_kept, 6),
            "additions": round(additions, 6), "omissions": round(omissions, 6), "meaning": round(meaning, 6),
            "language_ok": language_ok, "language_match": round(language, 6),
            "copied_share": round(G.copied_share(text, [item["source"]], self.guard_settings.copy_n), 6),
            "guards": {k: round(v, 6) for k, v in guard.items()},
            "judge": {k: round(float(v), 6) for k, v in answer.items()},
        }
        return {"fidelity": float(np.clip(fidelity, 0.0, 1.0)), "metrics": metrics, "signature": self.signature}
