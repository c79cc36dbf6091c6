"""What the report needs of a run's entries and task, stored in the run's record at run time.

The leaderboard is a function of the records alone (shared design, "Store and leaderboard"): it
must not read live plugin cards or suite objects, or the same ``results/`` would render
differently depending on what is installed. So every record carries two JSON columns:

- ``card_json``: ``{"loss": <card>, "regularizer": <card or null>}``, each card as
  :meth:`lossbench.registry.Card.to_dict` gives it (name, kind, version, origin, target,
  summary, paper, hparams = defaults, search space, suites, fidelity, objective, docstring); a card
  that cannot be read is ``null`` and its reason is under ``"errors"``;
- ``task_json``: the task's suite, name, version, description, model selection (the rule that
  chose the checkpoint its test metrics come from), the number of classes the model was trained
  on (``num_classes``, when the run got as far as its data: the report's chance level of top-1,
  :mod:`lossbench.report.stability`), headline metrics, the direction
  (``true`` = higher is better) of each headline, calibration and recorded metric, and the
  published findings the suite declares (all of them, so that the records of any one task say
  which findings exist; :mod:`lossbench.suites.declared_findings`).

Both are canonical JSON (sorted keys), so equal metadata gives equal bytes. Light: no torch; the
cards come from the registry (cached, a third-party card read through a child as everywhere).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

#: Metrics whose direction every task_json states even when the run did not record them.
_ALWAYS = ("top1", "ece", "ece_ts", "smooth_ece", "nll", "loss_cost_ratio")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_cards(loss: str, regularizer: str | None) -> dict[str, Any]:
    """``{"loss": card dict, "regularizer": card dict or None, "errors": {...}}``."""
    from .registry import LOSSES, REGULARIZERS

    out: dict[str, Any] = {"loss": None, "regularizer": None}
    errors = {}
    for key, reg, name in (("loss", LOSSES, loss), ("regularizer", REGULARIZERS, regularizer)):
        if not name:
            continue
        try:
            out[key] = reg.card(name).to_dict()
        except Exception as exc:  # noqa: BLE001 - a broken plugin still gets its record
            errors[key] = f"{type(exc).__name__}: {exc}"
    if errors:
        out["errors"] = errors
    return out


def describe_task_for_record(suite_name: str, task_name: str, suite: Any = None,
              metrics: Iterable[str] = (), num_classes: int | None = None) -> dict[str, Any]:
    """The task's metadata from the loaded ``suite`` object (in the run's process), else from the
    suite's cached description (:func:`lossbench.suites.description.suite_description`: no
    description text);
    ``num_classes``: the classes of the run's data, when it was made."""
    from .metrics import metric_info

    meta: dict[str, Any] = {"suite": suite_name, "task": task_name}
    if num_classes is not None:
        meta["num_classes"] = int(num_classes)
    findings: list[dict[str, Any]] = []
    try:
        if suite is not None:
            task = suite.task(task_name)
            meta.update(version=str(task.version), description=str(task.description),
                        model_selection=str(getattr(task, "model_selection", "")),
                        suite_description=str(getattr(suite, "description", "")),
                        headline=[str(h) for h in (getattr(task, "headline", None)
                                                   or suite.headline)],
                        suite_headline=[str(h) for h in suite.headline])
            findings = [f.to_dict() for f in getattr(suite, "findings", ())]
        else:
            from .suites.description import suite_description

            data = suite_description(suite_name)
            headline = [str(h) for h in data.get("headline") or ["top1"]]
            meta.update(headline=headline, suite_headline=headline)
            for t in data.get("tasks", ()):
                if t["name"] == task_name:
                    meta["version"] = str(t["version"])
            findings = list(data.get("findings", ()))
    except Exception as exc:  # noqa: BLE001 - the record is still written, without it
        meta["error"] = f"{type(exc).__name__}: {exc}"
    meta["findings"] = findings  # the whole suite's: one record tells which findings exist
    names = set(meta.get("headline", ())) | set(_ALWAYS) | set(metrics)
    meta["higher_is_better"] = {m: metric_info(m).higher_is_better for m in sorted(names)
                                if "/" not in m}  # per-bin reliability metrics: no direction
    return meta


def record_meta(loss: str, regularizer: str | None, suite_name: str, task_name: str,
                suite: Any = None, metrics: Mapping[str, float] | None = None,
                num_classes: int | None = None) -> dict[str, str]:
    """The record columns :data:`lossbench.store.META_COLUMNS` of one run (canonical JSON)."""
    return {"card_json": _dumps(entry_cards(loss, regularizer)),
            "task_json": _dumps(describe_task_for_record(suite_name, task_name, suite,
                                                         metrics or (), num_classes))}
