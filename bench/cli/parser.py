"""The argument parser of ``lossbench``: one subcommand per command, each with its options and
examples."""

from __future__ import annotations

import argparse

from ..version import __version__
from .arguments import Given, interval_seeds, positive_float, positive_int, seed
from .examples import EXAMPLES
from .sweep_commands import CONFIRM_ABOVE


def add_sweep_options(p: argparse.ArgumentParser, verb: str) -> None:
    """The selection, storage and execution options ``run`` and ``tune`` share."""
    from ..api import DEFAULT_SEEDS

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
    p.add_argument("--seeds", type=positive_int, default=DEFAULT_SEEDS, metavar="N",
                   action=Given,
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
    p.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                   help="override the tasks' epochs (a smoke run; stored as a spec option and "
                        "reported apart from default-recipe runs)")
    p.add_argument("--executor", default="local", metavar="NAME",
                   help="where runs execute: local (child processes, default), serial (this "
                        "process, for pdb), ray, or a registered plugin")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="parallel runs (default: one per visible GPU with --device cuda, else "
                        "one per CPU core)")


def _sub(sub, name: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with its examples."""
    kwargs.setdefault("description", kwargs.get("help"))
    return sub.add_parser(name, epilog=EXAMPLES.get(name),
                          formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from ..api import DEFAULT_MIN_SEEDS

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
    add_sweep_options(p, "run")
    p.add_argument("--seed", action="append", dest="seed_list", type=seed, metavar="N",
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
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="torch threads per run (default: 1 on CPU, cores per worker on GPU)")
    p.add_argument("--timeout", type=positive_float, default=None, metavar="SECONDS",
                   help="kill a run after this many seconds (status timeout; default, local "
                        "executor: max(600, 10 × epochs) for embedded tasks, max(600, 600 × "
                        "epochs) for the others)")
    p.add_argument("--memory-limit", type=positive_int, default=None, metavar="MB",
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
    add_sweep_options(p, "tune")
    p.add_argument("--trials", type=positive_int, default=8, metavar="K",
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
    p.add_argument("--min-seeds", type=interval_seeds, default=DEFAULT_MIN_SEEDS, metavar="N",
                   help=f"seeds both sides of a finding need on the design seeds (status ok) for "
                        f"a verdict, else it is missing (default: {DEFAULT_MIN_SEEDS}); the "
                        f"confirmation seeds always need all of theirs")
    p.add_argument("--confirm", action="store_true",
                   help="first run every spec the catalog needs on the design and confirmation "
                        "seeds that --results does not hold yet (the catalog's entries and tasks "
                        "only), then judge")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
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
    p.add_argument("--sample", type=positive_int, default=20, metavar="N",
                   help="records to re-run, among the ok records of the current harness version "
                        "(default: 20)")
    p.add_argument("--random-seed", type=seed, default=0, metavar="S",
                   help="seed of the random choice of records (default: 0)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="torch threads per re-run (default: 1 on CPU, as `run`)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
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
    p.add_argument("--timeout", type=positive_float, default=None, metavar="SECONDS",
                   help="kill the checks after this many seconds (a failed check; default: 600)")
    return parser
