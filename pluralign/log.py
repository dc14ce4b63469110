"""Status lines: one logger per module under `pluralign`, to stderr, from the main process only.

Under `torchrun` or `accelerate launch` every rank runs the same code; status lines ("built a
tiny model", "12 pairs from 20 prompts") are printed by rank 0 alone, while warnings and errors
come from every rank. The rank is read from the launcher's environment (`RANK`), so no
distributed state is needed to log.
"""

from __future__ import annotations

import logging
import os
import sys


class _Stderr(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (pytest and the demo swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # a closed stream must not break the run
            self.handleError(record)


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0") or 0) == 0


def get_logger(name: str) -> logging.Logger:
    """A logger under `pluralign`: INFO on the main process, WARNING on the others."""
    root = logging.getLogger("pluralign")
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
        root.propagate = False
    root.setLevel(logging.INFO if is_main_process() else logging.WARNING)
    return logging.getLogger(name if name.startswith("pluralign") else f"pluralign.{name}")


def quiet_deepspeed() -> None:
    """Keep DeepSpeed from printing, on stdout, that it found no GPU: accelerate imports it
    whenever a model is saved, and on a machine without CUDA it detects, then announces, the CPU.
    Saying so first (DS_ACCELERATOR=cpu) is silent; a user's own setting is kept."""
    if "DS_ACCELERATOR" in os.environ or "deepspeed" in sys.modules:
        return
    import torch

    if not torch.cuda.is_available():
        os.environ["DS_ACCELERATOR"] = "cpu"


def progress_bars_on_a_terminal_only() -> bool:
    """Progress bars redraw a line: on a terminal that shows progress, in a log file it is noise.
    Off a terminal, the bars of transformers, datasets and huggingface_hub are turned off (those
    of pluralign itself use tqdm's `disable=None`, which does the same). Returns whether they are on."""
    if sys.stderr.isatty():
        return True
    import datasets
    import huggingface_hub.utils
    import transformers.utils.logging

    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    huggingface_hub.utils.disable_progress_bars()
    return False


def quiet_deprecations() -> None:
    """TRL and peft still read transformers' deprecated `is_gradient_checkpointing` (renamed
    `is_activation_checkpointing`), which warns once per process: nothing a user can act on."""
    import warnings

    warnings.filterwarnings("ignore", message=r"`(is_)?gradient_checkpointing` is deprecated", category=FutureWarning)
