"""Starting from trained weights: torchvision's files, runs, freezing, the cached-feature path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_core import TrainConfig, train
from resnet_core.errors import ConfigError
from resnet_core.training.checkpoint import load_checkpoint
from resnet_core.training.evaluation import evaluate_run
from resnet_core.training.models import build_model
from resnet_core.training.transfer import (
    IMAGENET_FILES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    InitError,
    Weights,
    load_into,
    read_weights,
)

from helpers import run_cli

# The module fixtures below are made once: its tests run on one worker (.ci/run, loadgroup).
pytestmark = pytest.mark.xdist_group("test_transfer")

FILE = IMAGENET_FILES["resnet18"]


@pytest.fixture(scope="module")
def torchvision_weights(tmp_path_factory):
    """A seeded torchvision resnet18 state_dict, saved under torchvision's own file name in a
    torch hub cache, as ``torchvision.models.resnet18(weights="DEFAULT")`` leaves it."""
    import torchvision

    torch.manual_seed(1234)
    model = torchvision.models.resnet18()
    # Non-trivial batch-norm statistics, so that "unchanged" also covers the buffers.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    home = tmp_path_factory.mktemp("torch_home")
    path = home / "hub" / "checkpoints" / FILE
    path.parent.mkdir(parents=True)
    torch.save(model.state_dict(), path)
    return home, path, model.state_dict()


@pytest.fixture
def torch_home(torchvision_weights, monkeypatch):
    home, path, state = torchvision_weights
    monkeypatch.setenv("TORCH_HOME", str(home))
    return path, state


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Four classes of 12 RGB 40x40 images each, told apart by colour and a bright square."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c in range(4):
        for i in range(12):
            a = rng.integers(0, 90, (40, 40, 3)).astype(np.uint8)
            if c < 3:
                a[..., c] += 140
            else:
                a[10:30, 10:30] = 250
            (root / f"class{c}").mkdir(exist_ok=True)
            Image.fromarray(a).save(root / f"class{c}" / f"{i}.png")
    return root


def base(folder, tmp_path, **fields) -> TrainConfig:
    settings = {"dataset": "folder", "data_root": str(folder), "arch": "resnet18", "image_size": 32,
                "batch_size": 8, "epochs": 2, "probe_snapshots": 0, "runs_dir": str(tmp_path / "runs"),
                "num_workers": 0}
    return TrainConfig(**{**settings, **fields})


def backbone(state: dict) -> dict:
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


def test_the_file_names_are_torchvisions_default_weights():
    import torchvision.models as tvm

    for arch, name in IMAGENET_FILES.items():
        assert tvm.get_model_weights(arch).DEFAULT.url.endswith("/" + name)
        assert list(tvm.get_model_weights(arch).DEFAULT.transforms().mean) == list(IMAGENET_MEAN)


def test_imagenet_weights_load_strictly(torch_home):
    path, state = torch_home
    model = build_model("resnet18", 1000, 3, stem="imagenet")
    report = load_into(model, read_weights(path), "resnet18")
    assert report.new == [] and report.adapted == []
    assert sorted(report.loaded) == sorted(state)
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[key]), key


def test_pretrained_run_gets_a_new_head_and_imagenet_preprocessing(torch_home, folder, tmp_path):
    path, state = torch_home
    run = train(base(folder, tmp_path, pretrained="imagenet"), progress=False)
    init = run.config["init"]
    assert init["new"][0].startswith("fc.weight (1000 classes in the file, 4 here)")
    assert len(init["loaded"]) == len(state) - 2
    ckpt = load_checkpoint(run.checkpoint("best"))
    assert ckpt["preprocessing"]["mean"] == list(IMAGENET_MEAN)
    assert ckpt["preprocessing"]["std"] == list(IMAGENET_STD)
    assert ckpt["model"]["fc.weight"].shape == (4, 512)
    assert ckpt["model"]["conv1.weight"].shape == (64, 3, 7, 7)  # auto stem: the weights' own
    # Evaluation later normalises as the checkpoint says, so it reproduces the training's test.
    assert evaluate_run(run.dir)["accuracy"] == pytest.approx(run.summary("test")["accuracy"])


def test_a_frozen_backbone_stays_bit_identical(torch_home, folder, tmp_path):
    path, state = torch_home
    run = train(base(folder, tmp_path, pretrained="imagenet", freeze="backbone"), progress=False)
    trained = load_checkpoint(run.checkpoint("last"))["model"]
    for key, tensor in backbone(state).items():
        assert torch.equal(trained[key], tensor), key  # weights and batch-norm statistics
    assert not torch.equal(trained["fc.bias"], torch.zeros(4))


def test_fine_tune_trains_the_head_first_then_everything(torch_home, folder, tmp_path):
    path, state = torch_home
    run = train(base(folder, tmp_path, pretrained="imagenet", freeze_epochs=1, epochs=3,
                     probe_snapshots=3), progress=False)
    after_first = load_checkpoint(run.snapshot(1))["model"]
    last = load_checkpoint(run.checkpoint("last"))
    for key, tensor in backbone(state).items():
        assert torch.equal(after_first[key], tensor), key
    assert not torch.equal(last["model"]["layer1.0.conv1.weight"], state["layer1.0.conv1.weight"])
    head, body = last["optimizer"]["param_groups"]
    assert body["initial_lr"] == pytest.approx(head["initial_lr"] * 0.1)


def test_cached_features_reach_the_same_weights_as_the_full_step(torch_home, folder, tmp_path):
    fields = {"pretrained": "imagenet", "freeze": "backbone", "augment": False, "epochs": 4}
    cached = train(base(folder, tmp_path, **fields), progress=False)
    full = train(base(folder, tmp_path, **fields, feature_cache=False), progress=False)
    assert cached.config["training_step"] == "cached-features"
    assert full.config["training_step"] == "eager"
    a = load_checkpoint(cached.checkpoint("last"))["model"]
    b = load_checkpoint(full.checkpoint("last"))["model"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
    assert not torch.equal(a["fc.weight"], read_weights(torch_home[0]).state["fc.weight"][:4])
    va, vb = cached.metrics(), full.metrics()
    assert va[va.split == "val"].accuracy.tolist() == vb[vb.split == "val"].accuracy.tolist()


def test_one_channel_input_sums_the_rgb_stem(torch_home, tmp_path):
    path, state = torch_home
    run = train(TrainConfig(dataset="digits", arch="resnet18", pretrained="imagenet", max_steps=2,
                            batch_size=32, probe_snapshots=0, runs_dir=str(tmp_path)), progress=False)
    assert run.config["init"]["adapted"] == ["conv1.weight (RGB filters summed for 1-channel input)"]
    ckpt = load_checkpoint(run.checkpoint("last"))
    assert ckpt["preprocessing"]["mean"] == [0.449] and ckpt["preprocessing"]["std"] == [0.226]
    model = build_model("resnet18", 10, 1, stem="imagenet")
    load_into(model, read_weights(path))
    assert torch.equal(model.conv1.weight, state["conv1.weight"].sum(1, keepdim=True))


def test_a_grey_models_stem_spreads_over_rgb_and_answers_the_same_on_grey_images():
    grey, rgb = build_model("resnet20", 10, 1).eval(), build_model("resnet20", 10, 3).eval()
    report = load_into(rgb, Weights(grey.state_dict(), "a grey run"))
    assert report.adapted == ["conv1.weight (1-channel filters spread over RGB input)"]
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(rgb(x.expand(-1, 3, -1, -1)), grey(x), rtol=1e-5, atol=1e-5)


def test_init_from_a_run_with_another_class_count(tmp_path, folder):
    source = train(TrainConfig(dataset="shapes", arch="resnet20", max_steps=3, batch_size=32,
                               probe_snapshots=0, runs_dir=str(tmp_path / "a")), progress=False)
    three = tmp_path / "three"
    for c in ("class0", "class1", "class2"):
        (three / c).mkdir(parents=True)
        for f in (folder / c).iterdir():
            (three / c / f.name).write_bytes(f.read_bytes())
    run = train(base(three, tmp_path, arch="resnet20", init_from=str(source.dir), max_steps=1,
                     epochs=None), progress=False)
    init = run.config["init"]
    assert init["source"].endswith("best.pt")
    assert init["new"][0] == "fc.weight (4 classes in the file, 3 here)"
    # The source's preprocessing comes along: the weights were trained on inputs so normalised.
    assert load_checkpoint(run.checkpoint("last"))["preprocessing"]["mean"] == \
        load_checkpoint(source.checkpoint("best"))["preprocessing"]["mean"]


def test_bad_files_are_one_line_errors(tmp_path, folder):
    import torchvision

    other = tmp_path / "resnet50.pth"
    torch.save(torchvision.models.resnet50().state_dict(), other)
    marker = tmp_path / "pwned"
    pickled = tmp_path / "evil.pth"
    torch.save({"conv1.weight": _Payload(str(marker))}, pickled)
    truncated = tmp_path / "cut.pth"
    data = other.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    cases = {other: "holds resnet50 weights, not resnet18's", pickled: "refused without running it",
             truncated: "is corrupt or truncated"}
    for path, message in cases.items():
        r = run_cli("train", "--dataset", "folder", "--data-root", str(folder), "--arch", "resnet18",
                    "--init-from", str(path), "--batch-size", "8", "--runs-dir", str(tmp_path / "runs"),
                    "--quiet")
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], r.stderr
    assert not marker.exists()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


class _Payload:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_missing_imagenet_file_names_the_file_the_folder_and_the_fix(tmp_path, folder):
    r = run_cli("train", "--dataset", "folder", "--data-root", str(folder), "--arch", "resnet34",
                "--pretrained", "imagenet", "--runs-dir", str(tmp_path / "runs"),
                env={"TORCH_HOME": str(tmp_path / "empty")})
    assert r.returncode == 2
    line = r.stderr.strip()
    assert "\n" not in line
    assert IMAGENET_FILES["resnet34"] in line
    assert str(tmp_path / "empty" / "hub" / "checkpoints") in line
    assert "--download" in line


def test_settings_that_do_not_fit_are_refused():
    with pytest.raises(ConfigError, match="ImageNet weights exist for resnet18"):
        TrainConfig(arch="resnet20", pretrained="imagenet").validate()
    with pytest.raises(ConfigError, match="either pretrained or init_from"):
        TrainConfig(arch="resnet18", pretrained="imagenet", init_from="x.pth").validate()
    with pytest.raises(ConfigError, match="freeze_epochs .5. must be less than the epochs .5."):
        TrainConfig(epochs=5, freeze_epochs=5).validate()
    with pytest.raises(ConfigError, match="unknown freeze 'head'"):
        TrainConfig(freeze="head").validate()


def test_a_stem_mismatch_says_which_stem_to_use(torch_home):
    path, _ = torch_home
    model = build_model("resnet18", 4, 3, stem="small")
    with pytest.raises(InitError, match="the file's stem is 7x7, this model's 3x3: use --stem imagenet"):
        load_into(model, read_weights(path), "resnet18")


def test_lr_find_prints_a_suggestion_and_leaves_the_weights_alone(short_run, tmp_path):
    best = short_run.checkpoint("best")
    before = hashlib.sha256(best.read_bytes()).hexdigest()
    out = tmp_path / "sweep" / "lr.png"
    r = run_cli("lr-find", "--init-from", str(short_run.dir), "--steps", "60", "--out", str(out),
                "--runs-dir", str(tmp_path / "runs"))
    assert r.returncode == 0, r.stderr
    suggestion = float(r.stdout.strip().splitlines()[-1])
    assert 1e-7 <= suggestion <= 10
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = out.with_suffix(".csv").read_text().splitlines()
    assert rows[0] == "step,lr,loss,smoothed_loss" and 12 <= len(rows) <= 61
    lrs = [float(row.split(",")[1]) for row in rows[1:]]
    assert lrs == sorted(lrs) and lrs[0] == pytest.approx(1e-7)
    assert hashlib.sha256(best.read_bytes()).hexdigest() == before
    assert not (tmp_path / "runs").exists()  # a sweep is not a run


def test_lr_find_puts_a_given_models_weights_back(short_run):
    from resnet_core.training.checkpoint import model_from_checkpoint
    from resnet_core.training.lr_find import lr_find

    model, config, _ = model_from_checkpoint(load_checkpoint(short_run.checkpoint("best")))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = lr_find(config, model=model, num_steps=20, progress=False)
    assert 10 < len(result.lrs) <= 20 and result.lrs[0] <= result.suggestion <= result.lrs[-1]
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[key]), key


def test_the_report_is_in_config_json_and_survives_a_resume(torch_home, folder, tmp_path):
    from resnet_core import resume

    from helpers import StopAtStep

    config = base(folder, tmp_path, pretrained="imagenet", epochs=3)
    run = train(config, callbacks=[StopAtStep(6)], progress=False)
    assert run.status["state"] == "stopped"
    resume(run.dir, progress=False)
    saved = json.loads((run.dir / "config.json").read_text())
    assert saved["init"]["source"] == f"torchvision ImageNet weights ({FILE})"
    assert run.status["state"] == "completed"
