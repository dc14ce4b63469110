"""Whether a W&B run can start here, checked before any work (`report_to: wandb`, `--report-to wandb`).

Online W&B needs credentials: WANDB_API_KEY (or WANDB_IDENTITY_TOKEN_FILE), or the entry that
`wandb login` writes into ~/.netrc (NETRC elsewhere) for the W&B host. Offline and disabled runs
need none. Without this check a run asks for a key at its first log line (or fails there), after
the model was loaded and the data read. Nothing here contacts the network.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

from pluralign.errors import UsageError

NO_LOGIN_NEEDED = ("offline", "disabled", "dryrun")


def has_wandb_login() -> bool:
    """Whether W&B can log here: offline/disabled, or credentials in the environment or ~/.netrc."""
    if os.environ.get("WANDB_MODE", "").lower() in NO_LOGIN_NEEDED:
        return True
    if os.environ.get("WANDB_DISABLED", "").lower() in ("1", "true", "yes"):
        return True
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").hostname
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc").expanduser()
    try:
        return bool(path.is_file() and netrc.netrc(str(path)).authenticators(host))
    except (OSError, netrc.NetrcParseError):
        return False


def check_wandb_login(where: str) -> None:
    """A UsageError saying what to do when W&B cannot log here."""
    if not has_wandb_login():
        raise UsageError(f"{where}: no W&B login found (WANDB_API_KEY or `wandb login`); log in, "
                         "or set WANDB_MODE=offline to write the run locally and `wandb sync` it later")
