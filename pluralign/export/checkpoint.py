"""Which folder of a training run is exported: the final model, or its latest checkpoint-N."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pluralign.data.jsonl import read_json
from pluralign.errors import PluralignError
from pluralign.log import get_logger
from pluralign.train.status import COMPLETE, read_run, run_of

logger = get_logger(__name__)


class ExportError(PluralignError):
    """A problem with what is exported: the message names the path and says what to do."""


@dataclass
class Checkpoint:
    dir: Path  # holds config.json (a full model) or adapter_config.json (a peft adapter)
    is_adapter: bool
    base_model: str | None  # the adapter's base model, id or path
    step: int | None  # the training step it was saved at, where known
    run: dict | None = None  # the record of the run that saved it (pluralign.train.status.run_of), where known

    @property
    def run_id(self) -> str | None:
        return (self.run or {}).get("run_id")

    @property
    def complete(self) -> bool:
        """Whether the run that saved it finished (True where nothing says otherwise)."""
        return self.run is None or self.run.get("status") == COMPLETE

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
    top = run_of(path)
    unfinished = top is not None and top.get("status") != COMPLETE
    if not holds_model(path) or unfinished:
        # An unfinished run wrote no final weights: any in `path` are an earlier run's.
        checkpoints = sorted(
            (p for p in path.glob("checkpoint-*") if p.name.rsplit("-", 1)[1].isdigit() and holds_model(p)
             and not (unfinished and (read_run(p) or {}).get("run_id", top["run_id"]) != top["run_id"])),
            key=_checkpoint_number,
        )
        if unfinished and not checkpoints:
            raise ExportError(f"{path}: run {top['run_id']} is {top.get('status')} and saved no checkpoint "
                              "(any weights there are an earlier run's); resume or rerun the training")
        if not checkpoints:
            raise ExportError(
                f"{path}: CHECKPOINT has no config.json or adapter_config.json, nor a checkpoint-N folder "
                "holding one; pass the output_dir of a `pluralign train` run or one of its checkpoint-N folders"
            )
        folder = checkpoints[-1]
        logger.info(f"using the latest checkpoint in {path}: {folder.name}")

    is_adapter = (folder / "adapter_config.json").is_file()
    base_model = None
    if is_adapter:
        adapter_config = read_json(folder / "adapter_config.json")
        base_model = adapter_config.get("base_model_name_or_path")
        if not base_model:
            raise ExportError(
                f"{folder / 'adapter_config.json'}: base_model_name_or_path is missing; set it to the "
                "path or Hub id of the model the adapter was trained on"
            )
    return Checkpoint(dir=folder, is_adapter=is_adapter, base_model=base_model, step=_checkpoint_step(folder),
                      run=run_of(folder))


def _checkpoint_step(folder: Path) -> int | None:
    state = folder / "trainer_state.json"
    if state.is_file():
        step = read_json(state).get("global_step")
        if isinstance(step, int):
            return step
    suffix = folder.name.rsplit("-", 1)[-1]
    return int(suffix) if folder.name.startswith("checkpoint-") and suffix.isdigit() else None
