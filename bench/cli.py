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
from .text_safety import for_terminal


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


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a seed (an integer >= 0), got {text!r}") \
            from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a seed (an integer >= 0), got {text!r}")
    return value


def _seeds(args: argparse.Namespace):
    """``--seeds N`` (0..N-1, default 5) or the ``--seed N`` list; both at once is an error."""
    seed_list = getattr(args, "seed_list", None)
    if seed_list and "seeds" in getattr(args, "given", ()):
        raise UsageError(f"give either --seeds {args.seeds} (seeds 0..{args.seeds - 1}) or "
                         f"--seed N (repeatable), not both")
    if seed_list:
        return list(dict.fromkeys(seed_list))
    return args.seeds


class _Given(argparse.Action):
    """Store the value and remember that the option was given (not its default)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = {*getattr(namespace, "given", ()), self.dest}


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
                   action=_Given,
                   help=f"run the selected configuration for seeds 0..N-1 (default: "
                        f"{DEFAULT_SEEDS})" if tuning
                   else f"run seeds 0..N-1 (default: {DEFAULT_SEEDS})")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder (default: results)")
    p.add_argument("--leaderboard", default=None, metavar="PATH",
                   help=f"leaderboard file to regenerate after the {verb} when the results "
                        f"changed (default: leaderboard.md with the default --results; with "
                        f"--results DIR, DIR-leaderboard.md beside DIR, so a scratch folder "
                        f"never overwrites the project's leaderboard)")
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


#: The commands a researcher types most, shown by ``lossbench COMMAND --help``.
EXAMPLES = {
    None: """examples:
  lossbench list 'focal*'                                     what is registered
  lossbench show focal                                        a card and its stored results
  lossbench run --loss my_losses:MyLoss --task standard/mnist1d --seeds 2 --epochs 2
                                                              try a loss before packaging it
  lossbench check my_losses:MyLoss                            checks before publishing
  lossbench COMMAND --help                                    options and examples of COMMAND""",
    "list": """examples:
  lossbench list                        every loss and regularizer, with its summary
  lossbench list 'focal*' --long        with paper and fidelity
  lossbench list --kind suite           suites, tasks, versions, data availability""",
    "run": """examples:
  lossbench run --loss focal --task standard/mnist1d --seeds 2 --epochs 2
      a smoke run of one loss (cross-entropy runs beside it: the baseline)
  lossbench run --loss my_losses:MyLoss --hparam temperature=2 --task standard/mnist1d
      a loss from a plain module (no packaging), with a hyperparameter set
  lossbench run --regularizer mixup --suite noisy --seed 0 --seed 1
      a regularizer with cross-entropy on a suite's embedded tasks, seeds 0 and 1
  lossbench run --suite standard
      every entry on the standard suite, seeds 0-4 (stored runs are reused)""",
    "show": """examples:
  lossbench show focal                          card, paper link, defaults, stored results
  lossbench show my_losses:MyLoss --results /tmp/try
  lossbench show mixup --json                   for scripts""",
    "check": """examples:
  lossbench check my_losses:MyLoss              a loss in a plain module
  lossbench check my_regs:MyReg --kind regularizer
  lossbench check squared_hinge                 an installed plugin, before publishing""",
    "leaderboard": """examples:
  lossbench leaderboard                         re-render leaderboard.md from results/
  lossbench leaderboard --results /tmp/try --out /tmp/try/lb.md
  lossbench leaderboard --check                 exit 1 if leaderboard.md is stale
  lossbench leaderboard --html site/            also build the static HTML site in site/""",
    "tune": """examples:
  lossbench tune --loss focal --task standard/mnist1d --trials 8
  lossbench tune --regularizer mixup --suite noisy --trials 4 --seeds 3""",
    "validate": """examples:
  lossbench validate                    the catalog on the design and confirmation seeds
  lossbench validate --confirm          first run what the catalog still needs, then judge
  lossbench validate --design --results /tmp/variant --confirm
                                        a recipe variant: the design seeds' verdict vector
  lossbench validate --suite imbalanced --json""",
    "verify": """examples:
  lossbench verify                              results/ against its ledger (exit 1: findings)
  lossbench verify --results /tmp/try --json    for scripts
  lossbench verify --adopt                      vouch for records stored before the ledger
  lossbench verify --retire-below 0.4.0         after a harness bump: retire the old records""",
    "merge": """examples:
  lossbench merge job-results/ --distribution lossbench-polyloss
                                                the records of that distribution's own job""",
    "reproduce": """examples:
  lossbench reproduce                           re-run 20 stored records here, print the drift
  lossbench reproduce --sample 5 --random-seed 3 --json
  lossbench reproduce --results /tmp/try --threads 2 --into /tmp/try-rerun
      the same records at another thread count, the re-runs kept""",
}


def _sub(sub, name: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with its examples."""
    kwargs.setdefault("description", kwargs.get("help"))
    return sub.add_parser(name, epilog=EXAMPLES.get(name),
                          formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from .findings import DEFAULT_MIN_SEEDS

    parser = argparse.ArgumentParser(
        prog="lossbench",
        description="Benchmark classification losses and regularizers on standardized suites.",
        epilog=EXAMPLES[None], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lossbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = _sub(sub, "list", help="list registered entries (name, kind, version, origin, status)")
    p.add_argument("pattern", nargs="?", default=None,
                   help="wildcard filter on names, e.g. 'focal*'")
    p.add_argument("--kind", choices=["loss", "regularizer", "suite", "executor"], default=None,
                   help="only entries of this kind (default: losses and regularizers)")
    p.add_argument("--long", action="store_true",
                   help="add the paper and fidelity columns")

    p = _sub(sub, "run", help="run entry × task × seed (skipping stored specs), then "
                                   "regenerate the leaderboard")
    _add_sweep_options(p, "run")
    p.add_argument("--seed", action="append", dest="seed_list", type=_seed, metavar="N",
                   help="run this seed (repeatable; instead of --seeds)")
    p.add_argument("--hparam", action="append", dest="hparams", metavar="NAME=VALUE",
                   help="set a hyperparameter of the named losses/regularizers that have it, "
                        "typed by their card (repeatable; e.g. --hparam gamma=3)")
    p.add_argument("--yes", "-y", action="store_true",
                   help=f"do not ask before more than {CONFIRM_ABOVE} runs (only a terminal "
                        f"asks; scripts and CI never wait)")
    p.add_argument("--no-baseline", action="store_true",
                   help="do not add cross_entropy when the named losses/regularizers leave it "
                        "out (by default it runs on the same tasks and seeds, so the board "
                        "compares)")
    p.add_argument("--force", action="store_true",
                   help="re-run specs that are already stored (earlier records are kept under "
                        "<results>/_attempts/)")
    p.add_argument("--retry-failed", action="store_true",
                   help="re-run stored specs whose status is not ok (likewise kept)")
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
    p.add_argument("--no-wait", action="store_true",
                   help="when another lossbench process is storing into --results, stop with "
                        "exit status 2 instead of waiting for it (by default the sweep waits, "
                        "then runs only what is still missing)")

    p = _sub(sub, "leaderboard", help="regenerate the markdown leaderboard from Parquet")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder (default: results)")
    p.add_argument("--out", default="leaderboard.md", metavar="PATH",
                   help="markdown file to write (default: leaderboard.md)")
    p.add_argument("--no-plots", action="store_true",
                   help="do not redraw the plots under <results>/_plots (the markdown still "
                        "links them)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if --out differs from what the results give")
    p.add_argument("--html", default=None, metavar="DIR",
                   help="also build the static HTML site (index.html, a page per suite and "
                        "per entry, plots inline) into DIR")

    p = _sub(sub, "tune", help="equal-budget tuning: K configurations per entry (card "
                                    "defaults + quasi-random draws), select on validation, "
                                    "then run the selected one for the seeds")
    _add_sweep_options(p, "tune")
    p.add_argument("--trials", type=_positive_int, default=8, metavar="K",
                   help="configurations per entry and task, the defaults included (default: 8)")
    p.add_argument("--select", default=None, metavar="METRIC",
                   help="validation metric that selects the configuration (default: the suite's "
                        "selection metric, else val_<its first headline metric>, when recorded; "
                        "else val_top1)")

    p = _sub(sub, "validate", help="judge the pre-registered findings catalog on the stored "
                                        "records: design seeds beside confirmation seeds, Holm "
                                        "across the catalog, rank agreement (exit 1 when a "
                                        "finding is contradicted on the confirmation seeds)")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder (default: results)")
    p.add_argument("--suite", action="append", dest="suites", metavar="S",
                   help="only this suite's findings (repeatable; default: every suite; Holm "
                        "then runs over the selected findings only)")
    p.add_argument("--min-seeds", type=_min_seeds, default=DEFAULT_MIN_SEEDS, metavar="N",
                   help=f"seeds both sides of a finding need on the design seeds (status ok) for "
                        f"a verdict, else it is missing (default: {DEFAULT_MIN_SEEDS}); the "
                        f"confirmation seeds always need all of theirs")
    p.add_argument("--confirm", action="store_true",
                   help="first run every spec the catalog needs on the design and confirmation "
                        "seeds that --results does not hold yet (the catalog's entries and tasks "
                        "only), then judge")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="parallel runs with --confirm (default: one per CPU core)")
    p.add_argument("--catalog", default=None, metavar="PATH",
                   help="judge another catalog file (default: the one shipped with lossbench)")
    p.add_argument("--json", action="store_true",
                   help="print the results as JSON (both seed sets) instead of tables")
    p.add_argument("--design", action="store_true",
                   help="recipe design: judge (and with --confirm run) the design seeds only and "
                        "print the whole catalog's unadjusted verdict vector and its score "
                        "(supported − contradicted); the confirmation seeds are not read")

    p = _sub(sub, "reproduce", help="re-run a random sample of the stored ok records in a "
                                         "scratch folder and print how far each quality metric "
                                         "drifts (exit 0: the drift is information)")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder to sample from; only read (default: results)")
    p.add_argument("--sample", type=_positive_int, default=20, metavar="N",
                   help="records to re-run, among the ok records of the current harness version "
                        "(default: 20)")
    p.add_argument("--random-seed", type=_seed, default=0, metavar="S",
                   help="seed of the random choice of records (default: 0)")
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="torch threads per re-run (default: 1 on CPU, as `run`)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="parallel re-runs (default: one per CPU core)")
    p.add_argument("--executor", default="local", metavar="NAME",
                   help="where the re-runs execute: local (default), serial, ray")
    p.add_argument("--device", default="cpu",
                   help="torch device of the re-runs: cpu, cuda, cuda:N (default: cpu)")
    p.add_argument("--into", default=None, metavar="DIR",
                   help="keep the re-runs' records in DIR (a new or empty folder; default: a "
                        "temporary folder, removed)")
    p.add_argument("--json", action="store_true",
                   help="print the report as JSON instead of a table")

    p = _sub(sub, "verify", help="check the results folder against its ledger: deleted, "
                                      "altered, unknown and foreign records (exit 1 when "
                                      "anything is found)")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder (default: results)")
    p.add_argument("--adopt", action="store_true",
                   help="first vouch, in the ledger, for every sound record it has no entry for "
                        "(records stored before the folder had a ledger); review the folder "
                        "first: adopted records are trusted from then on")
    p.add_argument("--retire-below", default=None, metavar="X.Y.Z",
                   help="first remove every record made by a harness version below X.Y.Z (after "
                        "a harness bump re-ran the board), each with a 'retire' line in the "
                        "ledger so it is not reported deleted; commit the folder afterwards: the "
                        "project's history keeps the retired files")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")

    p = _sub(sub, "merge", help="merge the records one third-party distribution's job made in "
                                     "a folder of its own into --results: sound records of its "
                                     "own entries only, never replacing one (exit 1 when some "
                                     "were refused)")
    p.add_argument("source", metavar="SOURCE", help="the folder of records the job made")
    p.add_argument("--distribution", required=True, metavar="NAME",
                   help="the distribution whose entries the job ran (as in plugins.txt)")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder to merge into (default: results)")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")

    p = _sub(sub, "show", help="an entry's card (paper with link, summary, docstring, "
                                    "defaults, search space, suites, fidelity) and its stored "
                                    "results")
    p.add_argument("entry", metavar="NAME|module:attr",
                   help="a registered name, or an importable module:attr target")
    p.add_argument("--kind", choices=["loss", "regularizer"], default=None,
                   help="entry kind (default: the registered kind; loss for module:attr)")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="results folder whose runs of the entry are summarised (default: "
                        "results)")
    p.add_argument("--json", action="store_true", help="print the card and results as JSON")

    p = _sub(sub, "check", help="run the plugin conformance checks on an entry (what a "
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
    widths = LONG_LIST_WIDTHS if args.long else LIST_WIDTHS
    rows = [{**r, "fidelity": shown_fidelity(r["fidelity"], r["paper"]) if r["status"] == "ok"
             else r["fidelity"]} for r in rows]
    table = [{k: _cell(r[k], widths[k]) for k in widths} for r in rows]
    print(tabulate(table, headers="keys", tablefmt="simple", disable_numparse=True))
    return 0


#: Widest cell ``lossbench list`` prints per column (a plugin's strings are cut to these).
LIST_WIDTHS = {"name": 60, "kind": 12, "version": 24, "origin": 60, "summary": 60,
               "status": 300}
#: ``lossbench list --long``: the paper and fidelity too, the summary uncut (up to the card's
#: 200 characters).
LONG_LIST_WIDTHS = {"name": 60, "kind": 12, "version": 24, "origin": 60, "summary": 200,
                    "paper": 300, "fidelity": 200, "status": 300}


def _cell(value: object, limit: int) -> str:
    """``value`` on one line, cut to ``limit`` characters (with … when cut)."""
    from .text_safety import one_line

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
            from .suites.description import suite_info

            for task in suite_info(entry.name).tasks.values():
                rows.append({"suite": _cell(entry.name, 60), "task": _cell(task.name, 60),
                             "version": _cell(task.version, 24),
                             "default": "yes" if task.in_default_sweep else "",
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
                         "default": "yes" if task.in_default_sweep else "", "data": available,
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


def default_leaderboard(results: str) -> str:
    """Where ``run``/``tune`` write the leaderboard when ``--leaderboard`` is not given:
    ``leaderboard.md`` for the default results folder, else ``<results>-leaderboard.md`` beside
    the results folder, so ``--results /tmp/try`` never overwrites ``./leaderboard.md``."""
    from pathlib import Path

    if Path(results).absolute() == Path("results").absolute():
        return "leaderboard.md"
    folder = Path(results)
    return str(folder.absolute().parent / f"{folder.absolute().name}-leaderboard.md")


def _check_leaderboard_path(args: argparse.Namespace) -> None:
    """``--leaderboard`` (default: :func:`default_leaderboard`)'s folder exists and is
    writable: checked before any run is computed. A leaderboard inside the results folder
    (``--results X --leaderboard X/lb.md``) may name a folder the sweep creates: the results
    folder is then created (and probed) first."""
    from .outputs import check_results_to_write

    check_results_to_write(args.results, "--results")  # first: the flag the user typed
    defaulted = args.leaderboard is None
    if defaulted:
        args.leaderboard = default_leaderboard(args.results)
    if not args.no_leaderboard:
        from pathlib import Path

        from .outputs import check_output_file, prepare_results

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


def _ask(todo: int, line: str) -> bool:
    """Ask on the terminal whether to start ``todo`` runs (``line``: the plan and estimate)."""
    if todo <= CONFIRM_ABOVE:
        return True
    try:
        answer = input(f"start {todo} runs? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _cmd_run(args: argparse.Namespace) -> int:
    from .api import run

    _check_leaderboard_path(args)

    from .hparam_values import parse_hparams

    df = run(suites=args.suites, tasks=args.tasks, losses=args.losses,
             regularizers=args.regularizers, seeds=_seeds(args), results=args.results,
             baseline=not args.no_baseline, hparams=parse_hparams(args.hparams),
             confirm=None if args.yes or not sys.stdin.isatty() else _ask,
             force=args.force, retry_failed=args.retry_failed, device=args.device,
             options={"epochs": args.epochs} if args.epochs else None,
             executor=args.executor, workers=args.workers, threads=args.threads,
             timeout=args.timeout, memory_limit_mb=args.memory_limit, address=args.address,
             amp=args.amp, compile=args.compile, progress="quiet" if args.quiet else "auto",
             wait=not args.no_wait)
    if not args.no_leaderboard:
        _refresh_leaderboard(args.results, args.leaderboard)
    failed = int((df["status"] != "ok").sum())
    print(f"{len(df)} runs in the selection, {failed} not ok", file=sys.stderr)
    return 1 if failed else 0


def _check_site_folder(folder: str) -> None:
    """``--html DIR``: an existing writable folder, or a new one whose parent exists."""
    from pathlib import Path

    from .outputs import check_output_file

    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--html {folder!r} is a file; give a folder for the site")
    check_output_file(path / "index.html" if path.is_dir() else path, "--html")


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from pathlib import Path

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
    if args.html is not None:
        _check_site_folder(args.html)
    report.write(args.results, args.out, plots=not args.no_plots, html=args.html)
    print(f"leaderboard written to {args.out} (detail pages in {report.pages_dir(args.out)})",
          file=sys.stderr)
    if args.html is not None:
        print(f"HTML site written to {Path(args.html) / 'index.html'}", file=sys.stderr)
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from .tune import tune

    if args.select is not None and not args.select.startswith("val_"):
        raise UsageError(f"--select must be a validation metric (val_*), got {args.select!r}: "
                         f"selection never looks at the test split")
    _check_leaderboard_path(args)
    results = tune(losses=args.losses, regularizers=args.regularizers, suites=args.suites,
                   tasks=args.tasks, trials=args.trials, seeds=_seeds(args), results=args.results,
                   device=args.device, options={"epochs": args.epochs} if args.epochs else None,
                   selection_metric=args.select, executor=args.executor,
                   workers=args.workers)
    for r in results:
        chosen = r.selected_spec
        what = f"no selection ({r.note})" if chosen is None else (
            f"selected trial {r.selected} {r.selected_hparams} "
            f"({r.selection_metric}={r.values[r.selected]:.4f})")
        print(for_terminal(f"{r.entry} on {r.base.suite}/{r.base.task}: {len(r.trials)} "
                           f"trials, {what}"), file=sys.stderr)
    if not args.no_leaderboard:
        _refresh_leaderboard(args.results, args.leaderboard)
    return 1 if any(r.selected is None for r in results) else 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from . import findings, findings_text
    from .api import validate_catalog

    def log(msg: str) -> None:
        print(for_terminal(msg), file=sys.stderr)

    if args.design:
        return _validate_design(args, log)
    confirmation, design = validate_catalog(
        args.results, args.suites, min_seeds=args.min_seeds, confirm=args.confirm,
        catalog=args.catalog, workers=args.workers, log=log)
    from . import validity_text

    declared = findings.validate(args.results, args.suites, min_seeds=args.min_seeds, log=log)
    if args.json:
        import json

        out = validity_text.to_dict(confirmation, design)
        out["suite_findings"] = [validity_text.clean_nan(r.to_dict()) for r in declared]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(validity_text.render_text(confirmation, design))
        if any(v.verdict == "missing" for j in (confirmation, design) for v in j.findings):
            from .confirmation import checked_catalog, missing_specs

            cat = checked_catalog(args.catalog)
            todo = missing_specs(cat.only(args.suites) if args.suites else cat, args.results)
            if todo:
                more = "" if args.results == "results" else f" --results {args.results}"
                print(f"\n{len(todo)} runs the catalog needs are not stored in {args.results}: "
                      f"`lossbench validate --confirm{more}` runs them.")
        if declared:
            print("\nFindings declared by the suites themselves (Suite.findings):")
            print(findings_text.render_text(declared, args.min_seeds))
    contradicted = any(v.verdict == "contradicted" for v in confirmation.findings)
    return 1 if contradicted or any(r.verdict == "inverted" for r in declared) else 0


def _validate_design(args: argparse.Namespace, log) -> int:
    from .api import design_vector
    from .design_vector import render_vector

    vec = design_vector(args.results, args.suites, min_seeds=args.min_seeds,
                        confirm=args.confirm, catalog=args.catalog, workers=args.workers, log=log)
    if args.json:
        import json

        from .validity_text import clean_nan

        print(json.dumps(clean_nan({
            "seed_set": vec.seed_set, "alpha": vec.alpha, "score": vec.score,
            "mean_tau": vec.mean_tau,
            "findings": [{"id": f, "verdict": v, "effect": e} for f, v, e in vec.verdicts],
            "rankings": [{"id": t, "tau": tau} for t, tau in vec.taus]}), indent=2,
            ensure_ascii=False))
    else:
        print(render_vector(vec))
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .api import reproduce

    outcome = reproduce(args.results, sample=args.sample, random_seed=args.random_seed,
                        threads=args.threads, workers=args.workers, executor=args.executor,
                        device=args.device, into=args.into)
    print(outcome.to_json() if args.json else outcome.render_text())
    return 0


#: how many findings of one category ``lossbench verify`` prints (``--json``: all)
VERIFY_SHOWN = 20


def _cmd_merge(args: argparse.Namespace) -> int:
    import json

    from .api import merge

    report = merge(args.source, args.results, args.distribution)
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if args.json
          else report.render_text())
    return 1 if report.refused else 0


def _cmd_verify(args: argparse.Namespace) -> int:
    import json

    from .api import verify
    from .outputs import check_results_to_read

    check_results_to_read(args.results, "--results")
    if args.retire_below:
        from .api import retire_below

        retired = retire_below(args.results, args.retire_below)
        versions = sorted({v for _, v in retired})
        print(f"retired {len(retired)} records of harness {', '.join(versions) or '–'} from "
              f"{args.results} (ledger: 'retire')", file=sys.stderr)
    outcome = verify(args.results, adopt=args.adopt)
    if args.adopt:
        print(f"adopted {outcome.adopted} records into {args.results}/_ledger.jsonl",
              file=sys.stderr)
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2, ensure_ascii=False))
    else:
        from .text_safety import one_line

        print(outcome.line())
        for category in outcome.counts():
            found = [f for f in outcome.findings if f.category == category]
            for f in found[:VERIFY_SHOWN]:
                print(f"  {category:8} {one_line(f.path)}: {one_line(f.reason)}")
            if len(found) > VERIFY_SHOWN:
                print(f"  {category:8} … and {len(found) - VERIFY_SHOWN} more (--json lists all)")
    return 0 if outcome.ok else 1


def _cmd_show(args: argparse.Namespace) -> int:
    import json

    from .api import show

    info = show(args.entry, kind=args.kind, results=args.results)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False, sort_keys=True))
        return 0
    print(render_show(info, args.results))
    return 0


def render_show(info: dict, results: str) -> str:
    """``lossbench show``'s text: every plugin string one line and printable, the docstring
    indented line by line."""
    from tabulate import tabulate

    from .text_safety import one_line

    c = info["card"]

    def field(label: str, value: object) -> str:
        return f"{label + ':':<14}{one_line(str(value), 500)}"

    def fmt(values: dict) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in sorted(values.items())) or "(none)"

    def space(values: dict) -> str:
        parts = []
        for k, v in sorted(values.items()):
            if isinstance(v, dict) and "choices" in v:
                parts.append(f"{k} in {v['choices']!r}")
            elif isinstance(v, dict):
                flags = " ".join(f for f in ("log", "int") if v.get(f))
                parts.append(f"{k} in [{v.get('low')}, {v.get('high')}]"
                             + (f" ({flags})" if flags else ""))
        return "; ".join(parts) or "(none: nothing to tune)"

    lines = [
        f"{one_line(c['name'], 200)} ({info['kind']}"
        + (f", {c['objective']}" if info["kind"] == "loss" else "") + ")",
        field("version", c["version"]),
        field("origin", c["origin"] + (" (unpublished module:attr target)"
                                        if c["origin"] == "local" else "")),
        field("target", c["target"]),
        field("summary", c["summary"] or "(no docstring)"),
        field("paper", c["paper"] or "(none given)"),
    ]
    if c.get("paper_url"):
        lines.append(field("link", c["paper_url"]))
    lines += [
        field("fidelity", shown_fidelity(c["fidelity"], c["paper"])),
        *([field("alias of", f"{c['alias_of']} (the same function as its defaults)")]
          if c.get("alias_of") else []),
        field("defaults", fmt(c["hparams"])),
        field("search space", space(c["search_space"])),
        field("suites", ", ".join(c["suites"]) or "every suite"),
    ]
    if info["kind"] == "loss":
        lines.append(field("soft targets", "accepted" if c["accepts_soft_targets"] else "no"))
    doc = [for_terminal(ln) for ln in (c.get("doc") or "").splitlines()[1:]]
    while doc and not doc[0].strip():
        doc.pop(0)
    if doc:
        lines += ["", "docstring:", *(f"  {ln}".rstrip() for ln in doc)]
    rows = info["results"]
    lines.append("")
    from pathlib import Path

    folder = Path(results).absolute()
    if not rows:
        state = "" if folder.is_dir() else " (no such folder)"
        lines.append(f"no stored runs in {for_terminal(folder)}{state}; for runs stored "
                     f"elsewhere, add --results DIR")
        return "\n".join(lines)

    def num(v: object) -> str:
        return "–" if v is None else f"{v:.4f}"

    table = [{"task": one_line(f"{r['suite']}/{r['task']} v{r['task_version']}", 80),
              "options": one_line(", ".join(f"{k}={v}" for k, v in sorted(
                  r["options"].items())) or "recipe", 60),
              "entry": one_line(r["entry"], 80),
              "hparams": one_line(short({**r["loss_hparams"], **r["regularizer_hparams"]}), 80),
              "runs (ok)": f"{r['runs']} ({r['ok']})",
              "metric": r["metric"],
              "mean ± sd": f"{num(r['mean'])} ± {num(r['sd'])}",
              "cross_entropy": f"{num(r['cross_entropy_mean'])} "
                               f"({r['cross_entropy_seeds']} seeds)"} for r in rows]
    lines += [f"stored runs in {for_terminal(folder)} (mean over ok seeds):",
              tabulate(table, headers="keys", tablefmt="simple", disable_numparse=True)]
    return "\n".join(lines)


def shown_fidelity(fidelity: str, paper: str) -> str:
    """The card's fidelity as ``show`` and ``list --long`` print it: "exact" claims a match with
    a paper, so an entry that names none (a local ``module:attr`` loss, say) reads "not stated
    (no paper given)" instead of the card's default "exact"."""
    if fidelity == "exact" and not str(paper or "").strip():
        return "not stated (no paper given)"
    return fidelity


def short(values: dict) -> str:
    """Hyperparameters on one line, floats to 4 significant digits."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                     for k, v in sorted(values.items())) or "(none)"


def _cmd_check(args: argparse.Namespace) -> int:
    from .api import check

    report = check(args.entry, kind=args.kind, timeout=args.timeout)
    print(for_terminal(report.render(), multiline=True))
    return 0 if report.ok else 1


COMMANDS = {"list": _cmd_list, "run": _cmd_run, "leaderboard": _cmd_leaderboard,
            "tune": _cmd_tune, "validate": _cmd_validate, "check": _cmd_check,
            "show": _cmd_show, "reproduce": _cmd_reproduce, "verify": _cmd_verify,
            "merge": _cmd_merge}


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


if __name__ == "__main__":
    sys.exit(main())
