"""The child process that reads third-party entries' cards: ``python -m lossbench.describe_child``.

Started by :func:`lossbench.sandbox.describe_entries`, one per distribution, so the parent
never imports a third-party entry (:mod:`lossbench.sandbox`). It imports each entry's target,
reads its card (:func:`lossbench.card_reading.entry_card`, validated against
:data:`lossbench.registry.REGISTRIES`) and, for a suite, its task list
(:func:`lossbench.suites.description.describe_suite`), and answers ``{"kind/name":
{"card": ..., "tasks": ...} | {"error": reason}}``: a failure of one entry is that entry's
one-line reason, never the others'.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .card_reading import entry_card
from .errors import LossbenchError
from .registry import REGISTRIES
from .sandbox import serve
from .suites.description import describe_suite
from .targets import _import_target
from .text_safety import one_line


def describe(entries: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The card (and a suite's task list) of each requested entry (``kind``, ``name``,
    ``target``, ``origin``, ``local``), keyed ``kind/name``; an entry that cannot be imported
    or described gets ``{"error": one line}``."""
    out: dict[str, Any] = {}
    for e in entries:
        key = f"{e['kind']}/{e['name']}"
        try:
            local = bool(e.get("local"))
            obj = _import_target(e["target"], search_cwd=local)
            answer = {"card": entry_card(obj, e["name"], e["kind"], e["origin"], e["target"],
                                         local, registries=REGISTRIES).to_dict()}
            if e["kind"] == "suite":
                answer["tasks"] = describe_suite(obj)
            json.dumps(answer, allow_nan=False)
        except KeyboardInterrupt:
            raise
        except LossbenchError as exc:
            answer = {"error": one_line(str(exc))}
        except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything, SystemExit too
            answer = {"error": one_line(f"{type(exc).__name__}: {exc}")}
        out[key] = answer
    return out


if __name__ == "__main__":
    serve(lambda request: describe(request["entries"]))
