"""Output files, written safely: all or nothing, never over an input, strict JSON.

Every command that writes goes through here:
- `check_output` / `check_output_folder` refuse, before any work, an output that is one of the
  command's inputs, a folder where a file is expected (or the reverse), a file where a folder is
  needed along the path, and places where nothing can be written (no permission, /proc, /sys):
  one located `UsageError` line each;
- `atomic_write` (and `write_text`, `write_lines`) writes to a temporary file in the same folder
  and renames it into place once everything is written, so a failure midway (bad input on line
  7, Ctrl-C, a full disk) leaves the previous file byte for byte;
- `staged_folder` does the same for a set of files (a report, a suite, an export): they are
  written in a hidden folder next to the target and moved in only when all are done;
- `json_text` writes strict JSON: NaN and infinities become null.
A missing parent folder is created, as `mkdir -p` would; an existing device or pipe
(`--out /dev/stdout`) is written to directly.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from pluralign.errors import UsageError

PSEUDO_FILESYSTEMS = (Path("/proc"), Path("/sys"))  # files there are the kernel's, not outputs


# --- paths --------------------------------------------------------------------------------------


def looks_like_local_path(name: str) -> bool:
    """Whether a model or data name can only be a local path (not a Hub id `org/name`)."""
    return name.startswith(("/", "./", "../", "~")) or name in (".", "..") or name.count("/") >= 2 or "\\" in name


def same_path(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file or folder (links and `..` included)."""
    a, b = Path(a).expanduser(), Path(b).expanduser()
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _who(option: str, path: Path) -> str:
    return f"{option} {path}".strip()


def _is_stream(path: Path) -> bool:
    """A device or pipe (/dev/stdout, /dev/null, a FIFO): written to as it is, never replaced."""
    if path.expanduser().absolute().parts[:2] == ("/", "dev"):
        return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _check_place(path: Path, option: str) -> None:
    """Refuse a place where `path` cannot be written: under /proc or /sys, below a file, or in
    a folder without write permission (the nearest existing one, as missing ones are made)."""
    resolved = path.expanduser().resolve()
    for root in PSEUDO_FILESYSTEMS:
        if resolved == root or root in resolved.parents:
            raise UsageError(f"{_who(option, path)}: {root} holds the kernel's files, not outputs; choose another folder")
    parent = resolved.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{_who(option, path)}: {parent} is a file, not a folder; choose another place")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{_who(option, path)}: {parent} is not writable; choose a folder you may write to")


def _named(inputs: Mapping[str, Any]) -> Iterator[tuple[str, Path]]:
    for name, value in inputs.items():
        for one in value if isinstance(value, (list, tuple)) else [value]:
            if one is not None:
                yield name, Path(one)


def check_output(path: str | Path, inputs: Mapping[str, Any] = {}, option: str = "--out") -> Path:
    """The output file `path`, checked before any work: not one of `inputs` ({option: path or
    paths}), not a folder, in a place that can be written."""
    path = Path(path)
    for name, given in _named(inputs):
        if same_path(path, given):
            raise UsageError(f"{_who(option, path)} is the same file as {name}; write elsewhere")
    if _is_stream(path):
        return path
    if path.is_dir():
        raise UsageError(f"{_who(option, path)} is a folder; give a file path inside it (e.g. {path / 'out.jsonl'})")
    _check_place(path, option)
    return path


def check_output_folder(folder: str | Path, inputs: Mapping[str, Any] = {}, option: str = "--out",
                        writes: Iterable[str] = ()) -> Path:
    """The output folder, checked before any work: not a file, not one of `inputs`, none of the
    files it `writes` (names inside it) one of the inputs, in a place that can be written."""
    folder = Path(folder)
    writes = list(writes)
    for name, given in _named(inputs):
        if same_path(folder, given):
            raise UsageError(f"{_who(option, folder)} is the same folder as {name}; write elsewhere")
        clash = next((w for w in writes if same_path(folder / w, given)), None)
        if clash:
            raise UsageError(f"{_who(option, folder)} would overwrite {name} {given} (it writes {clash} there); "
                             "write elsewhere")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{_who(option, folder)} is a file; give a folder")
    _check_place(folder, option)  # the files are written next to it first, then moved in
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{_who(option, folder)} is not writable; choose a folder you may write to")
    return folder


# --- writing ------------------------------------------------------------------------------------


def _cannot_write(path: Path, err: OSError) -> UsageError:
    return UsageError(f"{path}: could not be written ({err.strerror or err}); nothing was changed there")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: str | Path, binary: bool = False):
    """A handle on a temporary file next to `path`, renamed to `path` when the block ends
    without an error; on any error (or interrupt) the temporary file is removed and `path` is
    as it was. Write errors of the handle itself (a full disk) are the caller's to report."""
    path = Path(path)
    mode, encoding = ("wb", None) if binary else ("w", "utf-8")
    if _is_stream(path):
        with open(path, mode, encoding=encoding) as handle:
            yield handle
        return
    if path.is_symlink():  # the file it points to is the output; the link stays a link
        path = Path(os.path.realpath(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as err:
        raise _cannot_write(path, err) from None
    handle = os.fdopen(fd, mode, encoding=encoding)
    try:
        yield handle
    except BaseException:
        with suppress(OSError):
            handle.close()
        with suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        handle.close()  # flushes: a full disk shows here
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; outputs get the usual mode
        os.replace(tmp, path)
    except OSError as err:
        with suppress(OSError):
            os.unlink(tmp)
        raise _cannot_write(path, err) from None


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path`, all or nothing."""
    with atomic_write(path) as handle:
        try:
            handle.write(text)
        except OSError as err:
            raise _cannot_write(Path(path), err) from None
    return Path(path)


def write_lines(path: str | Path, lines: Iterable[str]) -> int:
    """Write each line (newline included) to `path`, all or nothing; return how many. An error
    raised while producing the lines (bad input on line 7) leaves `path` as it was."""
    count = 0
    with atomic_write(path) as handle:
        for line in lines:
            try:
                handle.write(line)
            except OSError as err:
                raise _cannot_write(Path(path), err) from None
            count += 1
    return count


@contextmanager
def staged_folder(folder: str | Path):
    """A hidden folder next to `folder` to write into; its files are moved into `folder` (made
    if needed) when the block ends without an error, else it is removed and `folder` is as it was.
    Files of `folder` that this run does not write are left alone."""
    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".partial"))
    except OSError as err:
        raise _cannot_write(folder, err) from None
    try:
        yield stage
        os.chmod(stage, 0o777 & ~_umask())
        if not folder.exists():
            stage.rename(folder)  # one rename: the whole folder appears at once
            return
        for source in sorted(stage.rglob("*")):
            if source.is_file():
                target = folder / source.relative_to(stage)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
    except OSError as err:
        raise _cannot_write(folder, err) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


# --- strict JSON --------------------------------------------------------------------------------


def finite(value: Any) -> Any:
    """A copy with every NaN or infinite float replaced by None (JSON null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def json_text(value: Any, indent: int | None = None) -> str:
    """Strict JSON (no NaN or Infinity, which other readers refuse): non-finite numbers become null."""
    try:
        return json.dumps(value, ensure_ascii=False, indent=indent, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere: rare, so only then is the value copied
        return json.dumps(finite(value), ensure_ascii=False, indent=indent, allow_nan=False)
