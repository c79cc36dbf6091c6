"""Measure the four speed targets of the scheduler issue in one run, as ratios where possible.

    python benchmarks/harness_overhead.py [--epochs 30] [--repeats 3] [--json out.json]

1. harness overhead: ``lossbench.train.train`` and a whole run through the local executor (child
   process, evaluation, metrics) versus a plain hand-written PyTorch loop training the same model
   on the same task, interleaved (plain, harness, plain, harness, ...) in this process, 1 thread;
2. 2 local workers versus 1 on the same embedded sweep (runs per second);
3. re-running a finished sweep (everything cached): in-process, and the ``lossbench run`` CLI;
4. the full embedded leaderboard (every registered loss x every suite's embedded tasks x 3 seeds,
   default recipes): its size and the time it takes at the measured per-epoch cost.

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
from lossbench.runner import resolve_task, warm_up
from lossbench.scheduler import run_sweep
from lossbench.train import train

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
                options={"epochs": epochs})[0][0]
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
    specs, _ = plan([TASK[0]], [TASK[1]], losses, None, seeds, options={"epochs": epochs})
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
    with tempfile.TemporaryDirectory() as tmp:
        specs, _ = plan([TASK[0]], [TASK[1]], losses, None, seeds, options={"epochs": 1})
        run_sweep(specs, tmp, workers=2, progress="quiet")
        start = time.perf_counter()
        summary = run_sweep(specs, tmp, progress="quiet")
        in_process = time.perf_counter() - start
        assert not summary.ran
        args = [sys.executable, "-m", "lossbench.cli", "run", "--suite", TASK[0], "--task",
                TASK[1], "--seeds", str(seeds), "--epochs", "1", "--results", tmp,
                "--no-leaderboard", "--quiet", *sum((["--loss", x] for x in losses), [])]
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        cli = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        torch_import = time.perf_counter() - start
    return {"runs": len(specs), "in_process_seconds": in_process, "cli_seconds": cli,
            "python_plus_torch_import_seconds": torch_import}


def full_leaderboard(seconds_per_epoch: float, cores: int) -> dict:
    specs, skipped = plan(None, None, None, None, 3)
    epochs = 0
    for spec in specs:
        _, task = resolve_task(spec)
        epochs += task.train.epochs
    serial_hours = epochs * seconds_per_epoch / 3600
    return {"runs": len(specs), "skipped": len(skipped), "suites": SUITES.names(),
            "epochs_total": epochs, "assumed_seconds_per_epoch": seconds_per_epoch,
            "hours_one_core": serial_hours, "hours_on_cores": serial_hours / cores,
            "cores": cores}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30, help="epochs per timed run (default 30)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sweep-epochs", type=int, default=10)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    losses = ["cross_entropy", "focal", "label_smoothing"]
    out = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count(),
           "torch": torch.__version__}
    out["overhead"] = overhead(args.epochs, args.repeats)
    print(json.dumps({"overhead": out["overhead"]}, indent=1), flush=True)
    out["workers"] = workers(args.sweep_epochs, losses, 2)
    print(json.dumps({"workers": out["workers"]}, indent=1), flush=True)
    out["cached"] = cached(losses, 3)
    print(json.dumps({"cached": out["cached"]}, indent=1), flush=True)
    out["full_leaderboard"] = full_leaderboard(out["overhead"]["cpu"]["seconds_per_epoch_run"], 2)
    out["load_average_after"] = os.getloadavg()
    print(json.dumps({k: out[k] for k in ("full_leaderboard", "load_average_after")}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
