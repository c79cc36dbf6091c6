"""The canary: a fixed, small set of short runs whose quality metrics prove a refactor
result-neutral, instead of a board re-run (``python -m lossbench.canary``).

The runs (:func:`canary_specs`) are taken from the sweep of every embedded task of every
built-in suite with the built-in entries, at seed 0 and :data:`DEFAULT_EPOCHS` epoch(s) (a spec
option, like ``lossbench run --epochs``): every embedded task at least once, and every built-in
loss and regularizer at least once, on a task its card places it on (an embedding loss on the
retrieval task, a regularizer with cross-entropy). They run through the sweep's own path
(:func:`lossbench.scheduler.run_sweep`: the ``local`` executor's children train, the sweep
process scores, 1 torch thread per run) into a temporary folder, and each stored record is
reduced to a digest: SHA-256 of its status and its quality metrics (every metric but the
timings, :func:`lossbench.metrics.is_timing`), each value written exactly (``float.hex``).

A result-neutral refactor is proven by

    python -m lossbench.canary --save before.json     # on main
    python -m lossbench.canary --compare before.json  # on the branch, same machine

which re-runs the canary and prints, per run, ``identical`` or what differs, and exits 1 when
any run differs or is missing. Bit-for-bit equality holds on one machine with one torch
(:mod:`lossbench.machine`): compare on the machine that saved the file (the file records its
``machine_id``, and a comparison on another machine says so).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .version import __version__

DEFAULT_EPOCHS = 1
CANARY_SEED = 0
FORMAT = 1


def _entries(spec) -> set[tuple[str, str]]:
    """The entries a spec runs: ``{("loss", name), ("regularizer", name)}``."""
    return {("loss", spec.loss)} | ({("regularizer", spec.regularizer)} if spec.regularizer
                                    else set())


def choose_runs(specs: Sequence) -> list:
    """A small subset of ``specs`` (a plan, in plan order) that runs every entry and every task
    of ``specs`` at least once, in plan order.

    Regularizers are placed first (each run with cross-entropy also runs cross-entropy), then the
    losses, alphabetically; each entry goes to the task of its specs that has the fewest chosen
    runs so far (the first in plan order on a tie), so the entries spread over the tasks. A task
    no entry reached gets its first spec. Deterministic: the same plan gives the same runs."""
    index = {id(s): i for i, s in enumerate(specs)}
    per_task: Counter = Counter()
    covered: set[tuple[str, str]] = set()
    chosen: list = []

    def take(spec) -> None:
        chosen.append(spec)
        covered.update(_entries(spec))
        per_task[(spec.suite, spec.task)] += 1

    entries = sorted(set().union(*(_entries(s) for s in specs)),
                     key=lambda e: (e[0] != "regularizer", e[1]))
    for entry in entries:
        if entry not in covered:
            take(min((s for s in specs if entry in _entries(s)),
                     key=lambda s: (per_task[(s.suite, s.task)], index[id(s)])))
    for spec in specs:
        if (spec.suite, spec.task) not in per_task:
            take(spec)
    return sorted(chosen, key=lambda s: index[id(s)])


def canary_specs(epochs: int = DEFAULT_EPOCHS) -> list:
    """The canary's runs: :func:`choose_runs` of the sweep of every embedded task of every
    built-in suite (the default sweep's, and those it leaves out, like ``standard/digits``) with
    every built-in loss alone and every built-in regularizer with cross-entropy, where their
    cards place them, at seed :data:`CANARY_SEED` and ``epochs`` epochs."""
    from .plan import plan
    from .registry import LOSSES, REGULARIZERS, SUITES
    from .suites.description import suite_info

    tasks = [f"{name}/{task.name}" for name in SUITES.names() if SUITES.get(name).builtin
             for task in suite_info(name).tasks.values() if task.embedded]
    specs = plan(tasks=tasks, seeds=[CANARY_SEED], options={"epochs": epochs}).specs
    builtin = [s for s in specs if LOSSES.get(s.loss).builtin
               and (s.regularizer is None or REGULARIZERS.get(s.regularizer).builtin)]
    return choose_runs(builtin)


@dataclass(frozen=True)
class RunDigest:
    """One canary run as stored: its status, its quality metrics and their digest."""

    status: str
    metrics: dict[str, float]

    @property
    def digest(self) -> str:
        """SHA-256 of the status and the metrics, each value by ``float.hex`` (bit for bit)."""
        text = self.status + "".join(f"\n{name}={float(value).hex()}"
                                     for name, value in sorted(self.metrics.items()))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "digest": self.digest, "metrics": self.metrics}


def digests_of(results: str | Path) -> dict[str, RunDigest]:
    """``{run label: RunDigest}`` of the records in ``results``, read in the store's long format
    (one row per stored metric; the label is the spec in words, without its key, so the harness
    version does not change it)."""
    from .metrics import is_timing
    from .reproduction import spec_label
    from .store import load_results

    long = load_results(results, wide=False)
    out = {}
    for _, rows in long.groupby("spec_key", sort=True):
        first = rows.iloc[0]
        metrics = {str(m): float(v) for m, v in zip(rows["metric"], rows["value"], strict=True)
                   if isinstance(m, str) and not is_timing(m)}
        out[spec_label(first)] = RunDigest(str(first["status"]), metrics)
    return out


def run_canary(epochs: int = DEFAULT_EPOCHS, *, workers: int | None = None,
               executor: str = "local", progress: str = "auto",
               specs: Sequence | None = None) -> tuple[dict[str, RunDigest], str]:
    """Run the canary (``specs``, default :func:`canary_specs`) into a temporary folder through
    :func:`lossbench.scheduler.run_sweep` with 1 torch thread per run; return the digests and
    the machine id of the records."""
    from .scheduler import run_sweep
    from .store import load_results

    specs = canary_specs(epochs) if specs is None else specs
    with tempfile.TemporaryDirectory(prefix="lossbench-canary-") as folder:
        run_sweep(specs, folder, executor=executor, workers=workers, threads=1,
                  progress=progress)
        machines = sorted({str(m) for m in load_results(folder).get("machine_id", [])})
        return digests_of(folder), ", ".join(machines)


def save(path: str | Path, digests: dict[str, RunDigest], epochs: int, machine: str) -> None:
    """Write the canary's digests as JSON."""
    Path(path).write_text(json.dumps({
        "format": FORMAT, "lossbench_version": __version__, "epochs": epochs,
        "machine_id": machine, "runs": {k: d.to_dict() for k, d in sorted(digests.items())},
    }, indent=1, sort_keys=True) + "\n")


def load(path: str | Path) -> dict[str, Any]:
    """A file :func:`save` wrote; ``ValueError`` naming the file when it is not one."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the canary file {str(path)!r}: {exc}") from exc
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or "runs" not in saved:
        raise ValueError(f"{str(path)!r} is not a canary file of format {FORMAT} (written by "
                         f"`python -m lossbench.canary --save`)")
    return saved


def compare(saved: dict[str, Any], current: dict[str, RunDigest]) -> list[tuple[str, str]]:
    """``[(run label, verdict)]``: ``identical``, ``different: <metrics>`` (or the statuses),
    ``missing`` (saved, not run now) or ``new`` (run now, not saved), by label."""
    out = []
    for label in sorted(set(saved["runs"]) | set(current)):
        before, now = saved["runs"].get(label), current.get(label)
        if now is None:
            out.append((label, "missing"))
        elif before is None:
            out.append((label, "new"))
        elif before["digest"] == now.digest:
            out.append((label, "identical"))
        elif before["status"] != now.status:
            out.append((label, f"different: status {before['status']} -> {now.status}"))
        else:
            names = sorted(set(before["metrics"]) | set(now.metrics))
            changed = [n for n in names if _hex(before["metrics"].get(n)) != _hex(
                now.metrics.get(n))]
            out.append((label, "different: " + ", ".join(
                f"{n} {before['metrics'].get(n)!r} -> {now.metrics.get(n)!r}"
                for n in changed)))
    return out


def _hex(value: float | None) -> str | None:
    return None if value is None else float(value).hex()


def failed(verdicts: Iterable[tuple[str, str]]) -> bool:
    """Whether a comparison fails: a run that differs or is missing (a new run does not)."""
    return any(v == "missing" or v.startswith("different") for _, v in verdicts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lossbench.canary",
                                     description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--save", metavar="FILE", help="run the canary and write its digests")
    action.add_argument("--compare", metavar="FILE",
                        help="run the canary and compare with FILE (exit 1 on a difference)")
    action.add_argument("--list", action="store_true", help="print the canary's runs, run none")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs per run (default: {DEFAULT_EPOCHS}, or FILE's with "
                             f"--compare)")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel runs (default: one per CPU core)")
    parser.add_argument("--quiet", action="store_true", help="no per-run progress")
    args = parser.parse_args(argv)
    saved = None
    if args.compare:
        try:
            saved = load(args.compare)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    epochs = args.epochs or (saved["epochs"] if saved else DEFAULT_EPOCHS)
    if args.list:
        for spec in canary_specs(epochs):
            print(f"{spec.entry_label} {spec.suite}/{spec.task} seed {spec.seed}")
        return 0
    digests, machine = run_canary(epochs, workers=args.workers,
                                  progress="quiet" if args.quiet else "auto")
    if args.save:
        save(args.save, digests, epochs, machine)
        print(f"{len(digests)} canary runs ({epochs} epoch(s), machine {machine}) saved to "
              f"{args.save}")
        return 0
    verdicts = compare(saved, digests)
    for label, verdict in verdicts:
        print(f"{verdict.split(':')[0]:<10} {label}" + (
            f"\n           {verdict.split(': ', 1)[1]}" if ": " in verdict else ""))
    if saved.get("machine_id") != machine:
        print(f"note: saved on machine {saved.get('machine_id')}, run on {machine}: "
              f"bit-for-bit equality is expected on one machine only")
    counts = Counter(v.split(":")[0] for _, v in verdicts)
    print(", ".join(f"{n} {what}" for what, n in sorted(counts.items())))
    return 1 if failed(verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
