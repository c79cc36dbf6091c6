"""The stored records and what is made of them: reading them, the leaderboard, checking the
folder against its ledger, merging a distribution's records, re-running a sample of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .options import DEFAULT_RESULTS, check_device, check_executor

if TYPE_CHECKING:
    import pandas as pd

    from ..integrity import Verification
    from ..merging import MergeReport
    from ..reproduction import Reproduction

DEFAULT_LEADERBOARD = "leaderboard.md"


def load_results(path: str | Path = DEFAULT_RESULTS, wide: bool = True) -> pd.DataFrame:
    """Stored results as a DataFrame (see :func:`lossbench.store.load_results`)."""
    from ..store import load_results as _load

    return _load(path, wide=wide)


def leaderboard(path: str | Path = DEFAULT_RESULTS, out: str | Path | None = DEFAULT_LEADERBOARD,
                html: str | Path | None = None, plots: bool = True) -> str:
    """Render the leaderboard summary from ``path`` and return it; also write it, its detail
    pages (``leaderboard/<suite>.md`` beside ``out``, :func:`leaderboard_pages`) and the plots
    (unless ``plots`` is False: the markdown still links them) unless ``out`` is None; with
    ``html``, also build the static HTML site in that folder.

    ``UsageError`` when ``path`` is not an existing folder or ``out``'s folder is missing or not
    writable (:mod:`lossbench.outputs`), before anything is rendered."""
    from .. import report as lb
    from ..outputs import check_output_file, check_results_to_read

    check_results_to_read(path)
    if out is not None:
        check_output_file(out)

    if out is not None:
        lb.write(path, out, plots=plots, html=html)
        return Path(out).read_text(encoding="utf-8")
    if html is not None:
        lb.write_site(path, html)
    return lb.render(path)


def leaderboard_matches(path: str | Path = DEFAULT_RESULTS,
                        out: str | Path = DEFAULT_LEADERBOARD) -> bool:
    """Whether ``out`` and its detail pages exist and equal what ``path`` renders now, and the
    detail-page folder holds nothing else (renders the board: ``lossbench leaderboard
    --check``)."""
    from ..report import is_fresh

    return is_fresh(path, out)


def leaderboard_up_to_date(path: str | Path, out: str | Path) -> bool:
    """Whether ``out``'s stamp says this lossbench version rendered it from exactly the records
    in ``path`` and its detail pages on disk are those it was written with (reads the stamp
    only, renders nothing: the check after each sweep, :mod:`lossbench.freshness`)."""
    from ..freshness import plots_link, up_to_date

    return up_to_date(path, out, plots_link(path, out))


def leaderboard_pages(out: str | Path) -> Path:
    """The folder of the detail pages of the summary ``out`` (``leaderboard.md`` ->
    ``leaderboard/``)."""
    from ..freshness import pages_dir

    return pages_dir(out)


def reproduce(results: str | Path = DEFAULT_RESULTS, sample: int = 20, random_seed: int = 0,
              threads: int | None = None, workers: int | None = None, executor: str = "local",
              device: str = "cpu", into: str | Path | None = None, progress: str = "auto",
              log: Callable[[str], None] | None = None) -> Reproduction:
    """Re-run a random sample of the stored records here and measure the drift: what
    ``lossbench reproduce`` prints, as a :class:`lossbench.reproduction.Reproduction` (``.drift``:
    one row per quality metric — pairs, share bit-identical, median / 95th percentile / max
    |re-run − stored| and the spec with the max —; ``.machines``, ``.threads``: the stored and
    current ``machine_id`` and torch threads; ``.to_dict()`` for JSON).

    ``sample`` (default 20) ``ok`` records of the current harness version in ``results`` are
    drawn with ``random_seed`` (default 0) and re-run through the normal sweep (``executor``,
    ``workers``, ``threads``, ``device`` as for :func:`run`) into a temporary folder, or into
    ``into`` (a new or empty folder, kept); ``results`` is never written. ``UsageError`` names
    a bad value (sample, seed, folder, executor, device)."""
    from .. import reproduction as rp

    check_executor(executor)
    check_device(device)
    return rp.reproduce(results, sample, random_seed, threads=threads, workers=workers,
                        executor=executor, device=device, into=into, progress=progress,
                        log=log)


def verify(path: str | Path = DEFAULT_RESULTS, adopt: bool = False) -> Verification:
    """Check the results folder ``path`` against its ledger (:mod:`lossbench.integrity`): returns a
    :class:`~lossbench.integrity.Verification` (``ok``, ``findings``: deleted, altered, unknown,
    foreign records and unreadable ledger lines, ``line()``). ``adopt``: first vouch for every
    sound record the ledger has no entry for (records stored before the folder had a ledger)."""
    from ..integrity import verify as _verify

    return _verify(path, adopt=adopt)


def retire_below(results: str | Path, version: str) -> list[tuple[str, str]]:
    """Remove the records of harness versions below ``version`` from ``results``, each with a
    ``retire`` line in its ledger (:func:`lossbench.integrity.retire_below`); returns
    ``(key, harness version)`` of each."""
    from ..integrity import retire_below as retire

    return retire(results, version)


def merge(source: str | Path, path: str | Path = DEFAULT_RESULTS, distribution: str = ""
          ) -> MergeReport:
    """Merge the records one third-party distribution's job made in ``source`` into ``path``
    (:mod:`lossbench.merging`): sound records of that distribution's own entries, never replacing
    a stored one; returns a :class:`~lossbench.merging.MergeReport` (``merged`` keys, ``refused``
    files with the reason)."""
    from ..merging import merge_records
    from ..outputs import check_results_to_read

    check_results_to_read(source)
    return merge_records(source, path, distribution)


