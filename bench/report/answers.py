"""Per-suite answers: which entries beat the baseline on the question a suite asks.

The summary opens with one block per question — long-tailed data, noisy labels,
out-of-distribution detection, calibration, clean accuracy, retrieval — listing the entries that
are *significantly* better than the question's baseline on its metric, each with its gain, the
gain's 95 % interval and its calibration (ECE raw and after temperature scaling), so that an
accuracy leader cannot hide a poor calibration.

The test, per question: for every entry of the question's objective, its best validated
configuration on each of the suite's tasks (:func:`.configs.best_validated`: tuned where tuning
ran, else card defaults) is paired with the baseline's by ``(task, seed)`` over the seeds both
ran; the differences ``sign · (entry − baseline)`` (positive = better in the metric's direction)
are pooled over the tasks and tested with a two-sided paired t-test
(:func:`lossbench.aggregate.t_pvalue`, as ``scipy.stats.ttest_rel``); the p-values of all the
entries compared on the question are Holm-adjusted (:func:`lossbench.aggregate.holm`), and an
entry is *better* when its adjusted p is below α = 0.05 and its mean difference is positive.
The family-wise error rate is thus at most 5 % per question. The board's seeds are the design
seeds: the confirmation seeds are held out before the model is built
(:func:`.validity.split_confirmation`).

Retrieval compares embedding losses with ``triplet_semihard`` — the metric-learning literature's
baseline (Musgrave et al., *A Metric Learning Reality Check*, ECCV 2020, arXiv:2003.08505) —
rather than with cross-entropy, whose MAP@R is read from a classifier's penultimate features.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import aggregate as agg
from ..findings import CONFIDENCE
from ..plan import BASELINE_LOSS
from .boards import TaskBoard, newest_boards
from .configs import Config, best_validated, unpublished
from .groups import ALPHA
from .stored_metadata import higher_is_better, objective_of

#: the calibration metrics shown beside every gain: raw ECE and ECE after temperature scaling
ECE, ECE_TS = "ece", "ece_ts"


@dataclass(frozen=True)
class Question:
    """What a block of the summary answers: entries of ``objective`` against ``baseline`` on
    ``metric`` (None: the suite's primary metric) over the tasks of ``suite``."""

    title: str
    suite: str
    metric: str | None = None
    baseline: str = BASELINE_LOSS
    objective: str = "classification"
    #: one line on how to read the block (which metric, why this baseline)
    note: str = ""


#: the questions of the shipped suites, in the order the summary shows them; a suite without one
#: gets a question on its primary metric against cross-entropy (:func:`questions`)
QUESTIONS: tuple[Question, ...] = (
    Question("Long-tailed (imbalanced) data", "imbalanced"),
    Question("Noisy labels", "noisy"),
    Question("Out-of-distribution detection", "ood"),
    Question("Calibration, raw (before temperature scaling)", "standard", ECE,
             note="ECE of the trained model as it is"),
    Question("Calibration after temperature scaling", "standard", ECE_TS,
             note="ECE once a temperature is fitted on the validation split (`ece_ts`): what "
                  "is left after the usual post-hoc fix"),
    Question("Clean data: accuracy", "standard"),
    Question("Retrieval (metric learning)", "metric_learning", baseline="triplet_semihard",
             objective="embedding",
             note="embedding losses against `triplet_semihard`, the metric-learning "
                  "literature's baseline (Musgrave et al. 2020), not against cross-entropy"),
)


@dataclass
class Gain:
    """One entry against the question's baseline, paired over ``(task, seed)``."""

    entry: str
    tasks: int  # tasks paired
    n: int  # (task, seed) pairs
    mean: float  # mean of sign · (entry − baseline): positive = better
    half: float  # half-width of its 95 % t-interval
    p: float  # two-sided paired t-test
    p_holm: float  # Holm-adjusted across the question's entries
    ece: float  # mean raw ECE over its runs on the paired tasks (NaN: not recorded)
    ece_ts: float  # mean ECE after temperature scaling, likewise
    approximate: list[str] = field(default_factory=list)  # "name: fidelity" notes
    unpublished: bool = False

    @property
    def better(self) -> bool:
        """Significantly better than the baseline: Holm-adjusted p < α, positive mean."""
        return not math.isnan(self.p_holm) and self.p_holm < ALPHA and self.mean > 0


@dataclass
class Answer:
    """A question's answer: every entry compared, and the baseline's own values."""

    question: Question
    metric: str
    higher_is_better: bool
    tasks: list[str]  # "suite/task" of the newest task versions compared on
    baseline_value: float  # the baseline's mean of ``metric`` over those tasks and seeds
    baseline_ece: float
    baseline_ece_ts: float
    gains: list[Gain]  # every entry with a test, best mean first
    unstable: list[str] = field(default_factory=list)  # entries flagged on a task: not tested
    #: why nothing could be compared (no baseline runs, metric not recorded); "" otherwise
    missing: str = ""

    @property
    def winners(self) -> list[Gain]:
        """The entries significantly better than the baseline, largest gain first."""
        return [g for g in self.gains if g.better]


def questions(suites: Sequence[str]) -> list[Question]:
    """The questions for ``suites``: the shipped ones whose suite is present, then one per other
    suite (its primary metric against cross-entropy, classification entries)."""
    known = [q for q in QUESTIONS if q.suite in suites]
    covered = {q.suite for q in QUESTIONS}
    return known + [Question(s, s) for s in sorted(suites) if s not in covered]


def _baseline_config(board: TaskBoard, baseline: str) -> Config | None:
    if baseline == BASELINE_LOSS:
        return board.baseline()
    return best_validated(board.configs, baseline)


def _mean(chunks: list[np.ndarray]) -> float:
    values = np.concatenate(chunks) if chunks else np.empty(0)
    return float(values.mean()) if len(values) else math.nan


def answer(boards: list[TaskBoard], question: Question) -> Answer:
    """The answer to ``question`` from ``boards`` (the summarised section's; the newest version
    of each of the suite's tasks)."""
    chosen = [b for b in newest_boards(boards)[0] if b.suite == question.suite]
    metric = question.metric or (chosen[0].primary if chosen else "")
    hib = higher_is_better(metric, chosen[0].directions) if chosen else True
    sign = 1.0 if hib else -1.0
    pairs: list[tuple[TaskBoard, Config]] = []
    for b in chosen:
        base = _baseline_config(b, question.baseline)
        if base is not None and base.key not in b.flags and base.by_seed(metric):
            pairs.append((b, base))
    empty = Answer(question, metric, hib, [], math.nan, math.nan, math.nan, [])
    if not chosen:
        empty.missing = f"no runs on the {question.suite} suite"
        return empty
    if not pairs:
        empty.missing = f"no {question.baseline} runs with {metric} recorded"
        return empty
    entries = sorted({c.label for b, _ in pairs for c in b.configs
                      if objective_of(c.cards) == question.objective
                      and c.label != pairs[0][1].label})
    gains, unstable = [], []
    for entry in entries:
        diffs, ece, ece_ts, tasks, flagged = [], [], [], 0, False
        approximate: set[str] = set()
        any_unpublished = False
        for b, base in pairs:
            c = best_validated(b.configs, entry)
            if c is None:
                continue
            if c.key in b.flags:
                flagged = True
                break
            _, d = agg.paired_differences(c.by_seed(metric), base.by_seed(metric))
            if not len(d):
                continue
            tasks += 1
            diffs.append(sign * d)
            ece.append(c.values(ECE))
            ece_ts.append(c.values(ECE_TS))
            approximate.update(c.approximate)
            any_unpublished |= any(unpublished(c.first.get(n), c.first.get(f"{n}_version"))
                               for n in ("loss", "regularizer"))
        if flagged:
            unstable.append(entry)
            continue
        if not diffs:
            continue
        d = np.concatenate(diffs)
        mean, half = agg.mean_ci(d, CONFIDENCE)
        gains.append(Gain(entry, tasks, len(d), mean, half, agg.t_pvalue(d), math.nan,
                          _mean(ece), _mean(ece_ts), sorted(approximate), any_unpublished))
    for g, p in zip(gains, agg.holm([g.p for g in gains]), strict=True):
        g.p_holm = p
    gains.sort(key=lambda g: (-g.mean if not math.isnan(g.mean) else math.inf, g.entry))
    bases = [base for _, base in pairs]
    return Answer(question, metric, hib, [f"{b.suite}/{b.task}" for b, _ in pairs],
                  _mean([c.values(metric) for c in bases]),
                  _mean([c.values(ECE) for c in bases]), _mean([c.values(ECE_TS) for c in bases]),
                  gains, unstable)


def answers(boards: list[TaskBoard]) -> list[Answer]:
    """The answer to every question of the suites in ``boards``, in :func:`questions`' order."""
    return [answer(boards, q) for q in questions(sorted({b.suite for b in boards}))]
