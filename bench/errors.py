"""Errors raised by lossbench's public API.

The CLI maps :class:`UsageError` (bad names, bad option values) to exit status 2, the same
status argparse uses for malformed command lines, and prints its message unchanged: the Python
API and the CLI share one validation path and one set of messages.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LossbenchError(Exception):
    """Base class of every error lossbench raises on purpose."""


class UsageError(LossbenchError, ValueError):
    """A value supplied by the user is not valid (unknown name, bad option value)."""


class EntryLoadError(LossbenchError):
    """A registered entry could not be imported or built."""


def unknown_value(what: str, value: object, valid: Iterable[str]) -> UsageError:
    """Build the standard "unknown X" error: names the bad value, close matches, valid choices."""
    valid = sorted(set(valid))
    close = difflib.get_close_matches(str(value), valid, n=3, cutoff=0.6)
    msg = f"unknown {what} {value!r}"
    if close:
        msg += f"; did you mean {' or '.join(repr(c) for c in close)}?"
    msg += f"\nvalid {what} names: {', '.join(valid) if valid else '(none registered)'}"
    return UsageError(msg)


class MissingExtraError(LossbenchError, ImportError):
    """A feature needs an optional dependency that is not installed."""


def import_extra(module: str, extra: str, needed_for: str):
    """``importlib.import_module(module)``, or a :class:`MissingExtraError` naming the extra that
    installs it (``pip install 'lossbench[fullscale]'``)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"{needed_for} needs {module.split('.')[0]!r}, which is not installed; install "
            f"lossbench's {extra!r} extra: pip install 'lossbench[{extra}]' (or pip install -e "
            f"'.[{extra}]' in a checkout)") from exc
