"""The ``ood`` suite: out-of-distribution detection and covariate shift.

Embedded task ``mnist1d-ood`` (MNIST-1D, 1D CNN), one training run measured four ways:

- in-distribution (ID): the model is trained on digits 0–5 only (the generator's training
  sequences of those classes, split 90/10 into train/validation by the run seed) and tested on the
  generator's test sequences of digits 0–5 (``top1``, calibration summary);
- near OOD (semantic shift): the test sequences of the held-out digits 6–9;
- far OOD: (a) ``shuffled`` — MNIST-1D test sequences generated with ``shuffle_seq=True`` (the
  same digits with their 40 positions permuted: no 1-D structure left), and (b) ``digits`` —
  scikit-learn's 8×8 handwritten digits, flattened, linearly resampled to length 40 and
  standardised like MNIST-1D (a different generator);
- covariate shift: the test sequences of digits 0–5 from a generator with stronger corruption
  (:data:`SHIFT`: 2× correlated noise, 5× i.i.d. noise, 2× shear, larger scale jitter); metrics
  ``shift_top1``, ``shift_ece`` and the rest of the calibration summary with prefix ``shift_``.

Detection scores: maximum softmax probability (MSP), maximum logit, energy (``logsumexp``), each
with AUROC, AUPR-In and FPR@95TPR (ID = positive), named ``{near,far_shuffled,far_digits}_{metric}_
{score}``. Headline: ``near_auroc_msp``, ``far_shuffled_auroc_msp``, ``shift_top1``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..data import digits_arrays, mnist1d_arrays
from ..metrics import classification
from ..metrics.ood import detection_metrics
from ..metrics.summary import classification_summary
from .base import EvalInput, Suite, Task, TaskData
from .embedded import as_task_data, mnist1d_pool, mnist1d_recipe, relabel, tensor
from .fullscale import ood_tasks
from .splits import stratified_holdout

ID_CLASSES = (0, 1, 2, 3, 4, 5)
VAL_FRACTION = 0.1
#: Generator overrides of the covariate-shifted copy (defaults: corr_noise_scale 0.25,
#: iid_noise_scale 0.02, shear_scale 0.75, scale_coeff 0.4).
SHIFT = {"corr_noise_scale": 0.5, "iid_noise_scale": 0.1, "shear_scale": 1.5, "scale_coeff": 0.6}
#: ~2,160 training sequences; 150 epochs of batch 100 interpolate them.
RECIPE = mnist1d_recipe(epochs=150, batch_size=100)


def digits_as_sequences(length: int = 40) -> np.ndarray:
    """scikit-learn's digits (1,797 × 8×8) flattened row by row, linearly resampled to ``length``
    points and standardised to zero mean, unit variance (as MNIST-1D is)."""
    x = digits_arrays()["x"]
    src = np.linspace(0, 1, x.shape[1])
    dst = np.linspace(0, 1, length)
    seq = np.stack([np.interp(dst, src, row) for row in x])
    return ((seq - seq.mean()) / seq.std()).astype(np.float32)


@functools.lru_cache(maxsize=4)
def mnist1d_ood(seed: int) -> TaskData:
    """The ID splits (digits 0–5) and, in ``extra``, the near, far and shifted test sets."""
    raw = mnist1d_pool()
    in_id = np.isin(raw["y"], ID_CLASSES)
    x_id, y_id = raw["x"][in_id], relabel(raw["y"][in_id], ID_CLASSES)
    keep, hold = stratified_holdout(y_id, VAL_FRACTION, seed)
    test_id = np.isin(raw["y_test"], ID_CLASSES)
    shuffled = mnist1d_arrays(shuffle_seq=True)
    shifted = mnist1d_arrays(**SHIFT)
    shift_id = np.isin(shifted["y_test"], ID_CLASSES)
    return as_task_data({
        "train": (x_id[keep], y_id[keep]),
        "val": (x_id[hold], y_id[hold]),
        "test": (raw["x_test"][test_id], relabel(raw["y_test"][test_id], ID_CLASSES)),
    }, num_classes=len(ID_CLASSES),
        x_near=tensor(raw["x_test"][~test_id]),
        x_far_shuffled=tensor(shuffled["x_test"]),
        x_far_digits=tensor(digits_as_sequences(raw["x"].shape[1])),
        x_shift=tensor(shifted["x_test"][shift_id]),
        y_shift=torch.as_tensor(relabel(shifted["y_test"][shift_id], ID_CLASSES)))


def ood_metrics(ev: EvalInput) -> dict[str, float]:
    """ID summary; detection metrics for every OOD set ``extra["x_<name>"]`` and score; the
    summary on the covariate-shifted set ``extra["x_shift"]``/``["y_shift"]`` when present."""
    d = ev.data
    model = ev.last
    logits_id = model.outputs(d.x_test)
    out = classification_summary(logits_id, d.y_test)
    out["val_top1"] = classification.top1(model.outputs(d.x_val), d.y_val)
    ood_sets = [k[2:] for k in d.extra if k.startswith("x_") and k != "x_shift"]
    for name in ood_sets:
        out.update(detection_metrics(logits_id, model.outputs(d.extra[f"x_{name}"]),
                                     prefix=f"{name}_"))
    if "x_shift" in d.extra:
        out.update(classification_summary(model.outputs(d.extra["x_shift"]), d.extra["y_shift"],
                                          prefix="shift_"))
    return out


MNIST1D_OOD = Task(
    name="mnist1d-ood",
    version="1",
    description=("MNIST-1D digits 0-5 (ID) vs 6-9 (near), shuffled sequences and sklearn digits "
                 "(far), stronger-corruption generator (covariate shift); 1D CNN, "
                 f"{RECIPE.epochs} epochs AdamW one-cycle lr {RECIPE.lr}, batch "
                 f"{RECIPE.batch_size}"),
    make_data=mnist1d_ood,
    evaluate=ood_metrics,
    train=RECIPE,
    model="cnn1d",
    model_kwargs={"channels": 32},
    headline=("top1", "near_auroc_msp", "far_shuffled_auroc_msp", "shift_top1", "shift_ece"),
)

_TASKS = [MNIST1D_OOD, *ood_tasks(ood_metrics)]

SUITE = Suite(
    name="ood",
    version="1",
    description="semantic OOD detection (near/far) and covariate shift",
    tasks={t.name: t for t in _TASKS},
    headline=("near_auroc_msp", "near_fpr95_msp", "far_shuffled_auroc_msp", "shift_top1",
              "shift_ece"),
)
