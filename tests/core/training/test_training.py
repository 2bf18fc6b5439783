import json

import pandas as pd
import pytest
import torch

from resnet_core import Callback, TrainConfig, TrainingFailed, load_checkpoint, resume, train
from resnet_core.errors import ConfigError

from helpers import StopAtStep


def test_default_digits_run_reaches_97_percent_test_accuracy(tmp_path):
    run = train(TrainConfig(dataset="digits", arch="resnet20", runs_dir=str(tmp_path)), progress=False)
    summary = run.summary("test")
    assert summary["accuracy"] >= 0.97, summary
    assert run.status["state"] == "completed"
    assert run.status["epoch"] == 30


def test_run_directory_has_the_documented_files(short_run):
    d = short_run.dir
    assert {p.name for p in d.iterdir()} == {"config.json", "status.json", "metrics.jsonl", "checkpoints", "eval"}
    assert {p.name for p in (d / "checkpoints").iterdir()} == {"best.pt", "last.pt", "epochs"}
    # Weight snapshots for the Explain page's probe slider: every epoch of a 3-epoch run.
    assert sorted(p.name for p in (d / "checkpoints" / "epochs").iterdir()) == [
        "epoch_001.pt", "epoch_002.pt", "epoch_003.pt"]
    assert {p.name for p in (d / "eval" / "test").iterdir()} == {
        "predictions.csv", "confusion.csv", "per_class.csv", "summary.json"}
    config = json.loads((d / "config.json").read_text())
    for key in ("dataset", "arch", "lr", "device", "class_names", "input_shape", "mean", "std",
                "world_size", "versions"):
        assert key in config
    assert config["input_shape"] == [1, 8, 8] and config["epochs"] == 3
    status = json.loads((d / "status.json").read_text())
    assert status["state"] == "completed" and status["epoch"] == 3
    for key in ("error", "created_at", "started_at", "ended_at", "step"):
        assert key in status
    metrics = pd.read_json(d / "metrics.jsonl", lines=True)
    assert set(metrics["split"]) == {"train", "val", "test"}
    assert metrics[metrics.split == "val"]["epoch"].tolist() == [1, 2, 3]
    train_lines = metrics[metrics.split == "train"]
    assert train_lines[["lr", "images_per_sec", "elapsed_s"]].notna().all().all()
    preds = pd.read_csv(d / "eval" / "test" / "predictions.csv")
    assert list(preds.columns) == ["index", "y_true", "y_pred", "confidence"]
    confusion = pd.read_csv(d / "eval" / "test" / "confusion.csv", index_col=0)
    assert list(confusion.columns) == [str(i) for i in range(10)]
    assert confusion.values.sum() == len(preds)
    summary = json.loads((d / "eval" / "test" / "summary.json").read_text())
    assert summary["accuracy"] == pytest.approx((preds.y_true == preds.y_pred).mean())
    assert not list(d.rglob("*.tmp"))  # atomic writes leave no temporary files


def test_checkpoint_restores_everything_with_weights_only(short_run):
    ckpt = torch.load(short_run.dir / "checkpoints" / "last.pt", weights_only=True)
    for key in ("model", "optimizer", "scheduler", "scaler", "rng", "epoch", "step", "config",
                "preprocessing"):
        assert key in ckpt
    assert set(ckpt["rng"]) >= {"torch", "numpy", "python", "augment", "cuda"}
    assert ckpt["preprocessing"]["class_names"] == [str(i) for i in range(10)]
    assert ckpt["epoch"] == 3 and ckpt["step"] == 30


@pytest.mark.parametrize("stop_step", [15, 20])  # mid-epoch, and exactly at an epoch boundary
def test_resume_ends_bit_for_bit_where_an_uninterrupted_run_ends(tmp_path, stop_step):
    # The promise is bit-for-bit on the CPU (cuDNN may pick non-deterministic kernels).
    config = dict(dataset="digits", arch="resnet20", epochs=4, seed=3, device="cpu", runs_dir=str(tmp_path))
    straight = train(TrainConfig(**config), progress=False)
    stopped = train(TrainConfig(**config), progress=False, callbacks=[StopAtStep(stop_step)])
    assert stopped.status["state"] == "stopped" and stopped.status["step"] == stop_step
    resumed = resume(stopped.dir, epochs=4, progress=False)
    assert resumed.status["state"] == "completed"
    assert resumed.summary("test") == straight.summary("test")
    cols = ["split", "epoch", "step", "loss", "accuracy", "lr"]
    a, b = straight.metrics()[cols], resumed.metrics()[cols]
    pd.testing.assert_frame_equal(a, b)  # no duplicate or missing line, same numbers
    wa = load_checkpoint(straight.dir / "checkpoints" / "last.pt")["model"]
    wb = load_checkpoint(resumed.dir / "checkpoints" / "last.pt")["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_stop_file_stops_and_keeps_a_checkpoint(tmp_path):
    class TouchStop(Callback):
        def on_step_end(self, state, logs):
            if state.step == 7:
                (state.run_dir / "STOP").touch()

    run = train(TrainConfig(epochs=3, runs_dir=str(tmp_path)), progress=False, callbacks=[TouchStop()])
    assert run.status["state"] == "stopped" and run.status["step"] == 7
    assert load_checkpoint(run.dir / "checkpoints" / "last.pt")["step_in_epoch"] == 7
    assert not (run.dir / "STOP").exists()


def test_non_finite_loss_fails_the_run_naming_the_step(tmp_path):
    class Poison(Callback):
        def on_epoch_end(self, state, logs):
            if state.epoch == 1:
                with torch.no_grad():
                    state.model.fc.weight.fill_(float("nan"))

    with pytest.raises(TrainingFailed, match=r"loss became nan at step 11 .*lower learning rate"):
        train(TrainConfig(epochs=3, runs_dir=str(tmp_path)), progress=False, callbacks=[Poison()])
    (run_dir,) = tmp_path.iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed" and "step 11" in status["error"]
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.pt")  # the last good one, epoch 1
    assert ckpt["step"] == 10 and torch.isfinite(ckpt["model"]["fc.weight"]).all()


@pytest.mark.parametrize("options", [dict(optimizer="adamw", lr=3e-3, scheduler="onecycle"),
                                     dict(optimizer="adam", lr=1e-3, scheduler="step", loss="mse",
                                          grad_clip=1.0, label_smoothing=0.0),
                                     dict(scheduler="none", label_smoothing=0.1, norm="group",
                                          activation="silu", residual=False)])
def test_optimizers_schedules_and_losses_train(tmp_path, options):
    run = train(TrainConfig(max_steps=25, runs_dir=str(tmp_path), **options), progress=False)
    metrics = run.metrics()
    train_loss = metrics[metrics.split == "train"]["loss"]
    assert run.status["state"] == "completed" and run.status["step"] == 25
    assert train_loss.iloc[-1] < train_loss.iloc[0]


def test_batch_larger_than_the_training_split_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="larger than the training split"):
        train(TrainConfig(batch_size=5000, runs_dir=str(tmp_path)), progress=False)
    assert not any(tmp_path.iterdir())  # a refused run leaves no folder behind


def test_folder_tree_too_large_for_memory_streams_through_a_dataloader(tmp_path, monkeypatch):
    from PIL import Image

    from resnet_core.data import sources as data

    for cls, color in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        for i in range(40):
            (tmp_path / "imgs" / cls).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (24, 20), tuple(max(0, c - i) for c in color)).save(tmp_path / "imgs" / cls / f"{i}.png")
    config = dict(dataset="folder", data_root=str(tmp_path / "imgs"), image_size=16, epochs=3,
                  batch_size=16, num_workers=0, runs_dir=str(tmp_path / "runs"))
    in_memory = train(TrainConfig(**config), progress=False)
    monkeypatch.setattr(data, "MAX_IN_MEMORY_BYTES", 0)
    ds = data.load_dataset("folder", data_root=tmp_path / "imgs", image_size=16)
    assert ds.train.images is None and ds.train.files  # the streaming path
    streamed = train(TrainConfig(**config), progress=False, dataset=ds)
    assert streamed.status["state"] == "completed"
    # Same images, same order, same on-device augmentation: the same run.
    assert streamed.summary("test") == in_memory.summary("test")
    cols = ["split", "step", "loss", "accuracy"]
    pd.testing.assert_frame_equal(streamed.metrics()[cols], in_memory.metrics()[cols])


def test_compile_that_fails_falls_back_to_eager_with_a_warning(tmp_path, monkeypatch):
    class Uncompilable(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            raise RuntimeError("backend 'inductor' failed: no C compiler found")

    monkeypatch.setattr(torch, "compile", lambda model, **kw: Uncompilable(model))
    config = TrainConfig(dataset="digits", max_steps=12, compile=True, runs_dir=str(tmp_path))
    with pytest.warns(RuntimeWarning, match="no C compiler found.*continues in eager mode"):
        run = train(config, progress=False)
    assert run.status["state"] == "completed"
    assert run.summary()["accuracy"] > 0.1
    keys = load_checkpoint(run.checkpoint_path("last"))["model"].keys()
    assert not any(k.startswith("_orig_mod") for k in keys)


@pytest.mark.slow
def test_compiled_training_matches_eager_checkpoint_format(tmp_path):
    """Real torch.compile (inductor; tens of seconds to compile on 2 cores, less for the
    smallest net): the same recipe learns as well as eager (numerics differ slightly), and
    checkpoints load without it."""
    runs = {c: train(TrainConfig(dataset="digits", arch="resnet8", epochs=3, compile=c,
                                 runs_dir=str(tmp_path)),
                     progress=False) for c in (False, True)}
    run = runs[True]
    assert run.status["state"] == "completed"
    assert abs(run.summary()["accuracy"] - runs[False].summary()["accuracy"]) < 0.1
    keys = load_checkpoint(run.checkpoint_path("best"))["model"].keys()
    assert not any(k.startswith("_orig_mod") for k in keys)


def test_snapshots_are_cut_to_a_share_of_the_free_disk_and_a_full_disk_fails_first(tmp_path,
                                                                                   monkeypatch):
    import shutil
    from collections import namedtuple

    Usage = namedtuple("Usage", "total used free")
    real = shutil.disk_usage
    weights_mib = 1.1  # resnet20 for digits, float32
    # Room for the checkpoints and about two snapshots within the 10% share.
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(0, 0, int((16 + 4 * weights_mib
                                                                        + 25) * 2**20)))
    with pytest.warns(RuntimeWarning, match="keeping [0-9] weight snapshots instead of 8"):
        run = train(TrainConfig(epochs=8, runs_dir=str(tmp_path)), progress=False)
    assert 0 <= len(run.snapshots()) < 8
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(0, 0, 2**20))
    with pytest.raises(TrainingFailed, match="MiB free in .* free some space or use another --runs-dir"):
        train(TrainConfig(epochs=1, runs_dir=str(tmp_path)), progress=False)
    monkeypatch.setattr(shutil, "disk_usage", real)
