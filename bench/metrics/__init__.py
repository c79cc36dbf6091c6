"""Metrics: pure functions from predictions to numbers, one module per family.

:data:`METRICS` declares each metric's direction and meaning; the leaderboard reads it to label
columns (↑ higher is better, ↓ lower is better). A suite that adds a metric declares it here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str
    higher_is_better: bool
    description: str

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


def _m(name: str, higher: bool, description: str) -> tuple[str, MetricInfo]:
    return name, MetricInfo(name, higher, description)


METRICS: dict[str, MetricInfo] = dict([
    _m("top1", True, "test top-1 accuracy"),
    _m("nll", False, "test negative log-likelihood (nats)"),
    _m("brier", False, "test Brier score (sum over classes, mean over samples)"),
    _m("ece", False, "expected calibration error, 15 equal-width confidence bins (L1)"),
    _m("best_epoch", True, "epoch (0-based) of the best validation accuracy"),
    _m("val_top1", True, "validation top-1 accuracy of the final model"),
    _m("train_seconds", False, "training wall time (s)"),
    _m("samples_per_second", True, "training throughput (samples/s)"),
])


def metric_info(name: str) -> MetricInfo:
    """Declared info of ``name``; undeclared metrics are treated as higher-is-better."""
    return METRICS.get(name, MetricInfo(name, True, name))
