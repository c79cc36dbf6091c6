"""The ``serial`` executor: every run in this process, one after another (debugging, pdb).

No isolation: a plugin that hangs, crashes the interpreter or exhausts memory takes the sweep with
it, and there is no timeout. Exceptions still become the run's status (:func:`execute` never
raises for entry bugs), so ``--executor serial --pdb``-style debugging sees the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ..runner import Record, execute
from ..spec import RunSpec


class SerialExecutor:
    """Run specs in the calling process, in order."""

    def __init__(self, device: str = "cpu", threads: int | None = None):
        self.device = device
        self.threads = threads

    def map(self, specs: Sequence[RunSpec],
            on_start: Callable[[RunSpec], None] | None = None) -> Iterator[Record]:
        from ..runner import configure_threads

        configure_threads(self.threads)
        for spec in specs:
            if on_start is not None:
                on_start(spec)
            yield execute(spec, device=self.device)

    def close(self) -> None:
        pass
