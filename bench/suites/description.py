"""A registered suite's description, read without loading the suite when its package is
unchanged: what planning, the estimate, the default timeout and the records' metadata need.

:func:`describe_suite` turns a suite object into JSON (its :class:`SuiteInfo`, plus each task's
recipe epochs); the registry keeps it in the metadata cache (:mod:`lossbench.metadata_cache`),
or has a child process compute it for a third-party suite (whose code never runs in the
planning process). :func:`suite_info` reads it back as a :class:`SuiteInfo`;
:func:`spec_epochs` says how many epochs a run trains for — the one answer the estimate
(:mod:`lossbench.estimate`), the default timeout (:func:`lossbench.executors.local.default_timeout`)
and the plan (:class:`lossbench.plan.Plan`) share. Light: no torch, no suite imported when the
cache is warm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..registry import SUITES
from ..spec import RunSpec
from .info import SuiteInfo

#: The description's key holding each task's recipe epochs (``{task: epochs}``); tasks whose
#: recipe states no positive integer count (a third party's look-alike) are left out.
RECIPE_EPOCHS = "recipe_epochs"


def _recipe_epochs(task: Any) -> int | None:
    epochs = getattr(getattr(task, "train", None), "epochs", None)
    if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > 0:
        return epochs
    return None


def describe_suite(suite: Any) -> dict[str, Any]:
    """The JSON-serialisable metadata planning and the leaderboard need of a suite object:
    :meth:`SuiteInfo.to_dict`, plus :data:`RECIPE_EPOCHS`."""
    out = SuiteInfo.of(suite).to_dict()
    epochs = {str(t.name): _recipe_epochs(t) for t in suite.tasks.values()}
    out[RECIPE_EPOCHS] = {name: n for name, n in epochs.items() if n is not None}
    return out


def suite_description(name: str) -> dict[str, Any]:
    """The cached :func:`describe_suite` of a registered suite (``UsageError`` for an unknown
    name, ``EntryLoadError`` for a suite that fails to load)."""
    return SUITES.get(name).metadata("tasks", describe_suite)


def suite_info(name: str) -> SuiteInfo:
    """The :class:`SuiteInfo` of a registered suite, from the metadata cache when its package is
    unchanged (so planning does not build or import the suite); ``UsageError`` for an unknown
    name, ``EntryLoadError`` for a suite that fails to load."""
    return SuiteInfo.from_dict(suite_description(name))


def recipe_epochs(suite: str, task: str) -> int | None:
    """The epochs of the recipe of task ``task`` of the registered suite ``suite``, as its
    description states them; None when it states none or the suite does not load (the run itself
    reports an unknown task, with its reason)."""
    try:
        epochs = (suite_description(suite).get(RECIPE_EPOCHS) or {}).get(task)
    except Exception:  # noqa: BLE001 - a suite that fails to load: its runs report why
        return None
    return epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None


def option_epochs(options: Mapping[str, Any]) -> int | None:
    """The epochs a spec's recipe options ask for (``--epochs N``), None when they do not."""
    option = options.get("epochs")
    if isinstance(option, int) and not isinstance(option, bool) and option > 0:
        return option
    return None


def spec_epochs(spec: RunSpec) -> int | None:
    """The epochs ``spec`` trains for: its ``epochs`` option (``--epochs``), else its task's
    recipe (:func:`recipe_epochs`)."""
    epochs = option_epochs(spec.options)
    return epochs if epochs is not None else recipe_epochs(spec.suite, spec.task)
