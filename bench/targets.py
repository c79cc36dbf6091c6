"""``module:attr`` targets: how one is told from a registered name, imported, and versioned.

An entry-point value is a target (``lossbench_registry.losses.focal:Focal``), and so is an
unpackaged entry named on the command line or in the API (``--loss my_losses:MyLoss``, origin
:data:`LOCAL_ORIGIN`): such an entry's card version carries :data:`LOCAL_VERSION_TAG` and the
digest of its module's source (:func:`source_digest`), so an edited file is a new version.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any

#: How a ``module:attr`` target (``--loss my_losses:MyLoss``) is told from a registered name.
TARGET_PATTERN = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
LOCAL_ORIGIN = "local"
LOCAL_VERSION_TAG = "+local."


def is_target(name: str) -> bool:
    """True for a ``module:attr`` target (registered names never contain a colon)."""
    return ":" in str(name)


def _import_target(target: str, search_cwd: bool = False) -> Any:
    """Import ``module:attr``; ``search_cwd``: the current folder is searched after
    ``sys.path`` (a ``module:attr`` target named on the command line may live there)."""
    if search_cwd and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module.strip())
    for part in attr.strip().split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


def source_digest(target: str) -> str:
    """The first 12 hex digits of the SHA-256 of the source file of ``target``'s module (it
    must be imported already), or ``nosource`` when the module has no file."""
    import hashlib

    module = sys.modules.get(target.partition(":")[0].strip())
    path = getattr(module, "__file__", None)
    try:
        with open(path, "rb") as fh:  # type: ignore[arg-type]
            return hashlib.sha256(fh.read()).hexdigest()[:12]
    except (OSError, TypeError):
        return "nosource"
