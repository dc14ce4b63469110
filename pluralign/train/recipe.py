"""Training recipes: one YAML file per run, in the TRL / alignment-handbook manner (docs/design.md §9).

A recipe names the model, the data, the task, the method, the TRL config fields for that method
(`training:`, built into TRL's own config class), the LoRA settings (`lora:`, a peft LoraConfig),
the reward weights and scorer settings (`rewards:`), how preference pairs are made (`pairs:`, for
dpo and reward), the eval hook (`eval_hook:`), `report_to`, `output_dir` and `seed`.

`load_recipe(path, overrides)` reads it with a safe loader (aliases bounded), applies `key=value`
overrides (dotted keys, values parsed as YAML scalars) and checks every section, so that a typo, a
wrong type, a value out of range, a missing model or data file, data of the wrong kind, an unknown
backend or an output_dir that cannot be written is an error naming the recipe file and the key
before any model is loaded. `Recipe.training_config()`
and `Recipe.lora_config()` build the TRL and peft objects.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import enum
import math
import re
import types
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pluralign.errors import PluralignError
from pluralign.files import check_output_folder, looks_like_local_path
from pluralign.log import get_logger
from pluralign.rewards.backends import DEFAULT_SPEC
from pluralign.tasks import DEBATE, TASKS

logger = get_logger(__name__)

METHODS = ("sft", "dpo", "grpo", "rloo", "reward")
TINY_PREFIX = "tiny:"
# `sft_targets: proportional`: reference summaries made from synthetic debates' ground truth
# (pluralign.data.synth.proportional_summary) instead of a targets file.
PROPORTIONAL_TARGETS = "proportional"
# Anything that looks like a credential is masked in logs and in the saved recipe copy.
SECRET_KEY = re.compile(r"token|key|secret|password|passwd|credential", re.I)
# A value that is a Hub token or a 40-hex W&B key; an `hf_` token inside a longer string (a URL) too.
SECRET_VALUE = re.compile(r"^(hf_[A-Za-z0-9]{8,}|[0-9a-f]{40})$")
TOKEN_INSIDE = re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}")
# ...but a revision pinned to a commit is 40 hex digits too, and no secret.
COMMIT_SHA, REVISION_KEY = re.compile(r"^[0-9a-f]{40}$"), re.compile(r"revision$", re.I)
# A recipe has a few hundred YAML nodes; aliases that expand past this are a "billion laughs" bomb.
MAX_YAML_NODES = 100_000


class RecipeError(PluralignError):
    """A bad recipe, located: `FILE: key.path: message`."""

    def __init__(self, path: Any, key: str, message: str):
        self.path, self.key, self.message = str(path), key, message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.key}: {self.message}" if self.key else f"{self.path}: {self.message}"


# --- the sections of a recipe: each a dataclass, so unknown keys and types are checked ---------


@dataclass
class ModelSection:
    name_or_path: str = ""  # a hub id, a folder, or `tiny:llama` (a random tiny model, built offline)
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    trust_remote_code: bool = False  # off unless a recipe turns it on
    revision: str | None = None
    attn_implementation: str | None = None  # e.g. sdpa, flash_attention_2, eager
    # Arguments to the chat template wherever prompts are rendered (GRPO/RLOO rollouts, the eval
    # hook, on-policy pairs), e.g. {enable_thinking: false} for models that think by default.
    chat_template_kwargs: dict | None = None
    # QLoRA: the base weights load in 4 bits (bitsandbytes, a CUDA GPU) and LoRA trains on top.
    load_in_4bit: bool = False
    bnb_4bit_quant_type: str = "nf4"  # nf4 | fp4
    bnb_4bit_use_double_quant: bool = True
    tiny_hidden_size: int = 64  # only for `tiny:` models
    tiny_num_layers: int = 2


@dataclass
class DataSection:
    # debates JSONL, rewrite-items JSONL, a Dataset folder (`save_to_disk`), or a Hub dataset id
    # (org/name: debates, items, or a prompt dataset from `pluralign data prompts --push-to-hub`)
    path: str = ""
    split: str = "train"  # Hub datasets: the split, config (subset) and revision to load
    config: str | None = None
    revision: str | None = None
    # Synthetic debates built at load instead of a file: the fields of pluralign.data.synth.SynthSpec
    # (n_debates, group_sizes, languages, comments_per_participant, seed, ...), as `pluralign data synth`.
    synth: dict | None = None
    max_comments: int | None = None  # summarize: comments sampled per debate
    target_language: str | None = None  # translate, when items are made from debates
    per_debate: int | None = None  # rewrite items per debate, when made from debates
    limit: int | None = None  # at most this many prompts (after the held-out split)


@dataclass
class RewardsSection:
    # Each entry: a name in pluralign.rewards.registry (pluralism, representation, fidelity), a
    # reward-model folder (TRL scores with it), or a dotted path to your own TRL reward function.
    funcs: list = field(default_factory=list)
    weights: list | None = None  # one per func (default 1.0 each); TRL's reward_weights
    backend: str = DEFAULT_SPEC  # the scoring backend of the built-in rewards
    options: dict = field(default_factory=dict)  # {func name: {setting: value}} for built-in rewards
    # Deprecated (pluralign 0.1): read and turned into funcs/weights/options, with a note.
    pluralism: float | None = None
    fidelity: float | None = None
    reward_model: str | None = None
    reward_model_weight: float | None = None
    pluralism_options: dict | None = None
    fidelity_options: dict | None = None


@dataclass
class PairsSection:
    # Where the texts compared come from: `candidates` (a JSONL of {"id", "summary"|"output"},
    # several per id), `on_policy` (sampled from the current model), or `extractive` (summaries
    # drawn from the debate's own comments; summarize only, no model needed).
    source: str = "on_policy"
    candidates: str | None = None
    k: int = 4  # samples per prompt (on_policy, extractive)
    min_margin: float = 0.1  # keep best vs worst only when their scores differ by this much
    iterations: int = 1  # on_policy dpo: sample, score, train; repeated
    max_new_tokens: int = 64
    temperature: float = 1.0
    sentences: int = 3  # extractive: comments per candidate summary
    sampler: str | None = None  # method `reward`, source on_policy: the causal LM that samples


@dataclass
class EvalHookSection:
    enabled: bool = True
    every_n_steps: int = 50
    n_samples: int = 8  # held-out prompts generated each time
    held_out: float = 0.1  # share of the data kept out of training for the hook
    max_new_tokens: int = 128
    batch_size: int = 8
    temperature: float = 0.0  # 0 = greedy
    table_rows: int = 8  # rows of the wandb.Table of samples


SECTIONS = {"model": ModelSection, "data": DataSection, "rewards": RewardsSection,
            "pairs": PairsSection, "eval_hook": EvalHookSection}
TOP_LEVEL = {"model", "data", "task", "method", "training", "lora", "rewards", "pairs",
             "eval_hook", "report_to", "output_dir", "seed", "sft_targets"}
# Top-level keys that are TrainingArguments fields too: given once, copied into the TRL config.
SHARED_WITH_TRAINING = ("report_to", "output_dir", "seed")


def trl_config_class(method: str):
    import trl

    return {"sft": trl.SFTConfig, "dpo": trl.DPOConfig, "grpo": trl.GRPOConfig,
            "rloo": trl.RLOOConfig, "reward": trl.RewardConfig}[method]


# --- type checking of dataclass fields --------------------------------------------------------


def _type_ok(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a dataclass field's annotation; unknown shapes are accepted."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value in {m.value for m in hint} or isinstance(value, hint)
    if origin in (list, tuple) or hint in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return True


# Numbers that TRL takes but that fail later or mean something else: (check, what is allowed).
TRAINING_BOUNDS = {
    "per_device_train_batch_size": (lambda v: v >= 1, "at least 1"),
    "per_device_eval_batch_size": (lambda v: v >= 1, "at least 1"),
    "gradient_accumulation_steps": (lambda v: v >= 1, "at least 1"),
    "learning_rate": (lambda v: v >= 0, "0 or more"),
    "max_steps": (lambda v: v == -1 or v >= 1, "at least 1, or -1 to train for num_train_epochs"),
    "num_train_epochs": (lambda v: v > 0, "above 0"),
    "logging_steps": (lambda v: v > 0, "above 0"),
    "save_steps": (lambda v: v > 0, "above 0"),
    "max_length": (lambda v: v is None or v >= 1, "at least 1"),
    "max_completion_length": (lambda v: v is None or v >= 1, "at least 1"),
}
SECTION_BOUNDS = {
    "data.max_comments": (lambda v: v is None or v >= 1, "at least 1"),
    "data.per_debate": (lambda v: v is None or v >= 1, "at least 1"),
    "data.limit": (lambda v: v is None or v >= 1, "at least 1"),
    "pairs.k": (lambda v: v >= 2, "at least 2 (a pair needs two candidates)"),
    "pairs.iterations": (lambda v: v >= 1, "at least 1"),
    "pairs.max_new_tokens": (lambda v: v >= 1, "at least 1"),
    "pairs.min_margin": (lambda v: v >= 0, "0 or more"),
    "eval_hook.every_n_steps": (lambda v: v >= 0, "0 (at the start and the end only) or more"),
    "eval_hook.n_samples": (lambda v: v >= 1, "at least 1"),
    "eval_hook.max_new_tokens": (lambda v: v >= 1, "at least 1"),
    "eval_hook.batch_size": (lambda v: v >= 1, "at least 1"),
    "eval_hook.temperature": (lambda v: v >= 0, "0 (greedy) or more"),
}


def check_bounds(values: dict, bounds: dict, path: Any, prefix: str = "") -> None:
    """RecipeError for a number out of its range (NaN and infinities included)."""
    for key, (ok, allowed) in bounds.items():
        if key not in values or isinstance(values[key], bool):
            continue
        value = values[key]
        if isinstance(value, (int, float)) and (not math.isfinite(value) or not ok(value)):
            raise RecipeError(path, f"{prefix}{key}", f"must be {allowed}, got {value!r}")


def _type_name(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")


def check_fields(cls: type, values: dict, path: Any, prefix: str) -> None:
    """Raise RecipeError for a key `cls` does not have (with a suggestion) or a value of the wrong type;
    numbers that YAML left as strings (`5e-4`) are converted in `values`."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; see the fields of {cls.__name__}"
            raise RecipeError(path, f"{prefix}{key}", f"unknown key for {cls.__name__}{hint}")
        if isinstance(value, str) and _type_ok(1.0, hints.get(key, Any)) and not _type_ok(value, hints.get(key, Any)):
            # YAML 1.1 reads `5e-4` (no dot) as a string; a float field takes it as the number.
            try:
                values[key] = value = float(value)
            except ValueError:
                pass
        if not _type_ok(value, hints.get(key, Any)):
            raise RecipeError(path, f"{prefix}{key}",
                              f"expected {_type_name(hints.get(key))}, got {type(value).__name__} {value!r}")


# --- overrides and masking --------------------------------------------------------------------


def apply_override(raw: dict, assignment: str, path: Any) -> None:
    """`a.b.c=value`: set raw['a']['b']['c'] to the YAML scalar `value`."""
    key, sep, text = assignment.partition("=")
    if not sep or not key:
        raise RecipeError(path, assignment, "an override is key=value (dotted keys for sections, e.g. training.max_steps=3)")
    value = load_yaml(text, path) if text else ""
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise RecipeError(path, key, f"{part} is not a section; cannot set {key}")
    node[parts[-1]] = value


def mask_secrets(value: Any, key: str = "") -> Any:
    """A copy with every credential-looking key or value replaced by '***'."""
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v, key) for v in value]
    if isinstance(value, str) and value and (SECRET_KEY.search(key) and not _harmless(key) or _secret_value(value, key)):
        return "***"
    return value


def _secret_value(value: str, key: str) -> bool:
    if REVISION_KEY.search(key) and COMMIT_SHA.match(value):
        return False  # `revision: <commit sha>` pins a model, as careful users do
    return bool(SECRET_VALUE.match(value) or TOKEN_INSIDE.search(value))


def _harmless(key: str) -> bool:
    # TRL/transformers fields whose names contain "token"/"key" but hold no credential.
    return bool(re.search(r"tokens|_token_id|token_type|tokenizer|pad_token|eos_token|bos_token|key_|_keys|sort_key", key, re.I))


# --- the recipe -------------------------------------------------------------------------------


@dataclass
class Recipe:
    path: str
    raw: dict  # the resolved YAML, overrides applied
    model: ModelSection
    data: DataSection
    task: str
    method: str
    training: dict
    lora: dict | None
    rewards: RewardsSection
    pairs: PairsSection
    eval_hook: EvalHookSection
    sft_targets: str | None
    output_dir: str
    seed: int

    @property
    def is_tiny(self) -> bool:
        return self.model.name_or_path.startswith(TINY_PREFIX)

    def training_config(self, **changes: Any):
        """The TRL config object (SFTConfig, DPOConfig, ...) for this recipe."""
        cls = trl_config_class(self.method)
        values = {**self.training, **changes}
        try:
            with warnings.catch_warnings():
                # TRL's own default sets transformers' deprecated alias (gradient_checkpointing):
                # the user did nothing wrong, so the FutureWarning says nothing useful.
                warnings.filterwarnings("ignore", message=".*gradient_checkpointing.* is deprecated", category=FutureWarning)
                return cls(**values)
        except (ValueError, TypeError) as err:
            raise RecipeError(self.path, "training", f"{cls.__name__}: {err}") from None

    def lora_config(self):
        """A peft LoraConfig, or None when the recipe trains all weights."""
        if not self.lora:
            return None
        from peft import LoraConfig

        task_type = "SEQ_CLS" if self.method == "reward" else "CAUSAL_LM"
        try:
            return LoraConfig(**{"task_type": task_type, **self.lora})
        except (ValueError, TypeError) as err:
            raise RecipeError(self.path, "lora", f"LoraConfig: {err}") from None

    def saved_copy(self) -> dict:
        """The resolved recipe as written next to the weights, credentials masked."""
        return mask_secrets(copy.deepcopy(self.raw))


def find_path(value: str, recipe_path: Any) -> Path:
    """A data path as given; a relative one that is not found from the current folder is looked up
    from the recipe's folder and its parents (so `recipes/cpu/x.yaml` can name `data/...`)."""
    candidate = Path(value)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    for folder in Path(recipe_path).resolve().parents:
        if (folder / candidate).exists():
            return folder / candidate
    return candidate


HUB_DATASET_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DATA_FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".arrow", ".txt", ".yaml", ".yml")


def is_hub_dataset_id(value: str) -> bool:
    """`org/name` that is not a local path and does not end like a data file: a Hub dataset."""
    return (bool(HUB_DATASET_ID.match(value)) and Path(value).suffix.lower() not in DATA_FILE_SUFFIXES
            and not Path(value).exists())


def resolve_data(data: DataSection, path: Any, check_files: bool) -> None:
    """Check where the data comes from: synthetic debates (`data.synth`), a Hub dataset id, or a
    local file or folder (found from the current folder or the recipe's). Hub ids stay as given."""
    if data.synth is not None:
        from pluralign.data.synth import SynthSpec

        if data.path:
            raise RecipeError(path, "data.synth", "give data.path or data.synth, not both; "
                              "to use your data in a recipe that builds synthetic debates: data.synth=null data.path=FILE")
        check_fields(SynthSpec, data.synth, path, "data.synth.")
        try:
            SynthSpec(**data.synth)
        except PluralignError as err:
            raise RecipeError(path, "data.synth", str(err)) from None
        return
    if not data.path:
        raise RecipeError(path, "data.path", "missing: a debates or rewrite-items JSONL, a Dataset folder, a Hub "
                          "dataset id (org/name), or data.synth")
    local = find_path(data.path, path)
    if local.exists() or not is_hub_dataset_id(data.path):
        if check_files and not local.exists():
            raise RecipeError(path, "data.path", f"{local}: no such file or folder")
        data.path = str(local)
    for key in ("config", "revision"):
        if getattr(data, key) is not None and not is_hub_dataset_id(data.path):
            raise RecipeError(path, f"data.{key}", f"applies to Hub datasets only; {data.path} is a local path")


def check_model_init_kwargs(training: dict, path: Any) -> None:
    """`training.model_init_kwargs` is passed to from_pretrained over pluralign's defaults; the
    switches that must agree between the model, the tokenizer and the reference stay in `model:`."""
    kwargs = training.get("model_init_kwargs")
    if kwargs is None:
        return
    if not isinstance(kwargs, dict):
        raise RecipeError(path, "training.model_init_kwargs", f"expected a mapping of from_pretrained arguments, got {kwargs!r}")
    for key in ("trust_remote_code", "revision"):
        if key in kwargs:
            raise RecipeError(path, f"training.model_init_kwargs.{key}", f"set model.{key} instead (one switch for "
                              "the model, its tokenizer and the reference model)")


def check_quantization(recipe: Recipe) -> None:
    """QLoRA (`model.load_in_4bit`) trains LoRA adapters over frozen 4-bit weights: it needs a
    `lora:` section (4-bit weights cannot be trained themselves)."""
    if recipe.model.load_in_4bit and not recipe.lora:
        raise RecipeError(recipe.path, "model.load_in_4bit", "4-bit weights are frozen: add a lora: section (QLoRA), "
                          "or load the model in bfloat16")
    if recipe.model.load_in_4bit and recipe.model.bnb_4bit_quant_type not in ("nf4", "fp4"):
        raise RecipeError(recipe.path, "model.bnb_4bit_quant_type", f"nf4 or fp4, got {recipe.model.bnb_4bit_quant_type!r}")


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = (), check_files: bool = True) -> Recipe:
    path = Path(path)
    if not path.is_file():
        raise RecipeError(path, "", "no such recipe file; check the path")
    try:
        raw = load_yaml(path.read_text(encoding="utf-8-sig"), path) or {}
    except yaml.YAMLError as err:
        raise RecipeError(path, "", f"not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise RecipeError(path, "", "a recipe is a YAML mapping of sections (model, data, task, method, training, ...)")
    for assignment in overrides:
        apply_override(raw, assignment, path)
    secret = find_secret(raw)
    if secret:
        # training_args.bin and W&B configs would keep it: credentials stay in the environment.
        raise RecipeError(path, secret, "looks like a credential; recipes hold none: set HF_TOKEN / "
                          "WANDB_API_KEY in the environment instead")
    return recipe_from_dict(raw, path, check_files=check_files)


def load_yaml(text: str, path: Any = "<yaml>") -> Any:
    """`yaml.safe_load`, refusing documents whose aliases expand past MAX_YAML_NODES (or loop):
    the Python objects share what the aliases share, but everything that walks them (overrides,
    masking, the saved copy) would expand them, for minutes and gigabytes."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, path)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node, path: Any) -> None:
    """The node count with every alias expanded, computed once per node (no expansion)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        return []

    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children(node))
            if sizes[key] > MAX_YAML_NODES:
                line = node.start_mark.line + 1
                raise RecipeError(path, "", f"line {line}: its aliases expand to more than {MAX_YAML_NODES:,} values "
                                  "(a YAML bomb?); a recipe is small: write it out without nested aliases")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise RecipeError(path, "", f"line {node.start_mark.line + 1}: an alias refers to itself; remove the loop")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children(node) if id(child) not in sizes)


def find_secret(raw: Any, prefix: str = "") -> str | None:
    """The dotted key of the first credential-looking value in a recipe, or None."""
    masked = mask_secrets(raw)
    def walk(a, b, where):
        if isinstance(a, dict):
            for k in a:
                found = walk(a[k], b[k], f"{where}{k}" if not where else f"{where}.{k}")
                if found:
                    return found
        elif isinstance(a, list):
            for x, y in zip(a, b, strict=True):
                found = walk(x, y, where)
                if found:
                    return found
        elif a != b:
            return where
        return None
    return walk(raw, masked, prefix)


def _section(raw: dict, name: str, path: Any):
    cls = SECTIONS[name]
    values = raw.get(name) or {}
    if name == "model" and isinstance(values, str):
        values = {"name_or_path": values}
    if not isinstance(values, dict):
        raise RecipeError(path, name, f"expected a mapping of {cls.__name__} fields, got {type(values).__name__}")
    check_fields(cls, values, path, f"{name}.")
    return cls(**values)


def recipe_from_dict(raw: dict, path: Any = "<recipe>", check_files: bool = True) -> Recipe:
    """Check every section; raise RecipeError naming the file and the key at the first problem.
    `check_files=False` reads a recipe away from its files (a saved copy next to the weights):
    data paths need not exist and rewards are not imported."""
    if raw.get("method") == "cross-encoder":
        raise RecipeError(path, "method", "a cross-encoder recipe runs with `pluralign fit cross-encoder RECIPE`")
    for key in raw:
        if key not in TOP_LEVEL:
            close = difflib.get_close_matches(str(key), sorted(TOP_LEVEL), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; the sections are {', '.join(sorted(TOP_LEVEL))}"
            raise RecipeError(path, str(key), f"unknown recipe section{hint}")
    method, task = raw.get("method"), raw.get("task")
    if method not in METHODS:
        raise RecipeError(path, "method", f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if task not in TASKS:
        raise RecipeError(path, "task", f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    sections = {name: _section(raw, name, path) for name in SECTIONS}
    check_bounds({f"{name}.{k}": v for name, section in sections.items() for k, v in vars(section).items()},
                 SECTION_BOUNDS, path)
    if not sections["model"].name_or_path:
        raise RecipeError(path, "model.name_or_path", "missing: a hub id, a folder, or tiny:llama")
    resolve_data(sections["data"], path, check_files)
    if sections["pairs"].candidates:
        sections["pairs"].candidates = str(find_path(sections["pairs"].candidates, path))

    training = dict(raw.get("training") or {})
    if not isinstance(raw.get("training") or {}, dict):
        raise RecipeError(path, "training", "expected a mapping of TRL config fields")
    if "trust_remote_code" in training:
        raise RecipeError(path, "training.trust_remote_code", "set model.trust_remote_code instead (one switch for model, tokenizer and reference)")
    for key in SHARED_WITH_TRAINING:
        if key in raw and key in training:
            raise RecipeError(path, f"training.{key}", f"also given at the top level; set {key} once")
        if key in raw:
            training[key] = raw[key]
    if not training.get("output_dir"):
        raise RecipeError(path, "output_dir", "missing: where checkpoints, the final model and eval_metrics.jsonl go")
    cls = trl_config_class(method)
    # `resume_from_checkpoint: true` means the latest checkpoint in output_dir (TRL takes a path).
    checked = {k: v for k, v in training.items() if not (k == "resume_from_checkpoint" and isinstance(v, bool))}
    check_fields(cls, checked, path, "training.")
    training.update(checked)
    check_model_init_kwargs(training, path)

    lora = raw.get("lora")
    if lora is not None and not isinstance(lora, dict):
        raise RecipeError(path, "lora", "expected a mapping of peft LoraConfig fields")
    check_bounds(training, TRAINING_BOUNDS, path, "training.")
    if lora:
        from peft import LoraConfig

        check_fields(LoraConfig, lora, path, "lora.")

    rewards, pairs = sections["rewards"], sections["pairs"]
    migrate_rewards(rewards, task, path)
    if check_files:
        check_rewards(rewards, method, task, path)
    if method in ("dpo", "reward") and check_files:
        if pairs.source not in ("candidates", "on_policy", "extractive"):
            raise RecipeError(path, "pairs.source", f"unknown pair source {pairs.source!r}; choose candidates, on_policy or extractive")
        if pairs.source == "candidates" and not (pairs.candidates and Path(pairs.candidates).is_file()):
            raise RecipeError(path, "pairs.candidates", f"{pairs.candidates!r}: no such candidates file")
        if pairs.source == "extractive" and TASKS[task].record != DEBATE:
            raise RecipeError(path, "pairs.source", "extractive candidates are drawn from a debate's comments: "
                              f"they exist for tasks built from debates, not for {task}")
        if method == "reward" and pairs.source == "on_policy" and not pairs.sampler:
            raise RecipeError(path, "pairs.sampler", "a reward model trained on on_policy pairs needs a causal LM to sample from")
        if method == "reward" and pairs.iterations != 1:
            raise RecipeError(path, "pairs.iterations", "iterations apply to on-policy dpo only")
    sft_targets = raw.get("sft_targets") or None
    if sft_targets == PROPORTIONAL_TARGETS:
        if sections["data"].synth is None:
            raise RecipeError(path, "sft_targets", f"{PROPORTIONAL_TARGETS!r} targets are made from synthetic debates "
                              "(data.synth); give a targets file for other data")
    elif sft_targets:
        sft_targets = str(find_path(sft_targets, path))
    if check_files and method == "sft" and sft_targets not in (None, PROPORTIONAL_TARGETS) and not Path(sft_targets).is_file():
        raise RecipeError(path, "sft_targets", f"{sft_targets}: no such file")
    if check_files:
        data = sections["data"]  # a local file or folder is read now; synthetic and Hub data are built later
        data_path = Path(data.path) if data.synth is None and data.path and Path(data.path).exists() else None
        check_model(sections["model"].name_or_path, path, "model.name_or_path")
        if method == "reward" and pairs.source == "on_policy":
            check_model(pairs.sampler, path, "pairs.sampler")
        if data_path is not None:
            check_data(data_path, task, path)
        check_backend(rewards.backend, path)
        check_output_dir(training["output_dir"], path, {
            "data.path": data_path, "sft_targets": sft_targets, "pairs.candidates": pairs.candidates,
            "model.name_or_path": sections["model"].name_or_path if looks_like_local_path(sections["model"].name_or_path)
            or Path(sections["model"].name_or_path).is_dir() else None})
        if "wandb" in str(training.get("report_to", "")):
            from pluralign.tracking import check_wandb_login

            try:
                check_wandb_login("report_to wandb")
            except PluralignError as err:
                raise RecipeError(path, "report_to", str(err)) from None
    if sections["eval_hook"].enabled and not 0 < sections["eval_hook"].held_out < 1:
        raise RecipeError(path, "eval_hook.held_out", "a share of the data in (0, 1); or set eval_hook.enabled=false")
    seed = raw.get("seed", training.get("seed", 42))
    recipe = Recipe(
        path=str(path), raw=raw, task=task, method=method, training=training, lora=lora or None,
        sft_targets=sft_targets, output_dir=str(training["output_dir"]), seed=int(seed), **sections,
    )
    check_quantization(recipe)
    return recipe


def check_model(name: str, path: Any, key: str) -> None:
    """A model given as a local path must exist (a Hub id, `org/name`, is left to the Hub)."""
    if name and not name.startswith(TINY_PREFIX) and looks_like_local_path(name) and not Path(name).expanduser().exists():
        raise RecipeError(path, key, f"{name}: no such model folder; give a model folder, a Hub id or tiny:llama")


def check_data(data_path: Path, task: str, path: Any) -> None:
    """The data is what the task reads: debates for a debate task, debates or items of this task
    for the others; a folder must be a saved Dataset. Read here, before any model is built."""
    from pluralign.data.jsonl import read_json, read_jsonl, sniff_kind

    if data_path.is_dir():
        if not (data_path / "state.json").is_file() or not (data_path / "dataset_info.json").is_file():
            raise RecipeError(path, "data.path", f"{data_path} is a folder but not a saved Dataset (no state.json "
                              "and dataset_info.json from Dataset.save_to_disk); give a debates or rewrite-items "
                              "JSONL file, or such a folder")
        features = read_json(data_path / "dataset_info.json", "a Dataset's info").get("features") or {}
        kind = "debates" if "comments" in features else "items"
    else:
        kind = sniff_kind(data_path)
    if TASKS[task].record == DEBATE and kind != "debates":
        raise RecipeError(path, "data.path", f"{data_path} holds rewrite items; the {task} task reads debates")
    if kind == "items" and not data_path.is_dir():
        found = {obj.get("task") for _, obj in read_jsonl(data_path) if isinstance(obj, dict)}
        if task not in found:
            raise RecipeError(path, "data.path", f"{data_path} holds {', '.join(sorted(map(str, found)))} items and no "
                              f"{task} item; give {task} items, or debates (the items are then made from their comments)")


def check_backend(spec: str, path: Any) -> None:
    """The scoring backend's kind is known and a model given as a local path exists (no model is loaded)."""
    from pluralign.rewards.backends import check_spec

    try:
        check_spec(spec)
    except PluralignError as err:
        raise RecipeError(path, "rewards.backend", str(err)) from None


def check_output_dir(output_dir: str, path: Any, inputs: dict) -> None:
    """output_dir can be written, and is none of the run's inputs (its weights would overwrite them)."""
    try:
        check_output_folder(output_dir, inputs, option="")
    except PluralignError as err:
        raise RecipeError(path, "output_dir", str(err)) from None


DEPRECATED_REWARD_KEYS = ("pluralism", "fidelity", "reward_model", "reward_model_weight", "pluralism_options",
                          "fidelity_options")


def migrate_rewards(rewards: RewardsSection, task: str, path: Any) -> None:
    """Apply the 0.1 keys as aliases: `pluralism: W` / `fidelity: W` set that reward's weight in
    funcs/weights (adding it, or dropping it at 0), `reward_model: DIR` adds a reward model, and
    `*_options` become `options`. Recipes and overrides written for 0.1 keep working."""
    given = [k for k in DEPRECATED_REWARD_KEYS if getattr(rewards, k) not in (None, {})]
    if not given:
        return
    funcs = list(rewards.funcs)
    weights = list(rewards.weights) if rewards.weights is not None else [1.0] * len(funcs)
    options = dict(rewards.options)
    for name in ("pluralism", "fidelity"):
        weight = getattr(rewards, name)
        if weight is not None and name in funcs:
            if weight:
                weights[funcs.index(name)] = weight
            else:
                del weights[funcs.index(name)]
                funcs.remove(name)
        elif weight:
            funcs.append(name)
            weights.append(weight)
        if getattr(rewards, f"{name}_options"):
            options[name] = {**options.get(name, {}), **getattr(rewards, f"{name}_options")}
    if rewards.reward_model:
        funcs.append(rewards.reward_model)
        weights.append(1.0 if rewards.reward_model_weight is None else rewards.reward_model_weight)
    rewards.funcs, rewards.weights, rewards.options = funcs, weights, options
    for key in DEPRECATED_REWARD_KEYS:
        setattr(rewards, key, None)
    logger.warning(f"{path}: rewards.{', rewards.'.join(given)} are deprecated aliases; this recipe now reads "
                   f"rewards: {{funcs: {funcs}, weights: {weights}}}")


def check_rewards(rewards: RewardsSection, method: str, task: str, path: Any) -> None:
    """Each reward resolves, applies to the task and finds the dataset columns it reads; the
    weights are one non-negative number per reward. Located errors, before any model is built."""
    import math

    from pluralign.rewards.registry import REWARDS, resolve_reward

    if rewards.weights is not None and len(rewards.weights) != len(rewards.funcs):
        raise RecipeError(path, "rewards.weights", f"{len(rewards.weights)} weight(s) for {len(rewards.funcs)} "
                          "reward(s); give one weight per entry of rewards.funcs")
    for i, weight in enumerate(rewards.weights or []):
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise RecipeError(path, f"rewards.weights[{i}]", f"must be a number >= 0, got {weight!r}")
    for name in rewards.options:
        if name not in rewards.funcs:
            raise RecipeError(path, f"rewards.options.{name}", f"{name!r} is not in rewards.funcs {rewards.funcs}")
    columns = TASKS[task].columns
    for i, name in enumerate(rewards.funcs):
        where = f"rewards.funcs[{i}]"
        if isinstance(name, str) and "/" in name:  # a reward-model folder, relative to here or the recipe
            name = rewards.funcs[i] = str(find_path(name, path))
        try:
            reward = resolve_reward(name)
        except PluralignError as err:
            raise RecipeError(path, where, str(err)) from None
        if reward.tasks is not None and task not in reward.tasks:
            fits = [n for n, e in REWARDS.items() if task in e.tasks]
            raise RecipeError(path, where, f"{name} judges {', '.join(reward.tasks)} outputs, not {task}; "
                              f"for {task} use {', '.join(fits) or 'a reward of your own'}")
        missing = [c for c in reward.columns if c not in columns]
        if missing:
            raise RecipeError(path, where, f"{name} reads the column(s) {missing}, which the {task} dataset lacks "
                              f"(it has {', '.join(columns)})")
    if method in ("grpo", "rloo", "dpo", "reward") and not rewards.funcs:
        default = TASKS[task].reward
        raise RecipeError(path, "rewards.funcs", f"a {method} run needs a reward: e.g. rewards: {{funcs: [{default}]}}")


def validate_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Build every config object of a recipe without loading a model or data: what --dry-run does."""
    recipe = load_recipe(path, overrides)
    changes = {"use_cpu": True, "bf16": False, "fp16": False} if not _has_accelerator() else {}
    args = recipe.training_config(**changes)
    from pluralign.train.rewards import reward_setup

    return {
        "recipe": recipe, "training": args, "lora": recipe.lora_config(),
        "rewards": reward_setup(recipe, load=False),
    }


def _has_accelerator() -> bool:
    import torch

    return torch.cuda.is_available()
