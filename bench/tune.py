"""The equal-budget tuning protocol behind ``lossbench tune``.

Every entry gets the same budget of ``K`` configurations per task: its card's defaults plus
``K - 1`` quasi-random draws from its card's ``search_space`` (an entry without a search space has
nothing to tune and runs its defaults only). Each configuration is trained once, on the selection
seed; the configuration with the best *validation* metric (``val_top1`` unless the task records
another) is selected — test metrics are never looked at — and then run for the evaluation seeds.
Musgrave et al. (*A Metric Learning Reality Check*, ECCV 2020, arXiv:2003.08505) found most claimed
gains vanish under such equal budgets; DomainBed (Gulrajani & Lopez-Paz, arXiv:2007.01434) made
the validation-only selection explicit.

Draws are reproducible and independent across entries: each hyperparameter of each entry reads
its own scrambled Halton sequence seeded by ``sha256("<entry>/<hparam>")`` (DomainBed seeds its
random search the same way), so adding an entry or a hyperparameter never changes another's draws.

Trial runs are ordinary runs in the results store. What tuning decided is written next to them as
a small JSON manifest under ``<results>/_tuning/`` (a leading ``_`` keeps Parquet readers such as
``pandas.read_parquet(results)`` from reading it); the leaderboard re-derives the selection from
the stored validation metrics, so the manifest only says which runs were trials.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .all_or_nothing import temp_path
from .build import resolve_hparams
from .cards import NO_DEFAULT, Card, search_space_problem
from .errors import UsageError
from .file_names import inside, slug
from .metrics import metric_info
from .plan import BASELINE_LOSS, DEFAULT_SEEDS, plan
from .progress import stderr
from .registry import LOSSES, REGULARIZERS
from .spec import RunSpec, canonical_json
from .store import TUNING_DIR

DEFAULT_TRIALS = 8
SELECTION_SEED = 0
DEFAULT_SELECTION_METRIC = "val_top1"
PROTOCOL = "equal-budget"


# ---------------------------------------------------------------- drawing configurations

def hparam_seed(entry: str, hparam: str) -> int:
    """The seed of one hyperparameter's sequence: the first 8 bytes of sha256("entry/hparam")."""
    return int.from_bytes(hashlib.sha256(f"{entry}/{hparam}".encode()).digest()[:8], "big")


def validate_search_space(entry: str, space: Mapping[str, Any],
                          defaults: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`UsageError` naming the entry and hyperparameter for a malformed space: the
    card rule of :func:`lossbench.registry.search_space_problem` (with each default in range
    when ``defaults`` are given), the one that ``list`` and ``lossbench check`` apply."""
    for name, dim in space.items():
        default = (defaults or {}).get(name, NO_DEFAULT)
        problem = search_space_problem(dim, default)
        if problem:
            raise UsageError(f"search_space[{name!r}] of {entry!r}: {problem}")


def unit_to_value(dim: Mapping[str, Any], u: float) -> Any:
    """Map ``u`` in [0, 1) to a value of one search-space dimension.

    Uniform on ``[low, high]``, log-uniform with ``"log": true``, a uniform integer of
    ``{low, …, high}`` with ``"int": true``, one of ``"choices"`` with equal probability.
    """
    if "choices" in dim:
        choices = list(dim["choices"])
        return choices[min(int(u * len(choices)), len(choices) - 1)]
    low, high = float(dim["low"]), float(dim["high"])
    if dim.get("int"):
        if dim.get("log"):
            value = math.exp(math.log(low) + u * (math.log(high + 1) - math.log(low)))
        else:
            value = low + u * (high - low + 1)
        return int(min(max(math.floor(value), low), high))
    if dim.get("log"):
        return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
    return float(low + u * (high - low))


def draw_configs(entry: str, space: Mapping[str, Any], n: int,
                 defaults: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """``n`` quasi-random configurations of ``space`` for ``entry`` (scrambled Halton per
    hyperparameter, seeded by :func:`hparam_seed`); the space is validated first."""
    from scipy.stats import qmc

    validate_search_space(entry, space, defaults)
    if n <= 0 or not space:
        return []
    columns = {}
    for name in sorted(space):
        sampler = qmc.Halton(d=1, scramble=True, seed=hparam_seed(entry, name) % 2**32)
        columns[name] = [unit_to_value(space[name], float(u)) for u in sampler.random(n)[:, 0]]
    return [{name: columns[name][i] for name in columns} for i in range(n)]


def trial_configs(card: Card, trials: int) -> list[dict[str, Any]]:
    """The ``trials`` configurations tuning runs for ``card``: its defaults first, then
    ``trials - 1`` draws. An empty search space gives the defaults only."""
    if trials < 1:
        raise UsageError(f"--trials must be >= 1, got {trials}")
    draws = draw_configs(card.name, card.search_space, trials - 1, card.hparams)
    return [dict(card.hparams)] + [resolve_hparams(card, d) for d in draws]


# ---------------------------------------------------------------- selection

def select_trial(values: Sequence[float], higher_is_better: bool = True) -> int | None:
    """Index of the best validation value (NaN = failed trial); ties go to the earlier trial, so
    the defaults win a tie. None when every trial failed."""
    best, best_i = None, None
    for i, v in enumerate(values):
        if v is None or math.isnan(v):
            continue
        if best is None or (v > best if higher_is_better else v < best):
            best, best_i = v, i
    return best_i


@dataclasses.dataclass
class TuningResult:
    """One entry tuned on one task: its trial specs, their validation values and the choice."""

    kind: str  # loss | regularizer
    entry: str
    trials: list[RunSpec]
    values: list[float]
    selection_metric: str
    selected: int | None
    search_space: Mapping[str, Any]
    budget: int = DEFAULT_TRIALS  # K requested; fewer trials when the search space is empty
    note: str = ""  # why nothing was selected

    @property
    def base(self) -> RunSpec:
        return self.trials[0]

    @property
    def selected_spec(self) -> RunSpec | None:
        return None if self.selected is None else self.trials[self.selected]

    @property
    def selected_hparams(self) -> dict[str, Any] | None:
        """The tuned entry's hyperparameters in the selected configuration."""
        s = self.selected_spec
        if s is None:
            return None
        return dict(s.loss_hparams if self.kind == "loss" else s.regularizer_hparams)

    def manifest(self, seeds: Sequence[int]) -> dict[str, Any]:
        s = self.base
        return {
            "protocol": PROTOCOL, "kind": self.kind, "entry": self.entry,
            "suite": s.suite, "task": s.task, "task_version": s.task_version,
            "options": dict(s.options), "budget": self.budget, "trials": len(self.trials),
            "sampler": "defaults + scrambled Halton per (entry, hyperparameter)",
            "search_space": dict(self.search_space), "selection_metric": self.selection_metric,
            "selection_seed": s.seed, "seeds": list(seeds),
            "trial_keys": [t.key for t in self.trials],
            "selected_key": None if self.selected is None else self.trials[self.selected].key,
            "note": self.note,
        }


def manifest_path(results_dir: str | Path, result: TuningResult) -> Path:
    s = result.base
    tag = hashlib.sha256(canonical_json(dict(s.options)).encode()).hexdigest()[:8]
    stem = slug(f"{s.suite}__{s.task}__v{s.task_version}__{result.kind}__{result.entry}__{tag}")
    return inside(Path(results_dir) / TUNING_DIR, f"{stem}.json")  # no entry name is a path


def write_manifest(results_dir: str | Path, result: TuningResult, seeds: Sequence[int]) -> Path:
    path = manifest_path(results_dir, result)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    tmp.write_text(json.dumps(result.manifest(seeds), indent=2, sort_keys=True) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return path


# ---------------------------------------------------------------- the protocol

def _trial_specs(base: RunSpec, card: Card, kind: str, trials: int) -> list[RunSpec]:
    field = "loss_hparams" if kind == "loss" else "regularizer_hparams"
    return [dataclasses.replace(base, **{field: cfg}) for cfg in trial_configs(card, trials)]


def _selection_values(results_dir: str | Path, specs: Sequence[RunSpec], metric: str
                      ) -> list[float]:
    from .store import load_results

    runs = load_results(results_dir).set_index("spec_key")
    values = []
    for s in specs:
        ok = s.key in runs.index and runs.at[s.key, "status"] == "ok"
        value = runs.at[s.key, metric] if ok and metric in runs.columns else math.nan
        values.append(math.nan if value is None else float(value))
    return values


def default_selection_metric(results_dir: str | Path, result: TuningResult) -> str:
    """The suite's ``selection_metric`` if it names one, else ``val_<first headline metric>``,
    if the trials record it; else ``val_top1``."""
    from .registry import SUITES
    from .store import load_results

    try:
        suite = SUITES.load(result.base.suite)
        wanted = suite.selection_metric or f"val_{suite.headline[0]}"
    except Exception:  # noqa: BLE001 - an unloadable suite falls back to accuracy
        return DEFAULT_SELECTION_METRIC
    runs = load_results(results_dir, keys=[t.key for t in result.trials])
    if wanted in runs.columns and runs[wanted].notna().any():
        return wanted
    return DEFAULT_SELECTION_METRIC


def _missing_metric_note(results_dir: str | Path, result: TuningResult) -> str:
    """Why no trial could be selected: failures, or a task that does not record the metric."""
    from .store import load_results

    runs = load_results(results_dir).set_index("spec_key")
    keys = [t.key for t in result.trials if t.key in runs.index]
    ok = runs.loc[keys][runs.loc[keys, "status"] == "ok"]
    if ok.empty:
        return "every trial failed"
    recorded = sorted(c for c in ok.columns if c.startswith("val_") and ok[c].notna().any())
    return (f"task {result.base.suite}/{result.base.task} does not record "
            f"{result.selection_metric!r}; its validation metrics: "
            f"{', '.join(recorded) or '(none)'}")


def tune(
    losses: Sequence[str] | None = None,
    regularizers: Sequence[str] | None = None,
    suites: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    trials: int = DEFAULT_TRIALS,
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    results: str | Path = "results",
    device: str = "cpu",
    options: Mapping[str, Any] | None = None,
    selection_metric: str | None = None,
    log: Callable[[str], None] | None = None,
    **sweep_options: Any,
) -> list[TuningResult]:
    """Run the equal-budget protocol for the named losses (alone) and regularizers (with
    cross-entropy) on the selected tasks, then the selected configurations for ``seeds``.

    ``selection_metric`` None: the validation version of the suite's first headline metric
    (``val_<headline>``) when the task records it, else ``val_top1``.

    Returns one :class:`TuningResult` per (entry, task); manifests land in ``<results>/_tuning/``.
    Already stored runs are reused (a resumed tuning costs nothing twice). ``sweep_options``
    (``executor``, ``workers``, ``threads``, …) go to :func:`lossbench.scheduler.run_sweep`.
    """
    from .plan import _seed_list
    from .scheduler import run_sweep

    if not losses and not regularizers:
        raise UsageError("name at least one --loss or --regularizer to tune")
    seed_list = _seed_list(seeds)
    groups: list[tuple[str, Card, RunSpec]] = []
    if losses:
        specs = plan(suites, tasks, losses, None, [SELECTION_SEED], options=options).specs
        groups += [("loss", LOSSES.card(s.loss), s) for s in specs]
    for reg in regularizers or []:
        specs = plan(suites, tasks, [BASELINE_LOSS], [reg], [SELECTION_SEED],
                     options=options).specs
        groups += [("regularizer", REGULARIZERS.card(s.regularizer), s) for s in specs]

    tuned = [TuningResult(kind, card.name, _trial_specs(base, card, kind, trials), [],
                          selection_metric or "", None, dict(card.search_space), trials)
             for kind, card, base in groups]
    run_sweep([t for r in tuned for t in r.trials], results, device=device, log=log,
              **sweep_options)
    finals: list[RunSpec] = []
    for r in tuned:
        if not r.selection_metric:
            r.selection_metric = default_selection_metric(results, r)
        r.values = _selection_values(results, r.trials, r.selection_metric)
        r.selected = select_trial(r.values, metric_info(r.selection_metric).higher_is_better)
        if r.selected is None:
            r.note = _missing_metric_note(results, r)
            (log or stderr)(f"{r.entry} on {r.base.suite}/{r.base.task}: no selection: {r.note}")
        write_manifest(results, r, seed_list)
        if r.selected_spec is not None:
            finals += [dataclasses.replace(r.selected_spec, seed=s) for s in seed_list]
    if finals:
        run_sweep(finals, results, device=device, log=log, **sweep_options)
    return tuned


