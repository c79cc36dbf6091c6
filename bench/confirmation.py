"""The catalog against the installed harness: checking its names, planning the runs it needs,
and judging it on a results folder (what ``lossbench validate`` does).

:mod:`lossbench.catalog` declares, :mod:`lossbench.validity` judges on records alone; this module
is the part that reads the live registry and suites (card defaults, current task versions) and
plans runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import SEED_SETS, Catalog, load_catalog
from .catalog_checks import check_catalog
from .comparable_runs import card_defaults

if TYPE_CHECKING:
    import pandas as pd

    from .spec import RunSpec
    from .validity import Judgement


def live_tasks() -> dict[str, list[str]]:
    """Every registered suite's task names (from the suites' cached metadata)."""
    from .registry import SUITES
    from .suites.description import suite_info

    return {name: list(suite_info(name).tasks) for name in SUITES.names()}


def current_versions(catalog: Catalog) -> dict[tuple[str, str], str]:
    """The current version of every task the catalog names."""
    from .suites.description import suite_info

    out = {}
    for suite in catalog.suites:
        for t in suite_info(suite).tasks.values():
            out[(suite, t.name)] = str(t.version)
    return out


def checked_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog, with every name checked against the installed harness."""
    catalog = load_catalog(path)
    check_catalog(catalog, live_tasks(), card_defaults)
    return catalog


def catalog_specs(catalog: Catalog, seed_sets: Sequence[str] = SEED_SETS,
                  suites: Sequence[str] | None = None) -> list[RunSpec]:
    """The run specs the catalog needs on the named seed sets: every configuration a finding or
    rank table declares, default recipe, each spec once."""
    from .plan import plan
    from .validity import split_hparams

    seeds = sorted({s for which in seed_sets for s in catalog.seeds(which)})
    specs: dict[str, RunSpec] = {}
    for (suite, task), configs in catalog.configurations().items():
        if suites and suite not in suites:
            continue
        for ref, declared in configs:
            loss_hp, reg_hp = split_hparams(ref, declared, card_defaults)
            planned = plan(
                tasks=[f"{suite}/{task}"], losses=[ref.loss],
                regularizers=[ref.regularizer] if ref.regularizer else None, seeds=seeds,
                loss_hparams={ref.loss: loss_hp or {}},
                regularizer_hparams={ref.regularizer: reg_hp or {}} if ref.regularizer else None)
            for s in planned.specs:
                specs.setdefault(s.key, s)
    return list(specs.values())


def judge_results(results: str | Path = "results", catalog: Catalog | None = None,
                  runs: pd.DataFrame | None = None, min_seeds: int | None = None,
                  ) -> tuple[Judgement, Judgement]:
    """The (confirmation, design) judgements of the catalog on ``results`` (or ``runs``), with
    the live cards' defaults and the suites' current task versions."""
    from .store import load_results

    catalog = catalog if catalog is not None else checked_catalog()
    if runs is None:
        runs = load_results(results, wide=True)
    return (judge_seed_set(catalog, runs, "confirmation"),
            judge_seed_set(catalog, runs, "design", min_seeds=min_seeds))


def judge_seed_set(catalog: Catalog, runs: pd.DataFrame, seed_set: str,
                   min_seeds: int | None = None) -> Judgement:
    """The catalog judged on one seed set of ``runs`` (the wide records frame), with the live
    cards' defaults and the suites' current task versions."""
    from .validity import judge

    return judge(catalog, runs, seed_set, defaults=card_defaults,
                 task_versions=current_versions(catalog), min_seeds=min_seeds)


def missing_specs(catalog: Catalog, results: str | Path,
                  seed_sets: Sequence[str] = SEED_SETS) -> list[RunSpec]:
    """The catalog's specs on ``seed_sets`` that ``results`` does not hold yet."""
    from .store import stored_keys

    stored = stored_keys(results)
    return [s for s in catalog_specs(catalog, seed_sets) if s.key not in stored]


def run_missing(results: str | Path = "results", seed_sets: Sequence[str] = SEED_SETS,
                catalog: Catalog | None = None, log: Callable[[str], None] | None = None,
                **sweep: Any) -> int:
    """Run the catalog's specs on ``seed_sets`` not yet in ``results`` (the executor options in
    ``sweep`` as :func:`lossbench.scheduler.run_sweep` takes them); returns how many were
    planned."""
    from .scheduler import run_sweep

    catalog = catalog if catalog is not None else checked_catalog()
    for which in seed_sets:
        catalog.seeds(which)  # UsageError naming the valid seed sets
    specs = catalog_specs(catalog, seed_sets)
    if log is not None:
        log(f"catalog {catalog.digest}: {len(specs)} runs on the {' and '.join(seed_sets)} seeds "
            f"({len(catalog.findings)} findings, {len(catalog.rankings)} rank tables)")
    if specs:
        run_sweep(specs, results, log=log, **{k: v for k, v in sweep.items() if v is not None})
    return len(specs)
