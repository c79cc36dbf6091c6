"""OS-level write confinement of a run's child: Landlock (Linux ≥ 5.13).

A run's child imports third-party code. Before it does, :func:`confine_writes` asks the kernel to
deny the process (and everything it starts) every file-system *write* — creating, writing,
truncating, renaming, removing — outside a few folders: the run's own scratch folder (its
``TMPDIR``, made by the parent and removed after the run), ``/dev`` (``/dev/null``,
``/dev/shm``, GPU device files), the user's cache folder (Hugging Face ``datasets``, ``timm``,
torch and Triton caches, lossbench's metadata cache) and the folders named in
``$LOSSBENCH_CHILD_WRITABLE`` (``os.pathsep``-separated). Reading is not restricted. So a plugin
cannot rewrite, add or delete records in a results folder, or the leaderboard, while it trains;
descriptors the child already holds (its result pipe, its output file) keep working.

The policy is the kernel's (Landlock, ``landlock_create_ruleset`` / ``landlock_add_rule`` /
``landlock_restrict_self``, called through ``ctypes``; no dependency). Where the kernel has no
Landlock, or ``$LOSSBENCH_CONFINE`` is ``off``, the child runs unconfined and says so on its output;
the store's digests and ledger still make tampering visible (docs/plugins.md).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path

SWITCH_ENV = "LOSSBENCH_CONFINE"
EXTRA_ENV = "LOSSBENCH_CHILD_WRITABLE"

# syscall numbers: the same in the generic table (aarch64, riscv) and on x86_64
_SYSCALLS = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# LANDLOCK_ACCESS_FS_* (include/uapi/linux/landlock.h)
WRITE_FILE = 1 << 1
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (
    1 << 6, 1 << 7, 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12)
REFER = 1 << 13  # ABI 2: renaming or linking across folders
TRUNCATE = 1 << 14  # ABI 3

_FILE_RIGHTS = WRITE_FILE | TRUNCATE  # the rights a rule on a single file may carry


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def write_rights(abi: int) -> int:
    """Every write-like right the kernel's Landlock ABI ``abi`` can deny."""
    rights = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK
              | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM)
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    return rights


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (not Linux, too old, disabled)."""
    if platform.system() != "Linux":
        return 0
    try:
        abi = _libc().syscall(_SYSCALLS["create_ruleset"], None, 0, _CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return 0
    return max(int(abi), 0)


def writable_folders(scratch: str | Path, environ: dict[str, str] | None = None) -> list[str]:
    """The folders a run's child may write under: its scratch folder, ``/dev``, the cache
    folders (``$XDG_CACHE_HOME`` or ``~/.cache``, ``$HF_HOME``, ``$TORCH_HOME``,
    ``$TRITON_CACHE_DIR``, ``$LOSSBENCH_CACHE``, ``~/.nv``) and ``$LOSSBENCH_CHILD_WRITABLE``;
    each that exists, once."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    candidates = [str(scratch), "/dev", env.get("XDG_CACHE_HOME") or str(home / ".cache"),
                  str(home / ".nv")]
    candidates += [env[k] for k in ("HF_HOME", "TORCH_HOME", "TRITON_CACHE_DIR",
                                    "LOSSBENCH_CACHE") if env.get(k)]
    candidates += [p for p in (env.get(EXTRA_ENV) or "").split(os.pathsep) if p]
    out: list[str] = []
    for p in candidates:
        real = os.path.realpath(p)
        if os.path.exists(real) and real not in out:
            out.append(real)
    return out


def confine_writes(writable: Sequence[str] | Iterable[str]) -> str:
    """Deny this process and its descendants every write outside ``writable`` (Landlock).

    Returns how the process is confined, or why it is not (``$LOSSBENCH_CONFINE=off``, no
    Landlock in the kernel, or the call failing with its errno); never raises, since an
    unconfined run is still a run (the store's ledger keeps tampering visible). Irreversible for
    the process."""
    if os.environ.get(SWITCH_ENV, "").strip().lower() in ("off", "0", "no", "false"):
        return f"unconfined: {SWITCH_ENV}=off"
    abi = landlock_abi()
    if abi <= 0:
        return "unconfined: this kernel has no Landlock (Linux >= 5.13 with landlock enabled)"
    libc = _libc()
    handled = write_rights(abi)
    attr = ctypes.c_uint64(handled)  # struct landlock_ruleset_attr's first field
    ruleset = libc.syscall(_SYSCALLS["create_ruleset"], ctypes.byref(attr),
                           ctypes.sizeof(attr), 0)
    if ruleset < 0:
        return f"unconfined: landlock_create_ruleset failed ({_errno_text()})"
    try:
        allowed = []
        for folder in writable:
            try:
                fd = os.open(folder, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rights = handled if os.path.isdir(folder) else handled & _FILE_RIGHTS
                rule = _PathBeneath(rights, fd)
                if libc.syscall(_SYSCALLS["add_rule"], ruleset, _RULE_PATH_BENEATH,
                                ctypes.byref(rule), 0) == 0:
                    allowed.append(folder)
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"unconfined: prctl(PR_SET_NO_NEW_PRIVS) failed ({_errno_text()})"
        if libc.syscall(_SYSCALLS["restrict_self"], ruleset, 0) != 0:
            return f"unconfined: landlock_restrict_self failed ({_errno_text()})"
    finally:
        os.close(ruleset)
    return f"confined (Landlock ABI {abi}): writes only under {', '.join(allowed)}"


def _errno_text() -> str:
    code = ctypes.get_errno()
    return f"{errno.errorcode.get(code, code)}: {os.strerror(code)}"
