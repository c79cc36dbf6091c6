"""What a run's child sends back is read as plain numeric arrays, within a size limit, and
nothing it sends is ever unpickled (lossbench.run_outputs)."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from lossbench.errors import UsageError
from lossbench.run_outputs import (
    MAX_BYTES_ENV,
    OutputsRefused,
    RunOutputs,
    decode,
    encode,
    max_output_bytes,
    output_key,
)


class Marker:
    """Unpickling this creates the file ``path`` (what a code-running payload would do)."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def sample() -> RunOutputs:
    return RunOutputs(
        "ok", checkpoints=("last", "selected"),
        outputs={"last.outputs.ab": np.arange(6, dtype=np.float32).reshape(3, 2)},
        history={"train_loss": np.array([2.5, 1.25])},
        scalars={"train_seconds": 0.5, "best_epoch": 1.0, "loss_cost_ratio": float("nan")},
        device="cuda:NVIDIA H100")


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def meta(**fields) -> np.ndarray:
    import json

    base = {"status": "ok", "error": "", "checkpoints": ["last"], "scalars": {}}
    return np.frombuffer(json.dumps({**base, **fields}).encode(), dtype=np.uint8)


def test_outputs_round_trip_exactly():
    back = decode(encode(sample()))
    assert back.status == "ok" and back.checkpoints == ("last", "selected")
    assert np.array_equal(back.outputs["last.outputs.ab"], sample().outputs["last.outputs.ab"])
    assert back.outputs["last.outputs.ab"].dtype == np.float32
    assert back.history["train_loss"].tolist() == [2.5, 1.25]
    assert back.scalars["train_seconds"] == 0.5 and np.isnan(back.scalars["loss_cost_ratio"])
    assert back.metrics is None and back.task_json is None
    assert back.device == "cuda:NVIDIA H100"


def test_a_payload_over_the_limit_is_refused_with_the_limit():
    payload = encode(sample())
    with pytest.raises(OutputsRefused, match=f"over the limit of {len(payload) - 1}"):
        decode(payload, limit=len(payload) - 1)


def test_an_archive_that_unpacks_over_the_limit_is_refused():
    buffer = io.BytesIO()
    np.savez_compressed(buffer, __meta__=meta(), big=np.zeros(1_000_000))
    payload = buffer.getvalue()
    assert len(payload) < 100_000
    with pytest.raises(OutputsRefused, match="unpack to .* over the limit of 100000"):
        decode(payload, limit=100_000)


def test_an_object_array_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "ran"
    payload = npz(__meta__=meta(), evil=np.array([Marker(str(marker))], dtype=object))
    with pytest.raises(OutputsRefused, match="not a readable array archive"):
        decode(payload)
    assert not marker.exists()


def test_a_pickle_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(OutputsRefused, match="not a readable array archive"):
        decode(pickle.dumps(Marker(str(marker))))
    assert not marker.exists()


def test_a_text_array_is_refused():
    with pytest.raises(OutputsRefused, match="non-numeric array 'words'"):
        decode(npz(__meta__=meta(), words=np.array(["a", "b"])))


def test_an_archive_without_its_description_is_refused():
    with pytest.raises(OutputsRefused, match="no description"):
        decode(npz(x=np.zeros(3)))


@pytest.mark.parametrize("status", ["timeout", "crashed", "great"])
def test_a_status_only_the_executor_may_give_is_refused(status):
    with pytest.raises(OutputsRefused, match=f"status '{status}'; valid: ok, error, diverged"):
        decode(npz(__meta__=meta(status=status)))


def test_a_checkpoint_other_than_last_or_selected_is_refused():
    with pytest.raises(OutputsRefused, match="checkpoints other than"):
        decode(npz(__meta__=meta(checkpoints=["last", "best-of-test"])))


def test_a_device_name_of_several_lines_is_refused():
    with pytest.raises(OutputsRefused, match="one line of at most 200 printable characters"):
        decode(npz(__meta__=meta(device="cuda:H100\n| forged | row |")))


def test_scalars_that_are_not_numbers_are_refused():
    with pytest.raises(OutputsRefused, match="malformed scalars"):
        decode(npz(__meta__=meta(scalars={"train_seconds": "fast"})))


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(MAX_BYTES_ENV, "1234")
    assert max_output_bytes() == 1234
    monkeypatch.setenv(MAX_BYTES_ENV, "-1")
    with pytest.raises(UsageError, match=f"{MAX_BYTES_ENV} must be a positive number of bytes, "
                                         f"got '-1'"):
        max_output_bytes()
    monkeypatch.delenv(MAX_BYTES_ENV)
    assert max_output_bytes() == 2**30


def test_the_key_of_an_input_is_its_bytes_shape_and_dtype():
    x = torch.arange(6, dtype=torch.float32)
    assert output_key("last", "outputs", x) == output_key("last", "outputs", x.clone())
    assert output_key("last", "outputs", x) != output_key("last", "outputs", x + 1)
    assert output_key("last", "outputs", x) != output_key("last", "outputs", x.view(2, 3))
    assert output_key("last", "outputs", x) != output_key("last", "outputs", x.double())
    assert output_key("last", "outputs", x) != output_key("selected", "outputs", x)
    assert output_key("last", "outputs", x) != output_key("last", "features", x)



def test_the_sweep_reads_a_message_over_the_limit_as_refused_not_whole():
    import multiprocessing as mp

    from lossbench.executors.local import receive_outputs

    receive, send = mp.Pipe(duplex=False)
    send.send_bytes(b"x" * 100)
    with pytest.raises(OutputsRefused, match="over the limit of 10 bytes"):
        receive_outputs(receive, 10)
    receive2, send2 = mp.Pipe(duplex=False)
    send2.send_bytes(b"y" * 10)
    assert receive_outputs(receive2, 10) == b"y" * 10


def test_a_pickled_object_sent_on_the_pipe_arrives_as_bytes_only(tmp_path):
    import multiprocessing as mp

    from lossbench.executors.local import receive_outputs

    marker = tmp_path / "ran"
    receive, send = mp.Pipe(duplex=False)
    send.send(Marker(str(marker)))  # what a plugin holding the pipe can do
    payload = receive_outputs(receive, 10_000)
    assert isinstance(payload, bytes) and not marker.exists()
    with pytest.raises(OutputsRefused):
        decode(payload)
    assert not marker.exists()
