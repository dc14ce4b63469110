"""`pluralign export`: a training checkpoint becomes a folder ready for the Hub.

The folder holds safetensors weights (a full model, a LoRA merged into its base, or the LoRA
adapter itself), the tokenizer, the recipe that trained the model, and a model card whose
`model-index` carries the pluralign benchmark results with their signature. One module each:
`checkpoint` (which folder), `weights` (merge and save), `card` (the model card), `hub` (upload).
"""

from __future__ import annotations

from pathlib import Path

from pluralign.data.jsonl import read_json
from pluralign.export.card import (
    TrlCard,
    build_model_card,
    eval_result_entries,
    eval_results_yaml,
    find_results,
    is_hub_dataset,
    license_of,
    polis_attribution,
    read_recipe,
)
from pluralign.export.checkpoint import Checkpoint, ExportError, locate_checkpoint
from pluralign.export.hub import (
    check_push,
    check_repo_id,
    format_listing,
    push_to_hub,
    scrub,
    upload_listing,
)
from pluralign.export.weights import write_weights
from pluralign.files import check_output_folder, staged_folder
from pluralign.log import (
    get_logger,
    progress_bars_on_a_terminal_only,
    quiet_deepspeed,
    quiet_deprecations,
)

logger = get_logger(__name__)

__all__ = ["Checkpoint", "ExportError", "check_push", "check_repo_id", "export", "format_listing",
           "locate_checkpoint", "polis_attribution", "push_to_hub", "upload_listing"]


def incomplete_notice(checkpoint: Checkpoint, allow_incomplete: bool) -> str | None:
    """None for the weights of a finished run; else an ExportError, or with `allow_incomplete`
    the line the card opens with."""
    if checkpoint.complete:
        return None
    run = checkpoint.run or {}
    how = {"interrupted": f"interrupted by {run.get('signal') or 'a signal'}", "running": "still running, or crashed",
           "unknown": "an earlier run in this folder, whose end is not recorded"}.get(run.get("status"), run.get("status"))
    step = checkpoint.step if checkpoint.step is not None else run.get("step")
    where = f"step {step if step is not None else '?'} of {run.get('max_steps') or '?'}"
    if not allow_incomplete:
        raise ExportError(f"{checkpoint.dir}: saved by run {run.get('run_id')}, which did not finish ({how}; {where}); "
                          "resume it with the same `pluralign train` command and training.resume_from_checkpoint=true, "
                          "or pass --allow-incomplete to export these weights anyway (the card will say so)")
    notice = (f"**Incomplete run.** These weights are `{checkpoint.dir.name}` of a training run that did not "
              f"finish ({how}): {where}. They are not the model the recipe describes.")
    logger.warning(f"warning: --allow-incomplete: exporting {checkpoint.dir} of an unfinished run ({how}; {where})")
    return notice


def export(checkpoint_path: str | Path, out: str | Path, *, merge_lora: bool = False,
           report: str | Path | None = None, model_name: str | None = None,
           base_model: str | None = None, benchmark_dataset: str | None = None,
           allow_incomplete: bool = False) -> Path:
    """Write the export folder; returns it. `base_model` overrides the card's base model (a Hub id
    where the checkpoint only knows a local path); `benchmark_dataset` is the Hub dataset id the
    report's suites are published as (results then go to `.eval_results/` and `model-index`).
    The weights of a run that did not finish (`run.json`) are refused unless `allow_incomplete`,
    and then the card says so."""
    if benchmark_dataset and not is_hub_dataset(benchmark_dataset):
        raise ExportError(f"--benchmark-dataset {benchmark_dataset}: not a Hub dataset id; give org/name")
    out = check_output_folder(out, {"CHECKPOINT": checkpoint_path, "--report": report})
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out}: --out exists and is not an empty folder; choose a new folder or empty it")
    checkpoint = locate_checkpoint(checkpoint_path)
    notice = incomplete_notice(checkpoint, allow_incomplete)
    quiet_deepspeed()
    quiet_deprecations()
    progress_bars_on_a_terminal_only()
    recipe = read_recipe(checkpoint)
    results = find_results(checkpoint, report, recipe)

    with staged_folder(out) as stage:  # all written, or nothing: a failure leaves --out as it was
        library_name = write_weights(checkpoint, stage, merge_lora)
        if recipe.path is not None:
            (stage / "recipe.yaml").write_text(scrub(recipe.text), encoding="utf-8")
        architecture = None
        if (stage / "config.json").is_file():
            architecture = (read_json(stage / "config.json").get("architectures") or [None])[0]
        name = model_name or out.resolve().name
        base = base_model or checkpoint.base_model or recipe.model
        card = build_model_card(
            model_name=name, library_name=library_name, base_model=base, recipe=recipe, results=results,
            architecture=architecture, is_lora=checkpoint.is_adapter,
            # the base model's own card: its local folder first, else the Hub id given
            license={"license": recipe.license} if recipe.license else
            license_of(checkpoint.base_model or recipe.model) or license_of(base),
            benchmark=benchmark_dataset, trl_card=TrlCard.find(checkpoint), notice=notice,
        )
        (stage / "README.md").write_text(scrub(str(card)), encoding="utf-8")
        entries = eval_result_entries(results, benchmark_dataset, name) if results and benchmark_dataset else []
        if entries:
            folder = stage / ".eval_results"
            folder.mkdir()
            (folder / f"{benchmark_dataset.split('/')[-1]}.yaml").write_text(eval_results_yaml(entries), encoding="utf-8")
        elif results and not benchmark_dataset and any(s.suite for s in results.scores):
            logger.warning("warning: no --benchmark-dataset: the report's results stay in the card's text, "
                           "not in .eval_results/ or model-index (they need the benchmark's Hub dataset id)")
    logger.info(f"wrote {out} ({library_name}, {len(results.scores) if results else 0} benchmark result(s) in the card)")
    return out
