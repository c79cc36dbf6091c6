"""Run specifications and their stable content hash.

A run is a pure function of its :class:`RunSpec`. The spec's canonical JSON (sorted keys, no
whitespace) hashed with SHA-256 names the run's result file, so "done" is a fact on disk and a
sweep can be resumed for free (DomainBed's ``sweep.py`` does the same).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .version import __version__

HASH_LENGTH = 16

AMP_CHOICES = ("bf16",)


@dataclass(frozen=True)
class RecipeOption:
    """One spec option: what a valid value is, and whether it overrides a ``TrainConfig``
    field of the same name."""

    valid: str  # what a valid value is, for the error message
    accepts: Callable[[Any], bool]
    train_config: bool = False


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _non_negative_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _non_negative(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


#: The spec options — the one declaration that planning, the runner and the API read. They
#: override a task's training recipe and are stored in the spec, so they are hashed and shown: a
#: run with options is never mixed with the task's default-recipe runs. ``amp`` ("bf16":
#: bfloat16 autocast of the model's forward) and ``compile`` (``torch.compile`` of the model)
#: change the numerics, so they are spec options too.
RECIPE_OPTIONS: dict[str, RecipeOption] = {
    "epochs": RecipeOption("a positive integer", _positive_int, train_config=True),
    "batch_size": RecipeOption("a positive integer", _positive_int, train_config=True),
    "lr": RecipeOption("a non-negative number", _non_negative, train_config=True),
    "weight_decay": RecipeOption("a non-negative number", _non_negative, train_config=True),
    "samples_per_class": RecipeOption("a non-negative integer (0: uniform random batches)",
                                      _non_negative_int, train_config=True),
    "amp": RecipeOption(f"one of {', '.join(AMP_CHOICES)}", lambda v: v in AMP_CHOICES),
    "compile": RecipeOption("true or false", lambda v: isinstance(v, bool)),
}
#: The options that replace a field of the task's ``TrainConfig``.
TRAIN_CONFIG_OPTIONS = tuple(k for k, o in RECIPE_OPTIONS.items() if o.train_config)


def option_problem(key: str, value: Any) -> str:
    """'' when ``value`` is valid for the known option ``key``, else what is wrong."""
    option = RECIPE_OPTIONS[key]
    return "" if option.accepts(value) else f"option {key} must be {option.valid}, got {value!r}"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give byte-identical text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's result.

    ``loss_hparams`` / ``regularizer_hparams`` hold the *resolved* hyperparameters (card defaults
    with overrides applied), so a spec says exactly what ran. ``options`` holds training options
    that change results (e.g. ``{"amp": "bf16"}``); an empty dict means the task's own recipe.
    """

    loss: str
    loss_version: str
    suite: str
    task: str
    task_version: str
    seed: int
    loss_hparams: Mapping[str, Any] = field(default_factory=dict)
    regularizer: str | None = None
    regularizer_version: str | None = None
    regularizer_hparams: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    harness_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("loss_hparams", "regularizer_hparams", "options"):
            d[key] = dict(d[key])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunSpec:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    @property
    def key(self) -> str:
        """The spec hash: first 16 hex digits of SHA-256 over the canonical JSON."""
        return hashlib.sha256(canonical_json(self.to_dict()).encode()).hexdigest()[:HASH_LENGTH]

    @property
    def entry_label(self) -> str:
        """How the leaderboard names the row: ``loss`` or ``loss + regularizer``."""
        return self.loss if not self.regularizer else f"{self.loss} + {self.regularizer}"

    def __str__(self) -> str:
        return f"{self.entry_label} on {self.suite}/{self.task} seed={self.seed} [{self.key}]"
