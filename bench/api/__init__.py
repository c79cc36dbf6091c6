"""The Python API. The CLI (``lossbench.cli``) is a thin layer over these functions; both share
one validation path (:mod:`lossbench.plan`) and one set of error messages.

What a sweep runs is a :class:`Selection` and how it runs an :class:`Execution`
(:mod:`.options`); :func:`run` and :func:`tune` sweep (:mod:`.sweeps`); the entries and suites
(:mod:`.entries`); the stored records, the leaderboard and the folder's ledger (:mod:`.records`);
the findings (:mod:`.judging`).

>>> import lossbench
>>> from lossbench.api import Execution, Selection
>>> df = lossbench.run(Selection(losses=["focal"], seeds=5),
...                    Execution(results="results", workers=4))          # doctest: +SKIP
"""

from __future__ import annotations

from .entries import check, create_loss, create_regularizer, list_entries, list_suites, show
from .judging import (
    DEFAULT_MIN_SEEDS,
    CatalogValidation,
    catalog_validation,
    design_vector,
    design_vector_dict,
    design_vector_text,
    missing_catalog_runs,
    validate,
    validate_catalog,
)
from .options import DEFAULT_RESULTS, DEFAULT_SEEDS, Execution, Selection
from .records import (
    DEFAULT_LEADERBOARD,
    leaderboard,
    leaderboard_matches,
    leaderboard_pages,
    leaderboard_up_to_date,
    load_results,
    merge,
    reproduce,
    retire_below,
    verify,
)
from .sweeps import check_selection_metric, run, tune

__all__ = ["DEFAULT_LEADERBOARD", "DEFAULT_MIN_SEEDS", "DEFAULT_RESULTS", "DEFAULT_SEEDS",
           "CatalogValidation", "Execution", "Selection", "catalog_validation", "check",
           "check_selection_metric", "create_loss", "create_regularizer", "design_vector",
           "design_vector_dict", "design_vector_text", "leaderboard", "leaderboard_matches",
           "leaderboard_pages", "leaderboard_up_to_date", "list_entries", "list_suites",
           "load_results", "merge", "missing_catalog_runs", "reproduce", "retire_below", "run",
           "show", "tune", "validate", "validate_catalog", "verify"]
