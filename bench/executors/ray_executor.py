"""The ``ray`` executor: each spec a Ray task with its resource request (clusters; ``pip install
lossbench[ray]``).

``address`` is passed to ``ray.init`` (``"auto"`` joins the cluster this machine belongs to); with
no address a local Ray instance is started with ``workers`` CPUs and shut down afterwards. Each
task asks for ``threads`` CPUs (and one GPU for ``--device cuda``), runs with ``max_retries=0``
and records the same statuses as the local executor: Ray's worker-crash, OOM-kill and
cancellation errors become ``crashed`` / ``oom`` / ``timeout`` records; a task past ``timeout``
seconds is force-cancelled (its worker process is killed). At most as many tasks are in flight as
the cluster has slots for, so the progress display shows what really runs.

A task trains and returns its plain outputs as bytes (:mod:`lossbench.run_outputs`); the driver
computes the record (:func:`lossbench.runner.score`). Ray itself deserializes what a task returns
(with pickle): a plugin running in a Ray worker can reach the driver through Ray's own
serialization, so this executor is for plugins you trust (docs/plugins.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from ..errors import UsageError
from ..record import Record
from ..run_outputs import OutputsRefused, decode, encode
from ..runner import (
    configure_threads,
    evaluation_plans,
    failure_record,
    score,
    train_run,
)
from ..spec import RunSpec
from . import available_cpus, default_threads


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("the ray executor needs Ray: pip install 'lossbench[ray]'") from None
    return ray


def run_on_worker(spec: RunSpec, device: str, threads: int, plans: dict | None = None) -> bytes:
    """Body of a Ray task: train one spec in the Ray worker process and return its plain
    outputs (:func:`lossbench.run_outputs.encode`'s bytes); the driver computes the record."""
    if device == "cuda":
        device = "cuda:0"  # Ray sets CUDA_VISIBLE_DEVICES to the GPU it assigned
    configure_threads(threads)
    return encode(train_run(spec, device=device, threads=threads, plans=plans))


class RayExecutor:
    """Run specs as Ray tasks on a local or remote Ray cluster."""

    def __init__(self, device: str = "cpu", workers: int | None = None,
                 timeout: float | None = None, threads: int | None = None,
                 address: str | None = None):
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.device = device
        self.workers = workers
        self.timeout = timeout
        self.threads = threads or default_threads(device, workers or available_cpus())
        self.address = address
        self._started_ray = False
        self._inflight: dict = {}

    def _connect(self):
        ray = _import_ray()
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False}
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                ray.init(num_cpus=self.workers or available_cpus(), **kwargs)
            self._started_ray = True
        return ray

    def _slots(self, ray) -> int:
        if self.workers:
            return self.workers
        resources = ray.cluster_resources()
        if self.device.startswith("cuda"):
            return max(1, int(resources.get("GPU", 0)))
        return max(1, int(resources.get("CPU", 1)) // self.threads)

    def map(self, specs: Sequence[RunSpec],
            on_start: Callable[[RunSpec], None] | None = None) -> Iterator[Record]:
        ray = self._connect()
        task = ray.remote(run_on_worker).options(
            num_cpus=self.threads, num_gpus=1 if self.device.startswith("cuda") else 0,
            max_retries=0)
        queue = list(specs)[::-1]
        slots = self._slots(ray)
        try:
            while queue or self._inflight:
                while queue and len(self._inflight) < slots:
                    spec = queue.pop()
                    ref = task.remote(spec, self.device, self.threads, evaluation_plans(spec))
                    self._inflight[ref] = (spec, time.time(), time.perf_counter())
                    if on_start is not None:
                        on_start(spec)
                yield from self._collect(ray)
        finally:
            self.close()

    def _collect(self, ray) -> list[Record]:
        refs = list(self._inflight)
        wait_for = None
        if self.timeout:
            wait_for = max(0.0, min(t0 + self.timeout for _, _, t0 in self._inflight.values())
                           - time.perf_counter())
        ready, _ = ray.wait(refs, num_returns=1, timeout=wait_for)
        records = []
        for ref in ready:
            spec, started, t0 = self._inflight.pop(ref)
            records.append(self._result(ray, ref, spec, started, t0))
        now = time.perf_counter()
        for ref, (spec, started, t0) in list(self._inflight.items()):
            if self.timeout and now - t0 >= self.timeout:
                ray.cancel(ref, force=True)
                del self._inflight[ref]
                records.append(failure_record(
                    spec, "timeout", f"run exceeded the {self.timeout:g}s timeout and its Ray "
                    "task was cancelled", device=self.device, started=started, wall=now - t0))
        return records

    def _result(self, ray, ref, spec: RunSpec, started: float, t0: float) -> Record:
        from ray import exceptions as rex

        try:
            payload = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - every Ray failure becomes the run's status
            if isinstance(exc, rex.OutOfMemoryError):
                status = "oom"
            elif isinstance(exc, rex.TaskCancelledError):
                status = "timeout"
            elif isinstance(exc, (rex.WorkerCrashedError, rex.RayTaskError)):
                status = "crashed"
            else:
                status = "error"
            return failure_record(spec, status, f"{type(exc).__name__}: {exc}",
                                  device=self.device, started=started,
                                  wall=time.perf_counter() - t0)
        try:
            if not isinstance(payload, bytes):
                raise OutputsRefused(f"the Ray task returned a {type(payload).__name__}, not the "
                                     f"run's outputs (bytes)")
            outputs = decode(payload)
        except OutputsRefused as exc:
            return failure_record(spec, "error", f"the run's outputs were refused: {exc}",
                                  device=self.device, started=started,
                                  wall=time.perf_counter() - t0)
        return score(spec, outputs, device=self.device, threads=self.threads, started=started,
                     t0=t0)

    def close(self) -> None:
        if not self._started_ray and not self._inflight:
            return
        ray = _import_ray()
        for ref in list(self._inflight):
            ray.cancel(ref, force=True)
        self._inflight.clear()
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
