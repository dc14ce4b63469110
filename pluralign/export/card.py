"""The model card of an export: what trained the model, its pluralign results, data and limits.

The results come from a `pluralign eval` report (`--report`, read by `pluralign.eval.report`) or
else from the training eval hook's `eval_metrics.jsonl` (read by `pluralign.train.callbacks`).
The recipe comes from `recipe.yaml` next to the weights, read with `load_recipe` (a recipe that
pluralign did not write is read tolerantly, for what it names).

What the Hub reads: `datasets` holds Hub dataset ids only (the recipe's Hub training data and the
benchmark dataset); the benchmark results go to `.eval_results/<benchmark>.yaml` (huggingface_hub's
`EvalResultEntry` format: one entry per task, `task_id` the task name, the value its headline
score) and to `model-index`, both only when they can point at a real Hub dataset (`--benchmark-dataset`,
or the Hub dataset the eval hook's held-out split came from). Counts (`n_participants`,
`n_unscored`, ...) describe the data, not the model: the card lists them apart. The base model's
license is inherited, and TRL's own card (its W&B link, framework versions, citations) is kept.
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


def is_count(name: str) -> bool:
    """A count of the data (`n_participants`, `pluralism/n_unscored`), not a result."""
    return name.rsplit("/", 1)[-1].startswith("n_")


def split_counts(results: EvalResults) -> tuple[list[Score], list[Score]]:
    """(results, counts) of the scores."""
    return ([s for s in results.scores if not is_count(s.name)], [s for s in results.scores if is_count(s.name)])


def _dataset_of(score: Score, benchmark: str | None, training_data: str | None) -> tuple[str, str] | None:
    """(Hub dataset id, split) a score was measured on, or None when it is not on the Hub: the
    benchmark for a suite of a `pluralign eval` report, the training data's Hub dataset for the
    eval hook's held-out split."""
    if score.suite:
        return (benchmark, "test") if benchmark else None
    return (training_data, "held-out") if training_data else None


def eval_results_for_card(results: EvalResults, benchmark: str | None = None, training_data: str | None = None) -> list:
    """model-index entries (`huggingface_hub.EvalResult`), the signature in each one's metric args;
    only scores measured on a Hub dataset, counts left out."""
    from huggingface_hub import EvalResult

    entries = []
    for score in split_counts(results)[0]:
        dataset = _dataset_of(score, benchmark, training_data)
        if dataset is None:
            continue
        task_type, task_name = _task_of(score)
        args = {key: value for key, value in (
            ("signature", score.signature), ("ci_low", score.ci_low), ("ci_high", score.ci_high), ("n", score.n),
        ) if value is not None}
        entries.append(EvalResult(
            task_type=task_type, task_name=task_name, dataset_type=dataset[0],
            dataset_name=score.suite or "held-out split of the training data", dataset_split=dataset[1],
            dataset_config=score.task or None, metric_type=score.name, metric_value=score.value,
            metric_name=score.name, metric_args=args or None,
        ))
    return entries


def eval_result_entries(results: EvalResults, benchmark: str, model_id: str | None = None) -> list:
    """`.eval_results/` entries (huggingface_hub 2.4 `EvalResultEntry`): per task of a `pluralign eval`
    report, its headline score (`pluralism` or `fidelity`) on the benchmark dataset, with the
    signature, the 95% CI and n in `notes`."""
    from huggingface_hub import EvalResultEntry

    entries = []
    for score in results.scores:
        task = TASKS.get(score.task or "")
        if not score.suite or task is None or score.name != task.score_key:
            continue
        notes = "; ".join(part for part in (
            f"signature {score.signature}" if score.signature else "",
            f"95% CI [{score.ci_low:.4f}, {score.ci_high:.4f}]" if score.ci_low is not None and score.ci_high is not None else "",
            f"n={score.n}" if score.n is not None else "") if part)
        source = {"source_url": f"https://huggingface.co/{model_id}", "source_name": "pluralign eval"} \
            if model_id and _is_hub_id(model_id) and "/" in model_id else {}
        entries.append(EvalResultEntry(dataset_id=benchmark, task_id=task.name, value=round(score.value, 6),
                                       notes=notes or None, **source))
    return entries


def eval_results_yaml(entries: list) -> str:
    from huggingface_hub import eval_result_entries_to_yaml

    return yaml.safe_dump(eval_result_entries_to_yaml(entries), sort_keys=False, allow_unicode=True)


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
    # Not a local path, and no file suffix: `Qwen/Qwen2.5-1.5B-Instruct` has a dot but is an id.
    suffix = Path(name).suffix.lower()
    return bool(HUB_ID_PATTERN.match(name)) and not Path(name).exists() and suffix not in (*DATA_SUFFIXES, ".yaml", ".yml")


def is_hub_dataset(name: str | None) -> bool:
    """`org/name`: a dataset id the Hub can resolve (a bare name or a file stem is not)."""
    return bool(name) and _is_hub_id(name) and "/" in name


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
    synth: dict | None = None  # the recipe's data.synth: synthetic debates built at load

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
                      data=[data["path"]] if isinstance(data, dict) and data.get("path") else [],
                      synth=recipe.data.synth)


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
            if is_count(s.name):
                continue
            ci = f"[{s.ci_low:.4f}, {s.ci_high:.4f}]" if s.ci_low is not None and s.ci_high is not None else "–"
            lines.append(f"| {s.name} | {s.value:.4f} | {ci} | {s.n if s.n is not None else '–'} |")
        counts = [s for s in scores if is_count(s.name)]
        if counts:
            lines += ["", "Counts of the data (means per scored output, not results): "
                      + ", ".join(f"{s.name} {s.value:g}" for s in counts) + "."]
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


@dataclass
class TrlCard:
    """What TRL's own card (README.md in the output dir, written at each checkpoint) adds: its
    tags, and its `## Training procedure` (W&B link, trainer, framework versions) and `## Citations`."""

    tags: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path | None) -> TrlCard | None:
        from huggingface_hub import ModelCard

        if path is None:
            return None
        try:
            card = ModelCard.load(path)
        except Exception:  # not a card: nothing to keep
            return None
        if "TRL" not in card.text:
            return None  # a card TRL did not write (e.g. the base model's)
        parts = re.split(r"(?m)^(?=## )", card.text)
        keep = [p.strip() for p in parts if p.startswith(("## Training procedure", "## Citations"))]
        return cls(tags=list(card.data.tags or []), sections=keep)

    @classmethod
    def find(cls, checkpoint: Checkpoint) -> TrlCard | None:
        """TRL's card in the checkpoint's folders (TRL writes it into the output dir; peft writes a
        card of its own into each checkpoint)."""
        for folder in checkpoint.folders:
            card = cls.read(folder / "README.md") if (folder / "README.md").is_file() else None
            if card is not None:
                return card
        return None


def build_model_card(*, model_name: str, library_name: str, base_model: str | None, recipe: CardRecipe,
                     results: EvalResults | None, architecture: str | None, is_lora: bool,
                     license: dict | str | None = None, benchmark: str | None = None, trl_card: TrlCard | None = None,
                     notice: str | None = None):
    """The card (`huggingface_hub.ModelCard`). `license`: the base model's `license` (and
    `license_name`/`license_link` for `other`); `benchmark`: the Hub dataset id of the benchmark
    the report's suites come from; `notice`: a line the card opens with (an incomplete run)."""
    from huggingface_hub import ModelCard, ModelCardData

    family = TASKS[recipe.task].score_key if recipe.task in TASKS else "pluralism"
    tags = ["pluralign", "deliberation", family, "trl"]
    tags += [t for t in (recipe.method, recipe.task, "lora" if is_lora else None, *(trl_card.tags if trl_card else ()))
             if t and t not in tags]
    tags += ["incomplete-run"] if notice else []  # an unfinished run, exported with --allow-incomplete
    hub_base = base_model if base_model and _is_hub_id(base_model) else None
    training_data = next((d for d in recipe.data if is_hub_dataset(d)), None)
    datasets = [d for d in (*recipe.data, benchmark) if is_hub_dataset(d)]
    pipeline_tag = "text-classification" if (architecture or "").endswith("SequenceClassification") else "text-generation"
    licenses = license if isinstance(license, dict) else {"license": license}

    data = ModelCardData(
        model_name=model_name, base_model=hub_base, library_name=library_name, tags=tags,
        datasets=list(dict.fromkeys(datasets)) or None, pipeline_tag=pipeline_tag,
        eval_results=(eval_results_for_card(results, benchmark, training_data) or None) if results else None,
        **{k: v for k, v in licenses.items() if v},
    )
    what = f"`{recipe.method}`" if recipe.method else "a pluralign recipe"
    from_base = f" from `{hub_base or Path(base_model).name}`" if base_model else ""
    leaderboard = (f"\n\nThe headline score of each task is also in `.eval_results/`, on the "
                   f"[{benchmark}](https://huggingface.co/datasets/{benchmark}) leaderboard." if benchmark else "")
    sections = [
        f"# {model_name}",
        *([f"> {notice}"] if notice else []),
        f"Trained with pluralign {__version__} ({what}"
        f"{', task `' + recipe.task + '`' if recipe.task else ''}){from_base}. pluralign measures whether a "
        "deliberation assistant keeps minority opinions visible (pluralism) and keeps what people said "
        "(fidelity), and uses the same scorers as TRL rewards.",
        "## pluralign benchmark results",
        (_results_table(results) + leaderboard) if results else "No pluralign results were found for this checkpoint "
        "(pass `--report` the folder of a `pluralign eval` run).",
        "## Training recipe",
        (f"The recipe that trained this model is `recipe.yaml` in this repository:\n\n```yaml\n"
         f"{recipe.text.rstrip()}\n```" if recipe.text else "The training recipe was not found next to the checkpoint."),
        "## Data",
        _data_section(recipe),
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
    if trl_card:
        sections += trl_card.sections
    body = "\n\n".join(sections)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}\n")


def _data_section(recipe: CardRecipe) -> str:
    lines = [f"- [`{d}`](https://huggingface.co/datasets/{d})" if is_hub_dataset(d) else f"- `{d}` (a local file)"
             for d in recipe.data]
    if recipe.synth:
        lines.append(f"- synthetic debates generated by pluralign (`data.synth: {recipe.synth}`)")
    return "\n".join(lines) or "The recipe names no data."


LICENSE_FIELDS = ("license", "license_name", "license_link")


def license_of(base_model: str | None) -> dict:
    """The base model's license (`license`, and `license_name`/`license_link` for `other`), from its
    card: a local folder's README.md, else the Hub card (from the local cache, or fetched when online)."""
    if not base_model:
        return {}
    from huggingface_hub import ModelCard, constants, try_to_load_from_cache

    card_path = Path(base_model) / "README.md"
    if not card_path.is_file() and _is_hub_id(base_model):
        cached = try_to_load_from_cache(base_model, "README.md")
        card_path = Path(cached) if isinstance(cached, str) else None
    try:
        if card_path is not None and card_path.is_file():
            data = ModelCard.load(card_path).data
        elif _is_hub_id(base_model) and not constants.is_offline_mode():
            data = ModelCard.load(base_model).data
        else:
            return {}
    except Exception:  # no card, a malformed one, or no network: the card says nothing of the license
        return {}
    return {key: getattr(data, key, None) for key in LICENSE_FIELDS if getattr(data, key, None)}


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
