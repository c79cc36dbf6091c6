"""Output locations are checked before anything is computed.

A sweep that computes its first run and only then finds that it cannot write the record (a file
given as ``--results``, a folder it may not write to, a missing folder for the leaderboard) wastes
the run and ends in a traceback. ``run``, ``tune`` and ``leaderboard`` (CLI and API alike) call
these helpers first; each raises :class:`~lossbench.errors.UsageError` (exit status 2) naming the
path and the reason.

Writability is tested by writing and removing a probe file (``.write-probe.<pid>.tmp``: a name a
dead writer's leftover is removed by, :func:`lossbench.scheduler.remove_stale_temp_files`), since
permission bits say nothing about read-only mounts, immutable files (``chattr +i``) or root.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _probe(folder: Path) -> str:
    """Write and remove a file in ``folder``: '' when that works, else why not."""
    probe = folder / f".write-probe.{os.getpid()}.tmp"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"lossbench")
    except OSError as exc:
        return f"a file cannot be written there: {_reason(exc)}"
    try:
        probe.unlink()
    except OSError as exc:
        return f"a file written there cannot be removed: {_reason(exc)}"
    return ""


def _special_filesystem(path: Path) -> str:
    """The type of the kernel file system ``path`` lies on when it holds no user files (``proc``,
    ``sysfs``, ...), read from ``/proc/self/mounts``; '' otherwise or where that is unreadable."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    target, best, kind = str(path.absolute()), -1, ""
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, kind = len(point), fields[2]
    return kind if kind in SPECIAL_FILESYSTEMS else ""


#: Kernel file systems where no results folder or leaderboard can live.
SPECIAL_FILESYSTEMS = frozenset({"proc", "sysfs", "devpts", "cgroup", "cgroup2", "debugfs",
                                 "tracefs", "securityfs", "configfs", "bpf", "pstore"})


def _dangling_link(path: Path) -> Path | None:
    """``path`` or the nearest of its parents that is a symbolic link to nothing, if any."""
    for candidate in (path, *path.parents):
        if candidate.is_symlink() and not candidate.exists():
            return candidate
        if candidate.exists():
            return None
    return None


def _uncreatable(folder: Path, what: str) -> UsageError | None:
    """Why ``folder`` (missing) cannot be created, naming the culprit: a dangling symbolic link,
    a file above it, a kernel file system, an unwritable parent. None when nothing explains it."""
    link = _dangling_link(folder)
    if link is not None:
        where = "" if link == folder else f" cannot be created: {str(link)!r}"
        return UsageError(f"{what} {str(folder)!r}{where} is a symbolic link "
                          f"to {os.readlink(link)!r}, which does not exist; remove the link or "
                          f"create its target")
    blocker = _file_above(folder)
    if blocker is not None:
        return UsageError(f"{what} {str(folder)!r} cannot be created: {str(blocker)!r} is a "
                          f"file, not a folder")
    ancestor = next((p for p in folder.parents if p.is_dir()), None)
    if ancestor is None:
        return None
    kind = _special_filesystem(ancestor)
    if kind:
        return UsageError(f"{what} {str(folder)!r} cannot be created: {str(ancestor)!r} is on "
                          f"the kernel's {kind!r} file system, which holds no user files; "
                          f"choose a folder on a disk")
    problem = _probe(ancestor)
    if problem:
        return UsageError(f"{what} {str(folder)!r} cannot be created: its nearest existing "
                          f"folder {str(ancestor)!r} is not writable ({problem})")
    return None


def check_results_to_write(path: str | Path, what: str = "results folder") -> Path:
    """The results folder a sweep will write to, checked without creating anything (so a sweep
    that stops at planning leaves no empty folder): an existing writable folder, or a missing one
    whose nearest existing parent is writable. A UsageError names ``what`` (the CLI passes
    ``--results``), the path and the reason: a file, a dangling symbolic link, a file above it,
    a kernel file system such as ``/proc``, or a folder that cannot be written."""
    folder = Path(path)
    if folder.is_dir():
        problem = _probe(folder)
        if problem:
            raise UsageError(f"{what} {str(folder)!r} is not writable ({problem}); choose a "
                             f"folder you can write to")
        return folder
    if folder.exists():
        raise UsageError(f"{what} {str(folder)!r} is a file, not a folder; give a folder (it is "
                         f"created if missing)")
    error = _uncreatable(folder, what)
    if error is not None:
        raise error
    return folder


def prepare_results(path: str | Path, what: str = "results folder") -> Path:
    """The results folder ``path``, created if missing (parents included) and tested for writing;
    a UsageError for a file, a folder under a file, a dangling symbolic link, or a folder that
    cannot be written."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{what} {str(folder)!r} is a file, not a folder; give a folder (it is "
                         f"created if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        error = _uncreatable(folder, what)
        if error is not None:
            raise error from None
        raise UsageError(f"{what} {str(folder)!r} cannot be created ({_reason(exc)})") from None
    problem = _probe(folder)
    if problem:
        raise UsageError(f"{what} {str(folder)!r} is not writable ({problem}); choose a folder "
                         f"you can write to")
    return folder


def check_results_to_read(path: str | Path, what: str = "results folder") -> Path:
    """An existing results folder to read (the leaderboard's input): a UsageError for a missing
    path or a file, instead of an empty leaderboard."""
    folder = Path(path)
    if not folder.exists():
        raise UsageError(f"{what} {str(folder)!r} does not exist; give the folder `lossbench run "
                         f"--results` wrote to")
    if not folder.is_dir():
        raise UsageError(f"{what} {str(folder)!r} is a file, not a folder; give the folder "
                         f"`lossbench run --results` wrote to")
    return folder


def check_output_file(path: str | Path, what: str = "leaderboard file") -> Path:
    """A file about to be (re)written: its folder must exist and be writable, and the path must
    not be a folder. The folder is not created (a typo in it would scatter files)."""
    out = Path(path)
    if out.is_dir():
        raise UsageError(f"{what} {str(out)!r} is a folder; give a file path such as "
                         f"{str(out / 'leaderboard.md')!r}")
    if out.is_file():
        try:  # opening for appending writes nothing; it fails on an immutable file, even as root
            open(out, "ab").close()
        except OSError as exc:
            raise UsageError(f"{what} {str(out)!r} cannot be replaced ({_reason(exc)})") from None
    parent = out.parent
    if not parent.exists():
        blocker = _file_above(parent)
        if blocker is not None:
            raise UsageError(f"{what} {str(out)!r}: {str(blocker)!r} is a file, not a folder")
        raise UsageError(f"{what} {str(out)!r}: its folder {str(parent)!r} does not exist; "
                         f"create it first")
    if not parent.is_dir():
        raise UsageError(f"{what} {str(out)!r}: {str(parent)!r} is a file, not a folder")
    problem = _probe(parent)
    if problem:
        raise UsageError(f"{what} {str(out)!r}: its folder {str(parent)!r} is not writable "
                         f"({problem})")
    return out


def check_replaceable(paths: list[Path], what: str = "record file") -> None:
    """Existing files a sweep is about to replace (``--force``, ``--retry-failed``): a UsageError
    for the first one that cannot be opened for writing (an immutable file), before any run."""
    for path in paths:
        if path.is_file():
            try:
                open(path, "ab").close()
            except OSError as exc:
                raise UsageError(f"{what} {str(path)!r} cannot be replaced ({_reason(exc)}); "
                                 f"the run that would replace it is not started") from None


def _file_above(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` (itself included) when it is not a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None
