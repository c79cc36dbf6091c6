"""Measure the four speed targets of the scheduler issue in one run, as ratios where possible.

    python benchmarks/harness_overhead.py [--epochs 30] [--repeats 3] [--only full] [--json F]

1. harness overhead: ``lossbench.train.train`` and a whole run through the local executor (child
   process, evaluation, metrics) versus a plain hand-written PyTorch loop training the same model
   on the same task, interleaved (plain, harness, plain, harness, ...) in this process, 1 thread;
2. 2 local workers versus 1 on the same embedded sweep (runs per second);
3. re-running a finished sweep (everything cached): in-process, and the ``lossbench run`` CLI;
4. the full embedded leaderboard (every registered entry x every suite's embedded tasks x 3 seeds,
   default recipes): its size; the plain loop's per-step overhead and per-sample cost (two batch
   sizes), hence what the sweep costs and its floor with zero per-step overhead; and the measured
   wall time of its runs stored under ``--results``.

Results depend on the machine and its load; the script prints the load average beside them.
Each timing is taken as wall time and as CPU time (this process's, or the child's for a run
through the executor): on a shared machine, CPU time of single-threaded work is the stable one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lossbench.executors.local import LocalExecutor
from lossbench.models import build_model
from lossbench.plan import plan
from lossbench.registry import SUITES
from lossbench.runner import resolve_task
from lossbench.scheduler import run_sweep
from lossbench.train import train
from lossbench.warm_up import warm_up

TASK = ("standard", "mnist1d")


class Clock:
    """Wall and CPU seconds of a block (CPU: this process, plus waited-for children)."""

    def __enter__(self):
        self._wall = time.perf_counter()
        self._cpu = _cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = _cpu_seconds() - self._cpu


def _cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def plain_loop(data, recipe, epochs: int, seed: int = 0, fused: bool = True) -> Clock:
    """A hand-written loop: resident tensors, randperm batches, AdamW + one-cycle."""
    torch.manual_seed(seed)
    model = build_model("cnn1d", data.in_shape, data.num_classes, channels=32)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay,
                            fused=fused or None)
    n, bs = len(data.x_train), recipe.batch_size
    steps = math.ceil(n / bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=epochs * steps)
    gen = torch.Generator().manual_seed(seed)
    with Clock() as clock:
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for i in range(steps):
                idx = perm[i * bs:(i + 1) * bs]
                loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    return clock


def harness_train(data, recipe, epochs: int, seed: int = 0) -> Clock:
    """``lossbench.train.train`` (hooks, context, per-epoch validation and checkpoint)."""
    torch.manual_seed(seed)
    model = build_model("cnn1d", data.in_shape, data.num_classes, channels=32)
    cfg = dataclasses.replace(recipe, epochs=epochs)
    with Clock() as clock:
        train(model, F.cross_entropy, data.x_train, data.y_train, cfg,
              num_classes=data.num_classes, seed=seed, x_val=data.x_val, y_val=data.y_val)
    return clock


def harness_run(spec) -> Clock:
    """A whole run in a child process of the local executor (fork, train, evaluate, metrics,
    throughput ratio, record sent back)."""
    with Clock() as clock:
        record = next(LocalExecutor(workers=1, threads=1).map([spec]))
    assert record.ok, record.error
    return clock


def overhead(epochs: int, repeats: int) -> dict:
    torch.set_num_threads(1)
    spec = plan([TASK[0]], [TASK[1]], ["cross_entropy"], None, 1,
                options={"epochs": epochs}).specs[0]
    warm_up(spec)
    _, task = resolve_task(spec)
    data, recipe = task.make_data(0), task.train
    plain_loop(data, recipe, 1), harness_train(data, recipe, 1)  # warm caches and kernels
    names = ("plain", "train", "run", "plain_default_adamw")
    clocks: dict[str, list[Clock]] = {k: [] for k in names}
    for _ in range(repeats):
        clocks["plain"].append(plain_loop(data, recipe, epochs))
        clocks["train"].append(harness_train(data, recipe, epochs))
        clocks["run"].append(harness_run(spec))
        clocks["plain_default_adamw"].append(plain_loop(data, recipe, epochs, fused=False))
    out = {"epochs": epochs, "repeats": repeats}
    for kind in ("wall", "cpu"):
        med = {k: statistics.median(getattr(c, kind) for c in v) for k, v in clocks.items()}
        out[kind] = {
            "seconds": {k: [round(getattr(c, kind), 3) for c in v] for k, v in clocks.items()},
            "median_seconds": med,
            "train_overhead": med["train"] / med["plain"] - 1,
            "run_overhead": med["run"] / med["plain"] - 1,
            "fused_speedup_of_plain": med["plain_default_adamw"] / med["plain"],
            "seconds_per_epoch_plain": med["plain"] / epochs,
            "seconds_per_epoch_run": med["run"] / epochs,
        }
    return out


def workers(epochs: int, losses: list[str], seeds: int) -> dict:
    specs = plan([TASK[0]], [TASK[1]], losses, None, seeds, options={"epochs": epochs}).specs
    for s in specs:
        warm_up(s)
    out = {"runs": len(specs), "epochs": epochs}
    for n in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = run_sweep(specs, tmp, workers=n, threads=1, progress="quiet")
            wall = time.perf_counter() - start
        assert all(r.ok for r in summary.ran)
        out[f"seconds_{n}_workers"] = wall
        # runs in flight on average: proves the scheduler's parallelism, whatever the CPU gives
        out[f"mean_in_flight_{n}_workers"] = sum(
            r.provenance["wall_seconds"] for r in summary.ran) / wall
    out["speedup"] = out["seconds_1_workers"] / out["seconds_2_workers"]
    return out


def cached(losses: list[str], seeds: int) -> dict:
    """Re-running a finished sweep: in-process, and the ``lossbench run`` command as a user
    types it (leaderboard included), with a cold and then a warm metadata cache."""
    with tempfile.TemporaryDirectory() as tmp:
        results = str(Path(tmp, "results"))
        specs = plan([TASK[0]], [TASK[1]], losses, None, seeds, options={"epochs": 1}).specs
        run_sweep(specs, results, workers=2, progress="quiet")
        start = time.perf_counter()
        summary = run_sweep(specs, results, progress="quiet")
        in_process = time.perf_counter() - start
        assert not summary.ran
        env = {**os.environ, "LOSSBENCH_CACHE": str(Path(tmp, "cache"))}  # cold at first
        args = [sys.executable, "-m", "lossbench.cli", "run", "--suite", TASK[0], "--task",
                TASK[1], "--seeds", str(seeds), "--epochs", "1", "--results", results,
                "--leaderboard", str(Path(tmp, "leaderboard.md")), "--quiet",
                *sum((["--loss", x] for x in losses), [])]
        cli = []
        for _ in range(3):  # 1: cold metadata cache, renders the leaderboard; 2-3: a re-run
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True, env=env)
            cli.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        torch_import = time.perf_counter() - start
    return {"runs": len(specs), "in_process_seconds": in_process,
            "cli_first_seconds": cli[0], "cli_rerun_seconds": min(cli[1:]),
            "python_plus_torch_import_seconds": torch_import}


def step_cost(epochs: int, repeats: int, batch_sizes: tuple[int, int] = (100, 400)) -> dict:
    """Per-step overhead ``a`` and per-sample cost ``b`` of the plain loop (1 thread, CPU
    seconds), from two batch sizes: an epoch costs ``steps * a + samples * b``."""
    torch.set_num_threads(1)
    spec = plan([TASK[0]], [TASK[1]], ["cross_entropy"], None, 1).specs[0]
    _, task = resolve_task(spec)
    data, recipe = task.make_data(0), task.train
    n = len(data.x_train)
    per_epoch = {}
    for bs in batch_sizes:
        r = dataclasses.replace(recipe, batch_size=bs)
        plain_loop(data, r, 1)
        per_epoch[bs] = statistics.median(plain_loop(data, r, epochs).cpu / epochs
                                          for _ in range(repeats))
    (b1, b2) = batch_sizes
    s1, s2 = math.ceil(n / b1), math.ceil(n / b2)
    a = (per_epoch[b1] - per_epoch[b2]) / (s1 - s2)
    b = (per_epoch[b1] - s1 * a) / n
    return {"train_samples": n, "seconds_per_epoch": per_epoch,
            "seconds_per_step_overhead": a, "seconds_per_sample": b,
            "overhead_share_at_recipe_batch": s1 * a / per_epoch[b1]}


def full_leaderboard(cost: dict, cores: int, results: Path | None) -> dict:
    """The full embedded leaderboard (``lossbench run``'s default plan): its size, what it
    takes at the measured step cost, its floor with zero per-step overhead (every model of a
    task batched into one step), and — when ``results`` holds its records — the sum of the
    runs' measured wall times."""
    planned = plan(None, None, None, None, 3)
    specs, skipped = planned.specs, planned.skipped
    by_task: dict[tuple[str, str], dict] = {}
    for spec in specs:
        row = by_task.get((spec.suite, spec.task))
        if row is None:
            _, task = resolve_task(spec)
            n = len(task.make_data(0).x_train)
            row = by_task[(spec.suite, spec.task)] = {
                "runs": 0, "epochs": task.train.epochs, "train_samples": n,
                "steps_per_epoch": math.ceil(n / task.train.batch_size)}
        row["runs"] += 1
    a, b = cost["seconds_per_step_overhead"], cost["seconds_per_sample"]
    steps = sum(r["runs"] * r["epochs"] * r["steps_per_epoch"] for r in by_task.values())
    samples = sum(r["runs"] * r["epochs"] * r["train_samples"] for r in by_task.values())
    out = {"runs": len(specs), "skipped": len(skipped), "suites": SUITES.names(),
           "epochs_total": sum(r["runs"] * r["epochs"] for r in by_task.values()),
           "steps_total": steps, "sample_epochs_total": samples, "cores": cores,
           "tasks": {f"{k[0]}/{k[1]}": v for k, v in by_task.items()},
           "model_minutes_on_cores": (steps * a + samples * b) / cores / 60,
           "compute_floor_minutes_on_cores": samples * b / cores / 60,
           "overhead_minutes_on_cores": steps * a / cores / 60}
    if results is not None:
        from lossbench.store import load_results

        df = load_results(results, keys={s.key for s in specs})
        out["stored_runs"] = len(df)
        out["stored_wall_seconds_sum"] = float(df["wall_seconds"].sum())
        out["stored_minutes_on_cores"] = out["stored_wall_seconds_sum"] / cores / 60
        out["cores_for_10_minutes"] = out["stored_wall_seconds_sum"] / 600
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30, help="epochs per timed run (default 30)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sweep-epochs", type=int, default=10)
    p.add_argument("--results", type=Path, default=Path("results"),
                   help="folder whose stored records of the full leaderboard give its measured "
                        "cost (default: results)")
    p.add_argument("--only", choices=("overhead", "workers", "cached", "full"), action="append",
                   help="measure only these targets (repeatable; default: all)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    only = set(args.only or ("overhead", "workers", "cached", "full"))
    losses = ["cross_entropy", "focal", "label_smoothing"]
    out = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count(),
           "torch": torch.__version__}
    steps = [("overhead", lambda: overhead(args.epochs, args.repeats)),
             ("workers", lambda: workers(args.sweep_epochs, losses, 2)),
             ("cached", lambda: cached(losses, 3)),
             ("step_cost", lambda: step_cost(args.epochs, args.repeats)),
             ("full_leaderboard", lambda: full_leaderboard(
                 out["step_cost"], 2, args.results if args.results.is_dir() else None))]
    for name, measure in steps:
        if {"step_cost": "full", "full_leaderboard": "full"}.get(name, name) not in only:
            continue
        out[name] = measure()
        print(json.dumps({name: out[name]}, indent=1), flush=True)
    out["load_average_after"] = os.getloadavg()
    print(json.dumps({"load_average_after": out["load_average_after"]}))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
