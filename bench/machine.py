"""What decides a run's floating-point path on this machine: the ``machine_json`` and
``machine_id`` of every record's provenance.

Two machines with the same torch version and the same device string (``cpu:x86_64 AVX512 x1``)
re-ran the whole board with bit-identical quality metrics for only 20 of 840 records: the device
string names the ISA level torch dispatches to, not the CPU model, the BLAS and oneDNN builds
behind torch and numpy, or the flags that choose kernels. Each of these changes rounding, and a
model trained to interpolation turns a last-bit difference into a different optimum.

:func:`machine_info` describes all of it as a flat dict (absent or ``""`` when a field cannot be
read: never an exception). :func:`machine_id` is a 12-hex digest of the fields that decide the
floating-point path (:data:`DECIDING_FIELDS`): the CPU (model, family/model/stepping, the flags
oneDNN dispatches on), torch's ISA level, the torch, BLAS/LAPACK, oneDNN, numpy and C library
builds, the float32 matmul precision and determinism switches, and on a GPU its model, compute
capability, CUDA runtime, cuDNN and TF32 flags. Not in the digest: the host name, the core count
and the thread counts (recorded beside it: the same machine at another thread count is the same
machine, and the record's ``device`` string already names the threads).

The static part is read once per process (cached); thread counts and switches are read at each
call, since a run sets its own threads.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
from collections.abc import Callable, Mapping
from typing import Any

#: The CPU flags (``/proc/cpuinfo``) that pick vector kernels in torch, oneDNN, MKL and OpenBLAS.
CPU_FLAGS = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
             "avx512_fp16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_fp16", "amx_int8",
             "amx_tile", "asimd", "sve", "sve2")

#: The :func:`machine_info` fields whose values decide the floating-point path: the ones hashed
#: into :func:`machine_id`. The others (``logical_cores``, ``torch_threads``,
#: ``torch_interop_threads``, ``python_version``) describe the run, not the arithmetic.
DECIDING_FIELDS = (
    "arch", "os", "libc", "cpu_vendor", "cpu_model", "cpu_signature", "cpu_flags",
    "cpu_capability", "torch_version", "torch_blas", "torch_lapack", "torch_onednn",
    "mkldnn_enabled", "float32_matmul_precision", "deterministic_algorithms", "numpy_version",
    "numpy_blas", "gpu_model", "gpu_compute_capability", "cuda_runtime", "cudnn_version",
    "cudnn_enabled", "cuda_matmul_tf32", "cudnn_tf32", "cudnn_deterministic", "cudnn_benchmark",
)
MACHINE_ID_LENGTH = 12


def _safe(read: Callable[[], Any], default: Any = "") -> Any:
    """``read()``, or ``default`` when it raises (a missing field is never an error)."""
    try:
        return read()
    except Exception:  # noqa: BLE001 - any failure to read a field leaves it empty
        return default


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """``cpu_vendor``, ``cpu_model``, ``cpu_signature`` (``"family 25 model 17 stepping 1"``)
    and ``cpu_flags`` (the :data:`CPU_FLAGS` present, in that order) from the first processor
    block of ``/proc/cpuinfo`` text (x86 ``flags`` or ARM ``Features``)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor's block is enough
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    out: dict[str, Any] = {}
    vendor = fields.get("vendor_id") or fields.get("cpu implementer", "")
    model = fields.get("model name") or fields.get("cpu part", "")
    if vendor:
        out["cpu_vendor"] = vendor
    if model:
        out["cpu_model"] = model
    if "cpu family" in fields:
        out["cpu_signature"] = " ".join(
            f"{name} {fields[key]}" for name, key in (("family", "cpu family"),
                                                     ("model", "model"),
                                                     ("stepping", "stepping")) if key in fields)
    present = set((fields.get("flags") or fields.get("features", "")).split())
    if present:
        out["cpu_flags"] = [f for f in CPU_FLAGS if f in present]
    return out


def parse_torch_config(text: str) -> dict[str, str]:
    """``torch_blas``, ``torch_lapack`` and ``torch_onednn`` from ``torch.__config__.show()``:
    ``"MKL 2024.2"`` (else the build's ``BLAS_INFO``, e.g. ``"open"``), ``"mkl"`` (the build's
    ``LAPACK_INFO``), ``"oneDNN v3.7.1"``; a field the text does not name is left out."""
    out = {}
    mkl = re.search(r"Math Kernel Library Version (\d+(?:\.\d+)*)", text)
    blas = re.search(r"\bBLAS_INFO=([^,\s]+)", text)
    if mkl:
        out["torch_blas"] = f"MKL {mkl.group(1)}"
    elif blas:
        out["torch_blas"] = blas.group(1)
    lapack = re.search(r"\bLAPACK_INFO=([^,\s]+)", text)
    if lapack:
        out["torch_lapack"] = lapack.group(1)
    onednn = re.search(r"MKL-DNN (v\d+(?:\.\d+)*)", text)
    if onednn:
        out["torch_onednn"] = f"oneDNN {onednn.group(1)}"
    return out


def numpy_blas(config: Mapping[str, Any]) -> str:
    """``"<name> <version>"`` of numpy's BLAS from ``numpy.show_config(mode="dicts")``."""
    blas = (config.get("Build Dependencies") or {}).get("blas") or {}
    return " ".join(str(blas[k]) for k in ("name", "version") if blas.get(k))


def _cpuinfo() -> dict[str, Any]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            return parse_cpuinfo(fh.read())
    except OSError:
        return {"cpu_model": platform.processor()} if platform.processor() else {}


@functools.lru_cache(maxsize=8)
def _static(device_type: str, index: int | None) -> dict[str, Any]:
    """The fields that do not change while the process lives (read once per device)."""
    import numpy as np
    import torch

    info: dict[str, Any] = {
        "arch": platform.machine(),
        "os": platform.system(),
        "libc": " ".join(_safe(platform.libc_ver, ("", ""))).strip(),
        "python_version": platform.python_version(),
        "logical_cores": _safe(os.cpu_count, None) or 0,
        **_cpuinfo(),
        "cpu_capability": _safe(lambda: torch.backends.cpu.get_cpu_capability()),
        "torch_version": torch.__version__,
        **_safe(lambda: parse_torch_config(torch.__config__.show()), {}),
        "numpy_version": np.__version__,
        "numpy_blas": _safe(lambda: numpy_blas(np.show_config(mode="dicts"))),
    }
    if not _safe(torch.backends.mkldnn.is_available, False):
        info.pop("torch_onednn", None)
    if device_type == "cuda":
        info.update({
            "gpu_model": _safe(lambda: torch.cuda.get_device_name(index)),
            "gpu_compute_capability": _safe(
                lambda: ".".join(map(str, torch.cuda.get_device_capability(index)))),
            "cuda_runtime": torch.version.cuda or "",
            "cudnn_version": str(_safe(torch.backends.cudnn.version, "") or ""),
        })
    return {k: v for k, v in info.items() if v is not None}


def _switches(device_type: str) -> dict[str, Any]:
    """The fields a process may change at any time: thread counts and kernel switches."""
    import torch

    out = {
        "torch_threads": _safe(torch.get_num_threads, 0),
        "torch_interop_threads": _safe(torch.get_num_interop_threads, 0),
        "float32_matmul_precision": _safe(torch.get_float32_matmul_precision),
        "deterministic_algorithms": _safe(torch.are_deterministic_algorithms_enabled, ""),
        "mkldnn_enabled": _safe(lambda: bool(torch.backends.mkldnn.enabled), ""),
    }
    if device_type == "cuda":
        out.update({
            "cuda_matmul_tf32": _safe(lambda: bool(torch.backends.cuda.matmul.allow_tf32), ""),
            "cudnn_tf32": _safe(lambda: bool(torch.backends.cudnn.allow_tf32), ""),
            "cudnn_deterministic": _safe(lambda: bool(torch.backends.cudnn.deterministic), ""),
            "cudnn_benchmark": _safe(lambda: bool(torch.backends.cudnn.benchmark), ""),
            "cudnn_enabled": _safe(lambda: bool(torch.backends.cudnn.enabled), ""),
        })
    return out


def machine_info(device: Any = "cpu") -> dict[str, Any]:
    """What decides the floating-point path of a run on ``device`` (``"cpu"``, ``"cuda:0"`` or a
    ``torch.device``) in this process: a flat dict of JSON values (see the module docstring).
    Never raises for a field it cannot read; that field is absent or ``""``."""
    try:
        import torch

        parsed = torch.device(device)
        device_type = parsed.type
        index = parsed.index
        if device_type == "cuda" and index is None:
            index = _safe(torch.cuda.current_device, 0)
    except Exception:  # noqa: BLE001 - an unparsable device still gets the CPU's description
        device_type, index = "cpu", None
    return {**_safe(lambda: _static(device_type, index), {}),
            **_safe(lambda: _switches(device_type), {})}


def canonical(info: Mapping[str, Any]) -> str:
    """``info`` as canonical JSON (sorted keys, no spaces): the ``machine_json`` column."""
    return json.dumps(dict(info), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def machine_id(info: Mapping[str, Any]) -> str:
    """12 hex characters of the SHA-256 of the :data:`DECIDING_FIELDS` of ``info`` (canonical
    JSON): equal for two processes that take the same floating-point path, whatever the host
    name, core count or thread counts."""
    deciding = {k: info[k] for k in DECIDING_FIELDS if k in info}
    return hashlib.sha256(canonical(deciding).encode()).hexdigest()[:MACHINE_ID_LENGTH]


def machine_provenance(device: Any = "cpu") -> dict[str, str]:
    """The two provenance columns of a record made on ``device``: ``machine_json`` and
    ``machine_id``."""
    info = machine_info(device)
    return {"machine_json": canonical(info), "machine_id": machine_id(info)}


def stored_machine(value: Any) -> dict[str, Any]:
    """A record's ``machine_json`` cell as a dict ({} when absent or unreadable: a record made
    before the column existed)."""
    if not isinstance(value, str) or not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
