"""Findings a suite declares itself: what its tasks must reproduce to count as a proxy.

The built-in suites are judged against the pre-registered catalog instead (:mod:`lossbench.catalog`,
:mod:`lossbench.validity`), which states each source's setting and every metric it reports and is
judged on confirmation seeds. A third-party suite may still declare the published results its
tasks should reproduce (``Suite.findings``): entry A beats entry B on a metric of a task — or, for
a *same-entry* finding, one metric of entry A beats another of its metrics (cross-entropy's
best-validation accuracy above its last-epoch accuracy) — with the paper, table and numbers it
comes from. The entry references (:class:`EntryRef`) and the comparable-runs reader
(:func:`side_values`) serve the catalog too.

:func:`evaluate` judges each finding on the stored records, and only on comparable runs: the
task's current version (the newest stored one when the suite's version is not given),
default-recipe runs (empty spec ``options``), each entry with its card's default hyperparameters
(untuned rows), status ``ok``. A and B are paired by seed over the seeds both have; the
difference is signed so that a positive value is the published direction (``b − a`` for a
lower-is-better metric such as ECE); its mean gets a two-sided 95 % Student-t interval, and the
verdict is

- ``reproduced``: the interval lies above 0;
- ``inverted``: the interval lies below 0 (the task ranks the pair the other way round);
- ``unresolved``: the interval contains 0;
- ``missing``: fewer than ``min_seeds`` shared seeds (5 by default); the result then carries the
  ``lossbench run`` command that produces the missing runs.

Everything here is light (no torch): declarations come from the suites' metadata
(:func:`lossbench.plan.suite_info`, cached), records from :func:`lossbench.store.load_results`.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError, unknown_value
from .interval_text import plus_minus

if TYPE_CHECKING:
    import pandas as pd

#: Seeds a finding needs (shared by A and B, status ok) before it gets a verdict; also the
#: default of ``lossbench run --seeds`` (see :data:`lossbench.plan.DEFAULT_SEEDS`).
DEFAULT_MIN_SEEDS = 5
CONFIDENCE = 0.95
VERDICTS = ("reproduced", "unresolved", "inverted", "missing")
DEFAULT_OPTIONS = "{}"  # canonical JSON of a default-recipe run's spec options

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class FindingError(UsageError):
    """A finding is declared wrongly (unknown entry, metric or task; inconsistent fields)."""


# ---------------------------------------------------------------- declarations

@dataclass(frozen=True)
class EntryRef:
    """An entry a finding names: a loss, optionally combined with a regularizer."""

    loss: str
    regularizer: str | None = None

    @property
    def label(self) -> str:
        """``loss`` or ``loss + regularizer`` (the leaderboard's row label)."""
        return self.loss if self.regularizer is None else f"{self.loss} + {self.regularizer}"

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, text: str) -> EntryRef:
        """``"gce"`` or ``"cross_entropy + elr"`` (the inverse of :attr:`label`)."""
        parts = [p.strip() for p in str(text).split("+")]
        if len(parts) > 2 or not all(parts):
            raise FindingError(f"bad entry {text!r}: expected 'loss' or 'loss + regularizer'")
        return cls(parts[0], parts[1] if len(parts) == 2 else None)

    def to_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "regularizer": self.regularizer}


def _entry(value: EntryRef | str | Mapping[str, Any] | None) -> EntryRef | None:
    if value is None or isinstance(value, EntryRef):
        return value
    if isinstance(value, str):
        return EntryRef.parse(value)
    return EntryRef(value["loss"], value.get("regularizer"))


@dataclass(frozen=True)
class Finding:
    """One published result an embedded task should reproduce.

    ``a`` is claimed to beat ``b`` on ``metric`` of ``task`` (a task of the declaring suite). With
    ``b=None`` the finding compares two metrics of the same entry: ``a``'s ``metric`` against its
    ``metric_b``. The claimed direction is "better" by the metric's declared direction
    (:data:`lossbench.metrics.METRICS`) unless ``higher_is_better`` says it explicitly (True: A's
    value is claimed to be the higher one). ``source`` names the paper and table, ``published``
    the published numbers as text, ``claim`` says it in one sentence. Entries may be given as
    :class:`EntryRef` or as text (``"cross_entropy + elr"``).
    """

    id: str
    task: str
    metric: str
    a: EntryRef
    b: EntryRef | None
    source: str
    published: str
    claim: str
    metric_b: str | None = None
    higher_is_better: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", _entry(self.a))
        object.__setattr__(self, "b", _entry(self.b))
        if not isinstance(self.id, str) or not _SLUG.match(self.id):
            raise FindingError(f"bad finding id {self.id!r}: use a short slug of lower-case "
                               f"letters, digits, '-', '_' or '.'")
        where = f"finding {self.id!r}"
        if self.a is None:
            raise FindingError(f"{where}: entry a is required")
        for name in ("task", "metric", "source", "published", "claim"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise FindingError(f"{where}: {name} must be a non-empty string, got {value!r}")
        if self.b is None and self.metric_b is None:
            raise FindingError(
                f"{where}: b is None (a same-entry finding) but metric_b is not given: name the "
                f"second metric of {self.a.label!r} to compare {self.metric!r} against, or give "
                f"b, the entry {self.a.label!r} is compared with")
        if self.b is not None and self.metric_b is not None:
            raise FindingError(
                f"{where}: metric_b={self.metric_b!r} is only for same-entry findings (b=None); "
                f"a finding with b compares both entries on metric {self.metric!r}")
        if self.b == self.a:
            raise FindingError(f"{where}: a and b are the same entry {self.a.label!r}; for two "
                               f"metrics of one entry set b=None and metric_b")
        if self.b is None and self.metric_b == self.metric:
            raise FindingError(f"{where}: metric_b {self.metric_b!r} equals metric")
        if self.higher_is_better is not None and not isinstance(self.higher_is_better, bool):
            raise FindingError(f"{where}: higher_is_better must be True, False or None, got "
                               f"{self.higher_is_better!r}")

    @property
    def same_entry(self) -> bool:
        return self.b is None

    @property
    def higher(self) -> bool:
        """Whether the published claim is that A's value is the higher one."""
        if self.higher_is_better is not None:
            return self.higher_is_better
        from .metrics import metric_info

        return metric_info(self.metric).higher_is_better

    @property
    def sign(self) -> float:
        """+1 when the claim is "A higher", −1 when it is "A lower": ``sign · (A − B)`` is
        positive exactly when the records agree with the publication."""
        return 1.0 if self.higher else -1.0

    @property
    def versus(self) -> str:
        """``"gce vs cross_entropy"``, or ``"cross_entropy: top1_best_val vs top1"``."""
        if self.b is None:
            return f"{self.a.label}: {self.metric} vs {self.metric_b}"
        return f"{self.a.label} vs {self.b.label}"

    @property
    def compared(self) -> str:
        """The compared quantity: the metric, or ``metric − metric_b`` for a same-entry finding,
        with the published direction (``↑``: A higher, ``↓``: A lower)."""
        arrow = "↑" if self.higher else "↓"
        if self.b is not None:
            return f"{self.metric} {arrow}"
        return f"{self.metric} − {self.metric_b} {arrow}"

    def entries(self) -> list[EntryRef]:
        return [self.a] if self.b is None else [self.a, self.b]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "metric": self.metric,
                "a": self.a.to_dict(), "b": None if self.b is None else self.b.to_dict(),
                "metric_b": self.metric_b, "higher_is_better": self.higher_is_better,
                "source": self.source, "published": self.published, "claim": self.claim}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        """The inverse of :meth:`to_dict`."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


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
            "b": None if f.b is None else f.b.label, "higher": f.higher, "n": self.n,
            "seeds": list(self.seeds), "mean_a": self.mean_a, "mean_b": self.mean_b,
            "diff": self.diff, "low": self.low, "high": self.high, "confidence": self.confidence,
            "verdict": self.verdict, "failed_a": self.failed_a, "failed_b": self.failed_b,
            "command": self.command, "note": self.note, "claim": f.claim,
            "published": f.published, "source": f.source,
        }


def card_defaults(kind: str, name: str) -> dict[str, Any] | None:
    """The card's default hyperparameters of a registered loss or regularizer; None when the
    entry is not registered or its card cannot be read (its stored runs stay readable)."""
    from .registry import registry_for

    try:
        return dict(registry_for(kind).card(name).hparams)
    except Exception:  # noqa: BLE001 - a plugin that no longer loads still has stored results
        return None


def _hparams(text: Any) -> dict[str, Any]:
    from .store import is_missing

    return {} if is_missing(text) or not text else json.loads(text)


@dataclass
class _Side:
    """The comparable runs of one entry: values by seed (ok, metric recorded) and failures."""

    values: dict[str, dict[int, float]] = field(default_factory=dict)  # metric -> seed -> value
    ok_seeds: set[int] = field(default_factory=set)
    failed_seeds: set[int] = field(default_factory=set)
    failed: int = 0
    note: str = ""


def side_values(runs: pd.DataFrame, ref: EntryRef, metrics: Sequence[str],
                defaults: Callable[[str, str], Mapping[str, Any] | None]) -> _Side:
    """The comparable runs of ``ref`` in ``runs`` (one task's rows): its records whose stored
    hyperparameters equal ``defaults(kind, name)`` for the loss and the regularizer, one per
    seed (the newest start wins), values of ``metrics`` by seed from the ``ok`` ones."""
    from .store import is_missing

    side = _Side()
    loss_default = defaults("loss", ref.loss)
    reg_default = {} if ref.regularizer is None else defaults("regularizer", ref.regularizer)
    if loss_default is None or reg_default is None:
        side.values = {m: {} for m in metrics}
        bad = ref.loss if loss_default is None else ref.regularizer
        if len(runs) and (runs["loss"] == bad).any() | (runs["regularizer"] == bad).any():
            side.note = f"the card of {bad!r} cannot be read, so its default hyperparameters " \
                        f"are unknown"
        return side  # an entry without records (or card): nothing to compare, missing
    reg = runs["regularizer"]
    same_reg = reg.map(is_missing) if ref.regularizer is None else reg == ref.regularizer
    rows = runs[(runs["loss"] == ref.loss) & same_reg.astype(bool)]
    if len(rows):
        rows = rows[rows["loss_hparams"].map(lambda t: _hparams(t) == dict(loss_default))]
    if len(rows):
        rows = rows[rows["regularizer_hparams"].map(lambda t: _hparams(t) == dict(reg_default))]
    # one run per seed: a re-run under another harness version has another spec key; the newest
    # start wins
    rows = rows.sort_values(["started_at", "spec_key"], kind="stable", na_position="first")
    ok = rows[rows["status"] == "ok"]
    side.failed = int((rows["status"] != "ok").sum())
    side.ok_seeds = {int(s) for s in ok["seed"]}
    side.failed_seeds = {int(s) for s in rows.loc[rows["status"] != "ok", "seed"]} - side.ok_seeds
    for m in metrics:
        vals: dict[int, float] = {}
        if m in ok.columns:
            for s, v in zip(ok["seed"], ok[m], strict=True):
                if not is_missing(v):
                    vals[int(s)] = float(v)
        side.values[m] = vals
        if side.ok_seeds and not vals:
            side.note = f"{ref.label}'s ok runs do not record {m!r}"
    return side


def _verdict(n: int, low: float, high: float, min_seeds: int) -> str:
    if n < min_seeds:
        return "missing"
    if low > 0:
        return "reproduced"
    if high < 0:
        return "inverted"
    return "unresolved"


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
    from .store import version_key

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
        d = f.sign * d
        diff, half = agg.mean_ci(d, confidence)
        mean_a = float(sum(x[s] for s in seeds) / len(seeds)) if seeds else math.nan
        mean_b = float(sum(y[s] for s in seeds) / len(seeds)) if seeds else math.nan
        n = len(seeds)
        low, high = diff - half, diff + half
        verdict = _verdict(n, low, high, min_seeds)
        command = None
        if verdict == "missing":
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
            mean_b, diff, half, verdict, side_a.failed, 0 if f.b is None else side_b.failed,
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
    from .plan import suite_info
    from .registry import SUITES

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


# ---------------------------------------------------------------- rendering

def summary_line(results: Sequence[FindingResult]) -> str:
    """``3 of 9 published findings reproduced (2 unresolved, 1 inverted, 3 missing)``."""
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    rest = ", ".join(f"{counts[v]} {v}" for v in VERDICTS[1:] if counts[v])
    text = f"{counts['reproduced']} of {len(results)} published findings reproduced"
    return f"{text} ({rest})" if rest else text


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g} %"


def _failed_text(r: FindingResult) -> str:
    return str(r.failed_a) if r.finding.same_entry else f"{r.failed_a} / {r.failed_b}"


def _task_text(r: FindingResult) -> str:
    version = f" v{r.task_version}" if r.task_version is not None else ""
    return f"{r.suite}/{r.finding.task}{version}"


def _verdict_text(r: FindingResult, min_seeds: int | None = None) -> str:
    if r.verdict == "missing" and min_seeds is not None:
        return f"missing ({r.n} of {min_seeds} seeds)"
    return r.verdict


def table_rows(results: Sequence[FindingResult], min_seeds: int) -> list[dict[str, str]]:
    """The rows of ``lossbench validate``'s table."""
    return [{
        "finding": r.finding.id,
        "task": _task_text(r),
        "metric": r.finding.compared,
        "A vs B": r.finding.versus,
        "n": str(r.n),
        f"diff ± {_pct(r.confidence)}": r.diff_text(),
        "verdict": _verdict_text(r, min_seeds),
        "failed A / B": _failed_text(r),
        "source": r.finding.source,
    } for r in results]


def render_text(results: Sequence[FindingResult], min_seeds: int = DEFAULT_MIN_SEEDS) -> str:
    """What ``lossbench validate`` prints: the table, the summary line, the commands that would
    produce the missing runs, and notes."""
    from tabulate import tabulate

    if not results:
        return "no published findings are declared by the selected suites"
    lines = [tabulate(table_rows(results, min_seeds), headers="keys", tablefmt="simple",
                      disable_numparse=True), "",
             summary_line(results) + ".",
             "diff: mean over the shared seeds of A − B signed so that positive = the published "
             "direction (metric ↑: A higher, ↓: A lower), ± the half-width of its two-sided "
             "Student-t interval; reproduced / inverted = the interval lies above / below 0."]
    missing = [r for r in results if r.command]
    if missing:
        lines += ["", f"Missing runs (fewer than {min_seeds} shared ok seeds):"]
        lines += [f"  {r.finding.id}: {r.command}" for r in missing]
    notes = [r for r in results if r.note]
    if notes:
        lines += [""] + [f"note: {r.finding.id}: {r.note}" for r in notes]
    return "\n".join(lines)


def md_escape(text: Any) -> str:
    """Text safe inside a markdown table cell and in HTML: the leaderboard's one escaping rule
    (:func:`lossbench.report.md_text`), since a third-party suite's findings are plugin text."""
    from .report.markdown import md_text

    return md_text(text)


LEADERBOARD_TITLE = "### Findings declared by the suites themselves"


def stored_declarations(runs: pd.DataFrame) -> list[SuiteFindings]:
    """The findings the records themselves state (each record's ``task_json``, written at run
    time: see :mod:`lossbench.record_meta`): per suite, the declarations stored by its newest
    default-recipe record, judged on each task's newest stored version. What is installed now
    plays no part."""
    from .store import version_key

    if "task_json" not in runs or not len(runs):
        return []
    rows = runs[runs["options"] == DEFAULT_OPTIONS]
    newest_meta: dict[str, tuple[str, str]] = {}  # suite -> (started, task_json)
    versions: dict[str, dict[str, str]] = {}
    for suite, task, version, text, started in zip(
            rows["suite"], rows["task"], rows["task_version"].astype(str), rows["task_json"],
            rows["started_at"].fillna(""), strict=True):
        known = versions.setdefault(suite, {})
        if task not in known or version_key(version) > version_key(known[task]):
            known[task] = version
        if isinstance(text, str) and text and (suite not in newest_meta
                                               or str(started) >= newest_meta[suite][0]):
            newest_meta[suite] = (str(started), text)
    out = []
    for suite, (_, text) in sorted(newest_meta.items()):
        try:
            declared = tuple(Finding.from_dict(f) for f in json.loads(text).get("findings") or [])
        except (ValueError, TypeError, KeyError, AttributeError, UsageError):
            continue  # a record with unreadable metadata declares nothing
        if declared:
            out.append(SuiteFindings(suite, declared, versions.get(suite, {})))
    return out


def stored_card_defaults(runs: pd.DataFrame) -> Callable[[str, str], Mapping[str, Any] | None]:
    """``defaults(kind, name)`` read from the cards the records stored (``card_json``; the newest
    record of the entry wins), for :func:`evaluate`: the live registry plays no part."""
    found: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    if "card_json" in runs:
        for text, started in zip(runs["card_json"], runs["started_at"].fillna(""), strict=True):
            if not isinstance(text, str) or not text:
                continue
            try:
                cards = json.loads(text)
            except ValueError:
                continue
            for kind in ("loss", "regularizer"):
                card = cards.get(kind) if isinstance(cards, dict) else None
                if isinstance(card, dict) and "name" in card:
                    key = (kind, str(card["name"]))
                    if key not in found or str(started) >= found[key][0]:
                        found[key] = (str(started), dict(card.get("hparams") or {}))

    def defaults(kind: str, name: str) -> Mapping[str, Any] | None:
        hit = found.get((kind, name))
        return None if hit is None else hit[1]

    return defaults


def leaderboard_section(runs: pd.DataFrame, min_seeds: int = DEFAULT_MIN_SEEDS) -> str:
    """The leaderboard's findings section: the summary line and one row per finding the records
    declare (:func:`stored_declarations`) with its verdict, difference ± interval, seeds and
    source; card defaults come from the stored cards (:func:`stored_card_defaults`)."""
    try:
        defaults = stored_card_defaults(runs)
        results = []
        for s in stored_declarations(runs):
            results += evaluate(runs, s.suite, s.findings, task_versions=s.task_versions,
                                min_seeds=min_seeds, defaults=defaults)
    except UsageError as exc:  # a wrong declaration is shown, not hidden
        return f"\n{LEADERBOARD_TITLE}\n\n_The findings could not be checked: " \
               f"{md_escape(exc)}_\n"
    if not results:
        return ""  # no suite declares findings of its own (the catalog is judged apart)
    from tabulate import tabulate

    rows = [{
        "verdict": _verdict_text(r, min_seeds),
        "finding": md_escape(r.finding.claim),
        "task": md_escape(_task_text(r)),
        "compared": md_escape(f"{r.finding.versus} ({r.finding.compared})"),
        f"diff ± {_pct(r.confidence)} CI": md_escape(r.diff_text()),
        "n": str(r.n),
        "published": md_escape(r.finding.published),
        "source": md_escape(r.finding.source),
    } for r in results]
    table = tabulate(rows, headers="keys", tablefmt="github", disable_numparse=True)
    return "\n".join([
        f"\n{LEADERBOARD_TITLE}\n",
        f"**{summary_line(results)}.** A suite (a third-party one, typically) may declare "
        f"published results its tasks should reproduce (`Suite.findings`); each is judged "
        f"on the current task version's default-recipe runs "
        f"with card-default hyperparameters: diff = mean over the seeds both sides share of "
        f"A − B, signed so that positive = the published direction, ± the half-width of its "
        f"two-sided {_pct(CONFIDENCE)} Student-t interval; *reproduced* / *inverted* = the "
        f"interval lies above / below 0, *missing* = fewer than {min_seeds} shared seeds. "
        f"`lossbench validate` prints the same, with the commands that produce missing runs.\n",
        table,
        "",
    ])
