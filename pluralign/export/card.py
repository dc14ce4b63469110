"""The model card of an export: what trained the model, its pluralign results, data and limits.

The results come from a `pluralign eval` report (`--report`, read by `pluralign.eval.report`) or
else from the training eval hook's `eval_metrics.jsonl` (read by `pluralign.train.callbacks`).
The recipe comes from `recipe.yaml` next to the weights, read with `load_recipe` (a recipe that
pluralign did not write is read tolerantly, for what it names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pluralign import __version__
from pluralign.errors import PluralignError
from pluralign.eval.report import EvalResults, Score, read_eval_report
from pluralign.export.checkpoint import Checkpoint, ExportError
from pluralign.log import get_logger
from pluralign.rewards.backends import DEFAULT_SPEC
from pluralign.tasks import TASKS
from pluralign.train.callbacks import EVAL_FILE, read_eval_log

logger = get_logger(__name__)
RECIPE_NAMES = ("recipe.yaml", "recipe.yml")
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".arrow", ".txt")
POLIS_ATTRIBUTION = Path(__file__).resolve().parent.parent / "data" / "attribution" / "polis.md"
DEFAULT_TASK_TYPE = ("text-generation", "Deliberation assistance")
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _task_of(score: Score) -> tuple[str, str]:
    """The Hub task type and name of a score: its task's, else the task its suite or signature
    names, else the task whose score family its name starts with."""
    task = TASKS.get(score.task or "")
    for text in (score.name, score.suite or "", score.signature or ""):
        task = task or next((t for name, t in TASKS.items() if name in text.lower()), None)
    family = score.name.split("/")[0].lower()
    task = task or next((t for t in TASKS.values() if t.score_key == family), None)
    return (task.hub_type, task.hub_name) if task else DEFAULT_TASK_TYPE


def eval_results_for_card(results: EvalResults) -> list:
    """model-index entries (`huggingface_hub.EvalResult`), the signature in each one's metric args."""
    from huggingface_hub import EvalResult

    entries = []
    for score in results.scores:
        task_type, task_name = _task_of(score)
        args = {key: value for key, value in (
            ("signature", score.signature), ("ci_low", score.ci_low), ("ci_high", score.ci_high), ("n", score.n),
        ) if value is not None}
        entries.append(EvalResult(
            task_type=task_type, task_name=task_name,
            dataset_type=f"pluralign/{score.suite or 'held-out'}",
            dataset_name=score.suite or "held-out split of the training data",
            metric_type=score.name, metric_value=score.value, metric_name=score.name,
            metric_args=args or None,
        ))
    return entries


def _find_key(tree: Any, names: tuple[str, ...]) -> Any:
    """The value of the first of `names` found in a nested recipe (top level first)."""
    if isinstance(tree, Mapping):
        for name in names:
            if tree.get(name) not in (None, "", [], {}):
                return tree[name]
        for value in tree.values():
            found = _find_key(value, names)
            if found is not None:
                return found
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _is_hub_id(name: str) -> bool:
    return bool(HUB_ID_PATTERN.match(name)) and not Path(name).exists() and not Path(name).suffix


@dataclass
class CardRecipe:
    """What the card says of the training recipe."""

    path: Path | None = None
    text: str | None = None
    method: str | None = None
    task: str | None = None
    model: str | None = None
    data: list[str] = field(default_factory=list)
    license: str | None = None

    @classmethod
    def from_fields(cls, path: Path, text: str, fields: dict) -> CardRecipe:
        """Tolerant reading of a recipe pluralign did not write: the first value under each name."""
        method, task = _find_key(fields, ("method", "trainer")), _find_key(fields, ("task",))
        model = _find_key(fields, ("model_name_or_path", "model"))
        if isinstance(model, Mapping):
            model = _find_key(model, ("name_or_path", "path", "id"))
        found = _strings(_find_key(fields, ("data", "dataset", "datasets", "debates", "items", "train_file")))
        license_ = _find_key(fields, ("license",))
        return cls(path=path, text=text, method=str(method).lower() if isinstance(method, str) else None,
                   task=task if isinstance(task, str) else None, model=model if isinstance(model, str) else None,
                   data=[s for s in found if "/" in s or Path(s).suffix in DATA_SUFFIXES],
                   license=license_ if isinstance(license_, str) else None)


def read_recipe(checkpoint: Checkpoint) -> CardRecipe:
    from pluralign.train.recipe import load_recipe, load_yaml

    path = checkpoint.nearby(RECIPE_NAMES)
    if path is None:
        logger.warning(f"warning: no recipe.yaml in {' or '.join(map(str, checkpoint.folders))}; "
                       "the card will not describe the training")
        return CardRecipe()
    text = path.read_text(encoding="utf-8")
    try:
        recipe = load_recipe(path, check_files=False)
    except PluralignError:  # not a pluralign recipe: read what it names
        try:
            fields = load_yaml(text, path) or {}  # aliases bounded, as for recipes
        except (yaml.YAMLError, PluralignError) as err:
            raise ExportError(f"{path}: not valid YAML ({err}); fix it or remove it") from err
        return CardRecipe.from_fields(path, text, fields if isinstance(fields, dict) else {})
    data = recipe.raw.get("data") or {}
    return CardRecipe(path=path, text=text, method=recipe.method, task=recipe.task, model=recipe.model.name_or_path,
                      data=[data["path"]] if isinstance(data, dict) and data.get("path") else [])


def polis_attribution() -> str:
    """The CC BY 4.0 attribution for the Polis data, as its source asks for it (package data)."""
    return POLIS_ATTRIBUTION.read_text(encoding="utf-8").strip()


def _uses_polis(recipe: CardRecipe, results: EvalResults | None) -> bool:
    texts = [recipe.text or "", *recipe.data]
    if results:
        texts += [results.command or "", *(s.suite or "" for s in results.scores)]
    return "polis" in " ".join(texts).lower()


def _results_table(results: EvalResults) -> str:
    """One table per suite, each with its signature."""
    lines = [f"Source: {results.source}."]
    if results.command:
        lines.append(f"Command: `{results.command}`")
    by_suite: dict[str | None, list[Score]] = {}
    for score in results.scores:
        by_suite.setdefault(score.suite, []).append(score)
    for suite, scores in by_suite.items():
        lines += ["", f"### {suite or 'held-out split of the training data'}", "", "| metric | value | 95% CI | n |", "|---|---|---|---|"]
        for s in scores:
            ci = f"[{s.ci_low:.4f}, {s.ci_high:.4f}]" if s.ci_low is not None and s.ci_high is not None else "–"
            lines.append(f"| {s.name} | {s.value:.4f} | {ci} | {s.n if s.n is not None else '–'} |")
        signatures = sorted({s.signature for s in scores if s.signature})
        lines.append("")
        lines += [f"Signature: `{sig}`" for sig in signatures] or ["Signature: none was recorded."]
    lines.append("\nTwo numbers are comparable only when their signatures are equal (`pluralign eval compare` checks it).")
    if results.skipped:
        lines.append(f"Not shown (not a finite number): {', '.join(results.skipped)}.")
    return "\n".join(lines)


def _backend(results: EvalResults | None) -> str | None:
    if results is None:
        return None
    for score in results.scores:
        match = re.search(r"(?:^|\|)backend:([^|]+)", score.signature or "")
        if match:
            return match.group(1)
    return results.backend


def _limits(results: EvalResults | None) -> str:
    backend = _backend(results) or "unknown"
    default = DEFAULT_SPEC
    lines = [
        f"- The scores were computed with the backend `{backend}`"
        + (". It" if backend == default else f". The default, `{default}`,")
        + " is an English-centred sentence-embedding model: scores on other languages are less reliable, "
        "and embeddings do not see negation or stance on their own.",
        "- Opinion groups come from given labels, from votes (the Polis way) or from embedding clusters; "
        "the signature says which. Coverage is only as good as those groups.",
        "- Training and evaluation debates may be synthetic. Synthetic debates have known groups but "
        "simple, templated language; good scores on them do not transfer automatically to real debates.",
        "- The scores measure whether opinion groups are visible and proportionate (pluralism) and whether "
        "a rewrite keeps stance, meaning and intensity (fidelity). They do not measure factual accuracy, "
        "fluency, toxicity or harm, nor whether a summary is useful to the people who read it.",
        "- A model trained on these scores as rewards may have learned to please the scorer; the guards "
        "(copying, keyword stuffing, repetition, wrong language) catch the known ways, not all of them.",
    ]
    return "\n".join(lines)


def build_model_card(*, model_name: str, library_name: str, base_model: str | None, recipe: CardRecipe,
                     results: EvalResults | None, architecture: str | None, is_lora: bool,
                     license: str | None = None, notice: str | None = None):
    from huggingface_hub import ModelCard, ModelCardData

    family = TASKS[recipe.task].score_key if recipe.task in TASKS else "pluralism"
    tags = ["pluralign", "deliberation", family, "trl"]
    tags += [t for t in (recipe.method, recipe.task, "lora" if is_lora else None) if t and t not in tags]
    tags += ["incomplete-run"] if notice else []  # an unfinished run, exported with --allow-incomplete
    hub_base = base_model if base_model and _is_hub_id(base_model) else None
    datasets = [d for d in recipe.data if _is_hub_id(d)] + [Path(d).stem for d in recipe.data if not _is_hub_id(d)]
    pipeline_tag = "text-classification" if (architecture or "").endswith("SequenceClassification") else "text-generation"

    data = ModelCardData(
        model_name=model_name, base_model=hub_base, library_name=library_name, tags=tags,
        datasets=datasets or None, license=license, pipeline_tag=pipeline_tag,
        eval_results=eval_results_for_card(results) if results else None,
    )
    what = f"`{recipe.method}`" if recipe.method else "a pluralign recipe"
    from_base = f" from `{hub_base or Path(base_model).name}`" if base_model else ""
    sections = [
        f"# {model_name}",
        *([f"> {notice}"] if notice else []),
        f"Trained with pluralign {__version__} ({what}"
        f"{', task `' + recipe.task + '`' if recipe.task else ''}){from_base}. pluralign measures whether a "
        "deliberation assistant keeps minority opinions visible (pluralism) and keeps what people said "
        "(fidelity), and uses the same scorers as TRL rewards.",
        "## pluralign benchmark results",
        _results_table(results) if results else "No pluralign results were found for this checkpoint "
        "(pass `--report` the folder of a `pluralign eval` run).",
        "## Training recipe",
        (f"The recipe that trained this model is `recipe.yaml` in this repository:\n\n```yaml\n"
         f"{recipe.text.rstrip()}\n```" if recipe.text else "The training recipe was not found next to the checkpoint."),
        "## Data",
        "\n".join(f"- `{d}`" for d in recipe.data) or "The recipe names no data.",
    ]
    if _uses_polis(recipe, results):
        sections.append("### Polis data (CC BY 4.0)\n\n" + polis_attribution())
    sections += ["## Limits of the scores", _limits(results)]
    head = "SequenceClassification" if pipeline_tag == "text-classification" else "CausalLM"
    if library_name == "peft":
        usage = (f"from peft import AutoPeftModelFor{head}\n\n"
                 f"model = AutoPeftModelFor{head}.from_pretrained(\"{model_name}\")")
    else:
        usage = (f"from transformers import AutoModelFor{head}, AutoTokenizer\n\n"
                 f"model = AutoModelFor{head}.from_pretrained(\"{model_name}\")\n"
                 f"tokenizer = AutoTokenizer.from_pretrained(\"{model_name}\")")
    sections += ["## Use", f"```python\n{usage}\n```"]
    body = "\n\n".join(sections)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}\n")


def license_of(base_model: str | None) -> str | None:
    """The license in a local base model's own card, when it has one."""
    card = Path(base_model) / "README.md" if base_model else None
    if card is None or not card.is_file():
        return None
    from huggingface_hub import ModelCard

    try:
        return ModelCard.load(card).data.license
    except Exception:  # a malformed card on the base model is not this export's problem
        return None


def find_results(checkpoint: Checkpoint, report: str | Path | None, recipe: CardRecipe) -> EvalResults | None:
    """The `--report` results, else the eval hook's entry for this checkpoint, else None."""
    if report:
        results = read_eval_report(report)
    else:
        log_path = checkpoint.nearby((EVAL_FILE,))
        results = read_eval_log(log_path, checkpoint.step, checkpoint.run_id) if log_path else None
        if results is None:
            logger.warning(f"warning: no --report and no {EVAL_FILE} in {' or '.join(map(str, checkpoint.folders))}; "
                "the card will carry no benchmark results")
            return None
        for score in results.scores:  # the hook scores the recipe's task
            score.task = score.task or recipe.task
    for name in results.skipped:
        logger.warning(f"warning: metric {name} is not a finite number; left out of the card")
    return results
