"""Whether a leaderboard file already reflects a results folder, decided without rendering it.

Every rendered leaderboard carries a stamp line (an HTML comment, invisible on GitHub): the
lossbench version, the SHA-256 over the results folder's records and tuning manifests
(:func:`lossbench.store.results_digest`), and the plot link. ``lossbench run`` and ``lossbench
tune`` compare the file's stamp with the folder's and skip re-rendering when they are equal, so
re-running a finished sweep does not redraw every table and plot. ``lossbench leaderboard``
always re-renders (after editing lossbench's report code under an unchanged version, use it), and
``lossbench leaderboard --check`` compares the whole text.

Light on purpose: no pandas, no torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import __version__
from .store import PLOTS_DIR, results_digest

STAMP_PREFIX = "<!-- lossbench leaderboard inputs:"


def stamp(results_dir: str | Path, plots_link: str) -> str:
    """The stamp line of a leaderboard rendered now from ``results_dir``."""
    return (f"{STAMP_PREFIX} lossbench {__version__}; results sha256 "
            f"{results_digest(results_dir)}; plots {plots_link} -->")


def read_stamp(out: str | Path) -> str | None:
    """The stamp line of the leaderboard file ``out`` (None if it has none or does not exist)."""
    try:
        with open(out, encoding="utf-8") as fh:
            for _, line in zip(range(20), fh, strict=False):
                if line.startswith(STAMP_PREFIX):
                    return line.rstrip("\n")
    except OSError:
        return None
    return None


def up_to_date(results_dir: str | Path, out: str | Path, plots_link: str) -> bool:
    """True if ``out`` was rendered by this lossbench version from exactly these results."""
    found = read_stamp(out)
    return found is not None and found == stamp(results_dir, plots_link)


def plots_link(results_dir: str | Path, out: str | Path) -> str:
    """How the leaderboard file ``out`` links the plot folder ``<results_dir>/_plots`` (a
    relative path)."""
    plots_dir = Path(results_dir, PLOTS_DIR).resolve()
    return Path(os.path.relpath(plots_dir, Path(out).resolve().parent)).as_posix()
