"""Judging the findings a suite declares itself (``Suite.findings``) on the stored records.

The built-in suites are judged against the pre-registered catalog instead (:mod:`lossbench.catalog`,
:mod:`lossbench.validity`), which states each source's setting and every metric it reports and is
judged on confirmation seeds. A third-party suite may still declare the published results its
tasks should reproduce (:class:`~lossbench.suites.declared_findings.Finding`): entry A beats
entry B on a metric of a task, or one metric of entry A beats another of its metrics.
:func:`check_findings` checks the declarations against the registered entries and metrics.

:func:`evaluate` judges each finding on the stored records, and only on comparable runs
(:mod:`lossbench.comparable_runs`): the task's current version (the newest stored one when the
suite's version is not given), default-recipe runs, each entry with its card's default
hyperparameters (untuned rows), status ``ok``. A and B are paired by seed over the seeds both
have; the difference is signed so that a positive value is the published direction
(:func:`claim_sign`: ``b − a`` for a lower-is-better metric such as ECE); its mean gets a
two-sided 95 % Student-t interval, and the verdict (:func:`verdict`) is

- ``reproduced``: the interval lies above 0;
- ``inverted``: the interval lies below 0 (the task ranks the pair the other way round);
- ``unresolved``: the interval contains 0;
- ``missing``: fewer than ``min_seeds`` shared seeds (5 by default); the result then carries the
  ``lossbench run`` command that produces the missing runs.

Everything here is light (no torch): declarations come from the suites' metadata
(:func:`lossbench.suites.description.suite_info`, cached), records from
:func:`lossbench.store.load_results`. The text ``lossbench validate`` prints is
:mod:`lossbench.findings_text`; the leaderboard's section, :mod:`lossbench.report.catalog_section`.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .comparable_runs import DEFAULT_OPTIONS, card_defaults, side_values
from .errors import UsageError, unknown_value
from .interval_text import plus_minus
from .plan import DEFAULT_SEEDS
from .suites.declared_findings import EntryRef, Finding, FindingError

if TYPE_CHECKING:
    import pandas as pd

#: Seeds a finding needs (shared by A and B, status ok) before it gets a verdict: the seeds a
#: default ``lossbench run`` gives (:data:`lossbench.plan.DEFAULT_SEEDS`).
DEFAULT_MIN_SEEDS = DEFAULT_SEEDS
CONFIDENCE = 0.95
VERDICTS = ("reproduced", "unresolved", "inverted", "missing")


# ---------------------------------------------------------------- the claimed direction

def claim_higher(f: Finding) -> bool:
    """Whether the published claim is that A's value is the higher one: ``higher_is_better``
    when the finding says it, else the metric's declared direction
    (:data:`lossbench.metrics.METRICS`)."""
    if f.higher_is_better is not None:
        return f.higher_is_better
    from .metrics import metric_info

    return metric_info(f.metric).higher_is_better


def claim_sign(f: Finding) -> float:
    """+1 when the claim is "A higher", −1 when it is "A lower": ``sign · (A − B)`` is
    positive exactly when the records agree with the publication."""
    return 1.0 if claim_higher(f) else -1.0


def compared_text(f: Finding) -> str:
    """The compared quantity: the metric, or ``metric − metric_b`` for a same-entry finding,
    with the published direction (``↑``: A higher, ``↓``: A lower)."""
    arrow = "↑" if claim_higher(f) else "↓"
    if f.b is not None:
        return f"{f.metric} {arrow}"
    return f"{f.metric} − {f.metric_b} {arrow}"


def check_findings(suite: str, findings: Iterable[Finding], tasks: Iterable[str],
                   losses: Iterable[str] | None = None,
                   regularizers: Iterable[str] | None = None,
                   metrics: Iterable[str] | None = None) -> None:
    """Raise :class:`FindingError` for the first finding of ``suite`` that names an unknown task
    (not in ``tasks``), metric (not in :data:`~lossbench.metrics.METRICS`), loss or regularizer
    (not registered), or repeats an id; the message names the value and the valid choices.

    ``losses``, ``regularizers`` and ``metrics`` default to the registered / declared names.
    """
    if losses is None or regularizers is None:
        from .registry import LOSSES, REGULARIZERS

        losses = LOSSES.names() if losses is None else losses
        regularizers = REGULARIZERS.names() if regularizers is None else regularizers
    if metrics is None:
        from .metrics import METRICS

        metrics = METRICS
    tasks, losses, regularizers, metrics = (set(tasks), set(losses), set(regularizers),
                                            set(metrics))
    seen: set[str] = set()
    for f in findings:
        if not isinstance(f, Finding):
            raise FindingError(f"suite {suite!r}: findings must be Finding objects, got "
                               f"{type(f).__name__} {f!r}")
        where = f"finding {f.id!r} of suite {suite!r}"
        if f.id in seen:
            raise FindingError(f"{where}: the id is declared twice")
        seen.add(f.id)
        if f.task not in tasks:
            raise FindingError(f"{where}: {unknown_value('task', f.task, tasks)}")
        for m in (f.metric, f.metric_b):
            if m is not None and m not in metrics:
                raise FindingError(f"{where}: {unknown_value('metric', m, metrics)}")
        for ref in f.entries():
            if ref.loss not in losses:
                raise FindingError(f"{where}: {unknown_value('loss', ref.loss, losses)}")
            if ref.regularizer is not None and ref.regularizer not in regularizers:
                raise FindingError(
                    f"{where}: {unknown_value('regularizer', ref.regularizer, regularizers)}")
        if f.same_entry and f.higher_is_better is None:
            from .metrics import metric_info

            if metric_info(f.metric).higher_is_better != metric_info(f.metric_b).higher_is_better:
                raise FindingError(
                    f"{where}: {f.metric!r} and {f.metric_b!r} have opposite directions; say "
                    f"which way the claim goes with higher_is_better=True or False")


# ---------------------------------------------------------------- evaluation

#: The keys of :meth:`FindingResult.to_dict`: the columns of :func:`lossbench.validate`.
RESULT_COLUMNS = ("suite", "id", "task", "task_version", "metric", "metric_b", "a", "b", "higher",
                  "n", "seeds", "mean_a", "mean_b", "diff", "low", "high", "confidence",
                  "verdict", "failed_a", "failed_b", "command", "note", "claim", "published",
                  "source")


@dataclass(frozen=True)
class FindingResult:
    """A finding judged on the records.

    ``diff`` is the mean over the ``n`` shared seeds of ``sign · (A − B)`` (positive = the
    published direction), ``low``/``high`` its two-sided interval, ``mean_a``/``mean_b`` each
    side's mean over those seeds (for a same-entry finding: A's ``metric`` and ``metric_b``).
    ``failed_a``/``failed_b`` count the comparable runs whose status is not ``ok`` (``failed_b``
    is 0 for a same-entry finding). ``command`` is the ``lossbench run`` command that produces
    the missing runs (``missing`` only); ``note`` says why nothing could be compared.
    """

    suite: str
    finding: Finding
    task_version: str | None
    n: int
    seeds: tuple[int, ...]
    mean_a: float
    mean_b: float
    diff: float
    half: float
    verdict: str
    failed_a: int
    failed_b: int
    command: str | None = None
    note: str = ""
    confidence: float = CONFIDENCE

    @property
    def low(self) -> float:
        return self.diff - self.half

    @property
    def high(self) -> float:
        return self.diff + self.half

    def diff_text(self, digits: int = 4) -> str:
        """``+0.0312 ± 0.0120`` (``–`` without any shared seed)."""
        return plus_minus(self.diff, self.half, digits, signed=True)

    def to_dict(self) -> dict[str, Any]:
        """One flat row (what :func:`lossbench.validate` returns per finding)."""
        f = self.finding
        return {
            "suite": self.suite, "id": f.id, "task": f.task, "task_version": self.task_version,
            "metric": f.metric, "metric_b": f.metric_b, "a": f.a.label,
            "b": None if f.b is None else f.b.label, "higher": claim_higher(f), "n": self.n,
            "seeds": list(self.seeds), "mean_a": self.mean_a, "mean_b": self.mean_b,
            "diff": self.diff, "low": self.low, "high": self.high, "confidence": self.confidence,
            "verdict": self.verdict, "failed_a": self.failed_a, "failed_b": self.failed_b,
            "command": self.command, "note": self.note, "claim": f.claim,
            "published": f.published, "source": f.source,
        }


def verdict(n: int, diff: float, half: float, min_seeds: int) -> str:
    """``missing`` below ``min_seeds`` shared seeds, else where the interval ``diff ± half``
    lies (:func:`lossbench.aggregate.interval_side`): above 0 ``reproduced``, below 0
    ``inverted``, around 0 ``unresolved``."""
    from .aggregate import interval_side

    if n < min_seeds:
        return "missing"
    return {1: "reproduced", -1: "inverted", 0: "unresolved"}[interval_side(diff, half)]


def run_command(suite: str, task: str, entries: Sequence[EntryRef], seeds: int,
                retry_failed: bool = False, results: str | None = None) -> str:
    """The ``lossbench run`` command that runs exactly ``entries`` (default recipe and
    hyperparameters) on ``suite/task`` for seeds ``0..seeds-1``.

    Entries without a regularizer and entries with one cannot always share one command (the CLI
    runs every named loss with every named regularizer), so the command names the losses once per
    regularizer group; entries whose losses are identical share it (``--regularizer elr
    --regularizer none``). Several groups are joined with ``&&``.
    """
    by_reg: dict[str | None, list[str]] = {}
    for e in entries:
        losses = by_reg.setdefault(e.regularizer, [])
        if e.loss not in losses:
            losses.append(e.loss)
    groups: dict[tuple[str, ...], list[str | None]] = {}
    for reg, losses in by_reg.items():
        groups.setdefault(tuple(losses), []).append(reg)
    commands = []
    for losses, regs in groups.items():
        words = ["lossbench", "run", "--suite", suite, "--task", task]
        for loss in losses:
            words += ["--loss", loss]
        if regs != [None]:
            for reg in regs:
                words += ["--regularizer", "none" if reg is None else reg]
        words += ["--seeds", str(seeds)]
        if retry_failed:
            words.append("--retry-failed")
        if results is not None and str(results) != "results":
            words += ["--results", str(results)]
        commands.append(" ".join(shlex.quote(w) for w in words))
    return " && ".join(commands)


def evaluate(runs: pd.DataFrame, suite: str, findings: Iterable[Finding], *,
             task_versions: Mapping[str, str] | None = None,
             min_seeds: int = DEFAULT_MIN_SEEDS, confidence: float = CONFIDENCE,
             defaults: Callable[[str, str], Mapping[str, Any] | None] = card_defaults,
             results: str | None = None) -> list[FindingResult]:
    """Judge ``findings`` of ``suite`` on ``runs`` (the wide records DataFrame of
    :func:`lossbench.load_results`). Pure apart from ``defaults``, which reads the cards.

    ``task_versions`` maps a task to the version to judge (the suite's current one); a task not
    in it is judged on its newest stored version. ``results`` only goes into the printed command
    (``--results DIR``).
    """
    from . import aggregate as agg
    from .versions import version_key

    if isinstance(min_seeds, bool) or not isinstance(min_seeds, int) or min_seeds < 2:
        raise UsageError(f"min_seeds must be an integer >= 2 (an interval needs two seeds), got "
                         f"{min_seeds!r}")
    if not 0 < confidence < 1:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence!r}")
    task_versions = dict(task_versions or {})
    out = []
    for f in findings:
        rows = runs[(runs["suite"] == suite) & (runs["task"] == f.task)] if len(runs) else runs
        rows = rows[rows["options"] == DEFAULT_OPTIONS] if len(rows) else rows
        version = task_versions.get(f.task)
        if version is None and len(rows):
            version = max((str(v) for v in rows["task_version"]), key=version_key)
        if len(rows):
            rows = rows[rows["task_version"].astype(str) == str(version)]
        metric_b = f.metric if f.b is not None else f.metric_b
        side_a = side_values(rows, f.a, [f.metric, metric_b], defaults)
        side_b = side_a if f.b is None else side_values(rows, f.b, [metric_b], defaults)
        x, y = side_a.values[f.metric], side_b.values[metric_b]
        seeds, d = agg.paired_differences(x, y)
        d = claim_sign(f) * d
        diff, half = agg.mean_ci(d, confidence)
        mean_a = float(sum(x[s] for s in seeds) / len(seeds)) if seeds else math.nan
        mean_b = float(sum(y[s] for s in seeds) / len(seeds)) if seeds else math.nan
        n = len(seeds)
        judged = verdict(n, diff, half, min_seeds)
        command = None
        if judged == "missing":
            wanted = set(range(min_seeds))
            sides = [(f.a, side_a, [f.metric, metric_b])]
            if f.b is not None:
                sides = [(f.a, side_a, [f.metric]), (f.b, side_b, [metric_b])]
            short = [(ref, side) for ref, side, ms in sides
                     if not all(wanted <= set(side.values[m]) for m in ms)]
            retry = any(side.failed_seeds & wanted for _, side in short)
            command = run_command(suite, f.task, [ref for ref, _ in short], min_seeds,
                                  retry_failed=retry, results=results)
        note = side_a.note or ("" if f.b is None else side_b.note)
        out.append(FindingResult(
            suite, f, None if version is None else str(version), n, tuple(seeds), mean_a,
            mean_b, diff, half, judged, side_a.failed, 0 if f.b is None else side_b.failed,
            command, note, confidence))
    return out


# ---------------------------------------------------------------- the registered suites

@dataclass(frozen=True)
class SuiteFindings:
    """The findings a registered suite declares, with its tasks' current versions."""

    suite: str
    findings: tuple[Finding, ...]
    task_versions: dict[str, str]


def suite_findings(suites: Sequence[str] | None = None, check: bool = True,
                   log: Callable[[str], None] | None = None) -> list[SuiteFindings]:
    """The findings of the named suites (default: every registered suite), read from the suites'
    cached metadata and checked with :func:`check_findings` unless ``check`` is False.

    An unknown suite name is a :class:`UsageError`; a named suite that fails to load is one too,
    an unnamed one is reported through ``log`` and left out.
    """
    from .errors import EntryLoadError
    from .registry import SUITES
    from .suites.description import suite_info

    names = list(dict.fromkeys(suites)) if suites else SUITES.names()
    out = []
    for name in names:
        SUITES.get(name)  # UsageError naming the valid suites
        try:
            info = suite_info(name)
        except EntryLoadError as exc:
            if suites:
                raise UsageError(str(exc)) from None
            if log is not None:
                log(f"skipped suite {name}: {exc}")
            continue
        if check:
            check_findings(name, info.findings, info.tasks)
        out.append(SuiteFindings(name, tuple(info.findings),
                                 {t.name: str(t.version) for t in info.tasks.values()}))
    return out


def validate(results: str = "results", suites: Sequence[str] | None = None,
             min_seeds: int = DEFAULT_MIN_SEEDS, confidence: float = CONFIDENCE,
             runs: pd.DataFrame | None = None,
             log: Callable[[str], None] | None = None) -> list[FindingResult]:
    """Check the declarations of the selected suites, then judge every finding on the records in
    ``results`` (or on ``runs``, a wide records DataFrame, when given)."""
    from .store import load_results

    declared = suite_findings(suites, check=True, log=log)
    if runs is None:
        runs = load_results(results, wide=True)
    out = []
    for s in declared:
        out += evaluate(runs, s.suite, s.findings, task_versions=s.task_versions,
                        min_seeds=min_seeds, confidence=confidence, results=str(results))
    return out
