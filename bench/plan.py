"""Planning: turn a user's selection (suites, tasks, losses, regularizers, seeds) into a
:class:`Plan`: the run specs, the combinations left out and why, the cross-entropy baseline runs
it added, and each task it reaches with the epochs its runs train for.

This is the one validation path shared by the CLI and the Python API: every unknown name or bad
value raises :class:`~lossbench.errors.UsageError` naming the value and the valid choices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .build import resolve_hparams
from .cards import Card
from .errors import EntryLoadError, UsageError, unknown_value
from .hparam_values import apply_hparams
from .isolated_metadata import describe_isolated
from .registry import LOSSES, REGISTRIES, REGULARIZERS, SUITES
from .spec import RECIPE_OPTIONS, RunSpec, option_problem
from .suites.description import option_epochs, recipe_epochs, suite_info
from .suites.info import SuiteInfo, TaskInfo
from .targets import is_target

NO_REGULARIZER = "none"
BASELINE_LOSS = "cross_entropy"
#: seeds 0..4 unless told otherwise (``run``, ``tune``'s final runs): with three seeds the t
#: multiplier of a 95 % interval is 4.30 and most differences cannot be resolved; a default run
#: gives every published finding the seeds ``lossbench validate`` needs for a verdict
#: (:data:`lossbench.findings.DEFAULT_MIN_SEEDS` is this count)
DEFAULT_SEEDS = 5


@dataclass(frozen=True)
class Skipped:
    """A combination the plan left out, and why (shown to the user, never silently dropped)."""

    what: str
    reason: str


@dataclass(frozen=True)
class PlannedTask:
    """A task the plan's runs reach: its version, whether it is embedded (CPU-sized), how many
    runs it gets, and the epochs they train for (``--epochs``, else the recipe's as the suite's
    description states it, :func:`lossbench.suites.description.spec_epochs`; None where stated
    nowhere)."""

    suite: str
    task: str
    version: str
    embedded: bool
    epochs: int | None
    runs: int

    @property
    def label(self) -> str:
        """``suite/task``."""
        return f"{self.suite}/{self.task}"


@dataclass(frozen=True)
class Plan:
    """What :func:`plan` decided.

    ``specs``: every run, in order (the baseline's included); ``skipped``: the combinations left
    out, with reasons; ``baseline``: the plain cross-entropy runs added so that the leaderboard
    can compare (empty unless ``plan(baseline=True)`` added some; also in ``specs``); ``tasks``:
    each task the runs reach, in plan order (:class:`PlannedTask`).
    """

    specs: tuple[RunSpec, ...]
    skipped: tuple[Skipped, ...] = ()
    baseline: tuple[RunSpec, ...] = ()
    tasks: tuple[PlannedTask, ...] = ()

    def task(self, suite: str, task: str) -> PlannedTask:
        """The :class:`PlannedTask` of ``suite/task`` (``UsageError`` when the plan does not
        reach it)."""
        for t in self.tasks:
            if (t.suite, t.task) == (suite, task):
                return t
        raise unknown_value("planned task", f"{suite}/{task}", [t.label for t in self.tasks])


def _suites(names: Sequence[str] | None) -> tuple[list[SuiteInfo], list[Skipped]]:
    chosen = list(names) if names else SUITES.names()
    out, skipped = [], []
    for name in chosen:
        SUITES.get(name)  # raises UsageError for unknown names
        try:
            out.append(suite_info(name))
        except EntryLoadError as exc:
            if names:
                raise UsageError(str(exc)) from None
            skipped.append(Skipped(f"suite {name}", str(exc)))
    return out, skipped


def _tasks(suites: list[SuiteInfo],
           task_names: Sequence[str] | None) -> list[tuple[SuiteInfo, TaskInfo]]:
    if not task_names:
        return [(s, t) for s in suites for t in s.default_tasks()]
    out = []
    all_tasks = {f"{s.name}/{t}": (s, s.tasks[t]) for s in suites for t in s.tasks}
    for name in task_names:
        if "/" in name:
            if name not in all_tasks:
                _raise_if_outside(name, suites)
                raise unknown_value("task", name, all_tasks)
            out.append(all_tasks[name])
            continue
        matches = [v for k, v in all_tasks.items() if k.split("/", 1)[1] == name]
        if not matches:
            _raise_if_outside(name, suites)
            raise unknown_value("task", name, [k.split("/", 1)[1] for k in all_tasks] +
                                list(all_tasks))
        out.extend(matches)
    return out


def _raise_if_outside(name: str, suites: list[SuiteInfo]) -> None:
    """A task ``name`` (``suite/task`` or ``task``) not among the selected suites' tasks but in
    another registered suite: a UsageError saying which suite holds it, instead of "unknown
    task"."""
    selected = {s.name for s in suites}
    suite_part, _, task_part = name.rpartition("/")
    holders = []
    for other in SUITES.names():
        if other in selected or (suite_part and other != suite_part):
            continue
        try:
            info = suite_info(other)
        except Exception:  # noqa: BLE001 - a suite that does not load holds no task here
            continue
        if task_part in info.tasks:
            holders.append(other)
    if holders:
        where = " or ".join(f"--suite {h}" for h in holders)
        raise UsageError(f"task {name} is in suite {', '.join(holders)}, not "
                         f"{', '.join(sorted(selected))}; add {where} (or leave --suite out)")


def _cards(registry, names: Sequence[str] | None, what: str) -> tuple[list[Card], list[Skipped]]:
    skipped: list[Skipped] = []
    if names:
        cards = []
        for n in names:
            try:
                cards.append(registry.card(n))
            except EntryLoadError as exc:
                raise UsageError(str(exc)) from None
        return cards, skipped
    cards = []
    for n in registry.names():
        try:
            cards.append(registry.card(n))
        except EntryLoadError as exc:
            skipped.append(Skipped(f"{what} {n}", str(exc)))
    return cards, skipped


def _placed(card: Card, suite: SuiteInfo, by_user: bool) -> bool:
    """An entry runs on the suites its card declares, unless the user named both the entry and
    the suites/tasks to run it on."""
    return by_user or card.applies_to(suite.name)


def _fits(card: Card, task: TaskInfo) -> bool:
    return card.objective != "embedding" or task.supports_embedding


def plan(
    suites: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    losses: Sequence[str] | None = None,
    regularizers: Sequence[str] | None = None,
    seeds: int | Iterable[int] = DEFAULT_SEEDS,
    loss_hparams: Mapping[str, Mapping[str, Any]] | None = None,
    regularizer_hparams: Mapping[str, Mapping[str, Any]] | None = None,
    options: Mapping[str, Any] | None = None,
    baseline: bool = False,
    hparams: Mapping[str, Any] | None = None,
) -> Plan:
    """Expand a selection into a :class:`Plan`: run specs, the combinations left out (with
    reasons), the baseline runs added, and the tasks reached with their epochs.

    Losses and regularizers are registered names or ``module:attr`` targets (origin ``local``:
    read and run in child processes like any third-party entry). ``baseline``: when the
    selection names losses or regularizers but not plain cross-entropy, cross-entropy (card
    defaults, no regularizer) is planned on every task and seed the selection reaches, so the
    leaderboard can compare. ``hparams`` (``{"gamma": 3}`` or ``{"gamma": "3"}``, the CLI's
    ``--hparam``) set hyperparameters of the *named* losses and regularizers that have them,
    typed by the card (:func:`lossbench.hparam_values.typed_hparam`); a name none of them has
    is a ``UsageError``.

    Defaults: every suite's embedded tasks; every loss with no regularizer, plus every
    regularizer combined with cross-entropy. Naming losses or regularizers restricts the sweep to
    those (``none`` names "no regularizer"); a loss named without regularizers runs alone, a
    regularizer named without losses runs with cross-entropy. An entry runs only on the suites its
    card declares (``suites``; none declared = all) unless the user named both the entry and the
    suites or tasks.
    """
    seed_list = _seed_list(seeds)
    options = validate_options(options)
    _prefetch(suites, losses, regularizers)
    suite_objs, skipped = _suites(suites)
    pairs = _tasks(suite_objs, tasks)
    loss_cards, loss_skipped = _cards(LOSSES, losses, "loss")
    skipped += loss_skipped
    reg_names = [r for r in (regularizers or []) if r != NO_REGULARIZER]
    reg_cards, reg_skipped = _cards(REGULARIZERS, reg_names or None, "regularizer")
    skipped += reg_skipped
    if regularizers and not reg_names:
        reg_cards = []
    loss_hparams = {k: dict(v) for k, v in (loss_hparams or {}).items()}
    regularizer_hparams = {k: dict(v) for k, v in (regularizer_hparams or {}).items()}
    if hparams:
        named = (loss_cards if losses else []) + (reg_cards if reg_names else [])
        apply_hparams(hparams, named, loss_hparams, regularizer_hparams)
    for name in loss_hparams:
        if name not in {c.name for c in loss_cards}:
            raise unknown_value("loss in hparams", name, [c.name for c in loss_cards])

    # (loss card, regularizer card or None) combinations, before task filtering
    combos: list[tuple[Card, Card | None]] = []
    if losses and regularizers:
        keep_plain = NO_REGULARIZER in regularizers
        for lc in loss_cards:
            if keep_plain:
                combos.append((lc, None))
            combos.extend((lc, rc) for rc in reg_cards)
    elif regularizers:
        base = LOSSES.card(BASELINE_LOSS)
        if NO_REGULARIZER in regularizers:
            combos.append((base, None))
        combos.extend((base, rc) for rc in reg_cards)
    else:
        combos.extend((lc, None) for lc in loss_cards)
        if not losses:
            base = LOSSES.card(BASELINE_LOSS) if BASELINE_LOSS in LOSSES else None
            if base is not None:
                combos.extend((base, rc) for rc in reg_cards)

    specs: list[RunSpec] = []
    where_named = bool(suites) or bool(tasks)
    planned: set[str] = set()
    for suite, task in pairs:
        for lc, rc in combos:
            if not (_placed(lc, suite, bool(losses) and where_named) and
                    (rc is None or _placed(rc, suite, bool(regularizers) and where_named))):
                continue
            if not _fits(lc, task):
                continue
            lh = resolve_hparams(lc, loss_hparams.get(lc.name))
            rh = resolve_hparams(rc, regularizer_hparams.get(rc.name)) if rc else {}
            planned.add(lc.name)
            for seed in seed_list:
                specs.append(RunSpec(
                    loss=lc.name, loss_version=lc.version, loss_hparams=lh,
                    regularizer=rc.name if rc else None,
                    regularizer_version=rc.version if rc else None, regularizer_hparams=rh,
                    suite=suite.name, task=task.name, task_version=task.version, seed=seed,
                    options=options,
                ))
    added = _baseline_specs(specs, pairs, seed_list, options) \
        if baseline and (losses or regularizers) else []
    specs += added
    for lc in loss_cards if losses else []:
        if lc.name not in planned:
            where = ", ".join(f"{s.name}/{t.name}" for s, t in pairs)
            if lc.objective == "embedding":
                raise UsageError(
                    f"loss {lc.name!r} is an embedding loss (objective='embedding') and none of "
                    f"the selected tasks ({where}) takes embedding losses; tasks that do: "
                    f"{', '.join(_embedding_tasks()) or '(none)'}")
            raise UsageError(f"loss {lc.name!r} applies to none of the selected tasks ({where}); "
                             f"its card declares suites: {', '.join(lc.suites)}")
    return Plan(tuple(specs), tuple(skipped), tuple(added), _planned_tasks(specs, pairs, options))


def _planned_tasks(specs: list[RunSpec], pairs: list[tuple[SuiteInfo, TaskInfo]],
                   options: Mapping[str, Any]) -> tuple[PlannedTask, ...]:
    """The tasks ``specs`` reach, in the order of ``pairs``, with their runs and epochs."""
    runs: dict[tuple[str, str], int] = {}
    for s in specs:
        runs[(s.suite, s.task)] = runs.get((s.suite, s.task), 0) + 1
    epochs = option_epochs(options)
    out: dict[tuple[str, str], PlannedTask] = {}
    for suite, task in pairs:
        key = (suite.name, task.name)
        if key in runs and key not in out:
            out[key] = PlannedTask(
                suite.name, task.name, str(task.version), task.embedded,
                epochs if epochs is not None else recipe_epochs(suite.name, task.name), runs[key])
    return tuple(out.values())


def _baseline_specs(specs: list[RunSpec], pairs: list[tuple[SuiteInfo, TaskInfo]],
                    seeds: list[int], options: dict[str, Any]) -> list[RunSpec]:
    """Plain cross-entropy (card defaults) on every task ``specs`` reach, for ``seeds``, where
    the selection does not run it already."""
    if BASELINE_LOSS not in LOSSES:
        return []
    reached = {(s.suite, s.task) for s in specs}
    have = {(s.suite, s.task, s.seed) for s in specs
            if s.loss == BASELINE_LOSS and s.regularizer is None}
    card = LOSSES.card(BASELINE_LOSS)
    out = []
    for suite, task in pairs:
        if (suite.name, task.name) not in reached or not _fits(card, task):
            continue
        for seed in seeds:
            if (suite.name, task.name, seed) not in have:
                out.append(RunSpec(
                    loss=card.name, loss_version=card.version, loss_hparams=dict(card.hparams),
                    suite=suite.name, task=task.name, task_version=task.version, seed=seed,
                    options=options))
    return out


def _prefetch(suites: Sequence[str] | None, losses: Sequence[str] | None,
              regularizers: Sequence[str] | None) -> None:
    """Have the cards of every third-party entry the plan may read described at once (one child
    per distribution, all concurrently), rather than one distribution after another."""
    wanted = []
    for registry, names in ((SUITES, suites), (LOSSES, losses), (REGULARIZERS, regularizers)):
        chosen = [n for n in names or registry.names() if n in registry or is_target(n)]
        wanted += [e for e in map(registry.get, chosen) if e.isolated]
    if wanted:
        describe_isolated(wanted, REGISTRIES)


def validate_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check spec options (recipe overrides) and return them as a plain dict."""
    options = dict(options or {})
    for key, value in options.items():
        if key not in RECIPE_OPTIONS:
            raise unknown_value("run option", key, RECIPE_OPTIONS)
        problem = option_problem(key, value)
        if problem:
            raise UsageError(problem)
    return options


def _embedding_tasks() -> list[str]:
    out = []
    for name in SUITES.names():
        try:
            suite = suite_info(name)
        except EntryLoadError:
            continue
        out += [f"{name}/{t.name}" for t in suite.tasks.values() if t.supports_embedding]
    return out


#: The most seeds one selection may ask for (a typo like ``--seeds 1000000000`` is an error, not
#: a MemoryError after minutes of planning).
MAX_SEEDS = 1000


def _seed_list(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise UsageError(f"seeds must be a positive integer or a list of integers, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise UsageError(f"--seeds must be >= 1, got {seeds}")
        if seeds > MAX_SEEDS:
            raise UsageError(f"--seeds must be at most {MAX_SEEDS}, got {seeds}")
        return list(range(seeds))
    out = []
    for s in seeds:
        out.append(int(s))
        if len(out) > MAX_SEEDS:
            raise UsageError(f"at most {MAX_SEEDS} seeds may be given")
    if not out:
        raise UsageError("no seeds given")
    return out
