"""The commands about one entry or the registered ones: ``list``, ``show``, ``check``."""

from __future__ import annotations

import argparse

from ..text_safety import for_terminal
from .render import (
    LIST_WIDTHS,
    LONG_LIST_WIDTHS,
    SUITE_WIDTHS,
    cell,
    render_show,
    shown_fidelity,
)


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    if args.kind == "suite":
        return _list_suites(args.pattern)
    from ..api import list_entries

    rows = list_entries(args.pattern, args.kind)
    if not rows:
        print(f"no entries match {args.pattern!r}" if args.pattern else "no entries registered")
        return 0
    widths = LONG_LIST_WIDTHS if args.long else LIST_WIDTHS
    rows = [{**r, "fidelity": shown_fidelity(r["fidelity"], r["paper"]) if r["status"] == "ok"
             else r["fidelity"]} for r in rows]
    table = [{k: cell(r[k], widths[k]) for k in widths} for r in rows]
    print(tabulate(table, headers="keys", tablefmt="simple", disable_numparse=True))
    return 0


def _list_suites(pattern: str | None) -> int:
    from tabulate import tabulate

    from ..api import list_suites

    rows = [{k: cell(r[k], width) for k, width in SUITE_WIDTHS.items()}
            for r in list_suites(pattern)]
    print(tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    import json

    from ..api import show

    info = show(args.entry, kind=args.kind, results=args.results)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False, sort_keys=True))
        return 0
    print(render_show(info, args.results))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ..api import check

    report = check(args.entry, kind=args.kind, timeout=args.timeout)
    print(for_terminal(report.render(), multiline=True))
    return 0 if report.ok else 1
