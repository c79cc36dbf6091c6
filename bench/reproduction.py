"""Reproducing stored records: re-run a sample of them here and measure how far each quality
metric drifts (``lossbench reproduce``).

A record should be a pure function of its spec and code; on one machine it is, but two machines
with the same torch and the same device string re-ran the board with bit-identical quality
metrics for only 20 of 840 records. This module measures that drift for a results folder:

1. :func:`sample_keys` draws ``n`` of the stored ``ok`` records of the current harness version
   (a seeded choice without replacement from the spec keys in sorted order, so the same seed
   draws the same records whatever the file order);
2. :func:`reproduce` re-runs their specs through the normal sweep (:mod:`lossbench.scheduler`
   and its executors) into a scratch folder — never into the results folder;
3. :func:`drift_table` compares every quality metric (:func:`lossbench.metrics.is_timing` leaves
   the timings out) of each re-run with the stored value: per metric the pairs compared, the
   share that is bit-identical, the median, 95th percentile (linear interpolation, numpy's
   default) and maximum of |re-run − stored|, and the spec with the maximum.

The drift is information, not a failure: :class:`Reproduction` also says which machines
(:mod:`lossbench.machine`) made the stored records and the re-runs, and whether their torch
thread counts differ — the two usual reasons for a difference.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cells import is_missing
from .errors import UsageError
from .machine import stored_machine
from .metrics import METRICS, is_timing
from .record_format import RUN_COLUMNS, spec_of
from .store import load_results
from .version import __version__

DEFAULT_SAMPLE = 20
DEFAULT_RANDOM_SEED = 0
PERCENTILE = 95
#: The columns of :func:`drift_table`.
DRIFT_COLUMNS = ("metric", "count", "missing", "identical", "median_abs_diff", "p95_abs_diff",
                 "max_abs_diff", "max_spec", "max_spec_key", "max_stored", "max_rerun")
NOT_RECORDED = "(not recorded)"


# ---------------------------------------------------------------- choosing the records

def candidates(stored: pd.DataFrame, harness_version: str = __version__) -> pd.DataFrame:
    """The rows of ``stored`` (wide records) that can be reproduced: status ``ok`` and made by
    harness ``harness_version``, sorted by spec key."""
    if stored.empty:
        return stored
    chosen = stored[(stored["status"] == "ok") & (stored["harness_version"] == harness_version)]
    return chosen.sort_values("spec_key", kind="stable").reset_index(drop=True)


def sample_keys(stored: pd.DataFrame, n: int = DEFAULT_SAMPLE,
                random_seed: int = DEFAULT_RANDOM_SEED,
                harness_version: str = __version__) -> list[str]:
    """The spec keys of ``n`` :func:`candidates` of ``stored`` (all of them when there are
    fewer), drawn without replacement by ``numpy.random.default_rng(random_seed)``; sorted."""
    pool = candidates(stored, harness_version)
    if n < 1:
        raise UsageError(f"sample size must be a positive integer, got {n!r}")
    if pool.empty:
        return []
    rng = np.random.default_rng(random_seed)
    picked = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    return sorted(pool["spec_key"].iloc[picked].tolist())


# ---------------------------------------------------------------- comparing

def quality_metrics(columns: Iterable[str]) -> list[str]:
    """The metric columns among a wide frame's ``columns`` that are not timings, in
    :data:`METRICS` order, then the undeclared ones (``final_train_loss``, ``reliability/...``)
    by name."""
    names = {c for c in columns if c not in RUN_COLUMNS and not is_timing(c)}
    order = {name: i for i, name in enumerate(METRICS)}
    return sorted(names, key=lambda m: (order.get(m, len(order)), m))


def spec_label(row: Any) -> str:
    """A record's spec in words: ``"focal + mixup standard/mnist1d seed 1 {"epochs": 5}"``."""
    entry = str(row["loss"]) + ("" if is_missing(row.get("regularizer")) else
                                f" + {row['regularizer']}")
    options = row.get("options")
    shown = "" if is_missing(options) or options in ("{}", "") else f" {options}"
    return f"{entry} {row['suite']}/{row['task']} seed {int(row['seed'])}{shown}"


def _ok_by_key(frame: pd.DataFrame) -> pd.DataFrame:
    if "status" in frame:
        frame = frame[frame["status"] == "ok"]
    return frame.drop_duplicates("spec_key").set_index("spec_key")


def drift_table(stored: pd.DataFrame, rerun: pd.DataFrame) -> pd.DataFrame:
    """Per quality metric, how the re-runs' values differ from the stored ones.

    ``stored`` and ``rerun``: wide records (``spec_key``, ``status`` and a column per metric,
    as :func:`lossbench.store.load_results` gives them). Runs are paired by spec key, ``ok`` on
    both sides. A metric's ``count`` is the pairs where both values are present; ``missing`` the
    pairs where only one is; ``identical`` the share of ``count`` that is bit-identical (same
    float64 bits); ``median_abs_diff``, ``p95_abs_diff`` and ``max_abs_diff`` are the median,
    95th percentile (linear interpolation) and maximum of |re-run − stored| over ``count``;
    ``max_spec`` / ``max_spec_key`` name the run with the maximum ('' when it is 0) and
    ``max_stored`` / ``max_rerun`` its two values. One row per metric with a pair
    (:data:`DRIFT_COLUMNS`).
    """
    before, after = _ok_by_key(stored), _ok_by_key(rerun)
    keys = sorted(set(before.index) & set(after.index))
    metrics = quality_metrics([*before.columns, *after.columns])
    rows = []
    for metric in metrics:
        a = _values(before, metric, keys)
        b = _values(after, metric, keys)
        both = ~np.isnan(a) & ~np.isnan(b)
        one = np.isnan(a) ^ np.isnan(b)
        if not both.any() and not one.any():
            continue
        row: dict[str, Any] = {"metric": metric, "count": int(both.sum()),
                               "missing": int(one.sum())}
        if both.any():
            x, y = a[both], b[both]
            diff = np.abs(y - x)
            worst = int(np.argmax(diff))
            key = [k for k, keep in zip(keys, both, strict=True) if keep][worst]
            row.update({
                "identical": float(np.mean(x.view(np.int64) == y.view(np.int64))),
                "median_abs_diff": float(np.median(diff)),
                "p95_abs_diff": float(np.percentile(diff, PERCENTILE)),
                "max_abs_diff": float(diff[worst]),
                "max_spec": spec_label(before.loc[key]) if diff[worst] > 0 else "",
                "max_spec_key": key if diff[worst] > 0 else "",
                "max_stored": float(x[worst]), "max_rerun": float(y[worst]),
            })
        rows.append(row)
    return pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))


def _values(frame: pd.DataFrame, metric: str, keys: list[str]) -> np.ndarray:
    if metric not in frame:
        return np.full(len(keys), np.nan)
    return pd.to_numeric(frame[metric].reindex(keys), errors="coerce").to_numpy(np.float64)


# ---------------------------------------------------------------- machines and threads

def threads_of(row: Any) -> int | None:
    """The torch intra-op threads a record ran with: ``torch_threads`` of its ``machine_json``,
    else the ``xN`` that ends its ``device`` string (records made before ``machine_json``)."""
    threads = stored_machine(row.get("machine_json")).get("torch_threads")
    if isinstance(threads, int) and threads > 0:
        return threads
    device = row.get("device")
    found = re.search(r"\bx(\d+)$", device) if isinstance(device, str) else None
    return int(found.group(1)) if found else None


def _counts(values: Sequence[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        name = NOT_RECORDED if is_missing(v) or v == "" else str(v)
        out[name] = out.get(name, 0) + 1
    return dict(sorted(out.items()))


@dataclass
class Reproduction:
    """The outcome of :func:`reproduce`: the sample, both sides' records, the drift table."""

    results: str
    harness_version: str
    random_seed: int
    requested: int
    candidates: int
    keys: list[str]
    stored: pd.DataFrame
    rerun: pd.DataFrame
    drift: pd.DataFrame
    into: str | None = None
    notes: list[str] = field(default_factory=list)

    def _column(self, frame: pd.DataFrame, column: str) -> list[Any]:
        return list(frame[column]) if column in frame else [None] * len(frame)

    @property
    def machines(self) -> dict[str, Any]:
        """``stored`` / ``current``: ``{machine_id: records}`` (``(not recorded)`` for records
        made before the column); ``same``: every stored and re-run record has one id (None when
        a stored record has none)."""
        stored = _counts(self._column(self.stored, "machine_id"))
        current = _counts(self._column(self.rerun, "machine_id"))
        same = None if NOT_RECORDED in stored else (len(set(stored) | set(current)) == 1)
        return {"stored": stored, "current": current, "same": same}

    @property
    def devices(self) -> dict[str, dict[str, int]]:
        """``{device string: records}`` of the stored records and of the re-runs."""
        return {"stored": _counts(self._column(self.stored, "device")),
                "current": _counts(self._column(self.rerun, "device"))}

    @property
    def threads(self) -> dict[str, Any]:
        """``stored`` / ``current``: ``{threads: records}``; ``differ``: some re-run ran with
        another thread count than its stored record (None when a count is unknown)."""
        before = {r["spec_key"]: threads_of(r) for _, r in self.stored.iterrows()}
        after = {r["spec_key"]: threads_of(r) for _, r in self.rerun.iterrows()}
        pairs = [(before[k], after[k]) for k in after if k in before]
        unknown = any(a is None or b is None for a, b in pairs)
        return {"stored": _counts(before.values()), "current": _counts(after.values()),
                "differ": None if unknown or not pairs else any(a != b for a, b in pairs)}

    @property
    def statuses(self) -> dict[str, int]:
        """``{status: re-runs}``: a re-run that is not ok has no drift row."""
        return _counts(self._column(self.rerun, "status"))

    @property
    def fingerprints(self) -> dict[str, dict[str, int]]:
        """``{harness fingerprint: records}`` of both sides (the code that made them)."""
        return {"stored": _counts(self._column(self.stored, "harness_fingerprint")),
                "current": _counts(self._column(self.rerun, "harness_fingerprint"))}

    def to_dict(self) -> dict[str, Any]:
        """Everything :meth:`render_text` shows, as JSON values (NaN as None)."""
        def plain(v: Any) -> Any:
            if isinstance(v, (float, np.floating)):
                return float(v) if math.isfinite(v) else None
            if isinstance(v, np.integer):
                return int(v)
            return v

        drift = [{k: plain(v) for k, v in row.items()}
                 for row in self.drift.to_dict(orient="records")]
        specs = ([{"spec_key": k, "spec": spec_label(r)} for k, r in
                  self.stored.set_index("spec_key", drop=False).loc[self.keys].iterrows()]
                 if self.keys else [])
        return {"results": self.results, "harness_version": self.harness_version,
                "random_seed": self.random_seed, "requested": self.requested,
                "candidates": self.candidates, "specs": specs, "into": self.into,
                "rerun_status": self.statuses, "machines": self.machines,
                "devices": self.devices, "threads": self.threads,
                "harness_fingerprints": self.fingerprints, "drift": drift, "notes": self.notes}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def render_text(self) -> str:
        """The report ``lossbench reproduce`` prints."""
        from tabulate import tabulate

        def counts(values: dict[Any, int]) -> str:
            return ", ".join(f"{k} ({n})" for k, n in values.items()) or "none"

        machines, threads = self.machines, self.threads
        same = {True: "the same machine", False: "DIFFERENT machines",
                None: "unknown (stored records without machine_id)"}[machines["same"]]
        differ = {True: "differ", False: "the same", None: "unknown"}[threads["differ"]]
        lines = [
            f"re-ran {len(self.keys)} of {self.candidates} stored ok records of harness "
            f"{self.harness_version} in {self.results} (random seed {self.random_seed}"
            + (f"; kept in {self.into}" if self.into else "") + ")",
            f"re-run status: {counts(self.statuses)}",
            f"machine_id: stored {counts(machines['stored'])}; now "
            f"{counts(machines['current'])}: {same}",
            f"devices: stored {counts(self.devices['stored'])}; now "
            f"{counts(self.devices['current'])}",
            f"torch threads: stored {counts(threads['stored'])}; now "
            f"{counts(threads['current'])}: {differ}",
            f"harness fingerprint: stored {counts(self.fingerprints['stored'])}; now "
            f"{counts(self.fingerprints['current'])}",
            *self.notes,
            "",
        ]
        if self.drift.empty:
            lines.append("no quality metric to compare (no re-run is ok)")
            return "\n".join(lines)

        def num(v: Any) -> str:
            return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"

        def where(r: pd.Series) -> str:
            if not isinstance(r["max_spec"], str) or not r["max_spec"]:
                return ""
            return f"{r['max_spec']} ({r['max_stored']:.6g} → {r['max_rerun']:.6g})"

        table = [{"metric": r["metric"], "n": r["count"],
                  "bit-identical": num(r["identical"]),
                  "median |Δ|": num(r["median_abs_diff"]), "p95 |Δ|": num(r["p95_abs_diff"]),
                  "max |Δ|": num(r["max_abs_diff"]), "at (stored → re-run)": where(r),
                  **({"missing": r["missing"]} if self.drift["missing"].any() else {})}
                 for _, r in self.drift.iterrows()]
        lines.append(tabulate(table, headers="keys", tablefmt="simple", disable_numparse=True))
        return "\n".join(lines)


# ---------------------------------------------------------------- running

def reproduce(results: str | Path = "results", sample: int = DEFAULT_SAMPLE,
              random_seed: int = DEFAULT_RANDOM_SEED, *, threads: int | None = None,
              workers: int | None = None, executor: str = "local", device: str = "cpu",
              into: str | Path | None = None, progress: str = "auto",
              log: Callable[[str], None] | None = None) -> Reproduction:
    """Re-run ``sample`` stored ok records of the current harness version in ``results`` (drawn
    with ``random_seed``, :func:`sample_keys`) and compare them (:func:`drift_table`).

    The re-runs go through :func:`lossbench.scheduler.run_sweep` on ``executor`` with
    ``workers`` and ``threads`` (default: the executor's, 1 torch thread per CPU run) into a
    temporary folder removed afterwards, or into ``into`` (a new or empty folder, kept);
    ``results`` is only read. ``UsageError`` for a missing results folder, an ``into`` that is
    the results folder or holds records, or a folder without a reproducible record.
    """
    from .outputs import check_results_to_read
    from .scheduler import run_sweep

    check_results_to_read(results, "--results")
    if isinstance(random_seed, bool) or not isinstance(random_seed, int) or random_seed < 0:
        raise UsageError(f"random seed must be an integer >= 0, got {random_seed!r}")
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise UsageError(f"sample size must be a positive integer, got {sample!r}")
    if into is not None:
        _check_into(Path(into), Path(results))
    stored_all = load_results(results)
    pool = candidates(stored_all)
    if pool.empty:
        versions = sorted({str(v) for v in stored_all.get("harness_version", [])})
        raise UsageError(
            f"no ok record of harness {__version__} in {str(results)!r} to reproduce (its records "
            f"are of harness {', '.join(versions) or 'none'}); run `lossbench run --results "
            f"{results}` first")
    keys = sample_keys(stored_all, sample, random_seed)
    stored = stored_all[stored_all["spec_key"].isin(keys)].reset_index(drop=True)
    specs = [spec_of(row) for _, row in stored.iterrows()]
    notes = [f"stored record {s.key} does not rebuild its spec key; left out"
             for s, (_, row) in zip(specs, stored.iterrows(), strict=True)
             if s.key != row["spec_key"]]
    specs = [s for s in specs if s.key in set(keys)]
    with _scratch(into) as folder:
        run_sweep(specs, folder, device=device, executor=executor, workers=workers,
                  threads=threads, progress=progress, log=log)
        rerun = load_results(folder, keys=[s.key for s in specs]).reset_index(drop=True)
    return Reproduction(
        results=str(results), harness_version=__version__, random_seed=random_seed,
        requested=sample, candidates=len(pool), keys=keys, stored=stored, rerun=rerun,
        drift=drift_table(stored, rerun), into=None if into is None else str(into), notes=notes)


def _check_into(into: Path, results: Path) -> None:
    """``into`` must be a new or empty folder outside the results folder."""
    resolved, source = into.resolve(), results.resolve()
    if resolved == source or source in resolved.parents:
        raise UsageError(f"--into {str(into)!r} is inside the results folder {str(results)!r}; "
                         f"reproduce never writes there: give another folder")
    if into.exists() and not into.is_dir():
        raise UsageError(f"--into {str(into)!r} is a file; give a new or empty folder")
    if into.is_dir() and any(into.glob("*.parquet")):
        raise UsageError(f"--into {str(into)!r} already holds records; give a new or empty "
                         f"folder (stored re-runs would be reused, not re-run)")


@contextlib.contextmanager
def _scratch(into: str | Path | None) -> Iterator[str]:
    """A temporary folder removed on exit, or the kept ``into`` folder."""
    if into is not None:
        yield str(into)
        return
    with tempfile.TemporaryDirectory(prefix="lossbench-reproduce-") as folder:
        yield folder
