"""lossbench: an open benchmark harness for classification losses and regularizers.

The public Python API mirrors the CLI (both share one validation path):

>>> import lossbench
>>> lossbench.list_entries("focal*", kind="loss")          # doctest: +SKIP
>>> df = lossbench.run(lossbench.Selection(losses=["focal"], seeds=5))  # doctest: +SKIP
>>> lossbench.validate("results")                           # doctest: +SKIP
>>> lossbench.verify("results").ok                          # doctest: +SKIP
>>> lossbench.leaderboard("results")                        # doctest: +SKIP
>>> lossbench.reproduce("results", sample=20).drift        # doctest: +SKIP
>>> loss = lossbench.create_loss("focal", gamma=3.0)       # doctest: +SKIP

Heavy modules (torch, pandas) are imported on first use, so ``lossbench list`` stays fast.
"""

from __future__ import annotations

from .version import __version__ as __version__  # re-exported: lossbench.__version__

_API = {"list_entries", "run", "load_results", "leaderboard", "validate", "verify", "merge",
        "check", "show", "create_loss", "create_regularizer", "reproduce", "Selection",
        "Execution"}

__all__ = sorted(_API | {"__version__"})


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'lossbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted((set(globals()) - {"annotations"}) | _API)
