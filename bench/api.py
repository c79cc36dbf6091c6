"""The Python API. The CLI (``lossbench.cli``) is a thin layer over these functions; both share
one validation path (:mod:`lossbench.plan`) and one set of error messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import UsageError
from .plan import DEFAULT_SEEDS, Plan, plan
from .progress import stderr
from .registry import registry_for

DEFAULT_RESULTS = "results"
DEFAULT_LEADERBOARD = "leaderboard.md"


def list_entries(pattern: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Registered entries (name, kind, version, origin, status, summary, paper, fidelity),
    filtered by a wildcard pattern.

    ``status`` is ``ok`` or the reason the entry cannot be used (import error, crash or hang at
    import, invalid card, name conflict); a broken entry is listed, never hidden, and never
    breaks the listing of the others. Third-party entries are read by child processes (one per
    distribution, concurrently; :mod:`lossbench.sandbox`), never imported here.
    """
    from .registry import describe_isolated

    kinds = [kind] if kind else ["loss", "regularizer"]
    rows = []
    listed = {k: registry_for(k).entries(pattern) for k in kinds}
    describe_isolated([e for es in listed.values() for e in es if e.isolated])
    for k in kinds:
        for entry in listed[k]:
            status = entry.status
            version, summary, fidelity, paper = "", "", "", ""
            if status == "ok":
                try:
                    card = entry.card()
                    version, summary, fidelity = card.version, card.summary, card.fidelity
                    paper = card.paper
                except Exception as exc:  # noqa: BLE001 - bad metadata is a status, not a crash
                    status = f"bad card: {type(exc).__name__}: {exc}"
            rows.append({"name": entry.name, "kind": k, "version": version,
                         "origin": entry.origin, "status": status, "fidelity": fidelity,
                         "summary": summary, "paper": paper})
    return rows


def run(
    suites: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    losses: Sequence[str] | None = None,
    regularizers: Sequence[str] | None = None,
    seeds: int | Iterable[int] = DEFAULT_SEEDS,
    results: str | Path = DEFAULT_RESULTS,
    force: bool = False,
    retry_failed: bool = False,
    loss_hparams: Mapping[str, Mapping[str, Any]] | None = None,
    regularizer_hparams: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "cpu",
    options: Mapping[str, Any] | None = None,
    log=None,
    executor: str = "local",
    workers: int | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    memory_limit_mb: int | None = None,
    address: str | None = None,
    amp: bool | str = False,
    compile: bool = False,
    progress: str = "auto",
    baseline: bool = True,
    hparams: Mapping[str, Any] | None = None,
    confirm=None,
    wait: bool = True,
):
    """Plan, run what is not stored yet, and return the records of the planned specs.

    ``losses`` and ``regularizers`` are registered names or ``module:attr`` targets of
    importable callables (``"my_losses:MyLoss"``: run without packaging, origin ``local``,
    imported only in the runs' child processes; the current folder is searched after
    ``sys.path``). ``baseline`` (default True): when losses or regularizers are named but not
    plain ``cross_entropy``, cross-entropy runs on the same tasks and seeds too (stored runs are
    reused), so the leaderboard compares. ``hparams`` set hyperparameters of the named entries
    that have them (``{"gamma": 3}``; strings are typed by the card, as ``--hparam`` does);
    ``loss_hparams`` / ``regularizer_hparams`` set them per entry (``{"focal": {"gamma": 3}}``).

    ``options`` override the tasks' training recipes (``{"epochs": 2}`` for a smoke run); they are
    part of each spec, so such runs are stored and reported apart from default-recipe runs.
    ``amp`` (``True`` or ``"bf16"``: bfloat16 autocast) and ``compile`` (``torch.compile``) are
    such options too. ``executor`` (``local``, ``serial``, ``ray``), ``workers``, ``threads``,
    ``timeout`` (seconds per run), ``memory_limit_mb`` (per run) and ``address`` (Ray) say how
    the runs execute and do not change results; ``progress`` is ``auto``, ``rich``, ``plain`` or
    ``quiet``. Returns a wide DataFrame (one row per spec, a column per metric), cached runs
    included. Before the first run the plan's size and an estimated time are printed;
    ``confirm(runs to do, that line) -> bool`` (the CLI asks in a terminal above 100 runs) may
    cancel the sweep before anything runs. While another process stores into ``results`` the
    sweep waits for it (``wait=False``: raises :class:`~lossbench.results_lock.ResultsBusyError`,
    a :class:`~lossbench.errors.UsageError`); either way no spec runs twice.
    """
    from .scheduler import run_sweep
    from .store import load_results

    options = _with_speed_options(options, amp, compile)
    _check_executor(executor)
    _check_device(device)
    planned = plan(suites, tasks, losses, regularizers, seeds, loss_hparams,
                   regularizer_hparams, options, baseline=baseline, hparams=hparams)
    specs = planned.specs
    from .text_safety import one_line

    for s in planned.skipped:
        (log or stderr)(f"skipped {s.what}: {one_line(s.reason)}")
    if not specs:
        raise UsageError("the selection matches no run (check --suite/--task/--loss/"
                         "--regularizer against `lossbench list`)")
    added = _baseline_note(planned)
    if added:
        (log or stderr)(added)
    run_sweep(specs, results, force=force, retry_failed=retry_failed, device=device, log=log,
              executor=executor, workers=workers, threads=threads, timeout=timeout,
              memory_limit_mb=memory_limit_mb, address=address, confirm=confirm,
              progress="plain" if log is not None and progress == "auto" else progress,
              wait=wait)
    keys = {s.key for s in specs}
    return load_results(results, keys=keys).reset_index(drop=True)


def _baseline_note(planned: Plan) -> str:
    """The line saying the cross-entropy baseline was added (``planned.baseline``; '' when the
    plan added none: nothing was named, or the selection runs plain cross-entropy itself)."""
    from .plan import BASELINE_LOSS

    if not planned.baseline:
        return ""
    tasks = sorted({f"{s.suite}/{s.task}" for s in planned.baseline})
    return (f"baseline: {BASELINE_LOSS} added on {', '.join(tasks)} ({len(planned.baseline)} "
            f"runs; stored ones are reused; --no-baseline / baseline=False leaves it out)")


def _with_speed_options(options: Mapping[str, Any] | None, amp: bool | str,
                        compile: bool) -> dict[str, Any] | None:
    """Fold ``amp`` / ``compile`` into the spec options (they change numerics, so the hash)."""
    from .spec import option_problem

    out = dict(options or {})
    if amp:
        mode = "bf16" if amp is True else amp
        if option_problem("amp", mode):
            raise UsageError(option_problem("amp", mode))
        out["amp"] = mode
    if compile:
        out["compile"] = True
    return out or None


def _check_device(device: str) -> None:
    """A usable torch device string; ``cuda`` only where a CUDA device is visible."""
    if device == "cpu":
        return  # the default: valid without importing torch
    import torch

    from .executors import visible_gpus

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UsageError(f"unknown device {device!r} ({exc}); valid: cpu, cuda, cuda:N") from None
    if parsed.type == "cuda" and visible_gpus() == 0:
        raise UsageError(f"device {device!r} requested, but no CUDA device is visible "
                         "(torch.cuda.device_count() == 0); use --device cpu")
    if parsed.type not in ("cpu", "cuda"):
        raise UsageError(f"unsupported device {device!r}; valid: cpu, cuda, cuda:N")


def _check_executor(name: str) -> None:
    from .registry import EXECUTORS

    EXECUTORS.get(name)  # UsageError with did-you-mean for an unknown name


def load_results(path: str | Path = DEFAULT_RESULTS, wide: bool = True):
    """Stored results as a DataFrame (see :func:`lossbench.store.load_results`)."""
    from .store import load_results as _load

    return _load(path, wide=wide)


def leaderboard(path: str | Path = DEFAULT_RESULTS, out: str | Path | None = DEFAULT_LEADERBOARD,
                html: str | Path | None = None) -> str:
    """Render the leaderboard summary from ``path`` and return it; also write it, its detail
    pages (``leaderboard/<suite>.md`` beside ``out``) and the plots unless ``out`` is None;
    with ``html``, also build the static HTML site in that folder.

    ``UsageError`` when ``path`` is not an existing folder or ``out``'s folder is missing or not
    writable (:mod:`lossbench.outputs`), before anything is rendered."""
    from . import report as lb
    from .outputs import check_output_file, check_results_to_read

    check_results_to_read(path)
    if out is not None:
        check_output_file(out)

    if out is not None:
        lb.write(path, out, html=html)
        return Path(out).read_text(encoding="utf-8")
    if html is not None:
        lb.write_site(path, html)
    return lb.render(path)


def validate(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
             min_seeds: int | None = None, confirm: bool = False, workers: int | None = None):
    """Judge the pre-registered findings catalog (:mod:`lossbench.catalog`) on the records in
    ``path``: what ``lossbench validate`` prints, as a DataFrame with one row per finding and seed
    set (``design`` first, then ``confirmation``).

    Columns: those of :meth:`lossbench.validity.FindingVerdict.to_dict` — ``id``, ``seed_set``,
    ``suite``, ``task``, ``task_version``, ``a``/``b`` and their declared hyperparameters,
    ``primary``, ``expect``, ``n``, ``seeds``, ``effect`` (mean of A − B signed so that positive
    = A better), ``low``/``high`` (its 95 % t-interval), ``published_effect``, ``ratio``, ``p`` and
    ``p_holm`` (the primary test, Holm-adjusted across the catalog), ``verdict`` (confirmed |
    unresolved | contradicted | missing), ``contradicted_metrics``, ``metrics`` (every declared
    metric's test), ``note``, ``claim``, ``source``, ``setting``, ``proxy``. ``confirm``: first run
    what the catalog still needs (:func:`lossbench.confirmation.run_missing`).
    """
    import pandas as pd

    confirmation, design = validate_catalog(path, suites, min_seeds=min_seeds, confirm=confirm,
                                            workers=workers, log=stderr)
    return pd.DataFrame([v.to_dict(j.alpha) for j in (design, confirmation)
                         for v in j.findings])


def validate_catalog(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
                     min_seeds: int | None = None, confirm: bool = False,
                     catalog: str | Path | None = None, workers: int | None = None, log=None):
    """The (confirmation, design) :class:`lossbench.validity.Judgement` of the catalog on
    ``path``; ``suites`` restricts it to their findings and rank tables (Holm then runs over
    those only); ``confirm`` first runs the catalog's missing specs on both seed sets."""
    from .confirmation import judge_results, run_missing
    from .outputs import check_results_to_read

    cat = _catalog_for(catalog, suites)
    if confirm:
        run_missing(path, catalog=cat, log=log or stderr, workers=workers)
    check_results_to_read(path)
    return judge_results(path, cat, min_seeds=min_seeds)


def design_vector(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
                  min_seeds: int | None = None, confirm: bool = False,
                  catalog: str | Path | None = None, workers: int | None = None, log=None):
    """The catalog's unadjusted verdict vector on the **design seeds only** (a
    :class:`lossbench.design_vector.DesignVector`): what ``lossbench validate --design`` prints to
    judge a recipe variant on the whole catalog. ``confirm`` first runs the catalog's missing
    specs on the design seeds; the confirmation seeds are neither run nor read."""
    from .confirmation import judge_seed_set, run_missing
    from .design_vector import design_vector as vector
    from .outputs import check_results_to_read
    from .store import load_results

    cat = _catalog_for(catalog, suites)
    if confirm:
        run_missing(path, seed_sets=("design",), catalog=cat, log=log or stderr, workers=workers)
    check_results_to_read(path)
    return vector(judge_seed_set(cat, load_results(path, wide=True), "design", min_seeds))


def _catalog_for(catalog: str | Path | None, suites: Sequence[str] | None):
    """The checked catalog (shipped or ``catalog``), restricted to ``suites`` when given."""
    from .confirmation import checked_catalog

    cat = checked_catalog(catalog)
    if suites:
        from .registry import SUITES

        for name in suites:
            SUITES.get(name)  # UsageError naming the valid suites
        cat = cat.only(suites)
    return cat


def reproduce(results: str | Path = DEFAULT_RESULTS, sample: int = 20, random_seed: int = 0,
              threads: int | None = None, workers: int | None = None, executor: str = "local",
              device: str = "cpu", into: str | Path | None = None, progress: str = "auto",
              log=None):
    """Re-run a random sample of the stored records here and measure the drift: what
    ``lossbench reproduce`` prints, as a :class:`lossbench.reproduction.Reproduction` (``.drift``:
    one row per quality metric — pairs, share bit-identical, median / 95th percentile / max
    |re-run − stored| and the spec with the max —; ``.machines``, ``.threads``: the stored and
    current ``machine_id`` and torch threads; ``.to_dict()`` for JSON).

    ``sample`` (default 20) ``ok`` records of the current harness version in ``results`` are
    drawn with ``random_seed`` (default 0) and re-run through the normal sweep (``executor``,
    ``workers``, ``threads``, ``device`` as for :func:`run`) into a temporary folder, or into
    ``into`` (a new or empty folder, kept); ``results`` is never written. ``UsageError`` names
    a bad value (sample, seed, folder, executor, device)."""
    from . import reproduction as rp

    _check_executor(executor)
    _check_device(device)
    return rp.reproduce(results, sample, random_seed, threads=threads, workers=workers,
                        executor=executor, device=device, into=into, progress=progress,
                        log=log)


def verify(path: str | Path = DEFAULT_RESULTS, adopt: bool = False):
    """Check the results folder ``path`` against its ledger (:mod:`lossbench.integrity`): returns a
    :class:`~lossbench.integrity.Verification` (``ok``, ``findings``: deleted, altered, unknown,
    foreign records and unreadable ledger lines, ``line()``). ``adopt``: first vouch for every
    sound record the ledger has no entry for (records stored before the folder had a ledger)."""
    from .integrity import verify as _verify

    return _verify(path, adopt=adopt)


def retire_below(results: str | Path, version: str) -> list[tuple[str, str]]:
    """Remove the records of harness versions below ``version`` from ``results``, each with a
    ``retire`` line in its ledger (:func:`lossbench.integrity.retire_below`); returns
    ``(key, harness version)`` of each."""
    from .integrity import retire_below as retire

    return retire(results, version)


def merge(source: str | Path, path: str | Path = DEFAULT_RESULTS, distribution: str = ""):
    """Merge the records one third-party distribution's job made in ``source`` into ``path``
    (:mod:`lossbench.merging`): sound records of that distribution's own entries, never replacing
    a stored one; returns a :class:`~lossbench.merging.MergeReport` (``merged`` keys, ``refused``
    files with the reason)."""
    from .merging import merge_records
    from .outputs import check_results_to_read

    check_results_to_read(source)
    return merge_records(source, path, distribution)


def check(entry: str, kind: str | None = None, timeout: float | None = None):
    """Run the plugin conformance checks on ``entry`` (a registered name or ``module:attr``);
    ``kind`` (loss | regularizer) is looked up from the registries when not given.

    The checks run in a child process (the entry's code never runs in this one) within
    ``timeout`` seconds (default :data:`lossbench.conformance.CHECK_TIMEOUT`); a crash or a hang
    is a failed check. Entries registered in-process only are checked in this process.
    """
    from .conformance import check_isolated

    return check_isolated(entry, kind=kind, timeout=timeout)


def create_loss(name: str, **kwargs: Any) -> Any:
    """Build the loss ``name`` (a registered name or ``module:attr``) like a run does, in the
    style of timm's ``create_model``: the card's defaults updated by ``kwargs``.

    ``kwargs`` are hyperparameters of the card (typed like their defaults, so ``gamma="3"``
    works too; an unknown name is a ``UsageError`` listing the valid ones) or build-time context
    the factory asks for (``num_classes``, ``embedding_size``, ``class_counts``, ``num_train``,
    ``num_epochs``). Building an object imports the entry **in this process** — that is what
    this function is for; :func:`run`, :func:`list_entries`, :func:`show` and :func:`check`
    never import a third-party entry here.

    >>> loss = lossbench.create_loss("focal", gamma=3.0)        # doctest: +SKIP
    >>> loss(logits, targets)                                   # doctest: +SKIP
    """
    return _create("loss", name, kwargs)


def create_regularizer(name: str, **kwargs: Any) -> Any:
    """Build the regularizer ``name`` (see :func:`create_loss`): an object with the hooks of
    the plugin protocol (``setup``, ``transform_batch``, ``penalty``, ``step``,
    ``on_epoch_end``)."""
    return _create("regularizer", name, kwargs)


def _create(kind: str, name: str, kwargs: dict[str, Any]) -> Any:
    from .build import build, resolve_hparams
    from .hparam_values import typed_hparam
    from .signatures import BUILD_CONTEXT

    entry = registry_for(kind).get(name)
    entry.load()  # EntryLoadError with the reason when it does not import
    card = entry.card()
    context = {k: kwargs.pop(k) for k in list(kwargs) if k in BUILD_CONTEXT}
    overrides = {k: typed_hparam(card, k, v) if k in card.hparams else v
                 for k, v in kwargs.items()}
    return build(entry, resolve_hparams(card, overrides), context)


def show(name: str, kind: str | None = None, results: str | Path | None = DEFAULT_RESULTS
         ) -> dict[str, Any]:
    """What ``lossbench show NAME`` prints, as a dict: the entry's card (``card``: name, kind,
    version, origin, target, paper and ``paper_url``, summary, ``doc`` — the docstring, often
    the formula —, defaults, search space, suites, fidelity) and ``results``: one row per
    (suite, task, task version, options, configuration) of its stored runs in ``results``
    (none when ``results`` is None or missing), with the cross-entropy baseline's mean on the
    same seeds where it is stored. The entry is read the way ``list`` reads it (a third-party
    or ``module:attr`` entry in a child process, never imported here)."""
    from .conformance import resolve
    from .paper_links import paper_url

    entry, kind = resolve(name, kind)
    try:
        card = entry.card()
    except Exception as exc:  # noqa: BLE001 - EntryLoadError: the reason is the answer
        raise UsageError(str(exc)) from None
    out = {"kind": kind, "card": {**card.to_dict(), "paper_url": paper_url(card.paper)}}
    out["results"] = stored_summary(results, card.name, kind) if results is not None else []
    return out


def stored_summary(results: str | Path, name: str, kind: str) -> list[dict[str, Any]]:
    """Per (suite, task, version, options, configuration) of ``name``'s stored runs: runs, ok,
    the mean (and sample sd) of the suite's first headline metric over ok seeds, and plain
    cross-entropy's mean on the same seeds (None where it is not stored)."""
    import json
    import math

    from .cells import is_missing
    from .plan import BASELINE_LOSS
    from .store import load_results as _load

    if not Path(results).is_dir():
        return []
    df = _load(results)
    if df.empty:
        return []
    column = "loss" if kind == "loss" else "regularizer"
    mine = df[df[column] == name]
    base = df[(df["loss"] == BASELINE_LOSS) & df["regularizer"].isna() & (df["status"] == "ok")]
    rows = []
    group_cols = ["suite", "task", "task_version", "options", "loss", "loss_hparams",
                  "regularizer", "regularizer_hparams"]
    for key, runs in mine.groupby(group_cols, dropna=False, sort=True):
        suite, task, version, options, loss, lh, reg, rh = key
        metric = _first_metric(suite, runs)
        ok = runs[runs["status"] == "ok"]
        values = ok[metric].dropna() if metric in ok else ok.iloc[0:0]["seed"]
        same = base[(base["suite"] == suite) & (base["task"] == task)
                    & (base["task_version"] == version) & (base["options"] == options)
                    & base["seed"].isin(ok["seed"])]
        ce = same[metric].dropna() if metric in same else []
        rows.append({
            "suite": suite, "task": task, "task_version": version,
            "options": json.loads(options),
            "entry": loss if is_missing(reg) else f"{loss} + {reg}",
            "loss_hparams": json.loads(lh),
            "regularizer_hparams": json.loads(rh) if isinstance(rh, str) else {},
            "runs": int(len(runs)), "ok": int(len(ok)), "metric": metric,
            "mean": float(values.mean()) if len(values) else None,
            "sd": float(values.std()) if len(values) > 1 else None,
            "seeds": sorted(int(s) for s in ok["seed"]),
            "cross_entropy_mean": float(ce.mean()) if len(ce) else None,
            "cross_entropy_seeds": int(len(ce)),
        })
    for row in rows:
        for k in ("mean", "sd", "cross_entropy_mean"):
            if row[k] is not None and not math.isfinite(row[k]):
                row[k] = None
    return rows


def _first_metric(suite: str, runs) -> str:
    """The suite's first headline metric the runs recorded, else top1."""
    from .suites.description import suite_description

    try:
        headline = suite_description(suite).get("headline", [])
    except Exception:  # noqa: BLE001 - a suite that no longer loads: fall back to top1
        headline = []
    for metric in [*headline, "top1"]:
        if metric in runs and runs[metric].notna().any():
            return metric
    return "top1"


__all__ = ["list_entries", "run", "load_results", "leaderboard", "validate",
           "validate_catalog", "reproduce", "verify", "merge", "check",
           "create_loss", "create_regularizer", "show"]
