"""The ``serial`` executor: every run in this process, one after another (debugging, pdb).

No process isolation, so it is for trusted code only: a plugin that hangs, crashes the
interpreter or exhausts memory takes the sweep with it, there is no timeout, third-party entries
are imported into this process, and the untrusted half of a run (:func:`lossbench.runner.train_run`)
and the trusted one (:func:`lossbench.runner.score`) share it.
Exceptions still become the run's status (:func:`execute` never raises for entry bugs), so
``--executor serial --pdb``-style debugging sees the same records. The records equal the local
executor's bit for bit: the same default torch threads (:func:`default_threads`, 1 on CPU; the
caller's setting is restored after each run) and every run gets its own copy of the task data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ..record import Record
from ..runner import execute
from ..spec import RunSpec
from . import default_threads


class SerialExecutor:
    """Run specs in the calling process, in order."""

    def __init__(self, device: str = "cpu", threads: int | None = None):
        self.device = device
        self.threads = threads or default_threads(device, 1)

    def map(self, specs: Sequence[RunSpec],
            on_start: Callable[[RunSpec], None] | None = None) -> Iterator[Record]:
        for spec in specs:
            if on_start is not None:
                on_start(spec)
            yield execute(spec, device=self.device, threads=self.threads)

    def close(self) -> None:
        pass
