"""What a run's child returns: plain arrays and numbers, never code.

A run's child imports the plugin, so what it sends back is untrusted. It sends one
:class:`RunOutputs`, encoded by :func:`encode` as an ``.npz`` archive (numeric arrays only; the
JSON part is a ``uint8`` array), and the sweep reads it with :func:`decode`, which refuses a
payload over :func:`max_output_bytes`, anything that is not a well-formed archive of numeric
arrays (``numpy.load(..., allow_pickle=False)``: an object array cannot be read), and a JSON part
of the wrong shape. Nothing the child sends is ever unpickled.

What the arrays mean (all of it the child's claim, see docs/plugins.md):

* ``outputs``: the model outputs the task's metrics asked for, keyed by :func:`output_key`
  (checkpoint, method and a digest of the input tensor): :mod:`lossbench.replay` records them in
  the child and replays them to the task's ``evaluate`` in the scoring process;
* ``history``: the training curve (``train_loss`` per epoch, ``val_score`` per evaluation);
* ``scalars``: timings and counters (``train_seconds``, ``samples_per_second``, ``best_epoch``,
  ``loss_cost_ratio``, ``diverged_epoch``);
* ``device``: the name of the device it trained on (the record's device on a GPU, whose name
  the sweep process does not read: that would open a CUDA context there);
* ``metrics`` and ``task_json``: only for a third-party suite, whose code the scoring process
  never imports: the suite's own metrics and task metadata, computed in the child.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Environment variable: the largest payload (bytes) the sweep accepts from a run's child.
MAX_BYTES_ENV = "LOSSBENCH_MAX_OUTPUT_BYTES"
#: Default limit: 1 GiB (the largest full-scale task's test logits are ~200 MB).
DEFAULT_MAX_BYTES = 2**30
#: Every status a run's record may have.
STATUSES = ("ok", "error", "diverged", "timeout", "oom", "crashed")
#: Statuses a child may report; ``timeout`` and ``crashed`` are the executor's to say.
CHILD_STATUSES = ("ok", "error", "diverged", "oom")
#: Array dtypes a payload may hold.
NUMERIC_KINDS = "fiub"
_META = "__meta__"
_OUTPUT = "output:"
_HISTORY = "history:"


class OutputsRefused(ValueError):
    """A payload from a run's child that the sweep does not read (too large or malformed)."""


@dataclass
class RunOutputs:
    """The plain result of a run's training, as the child sends it (see the module doc)."""

    status: str
    error: str = ""
    checkpoints: tuple[str, ...] = ()
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    scalars: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] | None = None
    task_json: str | None = None
    device: str = ""  # the child's name of its device (the record's on a GPU; a claim)


def max_output_bytes() -> int:
    """``$LOSSBENCH_MAX_OUTPUT_BYTES``, else :data:`DEFAULT_MAX_BYTES`."""
    text = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        from .errors import UsageError

        raise UsageError(f"{MAX_BYTES_ENV} must be a positive number of bytes, got {text!r}")
    return value


def output_key(checkpoint: str, method: str, x: Any) -> str:
    """``<checkpoint>.<method>.<sha256 of the input's dtype, shape and bytes>``: the name under
    which the outputs of ``method`` (``outputs`` / ``features``) of ``checkpoint`` on the tensor
    ``x`` travel. The scoring process computes it from its own copy of the task data."""
    array = np.ascontiguousarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return f"{checkpoint}.{method}.{digest.hexdigest()}"


def encode(result: RunOutputs) -> bytes:
    """``result`` as ``.npz`` bytes (uncompressed)."""
    meta = {"status": result.status, "error": result.error,
            "checkpoints": list(result.checkpoints), "scalars": dict(result.scalars),
            "metrics": result.metrics, "task_json": result.task_json, "device": result.device}
    arrays = {_META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    arrays.update({_OUTPUT + k: np.asarray(v) for k, v in result.outputs.items()})
    arrays.update({_HISTORY + k: np.asarray(v, dtype=np.float64)
                   for k, v in result.history.items()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode(payload: bytes, limit: int | None = None) -> RunOutputs:
    """Read :func:`encode`'s bytes back, refusing (:class:`OutputsRefused`) a payload over
    ``limit`` bytes (default :func:`max_output_bytes`) packed or unpacked, a non-numeric or
    object array, and a JSON part that is not what :func:`encode` writes."""
    limit = max_output_bytes() if limit is None else limit
    if len(payload) > limit:
        raise OutputsRefused(f"the run's outputs are {len(payload)} bytes, over the limit of "
                             f"{limit} ({MAX_BYTES_ENV})")
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > limit:
            raise OutputsRefused(f"the run's outputs unpack to {unpacked} bytes, over the limit "
                                 f"of {limit} ({MAX_BYTES_ENV})")
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except OutputsRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the child sent, it is not readable
        raise OutputsRefused(f"the run's outputs are not a readable array archive "
                             f"({type(exc).__name__}: {str(exc)[:200]})") from None
    for name, array in arrays.items():
        if array.dtype.kind not in NUMERIC_KINDS:
            raise OutputsRefused(f"the run's outputs hold a non-numeric array {name[:100]!r} "
                                 f"(dtype {array.dtype})")
    if _META not in arrays or arrays[_META].dtype != np.uint8 or arrays[_META].ndim != 1:
        raise OutputsRefused("the run's outputs have no description (__meta__)")
    meta = _read_meta(arrays.pop(_META).tobytes())
    return RunOutputs(
        status=meta["status"], error=meta["error"], checkpoints=tuple(meta["checkpoints"]),
        outputs={k[len(_OUTPUT):]: v for k, v in arrays.items() if k.startswith(_OUTPUT)},
        history={k[len(_HISTORY):]: v for k, v in arrays.items() if k.startswith(_HISTORY)},
        scalars=meta["scalars"], metrics=meta["metrics"], task_json=meta["task_json"],
        device=meta["device"])


def _read_meta(raw: bytes) -> dict[str, Any]:
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise OutputsRefused("the run's outputs have an unreadable description") from None
    if not isinstance(meta, dict):
        raise OutputsRefused("the run's outputs have an unreadable description")
    status = meta.get("status")
    if status not in CHILD_STATUSES:
        raise OutputsRefused(f"the run's outputs have status {str(status)[:40]!r}; valid: "
                             f"{', '.join(CHILD_STATUSES)}")
    if not isinstance(meta.get("error"), str):
        raise OutputsRefused("the run's outputs have a non-text error")
    checkpoints = meta.get("checkpoints")
    if not (isinstance(checkpoints, list) and all(c in ("last", "selected") for c in checkpoints)):
        raise OutputsRefused("the run's outputs name checkpoints other than 'last' and "
                             "'selected'")
    meta["scalars"] = _numbers(meta.get("scalars"), "scalars")
    if meta.get("metrics") is not None:
        meta["metrics"] = _numbers(meta["metrics"], "metrics")
    if meta.get("task_json") is not None and not isinstance(meta["task_json"], str):
        raise OutputsRefused("the run's outputs have a non-text task_json")
    device = meta.setdefault("device", "")
    if not (isinstance(device, str) and len(device) <= 200 and device.isprintable()):
        raise OutputsRefused("the run's outputs name their device with other than one line of "
                             "at most 200 printable characters")
    meta.setdefault("metrics", None)
    meta.setdefault("task_json", None)
    return meta


def _numbers(value: Any, what: str) -> dict[str, float]:
    """A ``{name: number}`` mapping (NaN allowed: a metric may be undefined), else refused."""
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in value.items()):
        raise OutputsRefused(f"the run's outputs have malformed {what}")
    return {k: float(v) for k, v in value.items()}
