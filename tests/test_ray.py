"""The Ray executor on a local two-CPU Ray instance: same records as the local executor.

Slow (starting Ray takes ~10-30 s): runs in ``nox -s ray`` (and ``nox -s slow``).
"""

from __future__ import annotations

import pytest

from lossbench.plan import plan
from lossbench.scheduler import run_sweep
from lossbench.store import load_results

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

TIMING = {"train_seconds", "samples_per_second", "loss_cost_ratio"}


def records(results):
    df = load_results(results).set_index("spec_key").sort_index()
    return df[[c for c in df.columns if c in ("status", "top1", "nll", "ece", "brier",
                                              "val_top1", "best_epoch", "final_train_loss")]]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_executor_stores_the_same_records_as_the_local_executor(tmp_path, local_ray):
    specs = plan(["standard"], ["mnist1d"], ["cross_entropy", "focal"], None, 1,
                 options={"epochs": 1}).specs
    run_sweep(specs, tmp_path / "local", executor="local", workers=2, threads=1,
              progress="quiet")
    summary = run_sweep(specs, tmp_path / "ray", executor="ray", threads=1, progress="quiet")
    assert [r.status for r in summary.ran] == ["ok", "ok"]
    assert records(tmp_path / "ray").equals(records(tmp_path / "local"))


def test_ray_executor_cancels_a_run_past_its_timeout_and_goes_on(tmp_path, local_ray):
    # 3,000 epochs: minutes on any CPU, far past the 20 s timeout however fast the machine is
    slow = plan(["standard"], ["mnist1d"], ["cross_entropy"], None, 1,
                options={"epochs": 3000}).specs
    quick = plan(["standard"], ["mnist1d"], ["focal"], None, 1, options={"epochs": 1}).specs
    run_sweep(slow + quick, tmp_path, executor="ray", workers=1, threads=1, timeout=20,
              progress="quiet")
    status = load_results(tmp_path).set_index("loss")["status"]
    assert status["cross_entropy"] == "timeout" and status["focal"] == "ok"
