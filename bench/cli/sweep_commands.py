"""The commands that run sweeps and write the leaderboard: ``run``, ``tune``, ``leaderboard``
(and the leaderboard refresh after a sweep)."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from ..text_safety import for_terminal
from .arguments import parse_hparams, seeds_of


def refresh_leaderboard(results: str, out: str) -> None:
    """Re-render ``out`` after a sweep, unless its stamp says it already shows these results."""
    from ..api import leaderboard, leaderboard_up_to_date

    if leaderboard_up_to_date(results, out):
        print(f"{out} is up to date with {results} (no record changed since it was rendered); "
              f"`lossbench leaderboard` re-renders it anyway", file=sys.stderr)
        return
    leaderboard(results, out)
    print(f"leaderboard written to {out}", file=sys.stderr)


def default_leaderboard(results: str) -> str:
    """Where ``run``/``tune`` write the leaderboard when ``--leaderboard`` is not given:
    ``leaderboard.md`` for the default results folder, else ``<results>-leaderboard.md`` beside
    the results folder, so ``--results /tmp/try`` never overwrites ``./leaderboard.md``."""
    from pathlib import Path

    if Path(results).absolute() == Path("results").absolute():
        return "leaderboard.md"
    folder = Path(results)
    return str(folder.absolute().parent / f"{folder.absolute().name}-leaderboard.md")


def check_leaderboard_path(args: argparse.Namespace) -> None:
    """``--leaderboard`` (default: :func:`default_leaderboard`)'s folder exists and is
    writable: checked before any run is computed. A leaderboard inside the results folder
    (``--results X --leaderboard X/lb.md``) may name a folder the sweep creates: the results
    folder is then created (and probed) first."""
    from ..outputs import check_results_to_write

    check_results_to_write(args.results, "--results")  # first: the flag the user typed
    defaulted = args.leaderboard is None
    if defaulted:
        args.leaderboard = default_leaderboard(args.results)
    if not args.no_leaderboard:
        from pathlib import Path

        from ..outputs import check_output_file, prepare_results

        if Path(args.leaderboard).absolute().parent == Path(args.results).absolute():
            prepare_results(args.results, "--results")
        try:
            check_output_file(args.leaderboard, "leaderboard file" if defaulted
                              else "--leaderboard")
        except UsageError as exc:
            if not defaulted:
                raise
            raise UsageError(f"{exc}; that is where the leaderboard of --results "
                             f"{args.results!r} goes by default: give --leaderboard PATH or "
                             f"--no-leaderboard") from None


#: ``lossbench run`` in a terminal asks before more runs than this (``--yes`` skips).
CONFIRM_ABOVE = 100


def ask(todo: int, line: str) -> bool:
    """Ask on the terminal whether to start ``todo`` runs (``line``: the plan and estimate)."""
    if todo <= CONFIRM_ABOVE:
        return True
    try:
        answer = input(f"start {todo} runs? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_run(args: argparse.Namespace) -> int:
    from ..api import Execution, Selection, run

    check_leaderboard_path(args)
    selection = Selection(
        suites=args.suites, tasks=args.tasks, losses=args.losses, regularizers=args.regularizers,
        seeds=seeds_of(args), hparams=parse_hparams(args.hparams),
        options={"epochs": args.epochs} if args.epochs else None, amp=args.amp,
        compile=args.compile, baseline=not args.no_baseline)
    execution = Execution(
        results=args.results, force=args.force, retry_failed=args.retry_failed,
        device=args.device, executor=args.executor, workers=args.workers, threads=args.threads,
        timeout=args.timeout, memory_limit_mb=args.memory_limit, address=args.address,
        progress="quiet" if args.quiet else "auto",
        confirm=None if args.yes or not sys.stdin.isatty() else ask, wait=not args.no_wait)
    df = run(selection, execution)
    if not args.no_leaderboard:
        refresh_leaderboard(args.results, args.leaderboard)
    failed = int((df["status"] != "ok").sum())
    print(f"{len(df)} runs in the selection, {failed} not ok", file=sys.stderr)
    return 1 if failed else 0


def _check_site_folder(folder: str) -> None:
    """``--html DIR``: an existing writable folder, or a new one whose parent exists."""
    from pathlib import Path

    from ..outputs import check_output_file

    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--html {folder!r} is a file; give a folder for the site")
    check_output_file(path / "index.html" if path.is_dir() else path, "--html")


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..api import leaderboard, leaderboard_matches, leaderboard_pages
    from ..outputs import check_output_file, check_results_to_read

    check_results_to_read(args.results, "--results")
    if not args.check:
        check_output_file(args.out, "--out")

    if args.check:
        if leaderboard_matches(args.results, args.out):
            print(f"{args.out} is up to date with {args.results}", file=sys.stderr)
            return 0
        print(f"{args.out} differs from what {args.results} gives: run `lossbench leaderboard "
              f"--results {args.results} --out {args.out}`", file=sys.stderr)
        return 1
    if args.html is not None:
        _check_site_folder(args.html)
    leaderboard(args.results, args.out, html=args.html, plots=not args.no_plots)
    print(f"leaderboard written to {args.out} (detail pages in {leaderboard_pages(args.out)})",
          file=sys.stderr)
    if args.html is not None:
        print(f"HTML site written to {Path(args.html) / 'index.html'}", file=sys.stderr)
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from ..api import Execution, Selection, check_selection_metric, tune

    check_selection_metric(args.select)
    check_leaderboard_path(args)
    results = tune(
        Selection(suites=args.suites, tasks=args.tasks, losses=args.losses,
                  regularizers=args.regularizers, seeds=seeds_of(args),
                  options={"epochs": args.epochs} if args.epochs else None),
        Execution(results=args.results, device=args.device, executor=args.executor,
                  workers=args.workers),
        trials=args.trials, selection_metric=args.select)
    for r in results:
        chosen = r.selected_spec
        what = f"no selection ({r.note})" if chosen is None else (
            f"selected trial {r.selected} {r.selected_hparams} "
            f"({r.selection_metric}={r.values[r.selected]:.4f})")
        print(for_terminal(f"{r.entry} on {r.base.suite}/{r.base.task}: {len(r.trials)} "
                           f"trials, {what}"), file=sys.stderr)
    if not args.no_leaderboard:
        refresh_leaderboard(args.results, args.leaderboard)
    return 1 if any(r.selected is None for r in results) else 0
