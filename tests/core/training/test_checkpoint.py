import pickle

import pytest
import torch

from resnet_core import CheckpointError, load_checkpoint, model_from_checkpoint


class Payload:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_checkpoint_with_pickled_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"model": {}, "config": {}, "payload": Payload(marker)}, evil)
    # Sanity: a plain unpickler would have run it.
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refused without running it"):
        load_checkpoint(evil)
    assert not marker.exists()
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)
    assert not marker.exists()


def test_truncated_checkpoint_is_a_clear_error_and_the_other_still_loads(short_run, tmp_path):
    last = short_run.dir / "checkpoints" / "last.pt"
    broken = tmp_path / "last.pt"
    broken.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(broken)
    model, config, info = model_from_checkpoint(load_checkpoint(short_run.dir / "checkpoints" / "best.pt"))
    assert config.arch == "resnet20" and info.num_classes == 10
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 8, 8)).shape == (1, 10)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
