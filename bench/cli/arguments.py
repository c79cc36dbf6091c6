"""The value types of the command line's options (argparse ``type=`` functions, an action that
remembers which options were given) and the seeds they select."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..errors import UsageError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def interval_seeds(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2 (an interval needs two "
                                         f"seeds), got {text!r}")
    return value


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a seed (an integer >= 0), got {text!r}") \
            from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a seed (an integer >= 0), got {text!r}")
    return value


def seeds_of(args: argparse.Namespace):
    """``--seeds N`` (0..N-1, default 5) or the ``--seed N`` list; both at once is an error."""
    seed_list = getattr(args, "seed_list", None)
    if seed_list and "seeds" in getattr(args, "given", ()):
        raise UsageError(f"give either --seeds {args.seeds} (seeds 0..{args.seeds - 1}) or "
                         f"--seed N (repeatable), not both")
    if seed_list:
        return list(dict.fromkeys(seed_list))
    return args.seeds


class Given(argparse.Action):
    """Store the value and remember that the option was given (not its default)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = {*getattr(namespace, "given", ()), self.dest}


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def parse_hparams(items: Sequence[str] | None) -> dict[str, str]:
    """``["gamma=3", "alpha=0.5"]`` (the CLI's ``--hparam``) as ``{"gamma": "3", ...}``; typed
    later, by the card of the entry they set (:func:`lossbench.hparam_values.typed_hparam`)."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--hparam expects NAME=VALUE (e.g. --hparam gamma=3), got {item!r}")
        if name in out and out[name] != value:
            raise UsageError(f"--hparam {name} is given twice ({out[name]!r} and {value!r})")
        out[name] = value
    return out
