"""What an entry's callable accepts, read from its signature: the one home of that introspection.

The plugin protocol passes context (the build-time :data:`BUILD_CONTEXT` to a factory, the
call-time ``lossbench.train.CALL_CONTEXT`` to a loss) only to callables whose signature *names*
it (:func:`accepted_names`, :func:`context_kwargs`); a factory's keyword defaults, less that
context, are an entry's hyperparameters when its card declares none (:func:`factory_defaults`).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

#: Keyword arguments the harness passes to an entry's factory *only* when its signature names them
#: (construction-time context, e.g. ArcFace needs ``num_classes`` and ``embedding_size``): the one
#: list of its keys, which every build context is made of (:func:`build_context`).
BUILD_CONTEXT = ("num_classes", "embedding_size", "class_counts", "num_train", "num_epochs")


def build_context(**values: Any) -> dict[str, Any]:
    """The build-time context of a run (or of a check's tiny problem): a value for each key of
    :data:`BUILD_CONTEXT`, in its order. A key missing from ``values`` or not in
    :data:`BUILD_CONTEXT` raises ``TypeError`` naming it and the valid keys, so no caller's
    context drifts from the list the factories are read against."""
    missing = [key for key in BUILD_CONTEXT if key not in values]
    unknown = sorted(set(values) - set(BUILD_CONTEXT))
    if missing or unknown:
        raise TypeError(f"build context: missing {missing or 'none'}, unknown {unknown or 'none'}; "
                        f"the keys are {', '.join(BUILD_CONTEXT)}")
    return {key: values[key] for key in BUILD_CONTEXT}


def factory_defaults(obj: Any) -> dict[str, Any]:
    """Keyword defaults of a factory/class signature, less the harness-supplied context."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return {}
    return {
        name: p.default
        for name, p in sig.parameters.items()
        if p.default is not inspect.Parameter.empty
        and name not in BUILD_CONTEXT
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def accepted_names(fn: Any) -> frozenset[str]:
    """Names a callable's signature spells out as keywords (``**kwargs`` does not count: context
    is passed only to callables that name it, as the plugin protocol promises)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(
        n for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )


def context_kwargs(fn: Any, context: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """The subset of ``context`` (restricted to ``allowed`` keys) that ``fn`` names."""
    names = accepted_names(fn)
    return {k: context[k] for k in allowed if k in context and k in names}
