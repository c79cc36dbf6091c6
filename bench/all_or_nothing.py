"""Outputs are replaced all-or-nothing: a reader sees the previous version or the new one whole.

A leaderboard is several files (the summary, a detail page per suite, an HTML site of many
pages). Written in place one by one, a writer killed halfway (``kill -9``, a full disk, Ctrl-C)
leaves a 0-byte ``index.html``, or a summary linking pages that are not there. So:

* a file is written to a temporary file of this process beside it and renamed over it
  (:func:`write_text`);
* a folder of outputs is built whole in a temporary folder beside it, then swapped in with two
  renames (old → aside, new → in place) and the old one removed (:func:`replace_folder`); if the
  build raises, the temporary folder is removed and the previous folder is untouched;
* temporary names carry the writer's process id last (``.<name>.<random>.<pid>.tmp``): a
  leftover of a writer that died is removed by the next writer (:func:`remove_leftovers`), a
  live writer's (a concurrent process) is left alone.

The caller writes the file that certifies the others (the leaderboard's stamp) last.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temp_path(path: str | Path) -> Path:
    """A temporary name beside ``path``, unique to this process and call:
    ``.<name>.<random>.<pid>.tmp``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.{os.getpid()}.tmp")


def remove_leftovers(path: str | Path) -> list[Path]:
    """Delete the temporary files and folders of ``path`` (:func:`temp_path`) whose writer
    process is gone; returns what was removed."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid_text = tmp.name[:-len(".tmp")].rsplit(".", 1)[-1]
        if pid_text.isdigit() and process_alive(int(pid_text)):
            continue
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def write_text(path: str | Path, text: str) -> None:
    """Replace the file ``path`` with ``text`` (UTF-8) all-or-nothing: written to a temporary
    file of this process, flushed to disk, renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def replace_folder(target: str | Path, build: Callable[[Path], None]) -> Path:
    """Replace the folder ``target`` with what ``build(folder)`` writes into a new empty folder
    beside it, all-or-nothing: when ``build`` raises (or the process dies), ``target`` keeps its
    previous content and the temporary folder is removed (now, or by the next call). Returns
    ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    new, old = temp_path(target), temp_path(target)
    new.mkdir()
    moved = False
    try:
        build(new)
        if target.exists() or target.is_symlink():
            target.rename(old)
            moved = True
        new.rename(target)
    except BaseException:
        if moved and not target.exists():
            old.rename(target)  # the second rename failed: the previous folder goes back
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return target
