"""Whether a leaderboard file already reflects a results folder, decided without rendering it.

Every rendered leaderboard carries a stamp line (an HTML comment, invisible on GitHub): the
lossbench version, the SHA-256 over the results folder's records and tuning manifests
(:func:`lossbench.store.results_digest`), the plot link, and the SHA-256 over the detail pages
written with it (:func:`pages_digest`). ``lossbench run`` and ``lossbench tune`` compare the
file's stamp with the one the folder and the detail pages on disk give, and skip re-rendering
when they are equal, so re-running a finished sweep does not redraw every table and plot, while
a detail page that is missing, altered or added makes them re-render. The summary (holding the
stamp) is written last (:mod:`lossbench.all_or_nothing`). ``lossbench leaderboard`` always
re-renders (after editing lossbench's report code under an unchanged version, use it), and
``lossbench leaderboard --check`` compares the whole text of every page.

Light on purpose: no pandas, no torch.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from .store import PLOTS_DIR, results_digest
from .version import __version__

STAMP_PREFIX = "<!-- lossbench leaderboard inputs:"


def pages_dir(out: str | Path) -> Path:
    """Where the detail pages of the summary ``out`` go: a folder named like it without its
    suffix (``leaderboard.md`` -> ``leaderboard/``)."""
    out = Path(out)
    return out.with_name(out.stem)


def pages_digest(pages: Mapping[str, str]) -> str:
    """SHA-256 over detail pages (file name -> text), in file-name order."""
    h = hashlib.sha256()
    for name in sorted(pages):
        for part in (name, pages[name]):
            data = part.encode("utf-8", "surrogateescape")
            h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def pages_on_disk(out: str | Path) -> dict[str, str]:
    """The detail pages beside the summary ``out`` as they are on disk (file name -> text; a
    sub-folder or an unreadable entry counts with a marker text, so it changes the digest)."""
    folder = pages_dir(out)
    found: dict[str, str] = {}
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        try:
            found[path.name] = path.read_bytes().decode("utf-8", "surrogateescape") \
                if path.is_file() else "\0(not a file)"
        except OSError as exc:
            found[path.name] = f"\0(unreadable: {exc.strerror})"
    return found


def stamp(results_dir: str | Path, plots_link: str, pages: Mapping[str, str] | None = None
          ) -> str:
    """The stamp line of a leaderboard rendered now from ``results_dir`` with the detail pages
    ``pages`` (file name -> text; None: no detail page)."""
    return (f"{STAMP_PREFIX} lossbench {__version__}; results sha256 "
            f"{results_digest(results_dir)}; plots {plots_link}; pages sha256 "
            f"{pages_digest(pages or {})} -->")


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
    """True if ``out`` was rendered by this lossbench version from exactly these results, and
    its detail pages on disk are exactly those it was written with."""
    found = read_stamp(out)
    return found is not None and found == stamp(results_dir, plots_link, pages_on_disk(out))


def plots_link(results_dir: str | Path, out: str | Path) -> str:
    """How the leaderboard file ``out`` links the plot folder ``<results_dir>/_plots`` (a
    relative path)."""
    plots_dir = Path(results_dir, PLOTS_DIR).resolve()
    return Path(os.path.relpath(plots_dir, Path(out).resolve().parent)).as_posix()
