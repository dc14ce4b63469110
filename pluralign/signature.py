"""Score signatures, in the manner of sacrebleu (docs/design.md §8).

A signature is `key:value|key:value|...` with the keys in a fixed order: the pluralign version,
the scorer, the backend and its model, the thresholds and weights, and the group source. Two
scores are comparable only when their signatures are equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pluralign import __version__

# The order of the fields a signature writes first; any other field follows, sorted.
ORDER = ("pluralign", "scorer", "backend", "threshold", "weights", "guards", "groups")


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return ",".join(f"{k}={_format(v)}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ",".join(_format(v) for v in value)
    return str(value)


def make_signature(**fields: Any) -> str:
    """`pluralign:<version>|scorer:...|...`; `pluralign` is filled in."""
    fields = {"pluralign": __version__, **fields}
    keys = [k for k in ORDER if k in fields] + sorted(k for k in fields if k not in ORDER)
    for key in keys:
        text = _format(fields[key])
        if "|" in text or "|" in key:
            raise ValueError(f"signature field {key!r} may not contain '|': {text!r}")
    return "|".join(f"{k}:{_format(fields[k])}" for k in keys)


def parse_signature(signature: str) -> dict[str, str]:
    """The fields of a signature, as strings."""
    out: dict[str, str] = {}
    for part in signature.split("|"):
        key, sep, value = part.partition(":")
        if not sep:
            raise ValueError(f"not a pluralign signature (no ':' in {part!r}): {signature!r}")
        out[key] = value
    return out


def signature_difference(a: str, b: str) -> dict[str, tuple[str | None, str | None]]:
    """The fields where two signatures differ: {key: (value in a, value in b)}; {} when comparable."""
    fa, fb = parse_signature(a), parse_signature(b)
    return {k: (fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}
