"""File names made from names a plugin controls: nothing from a record is ever a path.

The detail pages (``leaderboard/<suite>.md``), the site's pages (``suite/<suite>.html``,
``entry/<entry>.html``) and the plots (``_plots/<name>.png``) are named after record fields a
plugin controls (suite, task and entry names). Each name goes through :func:`slug`, the one
function that turns a name into a file name, and each path is joined with :func:`inside`, which
refuses anything that would land outside the output folder. So a suite named ``../../x``, an
absolute path, a name of 10,000 characters or two names differing only in case cannot write
outside the folder, fail with ``ENAMETOOLONG``, or overwrite each other's page. Tuning
manifests (``results/_tuning/``, named after the entry) use it too.

The rule (deterministic, no state): a name that is already a plain slug — lower-case ASCII
letters, digits, ``_`` and ``-``, starting with a letter or digit, at most :data:`MAX_LENGTH`
characters, not ending like a hashed slug — is its own file name (the built-in suites and
entries keep readable, stable names). Any other name becomes its cleaned form cut short, a ``-``
and the first :data:`HASH_CHARS` hex digits of the SHA-256 of the original name: distinct names
get distinct file names (a clash needs a 64-bit hash collision), and no hashed name can equal a
plain one.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

MAX_LENGTH = 80  # characters of a file name's stem, hash suffix included
HASH_CHARS = 16  # hex digits of the SHA-256 suffix of a rewritten name (64 bits)

_PLAIN = re.compile(r"[a-z0-9][a-z0-9_-]*")
_HASHED_TAIL = re.compile(rf"-[0-9a-f]{{{HASH_CHARS}}}")


def slug(name: object) -> str:
    """The file-name stem of ``name`` (no suffix): ``name`` itself when it is a plain slug
    (``[a-z0-9][a-z0-9_-]*``, at most :data:`MAX_LENGTH` characters, not ending in ``-`` and
    :data:`HASH_CHARS` hex digits), else its lower-case ASCII form (other characters as ``-``,
    cut) with the SHA-256 of the original name appended. Never empty, never ``.``/``..``, no
    path separator, at most :data:`MAX_LENGTH` characters."""
    text = str(name)
    if (len(text) <= MAX_LENGTH and _PLAIN.fullmatch(text)
            and not _HASHED_TAIL.search(text[-HASH_CHARS - 1:])):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    clean = re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-_")
    clean = clean[:MAX_LENGTH - HASH_CHARS - 1].rstrip("-_")
    return f"{clean}-{digest}" if clean else digest


def inside(folder: str | Path, *parts: str) -> Path:
    """``folder / parts...``, checked to stay inside ``folder`` once both are resolved (``..``,
    absolute parts and symbolic links followed); a ValueError naming the path otherwise. The
    parts are file names made by :func:`slug` (or fixed names of the report)."""
    base = Path(os.path.realpath(folder))
    path = Path(folder).joinpath(*parts)
    resolved = Path(os.path.realpath(path))
    if resolved == base or base not in resolved.parents:
        raise ValueError(f"output path {str(path)!r} is not inside the output folder "
                         f"{str(folder)!r}; a file name from a record must be made by "
                         f"lossbench.file_names.slug")
    return path
