"""Planning: turn a user's selection (suites, tasks, losses, regularizers, seeds) into run specs.

This is the one validation path shared by the CLI and the Python API: every unknown name or bad
value raises :class:`~lossbench.errors.UsageError` naming the value and the valid choices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import EntryLoadError, UsageError, unknown_value
from .findings import DEFAULT_MIN_SEEDS
from .registry import LOSSES, REGULARIZERS, SUITES, Card, is_target, resolve_hparams
from .spec import RECIPE_OPTIONS, RunSpec, option_problem
from .suites.info import SuiteInfo, TaskInfo  # noqa: F401 - planning's view of suites and tasks

NO_REGULARIZER = "none"
BASELINE_LOSS = "cross_entropy"
#: seeds 0..4 unless told otherwise (``run``, ``tune``'s final runs): with three seeds the t
#: multiplier of a 95 % interval is 4.30 and most differences cannot be resolved; a default run
#: gives every published finding the seeds ``lossbench validate`` needs for a verdict
DEFAULT_SEEDS = DEFAULT_MIN_SEEDS


@dataclass(frozen=True)
class Skipped:
    """A combination the plan left out, and why (shown to the user, never silently dropped)."""

    what: str
    reason: str


def describe_suite(suite: Any) -> dict[str, Any]:
    """The JSON-serialisable metadata planning and the leaderboard need of a suite object."""
    return SuiteInfo.of(suite).to_dict()


def suite_info(name: str) -> SuiteInfo:
    """The :class:`SuiteInfo` of a registered suite, from the metadata cache when its package is
    unchanged (so planning does not build or import the suite); ``UsageError`` for an unknown
    name, ``EntryLoadError`` for a suite that fails to load."""
    return SuiteInfo.from_dict(SUITES.get(name).metadata("tasks", describe_suite))


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
) -> tuple[list[RunSpec], list[Skipped]]:
    """Expand a selection into run specs (and the combinations left out, with reasons).

    Losses and regularizers are registered names or ``module:attr`` targets (origin ``local``:
    read and run in child processes like any third-party entry). ``baseline``: when the
    selection names losses or regularizers but not plain cross-entropy, cross-entropy (card
    defaults, no regularizer) is planned on every task and seed the selection reaches, so the
    leaderboard can compare. ``hparams`` (``{"gamma": 3}`` or ``{"gamma": "3"}``, the CLI's
    ``--hparam``) set hyperparameters of the *named* losses and regularizers that have them,
    typed by the card (:func:`typed_hparam`); a name none of them has is a ``UsageError``.

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
        _apply_hparams(hparams, named, loss_hparams, regularizer_hparams)
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
    if baseline and (losses or regularizers):
        specs += _baseline_specs(specs, pairs, seed_list, options)
    for lc in loss_cards if losses else []:
        if lc.name not in planned:
            where = ", ".join(f"{s.name}/{t.name}" for s, t in pairs)
            if lc.objective == "embedding":
                raise UsageError(
                    f"loss {lc.name!r} is an embedding loss (kind='embedding') and none of the "
                    f"selected tasks ({where}) takes embedding losses; tasks that do: "
                    f"{', '.join(_embedding_tasks()) or '(none)'}")
            raise UsageError(f"loss {lc.name!r} applies to none of the selected tasks ({where}); "
                             f"its card declares suites: {', '.join(lc.suites)}")
    return specs, skipped


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


def typed_hparam(card: Card, name: str, value: Any) -> Any:
    """``value`` for hyperparameter ``name`` of ``card``, typed like its default (a string such
    as ``"3"`` from ``--hparam gamma=3`` becomes ``3.0`` when the default is a float; ``true`` /
    ``false`` for booleans; JSON for lists, dicts and a ``None`` default) and checked against
    the search space's ``choices`` and ``int`` flag; ``UsageError`` naming the value otherwise."""
    import json

    default = card.hparams[name]
    space = card.search_space.get(name, {}) if isinstance(card.search_space, Mapping) else {}
    where = f"--hparam {name}={value} for {card.kind} {card.name!r}"
    if isinstance(value, str):
        text = value.strip()
        try:
            if isinstance(default, bool):
                low = text.lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = low in ("true", "1", "yes")
            elif isinstance(default, int):
                try:
                    value = int(text)
                except ValueError:  # an int default with a real-valued range takes floats
                    if not space or space.get("int") or "choices" in space:
                        raise
                    value = float(text)
            elif isinstance(default, float):
                value = float(text)
            elif isinstance(default, str):
                value = text
            else:  # None, lists, dicts: JSON, else the plain string
                try:
                    value = json.loads(text)
                except ValueError:
                    value = text
        except ValueError:
            kind = type(default).__name__
            raise UsageError(f"{where}: expected {'a' if kind != 'int' else 'an'} {kind} like "
                             f"the default {default!r}, got {text!r}") from None
    elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{where}: hyperparameters must be finite numbers")
    if isinstance(space, Mapping) and "choices" in space and value not in space["choices"]:
        raise UsageError(f"{where}: valid choices: "
                         f"{', '.join(map(repr, space['choices']))}")
    if isinstance(space, Mapping) and space.get("int") and not (
            isinstance(value, int) and not isinstance(value, bool)):
        raise UsageError(f"{where}: expected an integer (the search space says int)")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: the value must be JSON-serialisable") from None
    return value


def _apply_hparams(hparams: Mapping[str, Any], named: list[Card],
                   loss_hparams: dict[str, dict[str, Any]],
                   regularizer_hparams: dict[str, dict[str, Any]]) -> None:
    """Set each of ``hparams`` on every named card that has it (typed by that card)."""
    if not named:
        raise UsageError("--hparam needs the losses or regularizers it sets to be named "
                         "(--loss NAME or --regularizer NAME)")
    for name, value in hparams.items():
        owners = [c for c in named if name in c.hparams]
        if not owners:
            valid = sorted({f"{h} ({c.name})" for c in named for h in c.hparams})
            raise UsageError(f"--hparam {name}={value}: no selected entry has a hyperparameter "
                             f"{name!r} (selected: {', '.join(c.name for c in named)}); valid "
                             f"names: {', '.join(valid) or '(none: they take no hyperparameters)'}")
        for card in owners:
            target = loss_hparams if card.kind == "loss" else regularizer_hparams
            target.setdefault(card.name, {})[name] = typed_hparam(card, name, value)


def _prefetch(suites: Sequence[str] | None, losses: Sequence[str] | None,
              regularizers: Sequence[str] | None) -> None:
    """Have the cards of every third-party entry the plan may read described at once (one child
    per distribution, all concurrently), rather than one distribution after another."""
    from .registry import describe_isolated

    wanted = []
    for registry, names in ((SUITES, suites), (LOSSES, losses), (REGULARIZERS, regularizers)):
        chosen = [n for n in names or registry.names() if n in registry or is_target(n)]
        wanted += [e for e in map(registry.get, chosen) if e.isolated]
    if wanted:
        describe_isolated(wanted)


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
