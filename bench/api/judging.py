"""The findings: the pre-registered catalog judged on the stored records (design seeds beside
confirmation seeds, :mod:`lossbench.validity`), the design seeds' verdict vector of a recipe
variant (:mod:`lossbench.design_vector`), and the findings the suites declare themselves
(:mod:`lossbench.findings`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..findings import DEFAULT_MIN_SEEDS
from ..progress import stderr
from .options import DEFAULT_RESULTS

if TYPE_CHECKING:
    import pandas as pd

    from ..design_vector import DesignVector
    from ..findings import FindingResult
    from ..validity import Judgement


def validate(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
             min_seeds: int | None = None, confirm: bool = False, workers: int | None = None
             ) -> pd.DataFrame:
    """Judge the pre-registered findings catalog (:mod:`lossbench.catalog`) on the records in
    ``path``: what ``lossbench validate`` prints, as a DataFrame with one row per finding and seed
    set (``design`` first, then ``confirmation``).

    Columns: those of :meth:`lossbench.validity.FindingVerdict.to_dict` — ``id``, ``seed_set``,
    ``suite``, ``task``, ``task_version``, ``a``/``b`` and their declared hyperparameters,
    ``primary``, ``expect``, ``n``, ``seeds``, ``effect`` (mean of A − B signed so that positive
    = A better), ``low``/``high`` (its 95 % t-interval), ``published_effect``, ``ratio``, ``p`` and
    ``p_holm`` (the primary test, Holm-adjusted across the catalog), ``verdict`` (confirmed |
    unresolved | contradicted | missing), ``contradicted_metrics``, ``metrics`` (every declared
    metric's test), ``note``, ``claim``, ``source``, ``setting``, ``proxy``. ``confirm``: first run
    what the catalog still needs (:func:`lossbench.confirmation.run_missing`).
    """
    import pandas as pd

    confirmation, design = validate_catalog(path, suites, min_seeds=min_seeds, confirm=confirm,
                                            workers=workers, log=stderr)
    return pd.DataFrame([v.to_dict(j.alpha) for j in (design, confirmation)
                         for v in j.findings])


def validate_catalog(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
                     min_seeds: int | None = None, confirm: bool = False,
                     catalog: str | Path | None = None, workers: int | None = None,
                     log: Callable[[str], None] | None = None) -> tuple[Judgement, Judgement]:
    """The (confirmation, design) :class:`lossbench.validity.Judgement` of the catalog on
    ``path``; ``suites`` restricts it to their findings and rank tables (Holm then runs over
    those only); ``confirm`` first runs the catalog's missing specs on both seed sets."""
    from ..confirmation import judge_results, run_missing
    from ..outputs import check_results_to_read

    cat = _catalog_for(catalog, suites)
    if confirm:
        run_missing(path, catalog=cat, log=log or stderr, workers=workers)
    check_results_to_read(path)
    return judge_results(path, cat, min_seeds=min_seeds)


def design_vector(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
                  min_seeds: int | None = None, confirm: bool = False,
                  catalog: str | Path | None = None, workers: int | None = None,
                  log: Callable[[str], None] | None = None) -> DesignVector:
    """The catalog's unadjusted verdict vector on the **design seeds only** (a
    :class:`lossbench.design_vector.DesignVector`): what ``lossbench validate --design`` prints to
    judge a recipe variant on the whole catalog. ``confirm`` first runs the catalog's missing
    specs on the design seeds; the confirmation seeds are neither run nor read."""
    from ..confirmation import judge_seed_set, run_missing
    from ..design_vector import design_vector as vector
    from ..outputs import check_results_to_read
    from ..store import load_results

    cat = _catalog_for(catalog, suites)
    if confirm:
        run_missing(path, seed_sets=("design",), catalog=cat, log=log or stderr, workers=workers)
    check_results_to_read(path)
    return vector(judge_seed_set(cat, load_results(path, wide=True), "design", min_seeds))


def _catalog_for(catalog: str | Path | None, suites: Sequence[str] | None):
    """The checked catalog (shipped or ``catalog``), restricted to ``suites`` when given."""
    from ..confirmation import checked_catalog

    cat = checked_catalog(catalog)
    if suites:
        from ..registry import SUITES

        for name in suites:
            SUITES.get(name)  # UsageError naming the valid suites
        cat = cat.only(suites)
    return cat


@dataclass
class CatalogValidation:
    """What ``lossbench validate`` reports: the catalog's :class:`~lossbench.validity.Judgement`
    on the confirmation and the design seeds, and the findings the selected suites declare
    themselves (``Suite.findings``), judged with ``min_seeds``."""

    confirmation: Judgement
    design: Judgement
    suite_findings: list[FindingResult]
    min_seeds: int

    @property
    def contradicted(self) -> bool:
        """A catalog finding contradicted on the confirmation seeds, or a suite's finding
        inverted: ``lossbench validate`` exits 1."""
        return (any(v.verdict == "contradicted" for v in self.confirmation.findings)
                or any(r.verdict == "inverted" for r in self.suite_findings))

    @property
    def missing(self) -> bool:
        """Whether a catalog finding lacks the runs for a verdict on either seed set."""
        return any(v.verdict == "missing" for j in (self.confirmation, self.design)
                   for v in j.findings)

    def to_dict(self) -> dict[str, Any]:
        """Both seed sets' verdicts and rank tables, and the suites' findings, for JSON (NaN as
        None)."""
        from ..validity_text import clean_nan, to_dict

        out = to_dict(self.confirmation, self.design)
        out["suite_findings"] = [clean_nan(r.to_dict()) for r in self.suite_findings]
        return out

    def render_catalog(self) -> str:
        """The catalog's tables: each finding on both seed sets, then the rank agreement."""
        from ..validity_text import render_text

        return render_text(self.confirmation, self.design)

    def render_suite_findings(self) -> str:
        """The table of the suites' own findings ('' when they declare none)."""
        from ..findings_text import render_text

        return render_text(self.suite_findings, self.min_seeds) if self.suite_findings else ""


def catalog_validation(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
                       min_seeds: int = DEFAULT_MIN_SEEDS, confirm: bool = False,
                       catalog: str | Path | None = None, workers: int | None = None,
                       log: Callable[[str], None] | None = None) -> CatalogValidation:
    """What ``lossbench validate`` judges: the catalog on ``path`` (:func:`validate_catalog`:
    ``confirm`` first runs what it still needs) and the findings the ``suites`` declare
    (:func:`lossbench.findings.validate`), each finding's sides needing ``min_seeds`` seeds."""
    from ..findings import validate as judge_declared

    confirmation, design = validate_catalog(path, suites, min_seeds=min_seeds, confirm=confirm,
                                            catalog=catalog, workers=workers, log=log)
    declared = judge_declared(path, suites, min_seeds=min_seeds, log=log)
    return CatalogValidation(confirmation, design, declared, min_seeds)


def missing_catalog_runs(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
                         catalog: str | Path | None = None) -> int:
    """How many runs the catalog (``catalog`` or the shipped one, restricted to ``suites``)
    needs on its seed sets that ``path`` does not hold (what ``validate --confirm`` would
    run)."""
    from ..confirmation import missing_specs

    return len(missing_specs(_catalog_for(catalog, suites), path))


def design_vector_dict(vec: DesignVector) -> dict[str, Any]:
    """A :class:`~lossbench.design_vector.DesignVector` for JSON (NaN as None): ``validate
    --design --json``."""
    from ..validity_text import clean_nan

    return clean_nan({
        "seed_set": vec.seed_set, "alpha": vec.alpha, "score": vec.score,
        "mean_tau": vec.mean_tau,
        "findings": [{"id": f, "verdict": v, "effect": e} for f, v, e in vec.verdicts],
        "rankings": [{"id": t, "tau": tau} for t, tau in vec.taus]})


def design_vector_text(vec: DesignVector) -> str:
    """A :class:`~lossbench.design_vector.DesignVector` as ``validate --design`` prints it."""
    from ..design_vector import render_vector

    return render_vector(vec)
