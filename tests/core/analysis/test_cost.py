"""The cost estimates the Train page shows: FLOPs, time and memory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from resnet_core.analysis.cost import estimate_cost, estimate_memory
from resnet_core.training.models import build_model

MEASURE = """
import torch, torch.nn.functional as F
from resnet_core import build_model
torch.set_num_threads(1)
m = build_model("resnet18", 10, 3, input_size=32).to(memory_format=torch.channels_last)
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, foreach=True)
x = torch.randn({batch}, 3, 32, 32).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, ({batch},))
# The resident set now, not the peak so far: importing torch can peak higher than the model
# and batch need (by 0.2-0.5 GB here, depending on the environment), which hid the growth.
def status(field):  # kB
    return int(open("/proc/self/status").read().split(field + ":")[1].split()[0])
before = status("VmRSS")
# And the peak from here: ru_maxrss carries the peak of the process that forked this one over
# exec (a test worker grown to 3 GB made this child "grow" 2.6 GB), so the peak is reset
# (clear_refs 5, Linux 4.0+) and read as VmHWM.
open("/proc/self/clear_refs", "w").write("5")
for _ in range(2):
    opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step()
print((status("VmHWM") - before) * 1024)
"""


def test_flops_match_the_paper_for_resnet20():
    # He et al. (2015): ResNet-20 on CIFAR is ~41M multiply-adds = ~82M FLOPs per image.
    cost = estimate_cost("resnet20", 10, 3, 32, 1000)
    assert 75e6 < cost.flops_per_image < 90e6
    assert cost.parameters == sum(p.numel() for p in build_model("resnet20", 10).parameters())


def test_memory_estimate_grows_with_the_batch_and_bounds_the_largest_batch():
    est = estimate_memory("resnet20", 10, 3, 32)
    assert est.peak(128) - est.peak(64) == 64 * est.bytes_per_image
    assert est.largest_batch(est.peak(100)) == 100
    assert est.largest_batch(est.fixed_bytes // 2) == 0
    assert estimate_memory("resnet20", 10, 3, 32, optimizer="adam").fixed_bytes > est.fixed_bytes


def test_memory_estimate_is_within_a_factor_of_two_of_a_measured_peak():
    """The growth of a real process's peak RSS over two training steps of ResNet-18 at batch 64."""
    out = subprocess.run([sys.executable, "-c", MEASURE.format(batch=64)], capture_output=True,
                         text=True, check=True)
    measured = int(out.stdout.strip().splitlines()[-1])
    est = estimate_memory("resnet18", 10, 3, 32)
    predicted = est.peak(64) - sum(p.numel() * 4 for p in build_model("resnet18", 10).parameters())
    assert 0.5 < predicted / measured < 2.0, (predicted, measured)


def test_time_per_epoch_comes_from_this_machines_history_first(short_run, tmp_path):
    """short_run: 3 epochs of digits/resnet20 on this CPU. Its own loop time per image, times
    the training images, is the estimate; without history and while a job trains, none."""
    from resnet_core import RunStore

    store = RunStore(short_run.dir.parent)
    shape = short_run.config["input_shape"]
    measured = store.seconds_per_image("resnet20", shape, "cpu")
    assert measured is not None and measured[1] >= 1
    train_size = short_run.config["train_size"]
    cost = estimate_cost("resnet20", 10, 1, 8, train_size, seconds_per_image=measured)
    assert cost.basis.startswith("measured here") and cost.seconds_per_epoch == measured[0] * train_size
    assert store.seconds_per_image("resnet56", shape, "cpu") is None
    assert store.seconds_per_image("resnet20", [3, 32, 32], "cpu") is None
    assert RunStore(tmp_path).seconds_per_image("resnet20", shape, "cpu") is None
    busy = estimate_cost("resnet110", 10, 1, 8, 1000, device="cuda", calibrate=False)
    assert busy.seconds_per_epoch is None and not busy.heavy("cuda")


def test_the_step_model_charges_each_batch_its_layers_fixed_cost():
    """Without history the estimate is FLOPs at the calibrated rate plus a fixed cost per layer
    and batch: the same epoch in smaller batches costs more, validation adds a forward pass."""
    from resnet_core.analysis.cost import StepModel, epoch_seconds, forward_flops, layer_count

    model = build_model("resnet20", 10, 1, input_size=8)
    flops = forward_flops(model, 1, 8)
    steps = StepModel(flops_per_second=1e9, seconds_per_layer=1e-4)
    big = epoch_seconds(model, flops, 1280, 0, 128, steps)
    small = epoch_seconds(model, flops, 1280, 0, 32, steps)
    compute = 1280 * flops * 3 / 1e9
    assert big == pytest.approx(compute + 10 * layer_count(model) * 1e-4)
    assert small == pytest.approx(compute + 40 * layer_count(model) * 1e-4)
    with_val = epoch_seconds(model, flops, 1280, 256, 128, steps)
    assert with_val == pytest.approx(big + 256 * flops / 1e9 + layer_count(model) * 1e-4 / 3)


def test_the_estimate_charges_each_accuracy_lever_and_names_it():
    """Issue 41: TTA, EMA and erasing are seen with their cost: TTA a second forward over the
    validation split each epoch and the test split once, EMA and erasing their per-step work
    timed here; the total includes them and the line names them."""
    from resnet_core import TrainConfig
    from resnet_core.analysis.planning import plan

    shape = dict(num_classes=10, channels=1, size=28, train_images=54_000, val_images=6_000,
                 test_images=10_000, epochs=10.0, calibrate=True)
    base = plan(TrainConfig(dataset="fashion-mnist", arch="resnet8"), **shape)
    levers = plan(TrainConfig(dataset="fashion-mnist", arch="resnet8", tta=True, ema=0.999,
                              erasing=0.25), **shape)
    assert base.levers == {} and set(levers.levers) == {"tta", "ema", "erasing"}
    forward = levers.seconds_per_epoch / (3 * 54_000 + 6_000)
    assert levers.levers["tta"] == pytest.approx(forward * (6_000 * 10 + 10_000))
    assert all(v > 0 for v in levers.levers.values())
    assert levers.total_seconds == pytest.approx(base.total_seconds + sum(levers.levers.values()))
    line = levers.estimate_line()
    assert "; of which TTA" in line and "EMA" in line and "erasing" in line, line
    assert "of which" not in base.estimate_line()
