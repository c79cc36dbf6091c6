"""Where a record was made: the provenance columns of a run's record (harness version and
fingerprint, where its entries' code came from, git revision, torch and Python versions, device,
host, start time, wall time, the machine that decides the rounding).
"""

from __future__ import annotations

import functools
import platform
import socket
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from .fingerprint import harness_fingerprint
from .machine import machine_provenance
from .registry import LOSSES, REGULARIZERS
from .spec import RunSpec
from .targets import LOCAL_ORIGIN, LOCAL_VERSION_TAG, is_target
from .version import __version__


@functools.lru_cache(maxsize=1)
def git_sha() -> str:
    """The commit of the lossbench source tree (``bench/`` and the built-in ``registry/``) when it
    is a git checkout, with ``-dirty`` appended when either has uncommitted changes (then the
    commit alone does not say what code ran); '' when it is not a checkout."""
    import importlib.util

    dirs = [Path(__file__).resolve().parent]
    spec = importlib.util.find_spec("lossbench_registry")
    dirs += [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
    return source_revision(dirs)


def source_revision(dirs: list[Path]) -> str:
    """``<HEAD commit>`` of the git checkout holding ``dirs[0]``, plus ``-dirty`` when any of
    ``dirs`` has uncommitted or untracked (not ignored) files; '' outside a checkout."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=dirs[0], capture_output=True, text=True,
                              timeout=10, check=False)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return ""
        status = git("status", "--porcelain", "--", *map(str, dirs))
    except (OSError, subprocess.SubprocessError):
        return ""
    dirty = status.returncode != 0 or bool(status.stdout.strip())
    return head.stdout.strip() + ("-dirty" if dirty else "")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    # torch's CPU capability (AVX2, AVX512, ...) picks the oneDNN kernels: runs on CPUs of
    # different capability round differently and, trained to interpolation, diverge by seed-level
    # amounts; naming it makes such records tell apart.
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()
    arch = platform.processor() or platform.machine()
    return f"cpu:{arch} {capability} x{torch.get_num_threads()}".replace("  ", " ")


def distribution_of(registry: Any, name: str | None, version: str | None) -> str | None:
    """Where an entry's code came from: ``"<distribution> <version>"`` for an entry point
    (``"lossbench 0.1.0"`` for a built-in), ``"local <12 hex of its file's SHA-256>"`` for a
    ``module:attr`` target (the hash its ``+local.`` version carries); None without an entry."""
    if not name:
        return None
    if is_target(name):
        return f"{LOCAL_ORIGIN} {str(version).rpartition(LOCAL_VERSION_TAG)[2]}"
    try:
        return registry.get(name).origin
    except Exception:  # noqa: BLE001 - an unknown name still gets its record
        return ""


def provenance(device: torch.device, started: float, wall: float,
               spec: RunSpec | None = None, device_label: str | None = None) -> dict[str, Any]:
    """The record's provenance columns. ``device_label``: the device's name as the run's child
    reported it (a GPU's name is not read in the sweep process: that would open a CUDA context
    there); default :func:`device_name`."""
    return {
        "lossbench_version": __version__,
        "harness_fingerprint": harness_fingerprint(),
        "loss_distribution": distribution_of(LOSSES, spec and spec.loss,
                                             spec and spec.loss_version),
        "regularizer_distribution": distribution_of(REGULARIZERS, spec and spec.regularizer,
                                                    spec and spec.regularizer_version),
        "git_sha": git_sha(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": device_label or device_name(device),
        "host": socket.gethostname(),
        "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": wall,
        **machine_provenance(device),  # machine_json, machine_id: what decides the rounding
    }
