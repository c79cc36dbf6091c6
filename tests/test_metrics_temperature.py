"""Temperature scaling (Guo et al. 2017) against scipy, torchmetrics, torch and hand computations,
and the temperature-scaled metrics every classification suite records."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp
from torchmetrics.classification import MulticlassCalibrationError

from lossbench.evaluator import Evaluator
from lossbench.metrics import METRICS, classification
from lossbench.metrics.calibration import ece
from lossbench.metrics.temperature import (
    LOG_T_BRACKET,
    fit_temperature,
    scaled_calibration,
    temperature_scaled_metrics,
)
from lossbench.models import build_model
from lossbench.record_meta import describe_task_for_record
from lossbench.registry import SUITES
from lossbench.runner import execute
from lossbench.spec import RunSpec
from lossbench.suites.base import EvalInput

NEW_METRICS = ("temperature", "ece_ts", "adaptive_ece_ts", "nll_ts", "brier_ts")


def _calibrated(seed: int, n: int = 400, c: int = 5, scale: float = 2.0):
    """Logits ``z`` and labels drawn from ``softmax(z)``: ``z`` is calibrated by construction."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g, dtype=torch.float64) * scale
    return z, torch.multinomial(z.softmax(-1), 1, generator=g)[:, 0]


def _nll_numpy(z: np.ndarray, y: np.ndarray, t: float) -> float:
    s = z / t
    return float(np.mean(logsumexp(s, axis=1) - s[np.arange(len(y)), y]))


def _argmin_reference(z: torch.Tensor, y: torch.Tensor) -> float:
    """Brute force: the best of a dense grid over log T, refined by scipy's bounded Brent on T
    between the grid neighbours."""
    zn, yn = z.numpy(), y.numpy()
    grid = np.exp(np.linspace(-5, 5, 4001))
    i = int(np.argmin([_nll_numpy(zn, yn, t) for t in grid]))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(lambda t: _nll_numpy(zn, yn, t), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12})
    return float(res.x)


@pytest.mark.parametrize(("scale", "side"), [(3.0, "over-confident"),
                                             (0.3, "under-confident")])
def test_fit_is_the_argmin_of_the_nll(scale, side):
    z, y = _calibrated(0)
    t = fit_temperature(z * scale, y)
    assert (t > 1) == (side == "over-confident")
    assert t == pytest.approx(_argmin_reference(z * scale, y), rel=1e-6)


def test_sharpened_calibrated_logits_recover_their_sharpening_factor():
    z, y = _calibrated(1, n=20000)
    for k in (0.5, 2.0, 4.0):
        assert fit_temperature(z * k, y) == pytest.approx(k, rel=0.03)


def test_the_fit_is_equivariant_to_rescaling_the_logits():
    z, y = _calibrated(2)
    assert fit_temperature(z * 2.5, y) == pytest.approx(2.5 * fit_temperature(z, y), rel=1e-9)


def test_the_fit_runs_in_float64_whatever_the_input_precision():
    z, y = _calibrated(3)
    assert fit_temperature(z.float(), y) == pytest.approx(fit_temperature(z.float().double(), y),
                                                          rel=1e-12)


def test_an_all_correct_split_clamps_to_the_lower_end_of_the_bracket():
    # every labelled logit is its row's maximum: the NLL falls monotonically as T -> 0
    z = torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0], [0.5, 0.0, 4.0]])
    assert fit_temperature(z, torch.tensor([0, 1, 2])) == math.exp(LOG_T_BRACKET[0])


def test_constant_logits_give_temperature_one():
    assert fit_temperature(torch.full((4, 3), 2.0), torch.tensor([0, 1, 2, 0])) == 1.0


def test_bad_inputs_are_refused_with_what_was_wrong():
    with pytest.raises(ValueError, match=r"logits \(3, 2\) and labels \(2,\)"):
        fit_temperature(torch.zeros(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="1 non-finite"):
        fit_temperature(torch.tensor([[0.0, math.inf], [1.0, 0.0]]), torch.tensor([0, 1]))


def test_non_finite_validation_logits_give_nan_metrics_not_a_failed_run():
    z, y = _calibrated(4, n=20)
    val = z.clone()
    val[0, 0] = math.nan
    out = temperature_scaled_metrics(val, y, z, y)
    assert set(out) == set(NEW_METRICS) and all(math.isnan(v) for v in out.values())


def test_ece_ts_matches_torchmetrics_on_the_rescaled_softmax():
    val, y_val = _calibrated(5, scale=4.0)
    test, y_test = _calibrated(6, n=500, scale=4.0)
    out = temperature_scaled_metrics(val, y_val, test, y_test)
    probs = (test / out["temperature"]).softmax(-1)
    metric = MulticlassCalibrationError(num_classes=5, n_bins=15, norm="l1")
    assert out["ece_ts"] == pytest.approx(metric(probs, y_test).item(), abs=1e-6)


def test_nll_ts_is_torch_cross_entropy_of_the_rescaled_logits():
    val, y_val = _calibrated(7, scale=4.0)
    test, y_test = _calibrated(8, scale=4.0)
    out = temperature_scaled_metrics(val, y_val, test, y_test)
    expected = F.cross_entropy(test / out["temperature"], y_test).item()
    assert out["nll_ts"] == pytest.approx(expected, abs=1e-12)


def test_brier_ts_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([0, 0])
    t = 2.0
    p0 = 1 / (1 + math.exp(-1.0))  # softmax([1, 0])[0]
    p1 = 1 / (1 + math.exp(0.5))  # softmax([0, 0.5])[0]
    expected = ((p0 - 1) ** 2 + (1 - p0) ** 2 + (p1 - 1) ** 2 + (1 - p1) ** 2) / 2
    assert scaled_calibration(logits, y, t)["brier_ts"] == pytest.approx(expected, abs=1e-12)


def test_temperature_scaling_never_changes_the_prediction():
    val, y_val = _calibrated(9, scale=5.0)
    test, y_test = _calibrated(10, scale=5.0)
    t = fit_temperature(val, y_val)
    assert t != 1.0
    assert torch.equal((test / t).argmax(-1), test.argmax(-1))


def test_the_fitted_temperature_never_raises_the_nll_of_its_split():
    for seed, scale in ((11, 0.2), (12, 1.0), (13, 6.0)):
        z, y = _calibrated(seed, scale=scale)
        fitted = temperature_scaled_metrics(z, y, z, y)["nll_ts"]
        assert fitted <= classification.nll(z, y)


def test_the_new_metrics_are_declared_and_ece_ts_has_a_direction_in_every_task_json():
    for name in (*NEW_METRICS, "shift_ece_ts", "shift_nll_ts"):
        assert name in METRICS, name
    assert not METRICS["ece_ts"].higher_is_better
    meta = describe_task_for_record("metric_learning", "mnist1d-retrieval",
                                    SUITES.load("metric_learning"))
    assert meta["higher_is_better"]["ece_ts"] is False


# -- the suites --------------------------------------------------------------------------------

def _untrained(data, seed: int) -> Evaluator:
    torch.manual_seed(seed)
    return Evaluator(build_model("cnn1d", data.in_shape, data.num_classes, channels=4))


def test_standard_fits_on_the_selected_checkpoints_validation_outputs():
    from lossbench.suites.standard import classification_metrics, mnist1d_data

    data = mnist1d_data(0)
    last, selected = _untrained(data, 0), _untrained(data, 1)
    out = classification_metrics(EvalInput(data, {"last": last, "selected": selected}))
    assert out["temperature"] == fit_temperature(selected.outputs(data.x_val), data.y_val)


def test_noisy_fits_on_the_noisy_validation_labels_of_the_checkpoint_ece_measures():
    from lossbench.suites.noisy import mnist1d_noisy, noise_metrics

    data = mnist1d_noisy("sym50", 0)
    last, selected = _untrained(data, 0), _untrained(data, 1)
    out = noise_metrics(EvalInput(data, {"last": last, "selected": selected}))
    assert out["temperature"] == fit_temperature(last.outputs(data.x_val), data.y_val)
    assert out["ece"] == ece(last.outputs(data.x_test), data.y_test)


def test_ood_rescales_the_shifted_set_by_the_id_validation_temperature():
    from lossbench.suites.ood import mnist1d_ood, ood_metrics

    data = mnist1d_ood(0)
    model = _untrained(data, 0)
    out = ood_metrics(EvalInput(data, {"last": model}))
    assert out["temperature"] == fit_temperature(model.outputs(data.x_val), data.y_val)
    expected = scaled_calibration(model.outputs(data.extra["x_shift"]), data.extra["y_shift"],
                                  out["temperature"], prefix="shift_")
    assert {k: out[k] for k in expected} == expected


@pytest.mark.parametrize("suite,task", [("standard", "mnist1d"), ("imbalanced", "mnist1d-lt100"),
                                        ("noisy", "mnist1d-sym50"), ("ood", "mnist1d-ood")])
def test_a_one_epoch_run_records_the_temperature_scaled_metrics(suite, task):
    t = SUITES.load(suite).task(task)
    record = execute(RunSpec("cross_entropy", "1", suite, task, t.version, 0,
                             options={"epochs": 1}))
    assert record.status == "ok", record.error
    for name in NEW_METRICS:
        assert math.isfinite(record.metrics[name]), name
    assert record.metrics["temperature"] > 0
