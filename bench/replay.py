"""Record a trained model's outputs in the run's child, replay them to the task's metrics elsewhere.

A task's ``evaluate(EvalInput)`` reads the model only through its evaluators' ``outputs(x)`` and
``features(x)`` (:class:`lossbench.evaluator.Evaluator`), on tensors of the task's data. So the
metrics can be computed in a process that never imported the plugin:

1. the run's child runs ``task.evaluate`` with :class:`RecordingEvaluator` s, which return the
   real outputs and keep a copy of each under :func:`lossbench.run_outputs.output_key`
   (checkpoint, method, digest of the input's bytes);
2. those arrays travel as plain data (:mod:`lossbench.run_outputs`);
3. the scoring process rebuilds the task's data from the spec (``task.make_data(seed)`` is
   deterministic) and runs the same ``evaluate`` with :class:`ReplayEvaluator` s, which look the
   outputs up by the same key. An input the child did not answer for is
   :class:`MissingOutputs`, the run's error.

The metrics are the same computation on the same numbers in both processes, so they are
bit-identical to computing them in the child, whatever the task asks for and in which order.

The inputs a built-in task's ``evaluate`` asks for are a function of its data (the seed), the
loss's objective and the checkpoints, never of the outputs. So once the scoring process has
replayed one run it knows them (:attr:`ReplayEvaluator.requests`), and later runs of the same
task, seed and objective are given them (an *evaluation plan*): their child only computes those
outputs (:func:`answer`) instead of running ``evaluate`` itself, which would compute every metric
a second time (seconds per retrieval run). A plan is a hint: an input it lacks is missing in the
scoring process as always.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .evaluator import Evaluator
from .run_outputs import output_key

METHODS = ("outputs", "features")


#: One input an ``evaluate`` asked for: (checkpoint, method, input tensor).
Request = tuple[str, str, torch.Tensor]


class MissingOutputs(LookupError):
    """The scoring process asked for outputs the run's child did not return."""


class RecordingEvaluator(Evaluator):
    """An :class:`Evaluator` of a real model that also keeps every result it returns (as float32
    numpy arrays, in :attr:`recorded`, under :func:`output_key`), and appends each request to
    ``requests`` when given (a trusted in-process run learning an evaluation plan)."""

    def __init__(self, inner: Evaluator, checkpoint: str, recorded: dict[str, np.ndarray],
                 requests: list[Request] | None = None):
        super().__init__(inner.model, inner.batch_size)
        self.inner = inner
        self.checkpoint = checkpoint
        self.recorded = recorded
        self.requests = requests

    def _record(self, method: str, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if self.requests is not None:
            self.requests.append((self.checkpoint, method, x.detach().cpu()))
        self.recorded[output_key(self.checkpoint, method, x)] = (
            out.detach().cpu().contiguous().numpy().copy())
        return out

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        return self._record("outputs", x, self.inner.outputs(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self._record("features", x, self.inner.features(x))


class ReplayEvaluator(Evaluator):
    """An :class:`Evaluator` with no model: it answers ``outputs(x)`` / ``features(x)`` with the
    arrays the run's child returned for the same checkpoint, method and input, and appends
    each request to ``requests`` (when given: the evaluation plan of later runs)."""

    def __init__(self, checkpoint: str, arrays: Mapping[str, np.ndarray],
                 requests: list[Request] | None = None):
        super().__init__(torch.nn.Identity())
        self.checkpoint = checkpoint
        self.arrays = arrays
        self.requests = requests

    def _replay(self, method: str, x: torch.Tensor) -> torch.Tensor:
        if self.requests is not None:
            self.requests.append((self.checkpoint, method, x.detach().cpu()))
        key = output_key(self.checkpoint, method, x)
        if key not in self.arrays:
            raise MissingOutputs(
                f"the run's child did not return the {method} of the {self.checkpoint!r} "
                f"checkpoint for a {tuple(x.shape)} input (key {key})")
        array = self.arrays[key]
        if array.ndim == 0 or array.shape[0] != x.shape[0]:
            raise MissingOutputs(
                f"the run's child returned {self.checkpoint!r} {method} of shape "
                f"{tuple(array.shape)} for an input of {x.shape[0]} rows")
        return torch.from_numpy(np.array(array, dtype=np.float32)).to(x.device)

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        return self._replay("outputs", x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self._replay("features", x)


def recording(checkpoints: Mapping[str, Evaluator], requests: list[Request] | None = None
              ) -> tuple[dict[str, RecordingEvaluator], dict[str, np.ndarray]]:
    """Recording evaluators for ``checkpoints`` and the dict they fill."""
    recorded: dict[str, np.ndarray] = {}
    return {name: RecordingEvaluator(ev, name, recorded, requests)
            for name, ev in checkpoints.items()}, recorded


def replaying(checkpoints: tuple[str, ...] | list[str], arrays: Mapping[str, np.ndarray],
              requests: list[Request] | None = None) -> dict[str, ReplayEvaluator]:
    """Replay evaluators for the checkpoints the child named (``last`` always exists), logging
    what they are asked for in ``requests`` when given."""
    names = dict.fromkeys(["last", *checkpoints])
    return {name: ReplayEvaluator(name, arrays, requests) for name in names}


def answer(checkpoints: Mapping[str, Evaluator], plan: list[Request]) -> dict[str, np.ndarray]:
    """The child's side of an evaluation plan: the outputs of each planned request (on the
    checkpoints' device), keyed as :class:`RecordingEvaluator` keys them."""
    recorders, recorded = recording(checkpoints)
    device = next(iter(checkpoints.values())).model
    device = next((p.device for p in device.parameters()), torch.device("cpu"))
    for checkpoint, method, x in plan:
        getattr(recorders[checkpoint], method)(x.to(device))
    return recorded
