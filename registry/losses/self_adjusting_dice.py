"""Self-adjusting Dice loss (Li et al. 2020), in the multi-class form of the authors' code."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._precision import upcast

#: ``1 − p`` is kept at least this large so that ``α < 1`` has a finite gradient at ``p = 1``
#: (``d/dp (1 − p)^α`` is unbounded there); it changes the value only where ``1 − p < 1e-6``.
MIN_COMPLEMENT = 1e-6


def self_adjusting_dice_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.01,
                             gamma: float = 1.0) -> torch.Tensor:
    """``mean_i Σ_c [1 − (2 q_ic y_ic + γ) / (q_ic² + y_ic² + γ)]``, ``q = (1 − p)^α p``.

    ``p = softmax(z)``, ``y`` the one-hot targets: one self-adjusting DSC per (sample, class),
    with the squared denominator of the authors' runs, summed over the classes.
    """
    p = upcast(logits).softmax(-1)
    y = F.one_hot(targets, p.shape[-1]).to(p.dtype)
    q = (1 - p).clamp_min(MIN_COMPLEMENT) ** alpha * p if alpha != 0 else p
    dsc = (2 * q * y + gamma) / (q.square() + y.square() + gamma)
    return (1 - dsc).sum(-1).mean().to(logits.dtype)


class SelfAdjustingDice(nn.Module):
    """Self-adjusting Dice loss: ``L = Σ_c 1 − (2 (1−p_c)^α p_c y_c + γ) / (((1−p_c)^α p_c)² +
    y_c² + γ)``, averaged over samples.

    Li, Sun, Meng, Liang, Wu, Li. *Dice Loss for Data-imbalanced NLP Tasks.* ACL 2020,
    arXiv:1911.02855, §3.4 (the self-adjusting DSC). Exactly the multi-class path of the
    authors' ``DiceLoss`` (github.com/ShannonAI/dice_loss_for_NLP, ``loss/dice_loss.py`` at
    d1ff9e5, ``_multiple_class`` and ``_compute_dice_loss``) as their text-classification runs
    call it (``tasks/tnews/train.py``: ``with_logits=True``, ``index_label_position=True``,
    ``reduction="mean"``), with the settings of their classification scripts
    (``scripts/textcl_tnews/bert_dice.sh``, ``scripts/glue_mrpc/bert_*_dice.sh``:
    ``--dice_square``, ``DICE_SMOOTH=1``, ``DICE_ALPHA=0.01`` as in all their scripts, and
    ``DICE_OHEM=0``): softmax
    probabilities ``p``, one DSC per (sample, class) — with ``square_denominator`` each sums
    over a single element —, summed over the classes and averaged over the batch. ``γ`` is the
    code's ``smooth``. The factor ``(1 − p)^α`` down-weights confident examples; ``1 − p`` is
    floored at 1e-6 (a finite gradient at ``p = 1``), which the code does not do.
    """

    version = "2"
    paper = ("Li, Sun, Meng, Liang, Wu, Li. Dice Loss for Data-imbalanced NLP Tasks. ACL 2020, "
             "arXiv:1911.02855")
    hparams = {"alpha": 0.01, "gamma": 1.0}
    search_space = {"alpha": {"low": 0.0, "high": 2.0}, "gamma": {"low": 0.01, "high": 2.0,
                                                                    "log": True}}
    # Dice for data-imbalanced NLP tasks (imbalance, not calibration): long-tail suite.
    suites = ("standard", "imbalanced")
    fidelity = "exact"

    def __init__(self, alpha: float = 0.01, gamma: float = 1.0):
        super().__init__()
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        self.alpha = alpha
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self_adjusting_dice_loss(logits, targets, self.alpha, self.gamma)
