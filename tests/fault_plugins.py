"""Deliberately broken losses for the fault-injection tests (registered in-process by the tests).

Each misbehaves in one way a real plugin might: raise, return NaN, return the wrong shape, hang,
allocate until the memory budget is exhausted, kill its own process, or segfault.
"""

from __future__ import annotations

import ctypes
import os
import time

import torch
import torch.nn.functional as F


def raises(logits, targets):
    raise RuntimeError("plugin bug: raised on purpose")


def returns_nan(logits, targets):
    return F.cross_entropy(logits, targets) * float("nan")


def wrong_shape(logits, targets):
    return F.cross_entropy(logits, targets, reduction="none")  # [N], not a scalar


def hangs(logits, targets):
    time.sleep(3600)
    return F.cross_entropy(logits, targets)


def allocates_until_oom(logits, targets):
    hoard = []
    while True:  # 256 MiB at a time, kept alive, until the allocator refuses
        hoard.append(torch.empty(64 * 2**20, dtype=torch.float32))


def exits(logits, targets):
    os._exit(3)


def segfaults(logits, targets):
    ctypes.string_at(0)


def factory(fn):
    """An entry-point target: ``factory(**hparams)`` returning the loss callable."""

    def make():
        return fn

    make.version = "0"
    make.hparams = {}
    return make


def _start_daemon() -> None:
    """Start ``sleep`` in a new session (it escapes the run's process group) and note its pid."""
    import subprocess

    proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
    with open(os.environ["FAULT_PID_FILE"], "a") as fh:
        fh.write(f"{proc.pid}\n")


def spawns_daemon_and_hangs(logits, targets):
    _start_daemon()
    time.sleep(3600)


_started: list[bool] = []


def spawns_daemon(logits, targets):
    if not _started:
        _started.append(True)
        _start_daemon()
    return F.cross_entropy(logits, targets)


def mutates_inputs(logits, targets):
    loss = F.cross_entropy(logits, targets)
    targets.zero_()  # in place: the labels this run was given
    return loss
