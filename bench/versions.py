"""Version strings: the form of a harness version and the order of task and entry versions.

Below every layer that compares versions (the fingerprint's ``--bump``, the store's checks, the
findings, the report), so none of them reaches up into another to do it.
"""

from __future__ import annotations

import re


def is_harness_version(text: str) -> bool:
    """Whether ``text`` has the form of a harness version, ``X.Y.Z`` (digits and dots)."""
    return re.fullmatch(r"\d+(\.\d+)*", text) is not None


def version_key(version: str) -> tuple:
    """Sort key of a task or entry version: numeric parts numerically (``"10" > "9"``), text
    parts after numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in str(version).split("."))
