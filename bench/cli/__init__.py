"""``lossbench`` command line: a thin layer over :mod:`lossbench.api`.

Exit status: 0 success, 1 a run or check failed, 2 bad usage (unknown name, bad option value) —
with a message that names the bad value and the valid choices.

The parser (:mod:`.parser`, its value types in :mod:`.arguments`, its examples in
:mod:`.examples`), the commands (:mod:`.sweep_commands`: run, tune, leaderboard;
:mod:`.entry_commands`: list, show, check; :mod:`.record_commands`: validate, reproduce,
verify, merge) and their text (:mod:`.render`); this module dispatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import LossbenchError, UsageError
from ..text_safety import for_terminal
from .entry_commands import cmd_check, cmd_list, cmd_show
from .parser import build_parser
from .record_commands import cmd_merge, cmd_reproduce, cmd_validate, cmd_verify
from .sweep_commands import cmd_leaderboard, cmd_run, cmd_tune

#: each command's handler: it returns the exit status
COMMANDS = {"list": cmd_list, "run": cmd_run, "leaderboard": cmd_leaderboard,
            "tune": cmd_tune, "validate": cmd_validate, "check": cmd_check,
            "show": cmd_show, "reproduce": cmd_reproduce, "verify": cmd_verify,
            "merge": cmd_merge}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:  # the message may quote plugin text: shown visibly
        print(f"lossbench {args.command}: error: {for_terminal(exc, multiline=True)}",
              file=sys.stderr)
        return 2
    except LossbenchError as exc:
        print(f"lossbench {args.command}: {for_terminal(exc, multiline=True)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(interrupted_message(args), file=sys.stderr)
        return 130


def interrupted_message(args: argparse.Namespace) -> str:
    """What Ctrl-C leaves behind, said for the command that was interrupted."""
    command = args.command
    if command in ("run", "tune"):
        return "interrupted; finished runs are stored, re-run the same command to resume"
    if command == "leaderboard" and not getattr(args, "check", False):
        return ("interrupted: nothing more was written; re-run `lossbench leaderboard` (same "
                "options) to regenerate the leaderboard")
    if command in ("leaderboard", "list", "show", "check", "validate"):
        return f"interrupted; `lossbench {command}` changes no results or leaderboard file"
    return "interrupted"

