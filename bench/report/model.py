"""The leaderboard's model: records in, boards out. No rendering, no registry, no torch.

Everything is computed from the stored records alone — their spec columns, metrics, and the
metadata each record carries (:mod:`.stored_metadata`) — and from the tuning manifests. So the
same results give the same boards whatever is installed. Statistics come from
:mod:`lossbench.aggregate`.

Groups: runs are split by recipe ``options`` (smoke runs with ``{"epochs": 2}`` never mix with
default-recipe runs: one :class:`Section` each), then by suite, task and task version (versions
are never mixed: one :class:`.boards.TaskBoard` each); within a task, a *configuration*
(:mod:`.configs`) is an entry (loss ± regularizer) with fixed hyperparameters. Over tasks: the
suite aggregates (:mod:`.aggregates`), the summary (:mod:`.summary`) and the per-suite answers
(:mod:`.answers`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pandas as pd

from .aggregates import Aggregate, build_aggregate
from .answers import Answer, answers
from .boards import TaskBoard, build_task
from .configs import Tuning, tuning_by_task
from .summary import Summary, build_summary


@dataclass
class Section:
    """All boards run with one set of recipe options."""

    options: str
    boards: list[TaskBoard]
    aggregate: Aggregate | None

    @property
    def default(self) -> bool:
        return self.options == "{}"


def recipe_description(description: str, options: str) -> str:
    """A task's description for the runs of a section with recipe ``options`` (JSON): a smoke
    run's ``{"epochs": 2}`` turns the recipe's "40 epochs" into "2 epochs (recipe: 40)"; the
    description is the task's own (its recipe) otherwise."""
    try:
        epochs = json.loads(options or "{}").get("epochs")
    except (ValueError, AttributeError):
        return description
    if not isinstance(epochs, int) or isinstance(epochs, bool):
        return description

    def override(found: re.Match) -> str:
        recipe = int(found.group(1).replace(",", ""))
        return found.group(0) if recipe == epochs else f"{epochs} epochs (recipe: {recipe})"

    text, count = re.subn(r"\b(\d[\d,]*) epochs\b", override, description, count=1)
    return text if count else f"{description}; run with {epochs} epochs (--epochs)"


@dataclass
class Model:
    """Everything the renderers draw from."""

    runs: pd.DataFrame
    tunings: dict[tuple, Tuning]
    sections: list[Section]
    summary: Summary | None  # of the summarised section
    untrusted: list[tuple[str, str]]  # (file name, reason)
    store_check: str = ""  # whether the records verified (lossbench.integrity.Verification)
    #: every trusted record, confirmation seeds included (``runs`` holds the board's seeds)
    all_runs: pd.DataFrame | None = None
    #: the per-suite answers of the summarised section (:func:`.answers.answers`)
    answers: list[Answer] = field(default_factory=list)

    @property
    def default(self) -> Section | None:
        return next((s for s in self.sections if s.default), None)

    @property
    def summarised(self) -> Section | None:
        """The section the summary shows: the default recipe's; without default-recipe runs
        (a smoke run with ``--epochs``) the first other one, so that its summary is not empty."""
        return self.default or (self.sections[0] if self.sections else None)


def build(runs: pd.DataFrame, manifests: list[dict],
          untrusted: list[tuple[str, str]] = (), store_check: str = "") -> Model:
    """The model of ``runs`` (the wide records frame) and the tuning manifests; ``untrusted``
    and ``store_check`` say what the store left out and whether it verified."""
    if runs.empty:
        return Model(runs, {}, [], None, list(untrusted), store_check)
    runs = runs.sort_values("spec_key", kind="stable").reset_index(drop=True)
    tunings = tuning_by_task(manifests, runs)
    sections = []
    for options in sorted(runs["options"].unique(), key=lambda o: (o != "{}", o)):
        group = runs[runs["options"] == options]
        boards = []
        for (suite, task, version), task_runs in group.groupby(
                ["suite", "task", "task_version"], sort=True):
            tuning = tunings.get((suite, task, str(version), options), Tuning())
            boards.append(build_task(suite, task, str(version), task_runs, tuning))
        sections.append(Section(options, boards, build_aggregate(boards)))
    m = Model(runs, tunings, sections, None, list(untrusted), store_check)
    if m.summarised is not None:
        m.summary = build_summary(m.summarised.boards)
        m.answers = answers(m.summarised.boards)
    return m
