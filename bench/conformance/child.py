"""The child process of ``lossbench check``: ``python -m lossbench.conformance.child``.

Started by :func:`lossbench.conformance.check_isolated` through
:func:`lossbench.sandbox.run_children`, so the entry's code never runs in the parent. It answers
the :class:`~lossbench.conformance.results.CheckReport` as a dict, or ``{"usage_error":
message}`` for an unknown name or kind; a crash or a hang is the parent's to report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UsageError
from ..sandbox import serve
from . import check_entry


def answer(request: Mapping[str, Any]) -> dict[str, Any]:
    """The report of :func:`~lossbench.conformance.check_entry` on the requested ``entry`` (and
    ``kind``), as a dict."""
    try:
        report = check_entry(request["entry"], kind=request.get("kind"))
    except UsageError as exc:
        return {"usage_error": str(exc)}
    return report.to_dict()


if __name__ == "__main__":
    serve(answer)
