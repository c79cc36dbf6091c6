"""Metrics: pure functions from predictions to numbers, one module per family.

:data:`METRICS` declares each metric's direction and meaning; the leaderboard reads it to label
columns (↑ higher is better, ↓ lower is better). A suite that adds a metric declares it here.
*Timing* metrics (wall time, throughput, cost ratios) measure the machine and its load, not the
model: :func:`is_timing` tells them apart from the *quality* metrics, which a record's spec and
code alone should decide (``lossbench reproduce`` compares only those).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str
    higher_is_better: bool
    description: str
    timing: bool = False  # measures the machine and its load, not the trained model

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


def _m(name: str, higher: bool, description: str, timing: bool = False
       ) -> tuple[str, MetricInfo]:
    return name, MetricInfo(name, higher, description, timing)


METRICS: dict[str, MetricInfo] = dict([
    _m("top1", True, "test top-1 accuracy"),
    _m("nll", False, "test negative log-likelihood (nats)"),
    _m("brier", False, "test Brier score (sum over classes, mean over samples)"),
    _m("ece", False, "expected calibration error, 15 equal-width confidence bins (L1)"),
    _m("best_epoch", True, "epoch (0-based) of the checkpoint the task's model selection kept"),
    _m("val_top1", True, "validation top-1 accuracy of the final model"),
    _m("train_seconds", False, "training wall time (s)", timing=True),
    _m("samples_per_second", True, "training throughput (samples/s)", timing=True),
    _m("loss_cost_ratio", False, "loss forward+backward time / cross-entropy's, same logits",
       timing=True),
    # -- suites (issue 4): every classification run
    _m("adaptive_ece", False,
       "adaptive ECE: 15 equal-mass confidence bins (L1; Nixon et al. 2019)"),
    _m("smooth_ece", False, "smooth ECE, reflected-Gaussian kernel at the fixed-point bandwidth "
                            "(Błasiok & Nakkiran 2023)"),
    _m("aurc", False, "area under the MSP risk-coverage curve (mean selective risk)"),
    _m("balanced_accuracy", True, "mean per-class test recall"),
    _m("macro_f1", True, "unweighted mean of per-class F1 on the test set"),
    # temperature scaling (Guo et al. 2017): one scalar T fitted on the validation split's NLL
    _m("temperature", False, "temperature T fitted on the validation NLL, same checkpoint as "
                             "ece (recorded info, not a score: T > 1 = over-confident logits)"),
    _m("ece_ts", False, "ECE-15 (L1) of the test softmax(z / T), after temperature scaling"),
    _m("adaptive_ece_ts", False, "adaptive ECE-15 of the test softmax(z / T), after temperature "
                                 "scaling"),
    _m("nll_ts", False, "test NLL (nats) of softmax(z / T), after temperature scaling"),
    _m("brier_ts", False, "test Brier score of softmax(z / T), after temperature scaling"),
    # imbalanced
    _m("many_shot", True, "mean test accuracy of classes with > 100 training samples"),
    _m("medium_shot", True, "mean test accuracy of classes with 20..100 training samples"),
    _m("few_shot", True, "mean test accuracy of classes with < 20 training samples"),
    # noisy
    _m("top1_best_val", True, "clean test top-1 at the epoch of best (noisy) validation accuracy"),
    _m("noisy_fit", False, "fraction of mislabelled training samples predicted as their noisy "
                           "label at the end (memorisation)"),
    _m("noisy_clean_fit", True, "fraction of mislabelled training samples predicted as their "
                                "clean label at the end"),
    _m("noise_rate", False, "realised training-label noise rate (a property of the data)"),
    # metric learning
    _m("p_at_1", True, "Precision@1 of leave-one-out retrieval on unseen classes"),
    _m("map_at_r", True, "MAP@R of retrieval on unseen classes (Musgrave et al. 2020)"),
    _m("val_p_at_1", True, "Precision@1 of retrieval among the validation samples of the training "
                           "classes (what tuning selects on; never the unseen classes)"),
    _m("val_map_at_r", True, "MAP@R of retrieval among the validation samples of the training "
                             "classes"),
    _m("r_precision", True, "R-precision of retrieval on unseen classes"),
    _m("nmi", True, "NMI of k-means clusters of the unseen-class embeddings"),
    _m("ami", True, "adjusted mutual information of k-means clusters"),
    _m("opis", False, "operating-point inconsistency score: class variance of the utility of a "
                      "shared threshold (TCM paper)"),
    _m("p_at_1_chance", True, "P@1 of a random neighbour (reference, a property of the data)"),
])

#: OOD sets of the ``ood`` suite's tasks and the detection scores / metrics reported for each:
#: ``far`` is the mean over a task's far-OOD sets (OpenOOD's far-OOD figure); ``far_shuffled``
#: and ``far_digits`` are the far sets of ``mnist1d-ood`` version 1 (kept for its records).
OOD_SETS = ("near", "far", "far_smooth", "far_walk", "far_sines", "far_shuffled", "far_digits",
            "svhn", "cifar100", "textures")
_SCORES = {"msp": "max softmax probability", "max_logit": "max logit", "energy": "energy"}
_DETECTION = {"auroc": (True, "AUROC, ID vs {set} OOD by {score}"),
              "aupr": (True, "AUPR-In, ID vs {set} OOD by {score}"),
              "fpr95": (False, "FPR at 95 % TPR, ID vs {set} OOD by {score}")}
for _set in OOD_SETS:
    _set_text = "far (mean over the far sets)" if _set == "far" else _set.replace("_", " ")
    for _metric, (_higher, _text) in _DETECTION.items():
        for _score, _score_text in _SCORES.items():
            _name = f"{_set}_{_metric}_{_score}"
            METRICS[_name] = MetricInfo(_name, _higher, _text.format(set=_set_text,
                                                                     score=_score_text))
#: The covariate-shift copies of the classification summary (``shift_top1``, ``shift_ece``, ...)
#: and of the temperature-scaled metrics (``shift_ece_ts``, ...: T fitted on the ID validation).
for _base in ("top1", "nll", "brier", "ece", "adaptive_ece", "smooth_ece", "aurc",
              "ece_ts", "adaptive_ece_ts", "nll_ts", "brier_ts"):
    _info = METRICS[_base]
    METRICS[f"shift_{_base}"] = MetricInfo(f"shift_{_base}", _info.higher_is_better,
                                           f"{_info.description}, covariate-shifted test set")


def metric_info(name: str) -> MetricInfo:
    """Declared info of ``name``; undeclared metrics are treated as higher-is-better."""
    return METRICS.get(name, MetricInfo(name, True, name))


#: Name endings of undeclared metrics (a third-party suite's) that are timings.
TIMING_SUFFIXES = ("_seconds", "_per_second", "_ms", "_cost_ratio")


def is_timing(name: str) -> bool:
    """Whether metric ``name`` is a timing (declared ``timing`` in :data:`METRICS`; an undeclared
    name ending in one of :data:`TIMING_SUFFIXES`) rather than a quality metric."""
    info = METRICS.get(name)
    return info.timing if info is not None else name.endswith(TIMING_SUFFIXES)
