"""Deliberation data: schemas, loaders (JSONL, datasets, Polis), opinion groups, synthetic debates, tasks."""

from pluralign.data.jsonl import (
    debates_from_dataset,
    debates_to_dataset,
    items_from_dataset,
    items_to_dataset,
    read_debates,
    read_jsonl,
    read_outputs,
    read_rewrite_items,
    write_jsonl,
)
from pluralign.data.schema import DataError, check_debate, check_rewrite_item

__all__ = [
    "DataError",
    "check_debate",
    "check_rewrite_item",
    "debates_from_dataset",
    "debates_to_dataset",
    "items_from_dataset",
    "items_to_dataset",
    "read_debates",
    "read_jsonl",
    "read_outputs",
    "read_rewrite_items",
    "write_jsonl",
]
