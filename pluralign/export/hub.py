"""The Hub side of an export: what would be uploaded, the upload itself, and token hygiene.

The token is whatever `huggingface_hub` resolves (HF_TOKEN, then the `hf auth login` file); it is
never printed or written: `scrub` removes it (and anything shaped like a Hub token) from text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from pluralign import __version__
from pluralign.export.checkpoint import ExportError
from pluralign.log import get_logger

logger = get_logger(__name__)
HF_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{20,}")


def scrub(text: str) -> str:
    """Replace anything that looks like a Hub token (and the token in use) with <redacted>."""
    from huggingface_hub import get_token

    token = get_token()
    if token:
        text = text.replace(token, "<redacted>")
    return HF_TOKEN_PATTERN.sub("<redacted>", text)


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


def check_repo_id(repo_id: str) -> None:
    """A Hub repo id is `name` or `owner/name` of letters, digits, `-`, `_` and `.`."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ExportError(f"--push-to-hub {repo_id!r} is not a Hub repo id ({str(err).splitlines()[0]}); "
                          "write owner/name, e.g. you/pluralign-summarizer") from None


def _api_for(what: str, repo_id: str):
    from huggingface_hub import HfApi, constants, get_token

    if constants.is_offline_mode():
        raise ExportError(
            f"cannot push {what} to {repo_id}: HF_HUB_OFFLINE is set (the Makefile sets it); "
            "unset it to push, or use --dry-run to see what would be uploaded"
        )
    if get_token() is None:
        raise ExportError(f"cannot push {what} to {repo_id}: no Hugging Face token; set HF_TOKEN or run `hf auth login`")
    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None)


def network_errors() -> tuple[type[BaseException], ...]:
    """What a Hub call raises when the Hub refuses or cannot be reached (not a bug of ours)."""
    from huggingface_hub.errors import HfHubHTTPError

    errors: tuple[type[BaseException], ...] = (HfHubHTTPError, OSError)
    try:  # the HTTP client of huggingface_hub 2.x
        import httpx2

        errors += (httpx2.HTTPError,)
    except ImportError:
        pass
    return errors


def _repo_kind(repo_type: str | None) -> str | None:
    return None if repo_type in (None, "model") else repo_type  # the Hub's default is a model repo


def check_push(repo_id: str, private: bool = False, repo_type: str | None = None) -> None:
    """Before an export's work: offline mode, the token, the network and the right to write to
    `repo_id`, by creating the repo (or finding it: creating is idempotent)."""
    api = _api_for("the export", repo_id)
    try:
        api.create_repo(repo_id, private=True if private else None, exist_ok=True, repo_type=_repo_kind(repo_type))
    except network_errors() as err:
        raise ExportError(
            f"cannot push to {repo_id}: {err}\ncheck the network and that the token (HF_TOKEN or `hf auth login`) "
            f"may write to {repo_id.split('/')[0]}; nothing was exported"
        ) from None


def push_to_hub(folder: str | Path, repo_id: str, private: bool = False, repo_type: str | None = None,
                commit_message: str | None = None) -> str:
    """Create the repo (a model, or with `repo_type="dataset"` a dataset) if needed and upload the
    folder; returns the commit URL. The token is the one `huggingface_hub` resolves; HF_ENDPOINT is
    read now, not at import."""
    api = _api_for(folder, repo_id)
    kind = _repo_kind(repo_type)
    what = f"{kind} built" if kind else "model exported"
    try:
        repo = api.create_repo(repo_id, private=True if private else None, exist_ok=True, repo_type=kind)
        logger.info(f"uploading {folder} to {repo.repo_id}" + (" (private)" if private else ""))
        commit = api.upload_folder(repo_id=repo.repo_id, folder_path=str(folder), repo_type=kind,
                                   commit_message=commit_message or f"Upload {what} by pluralign {__version__}")
    except network_errors() as err:
        raise ExportError(
            f"pushing {folder} to {repo_id} failed: {err}\ncheck that the token (HF_TOKEN or `hf auth login`) "
            f"may write to {repo_id.split('/')[0]}; the {kind or 'model'} folder is complete and can be pushed again"
        ) from err
    return commit.commit_url
