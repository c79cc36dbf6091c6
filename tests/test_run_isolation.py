"""A run cannot spoil another run: what it starts dies with it, what it mutates is its own, and
the serial executor gives the local executor's records bit for bit."""

from __future__ import annotations

import json
import os

import pytest

from lossbench.plan import plan
from lossbench.registry import LOSSES
from lossbench.scheduler import run_sweep
from lossbench.spec import RunSpec
from lossbench.store import load_results

from . import fault_plugins as fp

#: Metrics that measure time (they differ between any two runs); every other value must match.
TIMING = {"train_seconds", "samples_per_second", "loss_cost_ratio"}


@pytest.fixture
def registered():
    names = []

    def register(name, fn):
        LOSSES.register(name, lambda fn=fn: fp.factory(fn), origin="tests")
        names.append(name)

    yield register
    LOSSES.refresh()


def sweep(tmp_path, losses, executor="local", **kwargs):
    specs = plan(["standard"], ["mnist1d"], losses, None, 1, options={"epochs": 1}).specs
    results = tmp_path / f"results-{executor}-{'-'.join(losses)}"
    run_sweep(specs, results, executor=executor, progress="quiet", **kwargs)
    return load_results(results, wide=False)


def metrics(long, loss):
    rows = long[(long["loss"] == loss) & ~long["metric"].isin(TIMING)]
    assert set(rows["status"]) == {"ok"}
    return {m: "nan" if v != v else v for m, v in zip(rows["metric"], rows["value"], strict=True)}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def pid_file(tmp_path, monkeypatch):
    path = tmp_path / "daemons"
    monkeypatch.setenv("FAULT_PID_FILE", str(path))
    yield path
    for pid in map(int, path.read_text().split() if path.exists() else []):
        if alive(pid):
            os.kill(pid, 9)


def test_a_timeout_kills_a_process_the_run_started_in_a_new_session(tmp_path, registered,
                                                                      pid_file):
    registered("fault_daemon_hangs", fp.spawns_daemon_and_hangs)
    long = sweep(tmp_path, ["fault_daemon_hangs"], timeout=4)
    assert set(long["status"]) == {"timeout"}
    daemons = [int(p) for p in pid_file.read_text().split()]
    assert daemons and not any(alive(p) for p in daemons)


def test_a_process_left_running_by_a_finished_run_is_killed(tmp_path, registered, pid_file):
    registered("fault_daemon", fp.spawns_daemon)
    long = sweep(tmp_path, ["fault_daemon"])
    assert set(long["status"]) == {"ok"}
    daemons = [int(p) for p in pid_file.read_text().split()]
    assert daemons and not any(alive(p) for p in daemons)


def test_a_loss_that_mutates_its_targets_changes_no_later_run_of_the_serial_executor(
        tmp_path, registered):
    registered("fault_mutates_inputs", fp.mutates_inputs)
    after = sweep(tmp_path, ["fault_mutates_inputs", "cross_entropy"], executor="serial")
    alone = sweep(tmp_path, ["cross_entropy"], executor="serial")
    assert metrics(after, "cross_entropy") == metrics(alone, "cross_entropy")


def test_the_serial_and_local_executors_give_identical_records(tmp_path):
    serial = sweep(tmp_path, ["cross_entropy"], executor="serial")
    local = sweep(tmp_path, ["cross_entropy"], executor="local")
    assert metrics(serial, "cross_entropy") == metrics(local, "cross_entropy")
    assert set(serial["spec_key"]) == set(local["spec_key"])


def test_a_hanging_run_is_stopped_by_the_default_timeout(tmp_path, registered, monkeypatch):
    from lossbench.executors import timeouts

    monkeypatch.setattr(timeouts, "DEFAULT_TIMEOUT_FLOOR", 0.0)  # default = 2 s × 1 epoch
    monkeypatch.setattr(timeouts, "EMBEDDED_SECONDS_PER_EPOCH", 2.0)
    registered("fault_hangs", fp.hangs)
    long = sweep(tmp_path, ["fault_hangs"])  # no timeout given
    assert set(long["status"]) == {"timeout"}
    assert "run exceeded the default 2s timeout" in long["error"].iloc[0]


def test_the_default_timeout_follows_the_epochs_of_the_run():
    from lossbench.executors.timeouts import default_timeout

    def spec(task, **options):
        specs = plan(["standard"], [task], ["cross_entropy"], None, 1, options=options).specs
        return specs[0]

    assert default_timeout(spec("mnist1d", epochs=150)) == 1500  # embedded: 10 s an epoch
    assert default_timeout(spec("mnist1d")) == 600  # the floor (its recipe has 40 epochs)
    assert default_timeout(spec("digits", epochs=2)) == 600  # embedded, if not in the sweep
    full_scale = RunSpec("cross_entropy", "1", "imbalanced", "cifar10-lt100", "2", 0,
                         options={"epochs": 2})
    assert default_timeout(full_scale) == 1200  # not embedded: 600 s an epoch


def test_an_in_process_run_uses_one_torch_thread_on_cpu_and_restores_the_callers():
    """A second thread made the tiny embedded runs several times slower on a busy machine; a
    run in this process (tests, the serial executor, notebooks) gets 1 unless told otherwise."""
    import torch

    from lossbench.runner import execute

    (spec,) = plan(tasks=["standard/mnist1d"], losses=["cross_entropy"], seeds=[0],
                   options={"epochs": 1}).specs
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        record = execute(spec)
        assert record.provenance["device"].endswith(" x1")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_a_sweep_at_two_threads_runs_every_spec(tmp_path):
    """The sweep scores each run itself; it must not leave an intra-op thread pool behind for
    the next forked child (a --threads 2 sweep once hung in its second run)."""
    import torch

    import lossbench

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # this process has run multi-threaded torch code, as a notebook may
    torch.ones(1 << 20).cumsum(0)
    torch.set_num_threads(before)
    runs = lossbench.run(
        lossbench.Selection(tasks=["standard/mnist1d"], losses=["cross_entropy"], seeds=[0, 1],
                            options={"epochs": 1}, baseline=False),
        lossbench.Execution(threads=2, workers=1, timeout=120, results=tmp_path,
                            progress="quiet"))
    assert list(runs["status"]) == ["ok", "ok"]
    # scored at one thread, the records still say the runs trained with two
    assert all(d.endswith(" x2") for d in runs["device"])
    assert {json.loads(m)["torch_threads"] for m in runs["machine_json"]} == {2}
