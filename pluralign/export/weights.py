"""The weights and tokenizer of an export: a full model, a LoRA merged into its base, or the adapter."""

from __future__ import annotations

import shutil
from pathlib import Path

from pluralign.export.checkpoint import Checkpoint, ExportError
from pluralign.log import get_logger

logger = get_logger(__name__)
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "vocab.txt", "tokenizer.model")


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

    logger.info(f"loading base model {checkpoint.base_model} to merge the adapter into it")
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
        logger.info(f"copying the LoRA adapter from {checkpoint.dir} (pass --merge-lora to merge it into its base)")
        _copy_adapter(checkpoint, out)
        library_name = "peft"
    else:
        if merge_lora and not checkpoint.is_adapter:
            logger.info(f"note: {checkpoint.dir} is a full model, not an adapter; --merge-lora has nothing to merge")
        logger.info(f"writing safetensors weights from {checkpoint.dir}" + (" with the adapter merged" if checkpoint.is_adapter else ""))
        _load_model(checkpoint).save_pretrained(out)
        library_name = "transformers"
    _write_tokenizer(checkpoint, out)
    return library_name
