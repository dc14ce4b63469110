"""`pluralign export`: a training checkpoint becomes a folder ready for the Hub.

The folder holds safetensors weights (a full model, a LoRA merged into its base, or the LoRA
adapter itself), the tokenizer, the recipe that trained the model, and a model card whose
`model-index` carries the pluralign benchmark results with their signature. The results come
from a `pluralign eval` report (`report.json`) or else from the training eval hook's
`eval_metrics.jsonl`. Pushing goes through `huggingface_hub` (`create_repo` + `upload_folder`);
the token is whatever `huggingface_hub` resolves (HF_TOKEN, then the `hf auth login` file) and
is never printed or written.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pluralign import __version__

RECIPE_NAMES = ("recipe.yaml", "recipe.yml")
REPORT_NAME = "report.json"
EVAL_LOG_NAME = "eval_metrics.jsonl"
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".arrow", ".txt")
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "vocab.txt", "tokenizer.model")
# Where the Polis attribution statement is kept: the shipped excerpt's, then the source copy's.
POLIS_ATTRIBUTION_FILES = (
    Path(__file__).resolve().parent.parent / "data" / "polis" / "ATTRIBUTION.md",
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "polis" / "LICENSE-and-source.md",
)
POLIS_ATTRIBUTION_FALLBACK = (
    "Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed "
    "under CC BY 4.0 with Attribution to The Computational Democracy Project. The data and more "
    "information about how the data was collected can be found at "
    "https://github.com/compdemocracy/openData."
)
# Hub task types (model-index `task.type`) and a readable name for each pluralign task.
TASK_TYPES = {
    "summarize": ("summarization", "Debate summarization: pluralism"),
    "reformulate": ("text2text-generation", "Reformulation: fidelity"),
    "translate": ("translation", "Translation: fidelity"),
}
DEFAULT_TASK_TYPE = ("text-generation", "Deliberation assistance")
HF_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{20,}")
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ExportError(Exception):
    """A problem with the user's input: the message names the path and says what to do."""


def log(message: str) -> None:
    print(message, file=sys.stderr)


# --- the checkpoint ----------------------------------------------------------------------------


@dataclass
class Checkpoint:
    dir: Path  # holds config.json (a full model) or adapter_config.json (a peft adapter)
    is_adapter: bool
    base_model: str | None  # the adapter's base model, id or path
    step: int | None  # the training step it was saved at, where known

    @property
    def folders(self) -> tuple[Path, ...]:
        """Where its recipe, eval log and tokenizer may be: a checkpoint-N's training output dir too."""
        return (self.dir, self.dir.parent) if self.dir.name.startswith("checkpoint-") else (self.dir,)

    def nearby(self, names: tuple[str, ...]) -> Path | None:
        """The first of `names` in its folders."""
        for folder in self.folders:
            for name in names:
                if (folder / name).is_file():
                    return folder / name
        return None


def _checkpoint_number(path: Path) -> int:
    return int(path.name.rsplit("-", 1)[1])


def locate_checkpoint(path: str | Path) -> Checkpoint:
    """The model folder of a training output dir or checkpoint dir (its latest checkpoint-N if the
    output dir holds no final model)."""
    path = Path(path)
    if not path.is_dir():
        raise ExportError(f"{path}: no such folder; pass a training output dir or a checkpoint-N dir")

    def holds_model(folder: Path) -> bool:
        return (folder / "adapter_config.json").is_file() or (folder / "config.json").is_file()

    folder = path
    if not holds_model(path):
        checkpoints = sorted(
            (p for p in path.glob("checkpoint-*") if p.name.rsplit("-", 1)[1].isdigit() and holds_model(p)),
            key=_checkpoint_number,
        )
        if not checkpoints:
            raise ExportError(
                f"{path}: CHECKPOINT has no config.json or adapter_config.json, nor a checkpoint-N folder "
                "holding one; pass the output_dir of a `pluralign train` run or one of its checkpoint-N folders"
            )
        folder = checkpoints[-1]
        log(f"using the latest checkpoint in {path}: {folder.name}")

    is_adapter = (folder / "adapter_config.json").is_file()
    base_model = None
    if is_adapter:
        adapter_config = _read_json(folder / "adapter_config.json")
        base_model = adapter_config.get("base_model_name_or_path")
        if not base_model:
            raise ExportError(
                f"{folder / 'adapter_config.json'}: base_model_name_or_path is missing; set it to the "
                "path or Hub id of the model the adapter was trained on"
            )
    return Checkpoint(dir=folder, is_adapter=is_adapter, base_model=base_model, step=_checkpoint_step(folder))


def _checkpoint_step(folder: Path) -> int | None:
    state = folder / "trainer_state.json"
    if state.is_file():
        step = _read_json(state).get("global_step")
        if isinstance(step, int):
            return step
    suffix = folder.name.rsplit("-", 1)[-1]
    return int(suffix) if folder.name.startswith("checkpoint-") and suffix.isdigit() else None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportError(f"{path}: not readable JSON ({err}); re-save it or pass another checkpoint") from err
    if not isinstance(data, dict):
        raise ExportError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


# --- weights and tokenizer ---------------------------------------------------------------------


def _model_class(model_dir: str | Path):
    """The transformers class that saved the model, from its config's `architectures`."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(model_dir)
    names = getattr(config, "architectures", None) or []
    if not names or not hasattr(transformers, names[0]):
        raise ExportError(
            f"{model_dir}/config.json: architectures={names!r} names no transformers class; "
            "pluralign export does not run remote code, so save the model with a transformers architecture"
        )
    return getattr(transformers, names[0])


def _load_model(checkpoint: Checkpoint):
    """The full model, or the adapter merged into its base (`merge_and_unload`)."""
    if not checkpoint.is_adapter:
        return _model_class(checkpoint.dir).from_pretrained(checkpoint.dir, dtype="auto")
    from peft import PeftModel

    log(f"loading base model {checkpoint.base_model} to merge the adapter into it")
    try:
        base = _model_class(checkpoint.base_model).from_pretrained(checkpoint.base_model, dtype="auto")
    except OSError as err:
        raise ExportError(
            f"{checkpoint.dir / 'adapter_config.json'}: base model {checkpoint.base_model!r} could not be "
            f"loaded ({err}); make it available locally (or set base_model_name_or_path to a local copy)"
        ) from err
    return PeftModel.from_pretrained(base, checkpoint.dir).merge_and_unload()


def _copy_adapter(checkpoint: Checkpoint, out: Path) -> None:
    weights = checkpoint.dir / "adapter_model.safetensors"
    if not weights.is_file():
        raise ExportError(f"{checkpoint.dir}: adapter_config.json but no adapter_model.safetensors; "
                          "re-save the adapter with peft's save_pretrained (safetensors is its default)")
    shutil.copy2(checkpoint.dir / "adapter_config.json", out / "adapter_config.json")
    shutil.copy2(weights, out / weights.name)


def _write_tokenizer(checkpoint: Checkpoint, out: Path) -> None:
    from transformers import AutoTokenizer

    sources = [*checkpoint.folders, *([checkpoint.base_model] if checkpoint.base_model else [])]
    for source in sources:
        if Path(source).is_dir() and not any((Path(source) / name).is_file() for name in TOKENIZER_FILES):
            continue
        try:
            AutoTokenizer.from_pretrained(source).save_pretrained(out)
            return
        except (OSError, ValueError):
            continue
    raise ExportError(
        f"{checkpoint.dir}: no tokenizer found there, in its training output dir or in the base model; save it next to "
        "the weights with tokenizer.save_pretrained(CHECKPOINT)"
    )


def write_weights(checkpoint: Checkpoint, out: Path, merge_lora: bool) -> str:
    """Write the model (or adapter) and tokenizer into `out`; returns the card's `library_name`."""
    if checkpoint.is_adapter and not merge_lora:
        log(f"copying the LoRA adapter from {checkpoint.dir} (pass --merge-lora to merge it into its base)")
        _copy_adapter(checkpoint, out)
        library_name = "peft"
    else:
        if merge_lora and not checkpoint.is_adapter:
            log(f"note: {checkpoint.dir} is a full model, not an adapter; --merge-lora has nothing to merge")
        log(f"writing safetensors weights from {checkpoint.dir}" + (" with the adapter merged" if checkpoint.is_adapter else ""))
        _load_model(checkpoint).save_pretrained(out)
        library_name = "transformers"
    _write_tokenizer(checkpoint, out)
    return library_name


# --- benchmark results -------------------------------------------------------------------------


@dataclass
class Score:
    name: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    signature: str | None = None
    suite: str | None = None  # e.g. pluralign-summarize-v1
    task: str | None = None  # summarize, reformulate or translate, where known


@dataclass
class EvalResults:
    scores: list[Score]
    source: str  # what the numbers come from, for the card
    backend: str | None = None
    command: str | None = None  # the eval command line, where the report keeps it
    skipped: list[str] = field(default_factory=list)  # metrics that are not finite numbers


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _signature_for(metric: str, signature: Any) -> str | None:
    """A metric's signature: the one given, or, from the eval hook's `{"pluralism": sig, "fidelity":
    sig}`, the one its name starts with (`pluralism/min_group_coverage`), or the only one."""
    if isinstance(signature, str):
        return signature
    if isinstance(signature, Mapping):
        own = signature.get(metric.split("/")[0])
        if own is None and len(signature) == 1:
            own = next(iter(signature.values()))
        return own if isinstance(own, str) else None
    return None


def _scores(metrics: Mapping, signature: Any, suite: Any = None, task: Any = None,
            default_n: Any = None) -> tuple[list[Score], list[str]]:
    """Scores from `{name: number}` or `{name: {"mean"|"value", "ci_low", "ci_high", "n", "signature"?}}`."""
    scores, skipped = [], []
    for name, entry in metrics.items():
        details = entry if isinstance(entry, Mapping) else {"mean": entry}
        value = _number(details.get("mean", details.get("value")))
        if value is None:
            skipped.append(f"{suite}/{name}" if suite else str(name))
            continue
        n = details.get("n", default_n)
        own_signature = details.get("signature") or _signature_for(str(name), signature)
        scores.append(Score(
            name=str(name), value=value, ci_low=_number(details.get("ci_low")),
            ci_high=_number(details.get("ci_high")), n=n if isinstance(n, int) else None,
            signature=own_signature if isinstance(own_signature, str) else None,
            suite=str(suite) if suite else None, task=str(task) if task else None,
        ))
    return scores, skipped


def read_eval_report(report: str | Path) -> EvalResults:
    """The results of a `pluralign eval` run: its folder (or its report.json). Reads the per-suite
    layout (`suites: {task: {suite, signature, metrics}}`) and a flat one (`suite`, `signature`,
    `metrics` at the top)."""
    path = Path(report)
    path = path / REPORT_NAME if path.is_dir() else path
    if not path.is_file():
        raise ExportError(f"{path}: not found; pass --report the folder that `pluralign eval --out` wrote")
    data = _read_json(path)
    sections = data.get("suites")
    if isinstance(sections, Mapping) and sections:
        sections = {task: s for task, s in sections.items() if isinstance(s, Mapping)}
    elif isinstance(data.get("metrics"), Mapping):
        sections = {data.get("task"): data}
    else:
        raise ExportError(f"{path}: suites: missing or empty; pass the report.json of a `pluralign eval` run")
    scores, skipped = [], []
    for task, section in sections.items():
        metrics = section.get("metrics")
        if not isinstance(metrics, Mapping):
            raise ExportError(f"{path}: suites.{task}.metrics: missing; pass the report.json of a `pluralign eval` run")
        suite = section.get("suite")
        suite = suite.get("name") if isinstance(suite, Mapping) else suite
        found, left_out = _scores(metrics, section.get("signature"), suite=suite or task,
                                  task=section.get("task") or task)
        scores += found
        skipped += left_out
    if not scores:
        raise ExportError(f"{path}: metrics: no metric has a finite mean")
    backend = data.get("backend") if isinstance(data.get("backend"), str) else None
    command = data.get("command") if isinstance(data.get("command"), str) else None
    return EvalResults(scores=scores, source=f"`pluralign eval` report ({path.name})", backend=backend,
                       command=command, skipped=skipped)


def read_eval_log(path: Path, up_to_step: int | None = None) -> EvalResults | None:
    """The eval hook's last entry in `eval_metrics.jsonl` (the last at or before `up_to_step`)."""
    chosen, chosen_line = None, None
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as err:
                raise ExportError(f"{path}:{number}: not JSON ({err}); fix or remove the line") from err
            if not isinstance(entry, dict) or not isinstance(entry.get("metrics"), Mapping):
                raise ExportError(f"{path}:{number}: metrics: missing; each line needs a metrics object")
            step = entry.get("step")
            if up_to_step is None or not isinstance(step, int) or step <= up_to_step:
                chosen, chosen_line = entry, number
    if chosen is None:
        return None
    scores, skipped = _scores(chosen["metrics"], chosen.get("signature"), suite=chosen.get("suite"),
                              task=chosen.get("task"), default_n=chosen.get("n"))
    if not scores:
        raise ExportError(f"{path}:{chosen_line}: metrics: no metric is a finite number")
    step = chosen.get("step")
    where = f"step {step}" if step is not None else f"line {chosen_line}"
    return EvalResults(scores=scores, source=f"training eval hook ({path.name}, {where})", skipped=skipped)


def _task_of(score: Score) -> tuple[str, str]:
    if score.task in TASK_TYPES:
        return TASK_TYPES[score.task]
    for text in (score.name, score.suite or "", score.signature or ""):
        for task, types in TASK_TYPES.items():
            if task in text.lower():
                return types
    lowered = score.name.lower()
    if "fidelity" in lowered or "stance" in lowered:
        return TASK_TYPES["reformulate"]
    if "plural" in lowered or "coverage" in lowered or "deficit" in lowered:
        return TASK_TYPES["summarize"]
    return DEFAULT_TASK_TYPE


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


# --- recipe and model card ---------------------------------------------------------------------


def _scrub(text: str) -> str:
    """Replace anything that looks like a Hub token (and the token in use) with <redacted>."""
    from huggingface_hub import get_token

    token = get_token()
    if token:
        text = text.replace(token, "<redacted>")
    return HF_TOKEN_PATTERN.sub("<redacted>", text)


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
class Recipe:
    path: Path | None
    text: str | None
    fields: dict

    @property
    def method(self) -> str | None:
        value = _find_key(self.fields, ("method", "trainer"))
        return str(value).lower() if isinstance(value, str) else None

    @property
    def task(self) -> str | None:
        value = _find_key(self.fields, ("task",))
        return str(value) if isinstance(value, str) else None

    @property
    def model(self) -> str | None:
        value = _find_key(self.fields, ("model_name_or_path", "model"))
        if isinstance(value, Mapping):
            value = _find_key(value, ("name_or_path", "path", "id"))
        return value if isinstance(value, str) else None

    @property
    def data(self) -> list[str]:
        """The data files or dataset ids it names (other settings under `data:` are left out)."""
        found = _strings(_find_key(self.fields, ("data", "dataset", "datasets", "debates", "items", "train_file")))
        return [s for s in found if "/" in s or Path(s).suffix in DATA_SUFFIXES]

    @property
    def license(self) -> str | None:
        value = _find_key(self.fields, ("license",))
        return value if isinstance(value, str) else None


def read_recipe(checkpoint: Checkpoint) -> Recipe:
    path = checkpoint.nearby(RECIPE_NAMES)
    if path is None:
        log(f"warning: no recipe.yaml in {' or '.join(map(str, checkpoint.folders))}; "
            "the card will not describe the training")
        return Recipe(path=None, text=None, fields={})
    text = path.read_text(encoding="utf-8")
    try:
        fields = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ExportError(f"{path}: not valid YAML ({err}); fix it or remove it") from err
    return Recipe(path=path, text=text, fields=fields if isinstance(fields, dict) else {})


def polis_attribution() -> str:
    """The CC BY 4.0 attribution for the Polis data, as its source asks for it."""
    shipped, source = POLIS_ATTRIBUTION_FILES
    if shipped.is_file():
        # The shipped excerpt's own attribution: what it is, the statement, and the changes made.
        text = shipped.read_text(encoding="utf-8").strip()
        return re.sub(r"^# .*\n+", "", text).replace("(see `../README.md`", "(see `data/README.md` in pluralign")
    if source.is_file():
        text = source.read_text(encoding="utf-8")
        statement = re.search(r"BEGIN STATEMENT -+\n(.*?)\n[^\n]*END STATEMENT", text, re.S)
        if statement:
            lines = [re.sub(r"^[>\s]*", "", line) for line in statement.group(1).splitlines()]
            paragraphs = [" ".join(p.split()) for p in "\n".join(lines).split("\n\n") if p.strip()]
            links = re.findall(r"^- (https?://\S+)", text, re.M)
            body = "\n\n".join(p for p in paragraphs if not p.startswith("<links"))
            links_list = "\n".join(f"- {link}" for link in links)
            return f"{body}\n\n{links_list}\n\nLicense: CC BY 4.0, https://creativecommons.org/licenses/by/4.0/"
    return POLIS_ATTRIBUTION_FALLBACK


def _uses_polis(recipe: Recipe, results: EvalResults | None) -> bool:
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
    default = "embedding:all-MiniLM-L6-v2"
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


def build_model_card(*, model_name: str, library_name: str, base_model: str | None, recipe: Recipe,
                     results: EvalResults | None, architecture: str | None, is_lora: bool,
                     license: str | None = None):
    from huggingface_hub import ModelCard, ModelCardData

    family = "fidelity" if (recipe.task or "") in ("reformulate", "translate") else "pluralism"
    tags = ["pluralign", "deliberation", family, "trl"]
    tags += [t for t in (recipe.method, recipe.task, "lora" if is_lora else None) if t and t not in tags]
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


def _license_of(base_model: str | None) -> str | None:
    """The license in a local base model's own card, when it has one."""
    card = Path(base_model) / "README.md" if base_model else None
    if card is None or not card.is_file():
        return None
    from huggingface_hub import ModelCard

    try:
        return ModelCard.load(card).data.license
    except Exception:  # a malformed card on the base model is not this export's problem
        return None


# --- the export ----------------------------------------------------------------------------------


def upload_listing(folder: str | Path) -> list[tuple[str, int]]:
    """The files `upload_folder` would send, with their sizes in bytes."""
    from huggingface_hub.hf_api import DEFAULT_IGNORE_PATTERNS
    from huggingface_hub.utils import filter_repo_objects

    folder = Path(folder)
    paths = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    kept = filter_repo_objects(paths, ignore_patterns=DEFAULT_IGNORE_PATTERNS)
    return [(path, (folder / path).stat().st_size) for path in kept]


def format_listing(listing: list[tuple[str, int]]) -> Iterator[str]:
    for path, size in listing:
        yield f"{size:>14,d}  {path}"
    yield f"{sum(size for _, size in listing):>14,d}  total ({len(listing)} files)"


def find_results(checkpoint: Checkpoint, report: str | Path | None, recipe: Recipe) -> EvalResults | None:
    """The `--report` results, else the eval hook's entry for this checkpoint, else None."""
    if report:
        results = read_eval_report(report)
    else:
        log_path = checkpoint.nearby((EVAL_LOG_NAME,))
        results = read_eval_log(log_path, checkpoint.step) if log_path else None
        if results is None:
            log(f"warning: no --report and no {EVAL_LOG_NAME} in {' or '.join(map(str, checkpoint.folders))}; "
                "the card will carry no benchmark results")
            return None
        for score in results.scores:  # the hook scores the recipe's task
            score.task = score.task or recipe.task
    for name in results.skipped:
        log(f"warning: metric {name} is not a finite number; left out of the card")
    return results


def export(checkpoint_path: str | Path, out: str | Path, *, merge_lora: bool = False,
           report: str | Path | None = None, model_name: str | None = None,
           base_model: str | None = None) -> Path:
    """Write the export folder; returns it. `base_model` overrides the card's base model (a Hub id
    where the checkpoint only knows a local path)."""
    checkpoint = locate_checkpoint(checkpoint_path)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: --out exists and is not an empty folder; choose a new folder or empty it")
    recipe = read_recipe(checkpoint)
    results = find_results(checkpoint, report, recipe)

    out.mkdir(parents=True, exist_ok=True)
    try:
        library_name = write_weights(checkpoint, out, merge_lora)
        if recipe.path is not None:
            (out / "recipe.yaml").write_text(_scrub(recipe.text), encoding="utf-8")
        architecture = None
        if (out / "config.json").is_file():
            architecture = (_read_json(out / "config.json").get("architectures") or [None])[0]
        card = build_model_card(
            model_name=model_name or out.resolve().name, library_name=library_name,
            base_model=base_model or checkpoint.base_model or recipe.model, recipe=recipe, results=results,
            architecture=architecture, is_lora=checkpoint.is_adapter,
            license=recipe.license or _license_of(checkpoint.base_model or recipe.model),
        )
        (out / "README.md").write_text(_scrub(str(card)), encoding="utf-8")
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # it was empty: leave nothing half-written behind
        raise
    log(f"wrote {out} ({library_name}, {len(results.scores) if results else 0} benchmark result(s) in the card)")
    return out


def push_to_hub(folder: str | Path, repo_id: str, private: bool = False) -> str:
    """Create the repo if needed and upload the folder; returns the commit URL. The token is the one
    `huggingface_hub` resolves; HF_ENDPOINT is read now, not at import."""
    from huggingface_hub import HfApi, constants, get_token

    if constants.is_offline_mode():
        raise ExportError(
            f"cannot push {folder} to {repo_id}: HF_HUB_OFFLINE is set (the Makefile sets it); "
            "unset it to push, or use --dry-run to see what would be uploaded"
        )
    if get_token() is None:
        raise ExportError(f"cannot push {folder} to {repo_id}: no Hugging Face token; set HF_TOKEN or run `hf auth login`")
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None)
    try:
        repo = api.create_repo(repo_id, private=True if private else None, exist_ok=True)
        log(f"uploading {folder} to {repo.repo_id}" + (" (private)" if private else ""))
        commit = api.upload_folder(repo_id=repo.repo_id, folder_path=str(folder),
                                   commit_message=f"Upload model exported by pluralign {__version__}")
    except HfHubHTTPError as err:
        raise ExportError(
            f"pushing {folder} to {repo_id} failed: {err}\ncheck that the token (HF_TOKEN or `hf auth login`) "
            f"may write to {repo_id.split('/')[0]}; the exported folder is complete and can be pushed again"
        ) from err
    return commit.commit_url
