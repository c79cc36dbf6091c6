"""Executors: where and how the scheduler's specs run. One interface, registered like any plugin.

An executor is any class registered in the ``lossbench.executors`` entry-point group whose
constructor takes (a subset of) the keyword options in :data:`EXECUTOR_OPTIONS` and whose
``map(specs, on_start)`` yields one :class:`~lossbench.record.Record` per spec, in completion
order, calling ``on_start(spec)`` when a spec starts running. The scheduler stores each record as
it arrives; an executor never writes results itself. ``close()`` releases what it holds.

Built-ins: ``serial`` (this process, pdb-friendly), ``local`` (default: one child process per run
in N parallel slots, with timeouts and memory limits), ``ray`` (each spec a Ray task).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from ..record import Record
from ..registry import EXECUTORS
from ..signatures import context_kwargs
from ..spec import RunSpec

#: Keyword options the scheduler passes to an executor's constructor when its signature names them.
EXECUTOR_OPTIONS = ("device", "workers", "timeout", "memory_limit_mb", "threads", "address")
DEFAULT_EXECUTOR = "local"


class Executor(Protocol):
    """What the scheduler needs from an executor."""

    def map(self, specs: Sequence[RunSpec],
            on_start: Callable[[RunSpec], None] | None = None) -> Iterator[Record]: ...

    def close(self) -> None: ...


def make_executor(name: str, options: Mapping[str, Any]) -> Executor:
    """Build the executor registered as ``name`` with the options its constructor names."""
    cls = EXECUTORS.load(name)
    return cls(**context_kwargs(cls, {k: v for k, v in options.items() if v is not None},
                                EXECUTOR_OPTIONS))


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def visible_gpus() -> int:
    """Number of visible CUDA devices, without initialising CUDA in this process (so children
    forked from it can still use CUDA)."""
    try:
        import torch

        return torch.cuda.device_count()  # NVML-based: does not initialise CUDA (is_available does)
    except Exception:  # noqa: BLE001 - a broken driver means no GPU, not a crash
        return 0


def default_workers(device: str) -> int:
    """One worker per visible GPU for ``cuda`` runs, else one per available CPU core."""
    if device.startswith("cuda"):
        if ":" in device:
            return 1
        return max(1, visible_gpus())
    return available_cpus()


def worker_device(device: str, slot: int) -> str:
    """The device of worker ``slot``: ``cuda`` spreads the workers over the visible GPUs."""
    if device == "cuda":
        gpus = max(1, visible_gpus())
        return f"cuda:{slot % gpus}"
    return device


def default_threads(device: str, workers: int) -> int:
    """Torch intra-op threads per worker: 1 for CPU runs (the embedded models are too small to
    gain from more, and workers must not oversubscribe the cores), the cores per worker on GPU."""
    if device.startswith("cuda"):
        return max(1, available_cpus() // max(1, workers))
    return 1
