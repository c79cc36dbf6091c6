"""Would training several seeds at once with ``torch.func`` pay off? Measures it.

    python benchmarks/vmap_seeds.py [--seeds 3] [--steps 360]

Trains ``--seeds`` copies of the MNIST-1D CNN for ``--steps`` AdamW steps (fused, 1 thread) two
ways: one model after another, and as one stacked model (``stack_module_state`` + ``vmap`` over
``functional_call``). Prints both times and the speed-up (docs/performance.md, "Several seeds at
once").
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from lossbench.models import build_model
from lossbench.suites.standard import mnist1d_data


def sequential(models, data, steps: int) -> float:
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-3, fused=True) for m in models]
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        for model, opt in zip(models, opts, strict=True):
            idx = torch.randint(0, len(data.x_train), (100,), generator=gen)
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def stacked(models, data, steps: int) -> float:
    params, buffers = stack_module_state(models)
    leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
    opt = torch.optim.AdamW(list(leaves.values()), lr=1e-3, fused=True)
    base = copy.deepcopy(models[0]).to("meta")

    def one(p, b, x, y):
        return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(0, len(data.x_train), (len(models), 100), generator=gen)
        loss = vmap(one)(leaves, buffers, data.x_train[idx], data.y_train[idx]).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=360)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(1)
    data = mnist1d_data(0)
    for _ in range(args.repeats):
        models = [build_model("cnn1d", data.in_shape, data.num_classes, channels=32)
                  for _ in range(args.seeds)]
        a, b = sequential(models, data, args.steps), stacked(models, data, args.steps)
        print(f"{args.seeds} seeds, {args.steps} steps: sequential {a:.2f}s, vmap {b:.2f}s, "
              f"speed-up {a / b:.2f}x", flush=True)


if __name__ == "__main__":
    main()
