"""A run's timeout: the ``--timeout`` accepted, and the default when none is given (from the
spec's epochs and whether its task is embedded or full-scale).
"""

from __future__ import annotations

from ..spec import RunSpec

#: The longest ``--timeout`` accepted: 30 days (the OS's poll() cannot wait much longer).
MAX_TIMEOUT = 30 * 86400.0


def check_timeout(timeout: float | None) -> None:
    """A run timeout in seconds: None, or a number in (0, :data:`MAX_TIMEOUT`]."""
    import math

    from ..errors import UsageError

    if timeout is not None and not (isinstance(timeout, (int, float)) and math.isfinite(timeout)
                                    and 0 < timeout <= MAX_TIMEOUT):
        raise UsageError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}] "
                         f"(30 days), got {timeout!r}")


#: The default per-run timeout (no ``--timeout``) is ``max(DEFAULT_TIMEOUT_FLOOR, allowance ×
#: epochs)``: a deadline that no healthy run comes near and a hanging one cannot stall a sweep past.
DEFAULT_TIMEOUT_FLOOR = 600.0
#: Seconds allowed per epoch of an embedded task (the CPU default sweep: 0.06-0.15 s per epoch on
#: the 2-core reference machine, docs/performance.md, so 65-150× that).
EMBEDDED_SECONDS_PER_EPOCH = 10.0
#: Seconds allowed per epoch of a full-scale (non-embedded, GPU-sized) task.
FULLSCALE_SECONDS_PER_EPOCH = 600.0
#: Epochs assumed where neither ``--epochs`` nor the suite's description states them (a
#: third-party task whose recipe has no epoch count), with the embedded allowance: 10,000 s.
UNKNOWN_RECIPE_EPOCHS = 1000


def default_timeout(spec: RunSpec) -> float:
    """The timeout of a run when none is given: ``max(600 s, allowance × epochs)`` with the
    spec's epochs (:func:`lossbench.suites.description.spec_epochs`: ``--epochs``, else the
    task's recipe) and 10 s per epoch of an embedded task, 600 s per epoch of a full-scale one;
    deterministic, from the spec and the suite's description alone (a task whose epochs are
    stated nowhere: 1,000 epochs at 10 s are assumed)."""
    from ..suites.description import spec_epochs, suite_info

    per_epoch = EMBEDDED_SECONDS_PER_EPOCH
    try:
        if not suite_info(spec.suite).tasks[spec.task].embedded:
            per_epoch = FULLSCALE_SECONDS_PER_EPOCH
    except Exception:  # noqa: BLE001 - the run itself reports an unknown task with its reason
        pass
    seconds = max(DEFAULT_TIMEOUT_FLOOR, per_epoch * (spec_epochs(spec) or UNKNOWN_RECIPE_EPOCHS))
    return min(seconds, MAX_TIMEOUT)
