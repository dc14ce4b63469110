"""`pluralign export`: a training checkpoint becomes a folder ready for the Hub.

The folder holds safetensors weights (a full model, a LoRA merged into its base, or the LoRA
adapter itself), the tokenizer, the recipe that trained the model, and a model card whose
`model-index` carries the pluralign benchmark results with their signature. One module each:
`checkpoint` (which folder), `weights` (merge and save), `card` (the model card), `hub` (upload).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pluralign.data.jsonl import read_json
from pluralign.export.card import (
    build_model_card,
    find_results,
    license_of,
    polis_attribution,
    read_recipe,
)
from pluralign.export.checkpoint import Checkpoint, ExportError, locate_checkpoint
from pluralign.export.hub import format_listing, push_to_hub, scrub, upload_listing
from pluralign.export.weights import write_weights
from pluralign.log import get_logger

logger = get_logger(__name__)

__all__ = ["Checkpoint", "ExportError", "export", "format_listing", "locate_checkpoint", "polis_attribution",
           "push_to_hub", "upload_listing"]


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
            (out / "recipe.yaml").write_text(scrub(recipe.text), encoding="utf-8")
        architecture = None
        if (out / "config.json").is_file():
            architecture = (read_json(out / "config.json").get("architectures") or [None])[0]
        card = build_model_card(
            model_name=model_name or out.resolve().name, library_name=library_name,
            base_model=base_model or checkpoint.base_model or recipe.model, recipe=recipe, results=results,
            architecture=architecture, is_lora=checkpoint.is_adapter,
            license=recipe.license or license_of(checkpoint.base_model or recipe.model),
        )
        (out / "README.md").write_text(scrub(str(card)), encoding="utf-8")
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # it was empty: leave nothing half-written behind
        raise
    logger.info(f"wrote {out} ({library_name}, {len(results.scores) if results else 0} benchmark result(s) in the card)")
    return out
