"""What a sweep runs (:class:`Selection`) and how it runs (:class:`Execution`): the two objects
:func:`lossbench.run` takes. Both are frozen and checked when made: a bad value is a
:class:`~lossbench.errors.UsageError` naming the field, the value and what it accepts. The names
themselves (entries, suites, tasks) and the seed and recipe rules are checked by the plan
(:mod:`lossbench.plan`), the one home of those rules, when the sweep is planned.

>>> selection = Selection(losses=["focal"], tasks=["standard/mnist1d"], seeds=2,
...                       options={"epochs": 2})                        # doctest: +SKIP
>>> lossbench.run(selection, Execution(results="/tmp/try", workers=2))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..plan import DEFAULT_SEEDS, validate_options
from ..progress import MODES

DEFAULT_RESULTS = "results"


def _names(field: str, value: Iterable[str] | None) -> tuple[str, ...] | None:
    """A list of names as a tuple (None: the default choice)."""
    if value is None:
        return None
    if isinstance(value, str):
        raise UsageError(f"{field} takes a list of names, got the string {value!r}: write "
                         f"{field}=[{value!r}]")
    try:
        names = tuple(value)
    except TypeError:
        raise UsageError(f"{field} takes a list of names, got {value!r}") from None
    for name in names:
        if not isinstance(name, str) or not name:
            raise UsageError(f"{field}: every name must be a non-empty string, got {name!r}")
    return names


def _seeds(value: int | Iterable[int]) -> int | tuple[int, ...]:
    """``seeds``: a number N (seeds 0..N-1) or a list of seeds, as an int or a tuple."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (str, bool)) or not isinstance(value, Iterable):
        raise UsageError(f"seeds takes a number N (seeds 0..N-1) or a list of seeds, got "
                         f"{value!r}")
    seeds = tuple(value)
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise UsageError(f"seeds: every seed must be an integer >= 0, got {seed!r}")
    return seeds


def _mapping(field: str, value: Mapping[str, Any] | None, nested: bool = False
             ) -> dict[str, Any] | None:
    """A mapping as a plain dict (``nested``: of mappings, one per entry)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise UsageError(f"{field} takes a mapping, got {value!r}"
                         + (" (e.g. {'focal': {'gamma': 3}})" if nested else
                            " (e.g. {'gamma': 3})"))
    if nested:
        for name, inner in value.items():
            if not isinstance(inner, Mapping):
                raise UsageError(f"{field}[{name!r}] takes a mapping of hyperparameters, got "
                                 f"{inner!r} (e.g. {{'gamma': 3}})")
        return {k: dict(v) for k, v in value.items()}
    return dict(value)


def _flag(field: str, value: object) -> None:
    if not isinstance(value, bool):
        raise UsageError(f"{field} takes True or False, got {value!r}")


def _positive(field: str, value: object, integer: bool = True) -> None:
    """``value`` is None or a positive int (``integer``) or number."""
    if value is None:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        what = "a positive integer" if integer else "a positive number"
        raise UsageError(f"{field} takes {what} or None, got {value!r}")


@dataclass(frozen=True)
class Selection:
    """What a sweep runs: which entries, on which tasks, for which seeds, with which
    hyperparameters and recipe options (all of it is in each run's spec, so in its key).

    ``losses`` and ``regularizers`` are registered names or ``module:attr`` targets of importable
    callables (``"my_losses:MyLoss"``: run without packaging, origin ``local``, imported only in
    the runs' child processes; the current folder is searched after ``sys.path``); ``none`` among
    the regularizers means "without one". Default: every registered loss alone and every
    regularizer with cross-entropy, on every suite's embedded tasks (``suites``; ``tasks`` as
    ``name`` or ``suite/name``). ``seeds``: N (seeds 0..N-1) or a list of seeds.

    ``hparams`` set hyperparameters of the named entries that have them (``{"gamma": 3}``;
    strings are typed by the card, as ``--hparam`` does); ``loss_hparams`` /
    ``regularizer_hparams`` set them per entry (``{"focal": {"gamma": 3}}``). ``options``
    override the tasks' training recipes (``{"epochs": 2}`` for a smoke run), and so do ``amp``
    (``True`` or ``"bf16"``: bfloat16 autocast) and ``compile`` (``torch.compile``): runs with
    options are stored and reported apart from default-recipe runs. ``baseline`` (default True):
    when losses or regularizers are named but not plain ``cross_entropy``, cross-entropy runs on
    the same tasks and seeds too (stored runs are reused), so the leaderboard compares.
    """

    suites: tuple[str, ...] | None = None
    tasks: tuple[str, ...] | None = None
    losses: tuple[str, ...] | None = None
    regularizers: tuple[str, ...] | None = None
    seeds: int | tuple[int, ...] = DEFAULT_SEEDS
    hparams: dict[str, Any] | None = None
    loss_hparams: dict[str, dict[str, Any]] | None = None
    regularizer_hparams: dict[str, dict[str, Any]] | None = None
    options: dict[str, Any] | None = None
    amp: bool | str = False
    compile: bool = False
    baseline: bool = True

    def __post_init__(self) -> None:
        for name in ("suites", "tasks", "losses", "regularizers"):
            object.__setattr__(self, name, _names(name, getattr(self, name)))
        object.__setattr__(self, "seeds", _seeds(self.seeds))
        object.__setattr__(self, "hparams", _mapping("hparams", self.hparams))
        for name in ("loss_hparams", "regularizer_hparams"):
            object.__setattr__(self, name, _mapping(name, getattr(self, name), nested=True))
        object.__setattr__(self, "options", _mapping("options", self.options))
        if not isinstance(self.amp, (bool, str)):
            raise UsageError(f"amp takes True, False or 'bf16', got {self.amp!r}")
        _flag("compile", self.compile)
        _flag("baseline", self.baseline)
        validate_options(self.spec_options)

    @property
    def spec_options(self) -> dict[str, Any] | None:
        """``options`` with ``amp`` / ``compile`` folded in (they change numerics, so the spec's
        hash); None when there is none."""
        out = dict(self.options or {})
        if self.amp:
            out["amp"] = "bf16" if self.amp is True else self.amp
        if self.compile:
            out["compile"] = True
        return out or None


@dataclass(frozen=True)
class Execution:
    """How a sweep runs: none of it changes a run's numbers.

    ``results``: the results folder (stored runs are reused; ``force`` re-runs them,
    ``retry_failed`` re-runs those whose status is not ok; earlier records are kept under
    ``<results>/_attempts/``). ``device``: ``cpu``, ``cuda`` (one worker per visible GPU) or
    ``cuda:N``. ``executor`` (``local``, ``serial``, ``ray`` or a registered plugin), ``workers``
    (parallel runs), ``threads`` (torch threads per run), ``timeout`` (seconds per run),
    ``memory_limit_mb`` (per run) and ``address`` (a Ray cluster) say where and how the runs
    execute. ``progress``: ``auto``, ``rich``, ``plain`` or ``quiet``; ``log(line)`` receives the
    progress lines instead of stderr (``plain`` progress then). ``confirm(runs to do, the plan
    line) -> bool`` may cancel the sweep before anything runs (the CLI asks in a terminal above
    100 runs). ``wait`` (default True): while another process stores into ``results`` the sweep
    waits for it; ``wait=False`` raises :class:`~lossbench.results_lock.ResultsBusyError`.
    """

    results: str | Path = DEFAULT_RESULTS
    force: bool = False
    retry_failed: bool = False
    device: str = "cpu"
    executor: str = "local"
    workers: int | None = None
    threads: int | None = None
    timeout: float | None = None
    memory_limit_mb: int | None = None
    address: str | None = None
    progress: str = "auto"
    log: Callable[[str], None] | None = None
    confirm: Callable[[int, str], bool] | None = None
    wait: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.results, (str, Path)) or not str(self.results):
            raise UsageError(f"results takes a folder path, got {self.results!r}")
        for name in ("force", "retry_failed", "wait"):
            _flag(name, getattr(self, name))
        for name in ("device", "executor"):
            if not isinstance(getattr(self, name), str):
                raise UsageError(f"{name} takes a name, got {getattr(self, name)!r}")
        for name in ("workers", "threads", "memory_limit_mb"):
            _positive(name, getattr(self, name))
        _positive("timeout", self.timeout, integer=False)
        if self.address is not None and not isinstance(self.address, str):
            raise UsageError(f"address takes a Ray cluster address or None, got "
                             f"{self.address!r}")
        if self.progress not in MODES:
            raise UsageError(f"unknown progress {self.progress!r}; valid: {', '.join(MODES)}")
        for name in ("log", "confirm"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise UsageError(f"{name} takes a function or None, got {getattr(self, name)!r}")


def check_device(device: str) -> None:
    """A usable torch device string; ``cuda`` only where a CUDA device is visible."""
    if device == "cpu":
        return  # the default: valid without importing torch
    import torch

    from ..executors import visible_gpus

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UsageError(f"unknown device {device!r} ({exc}); valid: cpu, cuda, cuda:N") from None
    if parsed.type == "cuda" and visible_gpus() == 0:
        raise UsageError(f"device {device!r} requested, but no CUDA device is visible "
                         "(torch.cuda.device_count() == 0); use --device cpu")
    if parsed.type not in ("cpu", "cuda"):
        raise UsageError(f"unsupported device {device!r}; valid: cpu, cuda, cuda:N")


def check_executor(name: str) -> None:
    """A registered executor (a UsageError with did-you-mean for an unknown name)."""
    from ..registry import EXECUTORS

    EXECUTORS.get(name)
