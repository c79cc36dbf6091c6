"""``lossbench`` command line: a thin layer over :mod:`lossbench.api`.

Exit status: 0 success, 1 a run or check failed, 2 bad usage (unknown name, bad option value) —
with a message that names the bad value and the valid choices.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import LossbenchError, UsageError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _min_seeds(text: str) -> int:
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2 (an interval needs two "
                                         f"seeds), got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _add_sweep_options(p: argparse.ArgumentParser, verb: str) -> None:
    """The selection, storage and execution options ``run`` and ``tune`` share."""
    from .plan import DEFAULT_SEEDS

    p.add_argument("--suite", action="append", dest="suites", metavar="S",
                   help=f"suite to {verb} on (repeatable; default: every suite's embedded tasks)")
    p.add_argument("--task", action="append", dest="tasks", metavar="T",
                   help="task name or suite/task (repeatable; default: the suites' embedded tasks)")
    tuning = verb == "tune"
    p.add_argument("--loss", action="append", dest="losses", metavar="NAME",
                   help="loss to tune, alone (repeatable; name at least one --loss or "
                        "--regularizer)" if tuning else
                   "loss to run (repeatable; default: every registered loss)")
    p.add_argument("--regularizer", action="append", dest="regularizers", metavar="NAME",
                   help="regularizer to tune, combined with cross-entropy (repeatable)" if tuning
                   else "regularizer to combine with the losses (repeatable; 'none' = without)")
    p.add_argument("--seeds", type=_positive_int, default=DEFAULT_SEEDS, metavar="N",
                   help=f"run the selected configuration for seeds 0..N-1 (default: "
                        f"{DEFAULT_SEEDS})" if tuning
                   else f"run seeds 0..N-1 (default: {DEFAULT_SEEDS})")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder (default: results)")
    p.add_argument("--leaderboard", default="leaderboard.md", metavar="PATH",
                   help=f"leaderboard file to regenerate after the {verb} when the results "
                        f"changed (default: leaderboard.md)")
    p.add_argument("--no-leaderboard", action="store_true",
                   help=f"do not regenerate the leaderboard after the {verb}")
    p.add_argument("--device", default="cpu",
                   help="torch device: cpu, cuda (one worker per visible GPU), cuda:N "
                        "(default: cpu)")
    p.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                   help="override the tasks' epochs (a smoke run; stored as a spec option and "
                        "reported apart from default-recipe runs)")
    p.add_argument("--executor", default="local", metavar="NAME",
                   help="where runs execute: local (child processes, default), serial (this "
                        "process, for pdb), ray, or a registered plugin")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="parallel runs (default: one per visible GPU with --device cuda, else "
                        "one per CPU core)")


def build_parser() -> argparse.ArgumentParser:
    from .findings import DEFAULT_MIN_SEEDS

    parser = argparse.ArgumentParser(
        prog="lossbench",
        description="Benchmark classification losses and regularizers on standardized suites.",
    )
    parser.add_argument("--version", action="version", version=f"lossbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="list registered entries (name, kind, version, origin, status)")
    p.add_argument("pattern", nargs="?", default=None,
                   help="wildcard filter on names, e.g. 'focal*'")
    p.add_argument("--kind", choices=["loss", "regularizer", "suite", "executor"], default=None,
                   help="only entries of this kind (default: losses and regularizers)")

    p = sub.add_parser("run", help="run entry × task × seed (skipping stored specs), then "
                                   "regenerate the leaderboard")
    _add_sweep_options(p, "run")
    p.add_argument("--force", action="store_true", help="re-run specs that are already stored")
    p.add_argument("--retry-failed", action="store_true",
                   help="re-run stored specs whose status is not ok")
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="torch threads per run (default: 1 on CPU, cores per worker on GPU)")
    p.add_argument("--timeout", type=_positive_float, default=None, metavar="SECONDS",
                   help="kill a run after this many seconds (status timeout; default, local "
                        "executor: max(600, 10 × epochs) for embedded tasks, max(600, 600 × "
                        "epochs) for the others)")
    p.add_argument("--memory-limit", type=_positive_int, default=None, metavar="MB",
                   help="address-space budget per run beyond the warm worker (status oom)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="Ray cluster address for --executor ray (e.g. auto; default: a local "
                        "Ray instance)")
    p.add_argument("--amp", action="store_true",
                   help="bfloat16 autocast of the model's forward (a spec option: stored apart)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model (a spec option: stored apart)")
    p.add_argument("--quiet", action="store_true",
                   help="no per-run progress, only the final summary")

    p = sub.add_parser("leaderboard", help="regenerate the markdown leaderboard from Parquet")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder (default: results)")
    p.add_argument("--out", default="leaderboard.md", metavar="PATH",
                   help="markdown file to write (default: leaderboard.md)")
    p.add_argument("--no-plots", action="store_true",
                   help="do not redraw the plots under <results>/_plots (the markdown still "
                        "links them)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if --out differs from what the results give")

    p = sub.add_parser("tune", help="equal-budget tuning: K configurations per entry (card "
                                    "defaults + quasi-random draws), select on validation, "
                                    "then run the selected one for the seeds")
    _add_sweep_options(p, "tune")
    p.add_argument("--trials", type=_positive_int, default=8, metavar="K",
                   help="configurations per entry and task, the defaults included (default: 8)")
    p.add_argument("--select", default=None, metavar="METRIC",
                   help="validation metric that selects the configuration (default: the suite's "
                        "selection metric, else val_<its first headline metric>, when recorded; "
                        "else val_top1)")

    p = sub.add_parser("validate", help="check the suites' published findings on the stored "
                                        "records: reproduced, unresolved, inverted or missing "
                                        "(exit 1 when one is inverted)")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder (default: results)")
    p.add_argument("--suite", action="append", dest="suites", metavar="S",
                   help="only this suite's findings (repeatable; default: every suite)")
    p.add_argument("--min-seeds", type=_min_seeds, default=DEFAULT_MIN_SEEDS, metavar="N",
                   help=f"seeds both sides of a finding need (status ok) for a verdict, else it "
                        f"is missing (default: {DEFAULT_MIN_SEEDS})")
    p.add_argument("--json", action="store_true",
                   help="print the results as JSON (one object per finding) instead of a table")

    p = sub.add_parser("check", help="run the plugin conformance checks on an entry (what a "
                                     "submitter runs before publishing)")
    p.add_argument("entry", metavar="NAME|module:attr",
                   help="a registered name, or an importable module:attr target")
    p.add_argument("--kind", choices=["loss", "regularizer"], default=None,
                   help="entry kind (default: the registered kind; loss for module:attr)")
    p.add_argument("--timeout", type=_positive_float, default=None, metavar="SECONDS",
                   help="kill the checks after this many seconds (a failed check; default: 600)")
    return parser


def _cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    if args.kind == "suite":
        return _list_suites(args.pattern)
    from .api import list_entries

    rows = list_entries(args.pattern, args.kind)
    if not rows:
        print(f"no entries match {args.pattern!r}" if args.pattern else "no entries registered")
        return 0
    table = [{k: _cell(r[k], LIST_WIDTHS[k]) for k in LIST_WIDTHS} for r in rows]
    print(tabulate(table, headers="keys", tablefmt="simple", disable_numparse=True))
    return 0


#: Widest cell ``lossbench list`` prints per column (a plugin's strings are cut to these).
LIST_WIDTHS = {"name": 60, "kind": 12, "version": 24, "origin": 60, "status": 300}


def _cell(value: object, limit: int) -> str:
    """``value`` on one line, cut to ``limit`` characters (with … when cut)."""
    from .sandbox import one_line

    return one_line(str(value), limit)


def _list_suites(pattern: str | None) -> int:
    from tabulate import tabulate

    from .registry import SUITES

    rows = []
    for entry in SUITES.entries(pattern):
        status = entry.status
        if status != "ok":
            rows.append({"suite": _cell(entry.name, 60), "task": "", "version": "",
                         "default": "", "data": "", "origin": _cell(entry.origin, 60),
                         "status": _cell(status, 300)})
            continue
        if entry.isolated:  # a third-party suite: its task list comes from a child
            from .plan import suite_info

            for task in suite_info(entry.name).tasks.values():
                rows.append({"suite": _cell(entry.name, 60), "task": _cell(task.name, 60),
                             "version": _cell(task.version, 24),
                             "default": "yes" if task.embedded else "",
                             "data": "not checked (third-party)",
                             "origin": _cell(entry.origin, 60), "status": "ok"})
            continue
        suite = entry.load()
        for task in suite.tasks.values():
            try:
                available = "local" if task.available() else "missing"
            except Exception as exc:  # noqa: BLE001
                available = f"unknown ({exc})"
            rows.append({"suite": entry.name, "task": task.name, "version": task.version,
                         "default": "yes" if task.embedded else "", "data": available,
                         "origin": entry.origin, "status": "ok"})
    print(tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True))
    return 0


def _refresh_leaderboard(results: str, out: str) -> None:
    """Re-render ``out`` after a sweep, unless its stamp says it already shows these results."""
    from .api import leaderboard
    from .freshness import plots_link, up_to_date

    if up_to_date(results, out, plots_link(results, out)):
        print(f"{out} is up to date with {results} (no record changed since it was rendered); "
              f"`lossbench leaderboard` re-renders it anyway", file=sys.stderr)
        return
    leaderboard(results, out)
    print(f"leaderboard written to {out}", file=sys.stderr)


def _check_leaderboard_path(args: argparse.Namespace) -> None:
    """``--leaderboard``'s folder exists and is writable: checked before any run is computed."""
    if not args.no_leaderboard:
        from .outputs import check_output_file

        check_output_file(args.leaderboard, "--leaderboard")


def _cmd_run(args: argparse.Namespace) -> int:
    from .api import run

    _check_leaderboard_path(args)

    df = run(suites=args.suites, tasks=args.tasks, losses=args.losses,
             regularizers=args.regularizers, seeds=args.seeds, results=args.results,
             force=args.force, retry_failed=args.retry_failed, device=args.device,
             options={"epochs": args.epochs} if args.epochs else None,
             executor=args.executor, workers=args.workers, threads=args.threads,
             timeout=args.timeout, memory_limit_mb=args.memory_limit, address=args.address,
             amp=args.amp, compile=args.compile, progress="quiet" if args.quiet else "auto")
    if not args.no_leaderboard:
        _refresh_leaderboard(args.results, args.leaderboard)
    failed = int((df["status"] != "ok").sum())
    print(f"{len(df)} runs in the selection, {failed} not ok", file=sys.stderr)
    return 1 if failed else 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from . import report
    from .outputs import check_output_file, check_results_to_read

    check_results_to_read(args.results, "--results")
    if not args.check:
        check_output_file(args.out, "--out")

    if args.check:
        if report.is_fresh(args.results, args.out):
            print(f"{args.out} is up to date with {args.results}", file=sys.stderr)
            return 0
        print(f"{args.out} differs from what {args.results} gives: run `lossbench leaderboard "
              f"--results {args.results} --out {args.out}`", file=sys.stderr)
        return 1
    report.write(args.results, args.out, plots=not args.no_plots)
    print(f"leaderboard written to {args.out}", file=sys.stderr)
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from .tune import tune

    if args.select is not None and not args.select.startswith("val_"):
        raise UsageError(f"--select must be a validation metric (val_*), got {args.select!r}: "
                         f"selection never looks at the test split")
    _check_leaderboard_path(args)
    results = tune(losses=args.losses, regularizers=args.regularizers, suites=args.suites,
                   tasks=args.tasks, trials=args.trials, seeds=args.seeds, results=args.results,
                   device=args.device, options={"epochs": args.epochs} if args.epochs else None,
                   selection_metric=args.select, executor=args.executor,
                   workers=args.workers)
    for r in results:
        chosen = r.selected_spec
        what = f"no selection ({r.note})" if chosen is None else (
            f"selected trial {r.selected} {r.selected_hparams} "
            f"({r.selection_metric}={r.values[r.selected]:.4f})")
        print(f"{r.entry} on {r.base.suite}/{r.base.task}: {len(r.trials)} trials, {what}",
              file=sys.stderr)
    if not args.no_leaderboard:
        _refresh_leaderboard(args.results, args.leaderboard)
    return 1 if any(r.selected is None for r in results) else 0


def _cmd_validate(args: argparse.Namespace) -> int:
    import json

    from . import findings

    results = findings.validate(args.results, args.suites, min_seeds=args.min_seeds,
                                log=lambda msg: print(msg, file=sys.stderr))
    if args.json:
        rows = [{k: None if isinstance(v, float) and v != v else v
                 for k, v in r.to_dict().items()} for r in results]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(findings.render_text(results, args.min_seeds))
    return 1 if any(r.verdict == "inverted" for r in results) else 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .api import check

    report = check(args.entry, kind=args.kind, timeout=args.timeout)
    print(report.render())
    return 0 if report.ok else 1


COMMANDS = {"list": _cmd_list, "run": _cmd_run, "leaderboard": _cmd_leaderboard,
            "tune": _cmd_tune, "validate": _cmd_validate, "check": _cmd_check}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"lossbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except LossbenchError as exc:
        print(f"lossbench {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; finished runs are stored, re-run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
