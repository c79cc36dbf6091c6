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
