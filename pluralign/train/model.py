"""The model and tokenizer of a recipe: where the weights are, how they load, on which device.

A `tiny:llama` model is built (once, by the main process) under the output folder; any other name
is a Hub id or a folder, loaded by TRL from `model_init_kwargs`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pluralign.log import get_logger
from pluralign.train.recipe import TINY_PREFIX, Recipe, RecipeError

logger = get_logger(__name__)

def resolve_model_path(recipe: Recipe) -> str:
    """The model's id or folder; a `tiny:` model is built (once, by the main process) under output_dir."""
    if not recipe.is_tiny:
        return recipe.model.name_or_path
    from accelerate import PartialState

    from pluralign.tiny import build_tiny_causal_lm

    kind = recipe.model.name_or_path[len(TINY_PREFIX):]
    if kind != "llama":
        raise RecipeError(recipe.path, "model.name_or_path", f"unknown tiny model {kind!r}; use tiny:llama")
    path = Path(recipe.output_dir) / "base-model"
    # Needs the distributed state that the TRL config sets up: before it, accelerate's PartialState
    # under `torchrun` on CPUs calls every rank the main one, and all of them would build at once.
    with PartialState().main_process_first():
        if not path.is_dir():
            # Built aside and renamed into place: a run killed mid-write must not leave a
            # half-written model that the next run (or a resume) takes as complete.
            partial = path.with_name(f"{path.name}.partial")
            shutil.rmtree(partial, ignore_errors=True)
            try:
                build_tiny_causal_lm(partial, hidden_size=recipe.model.tiny_hidden_size,
                                     num_layers=recipe.model.tiny_num_layers, seed=recipe.seed)
                partial.rename(path)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
            logger.info(f"{recipe.path}: built a random-initialised tiny model in {path}")
    return str(path)


def model_init_kwargs(recipe: Recipe) -> dict:
    """What TRL passes to `from_pretrained`: pluralign's defaults from `model:` (dtype, revision,
    attention, 4-bit loading), with the recipe's own `training.model_init_kwargs` over them (the user wins)."""
    section = recipe.model
    kwargs = {"dtype": section.dtype, "trust_remote_code": section.trust_remote_code,
              "revision": section.revision, "attn_implementation": section.attn_implementation}
    if section.load_in_4bit:
        kwargs.update(quantization_kwargs(recipe))
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return {**kwargs, **(recipe.training.get("model_init_kwargs") or {})}


def check_quantization_support(recipe: Recipe) -> None:
    """`model.load_in_4bit` needs a CUDA GPU and bitsandbytes: say so before anything is built."""
    import torch

    if not recipe.model.load_in_4bit:
        return
    if not torch.cuda.is_available():
        raise RecipeError(recipe.path, "model.load_in_4bit", "4-bit (QLoRA) loading needs a CUDA GPU and bitsandbytes; "
                          "this machine has no GPU: set model.load_in_4bit=false to train here")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise RecipeError(recipe.path, "model.load_in_4bit", "bitsandbytes is not installed: "
                          "pip install 'pluralign[qlora]'") from None


def quantization_kwargs(recipe: Recipe) -> dict:
    """QLoRA: 4-bit base weights (bitsandbytes), computed in the model's dtype, one copy per GPU."""
    import torch

    check_quantization_support(recipe)
    from accelerate import PartialState
    from transformers import BitsAndBytesConfig

    dtype = recipe.model.dtype if recipe.model.dtype in ("bfloat16", "float16", "float32") else "bfloat16"
    config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=recipe.model.bnb_4bit_quant_type,
                                bnb_4bit_use_double_quant=recipe.model.bnb_4bit_use_double_quant,
                                bnb_4bit_compute_dtype=getattr(torch, dtype))
    return {"quantization_config": config, "device_map": {"": PartialState().local_process_index}}


def load_tokenizer(recipe: Recipe, path: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=recipe.model.trust_remote_code,
                                              revision=recipe.model.revision)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def device_changes(recipe: Recipe) -> dict:
    """On a machine without a GPU, train in float32 on the CPU (TRL configs default to bf16)."""
    import torch

    if torch.cuda.is_available():
        return {}
    if recipe.training.get("bf16") or recipe.training.get("fp16"):
        logger.info(f"{recipe.path}: no GPU here; training in float32 on the CPU")
    return {"use_cpu": True, "bf16": False, "fp16": False}
