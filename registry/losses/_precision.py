"""Working precision of the built-in losses: low-precision inputs are computed in float32."""

from __future__ import annotations

import torch


def upcast(x: torch.Tensor) -> torch.Tensor:
    """``x`` in at least float32 (bfloat16/float16 → float32; float32/float64 unchanged).

    Losses compute in this precision and cast the result back to the input's dtype, so
    ``log``/``exp`` of probabilities stay finite for extreme logits and low-precision inputs.
    """
    return x if x.dtype in (torch.float32, torch.float64) else x.float()
