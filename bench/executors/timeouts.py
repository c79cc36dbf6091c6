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


#: Epochs assumed where the sweep process cannot read the recipe (a third-party suite's task,
#: whose code runs only in its runs' children), with the embedded allowance: 10,000 s.
UNKNOWN_RECIPE_EPOCHS = 1000


def default_timeout(spec: RunSpec) -> float:
    """The timeout of a run when none is given: ``max(600 s, allowance × epochs)`` with the
    spec's epochs (``--epochs``, else the task's recipe) and 10 s per epoch of an embedded task,
    600 s per epoch of a full-scale one; deterministic, from the spec and the built-in task
    alone (a third-party suite's recipe is not read: 1,000 epochs at 10 s are assumed)."""
    per_epoch, epochs = EMBEDDED_SECONDS_PER_EPOCH, None
    option = spec.options.get("epochs")
    if isinstance(option, int) and not isinstance(option, bool) and option > 0:
        epochs = option
    try:
        from ..registry import SUITES
        from ..runner import recipe_for, resolve_task

        if not SUITES.get(spec.suite).isolated:
            _, task = resolve_task(spec)
            epochs = epochs or int(recipe_for(task, spec.options).epochs)
            if not task.embedded:
                per_epoch = FULLSCALE_SECONDS_PER_EPOCH
    except Exception:  # noqa: BLE001 - the run itself reports an unknown task with its reason
        pass
    seconds = max(DEFAULT_TIMEOUT_FLOOR, per_epoch * (epochs or UNKNOWN_RECIPE_EPOCHS))
    return min(seconds, MAX_TIMEOUT)
