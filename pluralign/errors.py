"""One error base for every mistake a user can make: bad data, a bad recipe, a bad setting.

`PluralignError` subclasses `ValueError`, so callers that caught `ValueError` keep working. The
CLI (`pluralign.cli.main`) prints any of them as one located line and exits 2 (or the error's
own `exit_code`); any other exception is a bug and shows its traceback.
"""

from __future__ import annotations


class PluralignError(ValueError):
    """A problem with the user's input or settings; the message says where and what to do."""

    exit_code = 2


class UsageError(PluralignError):
    """A bad option or setting (an unknown backend, a value out of range)."""
