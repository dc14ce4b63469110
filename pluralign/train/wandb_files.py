"""Read back what an offline W&B run wrote, without the network (for tests and audits).

An offline run keeps its records in `run-<id>.wandb`: a 7-byte header (`:W&B`, magic, version)
followed by LevelDB-log blocks of 32 KiB, each record split into chunks with a 7-byte header
(crc32c, little-endian length, type: 1 full, 2 first, 3 middle, 4 last). Each record is a
`wandb_internal_pb2.Record` protobuf. `wandb sync` uploads these; nothing here needs an account.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

BLOCK = 32768
HEADER = 7


def records(path: str | Path):
    """Every protobuf Record of a .wandb file, in order."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path}: not a W&B run file")
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        room = BLOCK - pos % BLOCK
        if room < HEADER:  # a block's tail too short for a chunk header is padding
            pos += room
            continue
        length, kind = struct.unpack("<HB", data[pos + 4:pos + 7])
        if length == 0 and kind == 0:
            pos += room
            continue
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""


def run_file(run_dir: str | Path) -> Path:
    """The .wandb file of a run folder (`.../offline-run-*/`) or of the newest run under a wandb dir."""
    run_dir = Path(run_dir)
    found = sorted(run_dir.glob("run-*.wandb")) or sorted(run_dir.glob("**/offline-run-*/run-*.wandb"))
    if not found:
        raise FileNotFoundError(f"no run-*.wandb under {run_dir}")
    return found[-1]


def logged_history(path: str | Path) -> list[dict]:
    """The rows given to `wandb.log`, as {key: value} (values decoded from JSON)."""
    rows = []
    for record in records(path):
        if record.WhichOneof("record_type") == "history":
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item})
    return rows


def summary(path: str | Path) -> dict:
    """The run summary as last updated."""
    out: dict = {}
    for record in records(path):
        if record.WhichOneof("record_type") == "summary":
            for item in record.summary.update:
                out[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return out


def run_info(path: str | Path) -> dict:
    """The run's project, name, job type and config (every update merged, values decoded)."""
    info: dict = {"config": {}}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            info.update(project=run.project, name=run.display_name, job_type=run.job_type)
            items = run.config.update
        elif kind == "config":
            items = record.config.update
        else:
            continue
        for item in items:
            info["config"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return info
