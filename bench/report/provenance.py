"""Provenance: what a table's runs mix that should not be mixed."""

from __future__ import annotations

import re

import pandas as pd

from ..cells import is_missing

#: provenance columns whose mixing inside one table is flagged
MIX_COLUMNS = (("git_sha", "git SHAs"), ("device", "devices"), ("task_version", "task versions"),
               ("harness_fingerprint", "harness fingerprints"),
               ("machine_id", "machines"))


def mixed(runs: pd.DataFrame) -> list[str]:
    """What a table's runs mix that should not be mixed: ``"git SHAs (a, b)"``, ... (for the
    optional ``harness_fingerprint`` column only when the records have it)."""
    out = []
    for col, what in MIX_COLUMNS:
        if col not in runs:
            continue
        values = sorted({str(v) for v in runs[col] if not is_missing(v) and str(v)})
        if len(values) > 1:
            shown = ", ".join(v[:12] if re.fullmatch(r"[0-9a-f]{40}(-dirty)?", v) else v
                              for v in values[:4]) + (" …" if len(values) > 4 else "")
            out.append(f"{len(values)} {what} ({shown})")
    return out
