"""Diagnostics behind the lessons, and the evidence the lessons rest on (fixed seeds)."""

from __future__ import annotations

import torch

from resnet_core import TrainConfig, load_checkpoint, train
from resnet_core.training.diagnostics import (
    blocks,
    branch_ratios,
    feature_maps,
    gradient_norms,
    read_diagnostics,
)
from resnet_core.training.models import build_model


def final_train_loss(run) -> float:
    m = run.metrics()
    return float(m[m["split"] == "train"]["loss"].iloc[-1])


def test_plain_56_layer_net_ends_with_higher_training_loss_than_its_residual_twin(tmp_path):
    """He et al.'s degradation problem, at a small budget where it shows on digits: 5 epochs
    (55 steps), seed 1, on one thread. Measured on the 2-core Xeon CI runs on: plain 2.02 vs
    residual 0.94, the same to the last digit in two runs; at 30 epochs 1.72 vs 0.010
    (notebook 02). On two threads the order of the floating-point sums follows the scheduler:
    on a loaded machine the residual net diverged early (2.12; a quiet one read 0.74), so the
    test fixes the thread count, not only the seed."""
    runs = {res: train(TrainConfig(dataset="digits", arch="resnet56", residual=res, epochs=5,
                                   seed=1, probe_snapshots=0, num_threads=1,
                                   runs_dir=str(tmp_path)),
                       progress=False) for res in (True, False)}
    plain, residual = final_train_loss(runs[False]), final_train_loss(runs[True])
    assert plain > residual + 0.5, (plain, residual)


def test_sigmoid_nets_early_gradients_are_orders_of_magnitude_below_relus(tmp_path):
    """Measured at the first step of ResNet-20 on digits: stem gradient norm 1.7 (ReLU) vs
    0.006 (sigmoid), a factor of about 280."""
    norms = {}
    for act in ("relu", "sigmoid"):
        run = train(TrainConfig(dataset="digits", activation=act, max_steps=1, diagnostics_every=1,
                                probe_snapshots=0, runs_dir=str(tmp_path)), progress=False)
        diag = read_diagnostics(run.dir)
        norms[act] = diag.set_index("block")["grad_norm"]
    assert norms["relu"]["stem"] > 100 * norms["sigmoid"]["stem"]
    assert norms["relu"]["layer1.0"] > 100 * norms["sigmoid"]["layer1.0"]
    # ... while at the classifier the two are within a small factor.
    assert norms["relu"]["fc"] < 10 * norms["sigmoid"]["fc"]


def test_diagnostics_are_logged_every_n_steps_and_change_nothing_in_training(tmp_path):
    base = dict(dataset="digits", max_steps=20, probe_snapshots=0, runs_dir=str(tmp_path))
    with_diag = train(TrainConfig(**base, diagnostics_every=5), progress=False)
    without = train(TrainConfig(**base), progress=False)
    diag = read_diagnostics(with_diag.dir)
    assert sorted(diag["step"].unique()) == [1, 5, 10, 15, 20]
    assert list(diag[diag["step"] == 5]["block"])[:2] == ["stem", "layer1.0"]
    assert diag["branch_ratio"].dropna().gt(0).all()
    assert not without.diagnostics_path.exists()
    a = load_checkpoint(with_diag.checkpoint_path("last"))["model"]
    b = load_checkpoint(without.checkpoint_path("last"))["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # eval-mode probe: no BN stats, no RNG


def test_torn_diagnostics_line_is_skipped(tmp_path):
    run = train(TrainConfig(dataset="digits", max_steps=10, diagnostics_every=5, probe_snapshots=0,
                            runs_dir=str(tmp_path)), progress=False)
    with open(run.diagnostics_path, "a") as f:
        f.write('{"step": 15, "grad_no')
    assert sorted(read_diagnostics(run.dir)["step"].unique()) == [1, 5, 10]


def test_gradient_norms_and_branch_ratios_cover_every_block():
    model = build_model("resnet20", 10, 1, input_size=8)
    x = torch.randn(4, 1, 8, 8)
    torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 3])).backward()
    names = [n for n, _ in blocks(model)]
    assert len(names) == 9
    assert list(gradient_norms(model)) == ["stem", *names, "fc"]
    ratios = branch_ratios(model, x)
    assert list(ratios) == names and model.training  # mode restored


def test_feature_maps_has_one_map_per_stage_with_the_stage_shapes():
    model = build_model("resnet20", 10, 1, input_size=8)
    maps = feature_maps(model, torch.randn(1, 1, 8, 8))
    assert {k: tuple(v.shape) for k, v in maps.items()} == {
        "stem": (16, 8, 8), "layer1": (16, 8, 8), "layer2": (32, 4, 4), "layer3": (64, 2, 2)}
