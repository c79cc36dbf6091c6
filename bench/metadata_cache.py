"""A disk cache of entry metadata (cards, suites' task lists), so that planning a sweep does not
import every entry's module — and with it torch — when nothing has changed.

Planning needs only metadata: an entry's card (version, hyperparameter defaults, declared suites,
kind) and a suite's tasks (name, version, embedded or not). Reading it means importing the entry's
module, which for a PyTorch loss means ``import torch`` (about 1.5 s) and for some built-ins
pytorch-metric-learning with SciPy (another 0.7 s). A re-run of a finished sweep does nothing
else, so those imports would be nearly all of its time.

Each cached value is keyed by the entry (group, name, target, distribution and version) *and* by
a fingerprint of the source it was read from: every file of the top-level package that holds the
entry's module (relative path, size, modification time), plus the same for lossbench itself (the
code that reads cards). Editing, adding or removing any file there, or upgrading the distribution,
misses the cache and re-reads the entry. A fingerprint is taken from the filesystem without
importing anything (``importlib.util.find_spec`` of a top-level name runs no package code).
Entries that cannot be fingerprinted (registered in-process, in a package of more than
:data:`MAX_FILES` files, or not in a file) are simply never cached.

The cache is one JSON file in lossbench's cache folder (``$LOSSBENCH_CACHE``, default
``~/.cache/lossbench``, shared with the generated data sets): ``metadata-v1.json``, rewritten
atomically. A missing, unreadable or corrupt file is the same as an empty cache, and an unwritable
folder only means nothing is saved. ``LOSSBENCH_METADATA_CACHE=off`` turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "LOSSBENCH_CACHE"
SWITCH_ENV = "LOSSBENCH_METADATA_CACHE"
CACHE_FILE = "metadata-v1.json"
#: Packages with more files than this are not fingerprinted (their entries are never cached).
MAX_FILES = 5000
_SKIP_DIRS = {"__pycache__"}

_lock = threading.Lock()


def cache_root() -> Path:
    """lossbench's cache folder: ``$LOSSBENCH_CACHE`` or ``~/.cache/lossbench``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lossbench")


def cache_path() -> Path | None:
    """Where the metadata cache lives, or None when ``LOSSBENCH_METADATA_CACHE=off``."""
    if os.environ.get(SWITCH_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    return cache_root() / CACHE_FILE


@functools.cache
def source_fingerprint(top_level: str) -> str | None:
    """A hash of every file (relative path, size, mtime) of the top-level module or package
    ``top_level``, found without importing it; None if it cannot be located or is too large."""
    try:
        spec = importlib.util.find_spec(top_level)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    rows: list[tuple[str, int, int]] = []
    roots = list(spec.submodule_search_locations or [])
    if not roots:
        if not spec.origin or not os.path.isfile(spec.origin):
            return None  # built-in or frozen: no file to watch
        st = os.stat(spec.origin)
        rows.append((os.path.basename(spec.origin), st.st_size, st.st_mtime_ns))
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for name in filenames:
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                rows.append((os.path.relpath(path, root), st.st_size, st.st_mtime_ns))
                if len(rows) > MAX_FILES:
                    return None
    digest = hashlib.sha256(json.dumps(sorted(rows) + [roots], default=str).encode())
    return digest.hexdigest()[:20]


def _module_of(target: str) -> str:
    return target.partition(":")[0].strip()


def entry_fingerprint(target: str) -> dict[str, str] | None:
    """Fingerprints of the sources an entry's metadata is read from: its own top-level package
    and lossbench's; None when either cannot be taken."""
    top = _module_of(target).split(".")[0]
    if not top:
        return None
    out = {}
    for name in dict.fromkeys([top, __name__.split(".")[0]]):
        fp = source_fingerprint(name)
        if fp is None:
            return None
        out[name] = fp
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be saved is only slower next time


class MetadataCache:
    """The cached metadata of one process: read from disk once, written back on change."""

    def __init__(self, path: Path | None):
        self.path = path
        self._data: dict[str, Any] | None = None

    def _loaded(self) -> dict[str, Any]:
        if self._data is None:
            self._data = _read(self.path) if self.path else {}
        return self._data

    def get(self, key: str, stamp: dict[str, Any], compute: Callable[[], Any]) -> Any:
        """The value stored under ``key`` if its ``stamp`` matches, else ``compute()`` (stored
        under the new stamp; an exception from ``compute`` stores nothing and propagates)."""
        if self.path is None:
            return compute()
        with _lock:
            hit = self._loaded().get(key)
            if isinstance(hit, dict) and hit.get("stamp") == stamp:
                return hit["value"]
        value = json.loads(json.dumps(compute()))  # a hit and a miss give the same types
        with _lock:
            fresh = _read(self.path)  # merge with what other processes saved meanwhile
            fresh[key] = {"stamp": stamp, "value": value}
            self._data = fresh
            _write(self.path, fresh)
        return value


_caches: dict[Path | None, MetadataCache] = {}
#: What :func:`peek` returns when nothing usable is cached.
MISS = object()


def _cache_and_stamp(target: str, origin: str) -> tuple[MetadataCache, dict[str, Any]] | None:
    fingerprint = entry_fingerprint(target)
    path = cache_path()
    if fingerprint is None or path is None:
        return None
    stamp = {"target": target, "origin": origin, "sources": fingerprint,
             "python": f"{sys.version_info[0]}.{sys.version_info[1]}"}
    cache = _caches.get(path)
    if cache is None:
        cache = _caches[path] = MetadataCache(path)
    return cache, stamp


def peek(group: str, name: str, target: str, origin: str, what: str) -> Any:
    """The cached value (as :func:`cached` would serve it), or :data:`MISS`."""
    found = _cache_and_stamp(target, origin)
    if found is None:
        return MISS
    cache, stamp = found
    with _lock:
        hit = cache._loaded().get(f"{group}/{name}/{what}")
    if isinstance(hit, dict) and hit.get("stamp") == stamp:
        return hit["value"]
    return MISS


def put(group: str, name: str, target: str, origin: str, what: str, value: Any) -> None:
    """Store ``value`` as :func:`cached` would (when the entry can be fingerprinted)."""
    found = _cache_and_stamp(target, origin)
    if found is not None:
        cache, stamp = found
        cache.get(f"{group}/{name}/{what}", stamp, lambda: value)


def cached(group: str, name: str, target: str, origin: str, what: str,
           compute: Callable[[], Any]) -> Any:
    """``compute()`` (a JSON-serialisable value describing an entry), served from the cache when
    the entry and its sources are unchanged since it was last computed."""
    found = _cache_and_stamp(target, origin)
    if found is None:
        return compute()
    cache, stamp = found
    return cache.get(f"{group}/{name}/{what}", stamp, compute)


def clear_memory() -> None:
    """Forget fingerprints and loaded cache files of this process (tests; after editing a plugin
    in-process)."""
    source_fingerprint.cache_clear()
    _caches.clear()
