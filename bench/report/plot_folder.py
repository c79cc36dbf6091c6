"""The plot folder (``<results>/_plots``): which plots a model has, and drawing them only when
what they are drawn from changed (drawing takes most of a render)."""

from __future__ import annotations

from pathlib import Path

from . import plots
from .markdown import options_tag
from .model import Model


def plot_jobs(m: Model) -> dict[str, list]:
    """The plots of ``m``, per ``"<suite>|<recipe options>"``: (title, file name, figure factory)
    (:func:`.plots.suite_jobs`)."""
    jobs = {}
    for section in m.sections:
        for suite in sorted({b.suite for b in section.boards}):
            jobs[f"{suite}|{section.options}"] = plots.suite_jobs(
                section, suite, options_tag(section.options))
    return jobs


PLOTS_STAMP = ".inputs"  # in the plot folder: what the plots there were drawn from
#: The report's modules the plots are a function of besides ``plots.py``: the model (records →
#: boards → aggregates) and the list of plots.
MODEL_SOURCES = ("stored_metadata.py", "configs.py", "boards.py", "versus.py", "aggregates.py",
                 "summary.py", "provenance.py", "model.py", "plot_folder.py")


def plots_stamp(results_dir: str | Path) -> str:
    """What the plots are a function of: the lossbench version, the records and tuning
    manifests (:func:`lossbench.store.results_digest`), and the source of the model
    (:data:`MODEL_SOURCES`) and the plot code (so a change of either redraws them)."""
    import hashlib

    from ..store import results_digest
    from ..version import __version__

    code = hashlib.sha256()
    for name in (*MODEL_SOURCES, "plots.py"):
        code.update((Path(__file__).parent / name).read_bytes())
    return f"lossbench {__version__}; results {results_digest(results_dir)}; code " \
           f"{code.hexdigest()}\n"


def draw_plots(jobs: list, folder: Path, results_dir: str | Path) -> bool:
    """Draw ``jobs`` into ``folder`` unless every file is there and the folder's stamp says they
    were drawn from these results with this code (drawing takes most of a render); returns
    whether it drew."""
    stamp_file, wanted = folder / PLOTS_STAMP, plots_stamp(results_dir)
    if (stamp_file.is_file() and stamp_file.read_text(encoding="utf-8") == wanted
            and all((folder / name).is_file() for _, name, _ in jobs)):
        return False
    stamp_file.unlink(missing_ok=True)
    plots.draw(jobs, folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(wanted, encoding="utf-8")
    return True
