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
