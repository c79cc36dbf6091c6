"""What the records stored about their entries and task, as the report reads it.

Each record carries ``card_json`` (the entries' cards as read at run time) and ``task_json``
(the task's headline metrics, metric directions and findings; see
:mod:`lossbench.record_meta`). Where several records of one group disagree, the newest wins.
Nothing here reads a live card, suite or entry.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..cells import is_missing


@functools.lru_cache(maxsize=4096)
def parsed_json(text: str) -> Any:
    """``json.loads(text)``, cached (a column repeats one text on every row); None when it is
    not JSON."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def stored_json(value) -> dict[str, Any]:
    """A record's ``card_json`` / ``task_json`` cell as a dict ({} when absent or unreadable)."""
    if is_missing(value) or not value:
        return {}
    data = parsed_json(str(value))
    return data if isinstance(data, dict) else {}


def stored_card(runs, group: str) -> dict[str, Any]:
    """The card (``group``: loss | regularizer) the newest of ``runs`` (a frame or a dict of
    column arrays) stored; {} if none."""
    for value in _newest_first(runs, "card_json"):
        card = stored_json(value).get(group)
        if isinstance(card, dict):
            return card
    return {}


def _newest_first(runs, column: str) -> list:
    """The values of ``column`` from the newest run to the oldest (start time, then key);
    ``runs``: a frame or a dict of column arrays."""
    if column not in runs or not len(runs[column]):
        return []
    rows = sorted(zip(("" if is_missing(v) else str(v) for v in runs["started_at"]),
                      runs["spec_key"], runs[column], strict=True),
                  key=lambda r: (r[0], r[1]), reverse=True)
    return [r[2] for r in rows]


def stored_task_meta(runs: pd.DataFrame) -> dict[str, Any]:
    """The task metadata the newest of ``runs`` stored; {} if none."""
    for value in _newest_first(runs, "task_json"):
        meta = stored_json(value)
        if meta:
            return meta
    return {}


def higher_is_better(metric: str, directions: Mapping[str, bool]) -> bool:
    """A metric's direction as the records state it; unknown ones count as ↑ (and are listed
    as such in the table header)."""
    return bool(directions.get(metric, True))


def arrow(metric: str, directions: Mapping[str, bool]) -> str:
    return "↑" if higher_is_better(metric, directions) else "↓"


def objective_of(cards: Mapping[str, dict]) -> str:
    """What an entry optimises: its loss card's ``objective`` (a ``loss + regularizer`` entry's
    is its loss's); classification when the card does not say."""
    return str((cards.get("loss") or {}).get("objective") or "classification")
