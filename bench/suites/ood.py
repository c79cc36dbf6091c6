"""The ``ood`` suite: out-of-distribution detection and covariate shift.

Embedded task ``mnist1d-ood`` (MNIST-1D, 1D CNN), one training run measured four ways:

- in-distribution (ID): the model is trained on digits 0–5 only (the training sequences of those
  classes in a 15,000-sequence MNIST-1D pool, split 90/10 into train/validation by the run seed)
  and tested on the pool's test sequences of digits 0–5 (``top1``, calibration summary, and
  calibration after temperature scaling ``*_ts`` with T fitted on the ID validation split);
- near OOD (semantic shift): the pool's test sequences of the held-out digits 6–9;
- far OOD: three families of generated sequences that share no template with MNIST-1D, each
  sample rescaled to the per-sample mean and standard deviation of a random ID training sequence
  (so no amplitude cue separates them): ``smooth`` (Gaussian-smoothed white noise), ``walk``
  (Gaussian random walks) and ``sines`` (a sinusoid of random frequency 1–6 cycles and phase);
  ``far`` is the mean over them, as OpenOOD reports far-OOD. Why these and not others (white
  noise, shuffled MNIST-1D, scikit-learn digits): the cross-entropy baseline separates those *less*
  well than near OOD, i.e. they are not far in the model's feature space (docs/suites.md);
- covariate shift: the test sequences of digits 0–5 from a generator with stronger corruption
  (:data:`SHIFT`: 2× correlated noise, 5× i.i.d. noise, 2× shear, larger scale jitter); metrics
  ``shift_top1``, ``shift_ece`` and the rest of the calibration summary with prefix ``shift_``,
  and ``shift_ece_ts`` etc. at the ID validation temperature (Ovadia et al. 2019).

Detection scores: maximum softmax probability (MSP), maximum logit, energy (``logsumexp``), each
with AUROC, AUPR-In and FPR@95TPR (ID = positive), named ``{set}_{metric}_{score}`` for the sets
``near``, ``far_smooth``, ``far_walk``, ``far_sines`` and their mean ``far``. Headline: ``top1``,
``near_auroc_msp``, ``far_auroc_msp``, ``shift_top1``, ``shift_ece``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..data import mnist1d_arrays
from ..metrics import classification
from ..metrics.ood import detection_metrics
from ..metrics.summary import classification_summary
from ..metrics.temperature import scaled_calibration, temperature_scaled_metrics
from .base import EvalInput, Suite, Task, TaskData
from .embedded import as_task_data, mnist1d_pool, mnist1d_recipe, relabel, tensor
from .fullscale import ood_tasks
from .splits import stratified_holdout

ID_CLASSES = (0, 1, 2, 3, 4, 5)
VAL_FRACTION = 0.1
#: MNIST-1D sequences generated for this task (80 % train, 20 % test: 12,000 / 3,000).
POOL_SAMPLES = 15000
#: Sequences per far-OOD family, and the seed of their generator (fixed: not the run seed, so
#: every run is scored on the same far sets, as every run is on the same test split).
FAR_SAMPLES = 1000
FAR_SEED = 1234
FAR_SETS = ("smooth", "walk", "sines")
#: Generator overrides of the covariate-shifted copy (defaults: corr_noise_scale 0.25,
#: iid_noise_scale 0.02, shear_scale 0.75, scale_coeff 0.4).
SHIFT = {"corr_noise_scale": 0.5, "iid_noise_scale": 0.1, "shear_scale": 1.5, "scale_coeff": 0.6}
#: ~6,480 training sequences; AdamW with decoupled weight decay 0.1, 40 epochs of batch 256 (the
#: budget study's V9, docs/suites.md).
RECIPE = mnist1d_recipe(epochs=40, batch_size=256, weight_decay=0.1)


def _standardised(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(1, keepdims=True)
    return x / x.std(1, keepdims=True)


def _like_id(x: np.ndarray, id_x: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Each row of ``x`` standardised, then given the mean and standard deviation of a random row
    of ``id_x``: the far sets share the ID data's per-sample amplitude distribution."""
    ref = id_x[gen.integers(0, len(id_x), len(x))]
    return (_standardised(x) * ref.std(1, keepdims=True) + ref.mean(1, keepdims=True)
            ).astype(np.float32)


def far_ood_sets(id_x: np.ndarray, n: int = FAR_SAMPLES, seed: int = FAR_SEED
                 ) -> dict[str, np.ndarray]:
    """The far-OOD families (``smooth``, ``walk``, ``sines``), ``n`` sequences each, of the
    length of ``id_x``'s rows, rescaled per sample like random rows of ``id_x``
    (:func:`_like_id`)."""
    gen = np.random.default_rng(seed)
    length = id_x.shape[1]
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)  # Gaussian, σ = 2 positions
    smooth = np.stack([np.convolve(row, kernel, mode="same")
                       for row in gen.standard_normal((n, length))])
    walk = np.cumsum(gen.standard_normal((n, length)), axis=1)
    t = np.linspace(0.0, 1.0, length)
    freq = gen.uniform(1.0, 6.0, (n, 1))
    phase = gen.uniform(0.0, 2 * np.pi, (n, 1))
    sines = np.sin(2 * np.pi * freq * t + phase)
    return {name: _like_id(x, id_x, gen) for name, x in
            (("smooth", smooth), ("walk", walk), ("sines", sines))}


@functools.lru_cache(maxsize=4)
def mnist1d_ood(seed: int) -> TaskData:
    """The ID splits (digits 0–5) and, in ``extra``, the near, far and shifted test sets."""
    raw = mnist1d_pool(POOL_SAMPLES)
    in_id = np.isin(raw["y"], ID_CLASSES)
    x_id, y_id = raw["x"][in_id], relabel(raw["y"][in_id], ID_CLASSES)
    keep, hold = stratified_holdout(y_id, VAL_FRACTION, seed)
    test_id = np.isin(raw["y_test"], ID_CLASSES)
    shifted = mnist1d_arrays(**SHIFT)
    shift_id = np.isin(shifted["y_test"], ID_CLASSES)
    far = far_ood_sets(x_id)
    return as_task_data({
        "train": (x_id[keep], y_id[keep]),
        "val": (x_id[hold], y_id[hold]),
        "test": (raw["x_test"][test_id], relabel(raw["y_test"][test_id], ID_CLASSES)),
    }, num_classes=len(ID_CLASSES),
        x_near=tensor(raw["x_test"][~test_id]),
        **{f"x_far_{name}": tensor(far[name]) for name in FAR_SETS},
        x_shift=tensor(shifted["x_test"][shift_id]),
        y_shift=torch.as_tensor(relabel(shifted["y_test"][shift_id], ID_CLASSES)))


def ood_metrics(ev: EvalInput) -> dict[str, float]:
    """ID summary with its temperature-scaled calibration (``*_ts``, T fitted on the ID
    validation split); detection metrics for every OOD set ``extra["x_<name>"]`` and score, and
    their mean over the sets named ``far_*`` (``far_<metric>_<score>``); the summary on the
    covariate-shifted set ``extra["x_shift"]``/``["y_shift"]`` when present, and its calibration
    at the ID temperature (``shift_*_ts``)."""
    d = ev.data
    model = ev.selected
    logits_id = model.outputs(d.x_test)
    val_logits = model.outputs(d.x_val)
    out = classification_summary(logits_id, d.y_test)
    out["val_top1"] = classification.top1(val_logits, d.y_val)
    out.update(temperature_scaled_metrics(val_logits, d.y_val, logits_id, d.y_test))
    ood_sets = [k[2:] for k in d.extra if k.startswith("x_") and k != "x_shift"]
    for name in ood_sets:
        out.update(detection_metrics(logits_id, model.outputs(d.extra[f"x_{name}"]),
                                     prefix=f"{name}_"))
    far = [name for name in ood_sets if name.startswith("far_")]
    if far:
        for metric in [k[len(far[0]) + 1:] for k in out if k.startswith(f"{far[0]}_")]:
            out[f"far_{metric}"] = float(np.mean([out[f"{name}_{metric}"] for name in far]))
    if "x_shift" in d.extra:
        logits_shift = model.outputs(d.extra["x_shift"])
        out.update(classification_summary(logits_shift, d.extra["y_shift"], prefix="shift_"))
        # the ID validation temperature on shifted data (Ovadia et al. 2019, NeurIPS)
        out.update(scaled_calibration(logits_shift, d.extra["y_shift"], out["temperature"],
                                      prefix="shift_"))
    return out


MNIST1D_OOD = Task(
    name="mnist1d-ood",
    version="3",  # 3: batch 256 (2: 15,000-sequence pool, generated far sets, AdamW wd 0.1)
    description=(f"MNIST-1D ({POOL_SAMPLES:,} generated) digits 0-5 (ID) vs 6-9 (near), smoothed "
                 "noise, random walks and sinusoids rescaled like ID sequences (far), "
                 "stronger-corruption generator (covariate shift); 1D CNN, "
                 f"{RECIPE.epochs} epochs AdamW one-cycle lr {RECIPE.lr} wd "
                 f"{RECIPE.weight_decay}, batch {RECIPE.batch_size}"),
    make_data=mnist1d_ood,
    evaluate=ood_metrics,
    train=RECIPE,
    model="cnn1d",
    model_kwargs={"channels": 32},
    headline=("top1", "near_auroc_msp", "far_auroc_msp", "shift_top1", "shift_ece"),
    model_selection="last_epoch",  # the final epoch, as OpenOOD v1.5 evaluates
)

_TASKS = [MNIST1D_OOD, *ood_tasks(ood_metrics)]


SUITE = Suite(
    name="ood",
    version="1",
    description="semantic OOD detection (near/far) and covariate shift",
    tasks={t.name: t for t in _TASKS},
    headline=("near_auroc_msp", "near_fpr95_msp", "far_auroc_msp", "shift_top1",
              "shift_ece"),
)
