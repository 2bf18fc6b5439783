"""The accuracy levers (issue 41): random erasing, an EMA of the weights, flip test-time
augmentation. Each as a user sets it (TrainConfig, the CLI), each checked for what it promises:
the erased rectangle, the average's arithmetic, the TTA figure and the plain one beside it, a
resume that ends bit for bit where a straight run ends, and one-line refusals."""

import pandas as pd
import pytest
import torch
from torch import nn

from resnet_core import TrainConfig, load_checkpoint, resume, train
from resnet_core.cli import main
from resnet_core.data.loader import erase
from resnet_core.errors import ConfigError
from resnet_core.training.ema import WeightAverage
from resnet_core.training.evaluation import evaluate_run

from helpers import StopAtStep


def test_erasing_blanks_one_rectangle_in_each_chosen_image():
    images = torch.ones(2000, 1, 28, 28)
    erased = erase(images, 1.0, torch.Generator().manual_seed(0))
    blank = erased == 0
    for mask in blank[:200, 0]:  # each image: one filled rectangle, 2-33% of its area or clipped
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        h, w = len(rows), len(cols)
        assert rows.max() - rows.min() + 1 == h and cols.max() - cols.min() + 1 == w
        assert int(mask.sum()) == h * w, "a solid rectangle"
        assert 1 <= h * w <= 0.33 * 28 * 28 + 2 * 28
    share = blank.flatten(1).float().mean(1)
    assert 0.02 < float(share.mean()) < 0.25
    # The chance is per image; 0 leaves the batch as it was.
    half = erase(images, 0.5, torch.Generator().manual_seed(1))
    changed = (half == 0).flatten(1).any(1).float().mean()
    assert 0.45 < float(changed) < 0.55
    assert torch.equal(erase(images, 0.0, torch.Generator()), images)


def test_the_weight_average_moves_by_one_minus_decay_and_copies_counts():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    average = WeightAverage(model, decay=0.9)
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
        model[1].num_batches_tracked.fill_(7)
    for _ in range(100):  # past the warm-up, d is the decay itself
        average.update(model)
    target = start + 1.0
    assert torch.allclose(average.model[0].weight, target, atol=1e-4)
    before = average.model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    average.update(model)
    assert torch.allclose(average.model[0].weight, before + 0.1 * (model[0].weight - before))
    assert int(average.model[1].num_batches_tracked) == 7
    assert not any(p.requires_grad for p in average.model.parameters())


@pytest.mark.parametrize("stop_step", [15, 20])  # mid-epoch, and at an epoch's end
def test_a_run_with_ema_and_erasing_resumes_bit_for_bit(tmp_path, stop_step):
    config = dict(dataset="digits", arch="resnet8", epochs=3, seed=2, device="cpu", ema=0.9,
                  erasing=0.5, runs_dir=str(tmp_path))
    straight = train(TrainConfig(**config), progress=False)
    stopped = train(TrainConfig(**config), progress=False, callbacks=[StopAtStep(stop_step)])
    resumed = resume(stopped.dir, progress=False)
    assert resumed.summary("test") == straight.summary("test")
    cols = ["split", "epoch", "step", "loss", "accuracy"]
    pd.testing.assert_frame_equal(straight.metrics()[cols], resumed.metrics()[cols])
    a = load_checkpoint(straight.dir / "checkpoints" / "last.pt")
    b = load_checkpoint(resumed.dir / "checkpoints" / "last.pt")
    for key in ("model", "trained_model"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    # "model" is the average (what evaluate, explain and serve load), not the trained weights.
    assert not all(torch.equal(a["model"][k], a["trained_model"][k]) for k in a["model"])
    again = evaluate_run(straight.dir, split="test")
    assert again["accuracy"] == straight.summary("test")["accuracy"]


def test_tta_is_reported_as_such_with_the_plain_figure_beside_it(tmp_path, capsys):
    code = main(["train", "--dataset", "shapes", "--arch", "resnet8", "--max-steps", "12",
                 "--batch-size", "64", "--tta", "--quiet", "--runs-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "(with flip TTA; without it 0." in out, out
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    summary = load_summary(run_dir)
    assert summary["tta"] is True and 0 <= summary["plain_accuracy"] <= 1
    # Both figures, recomputed by hand from best.pt: the plain logits, and the mean of the
    # logits of each image and its mirror.
    from resnet_core import model_from_checkpoint
    from resnet_core.data.loader import BatchLoader
    from resnet_core.data.sources import load_dataset_for

    model, config, info = model_from_checkpoint(load_checkpoint(run_dir / "checkpoints" / "best.pt"))
    dataset = load_dataset_for(config)
    loader = BatchLoader(dataset.test, info, torch.device("cpu"), batch_size=500)
    model.eval()
    plain = flipped = 0
    with torch.no_grad():
        for x, y in loader.batches():
            logits = model(x)
            plain += int((logits.argmax(1) == y).sum())
            flipped += int((((logits + model(x.flip(3))) / 2).argmax(1) == y).sum())
    n = len(dataset.test)
    assert summary["plain_accuracy"] == pytest.approx(plain / n, abs=1.5 / n)
    assert summary["accuracy"] == pytest.approx(flipped / n, abs=1.5 / n)
    val = [m for m in map(eval_line, (run_dir / "metrics.jsonl").read_text().splitlines())
           if m["split"] == "val"]
    assert val and all(m["tta"] and "plain_accuracy" in m for m in val)


def load_summary(run_dir):
    import json

    return json.loads((run_dir / "eval" / "test" / "summary.json").read_text())


def eval_line(text):
    import json

    return json.loads(text)


@pytest.mark.parametrize("fields, message", [
    (dict(dataset="digits", tta=True), "digits's do not: turn tta off"),
    (dict(dataset="fashion-mnist", augment=False, tta=True), "turn augment on, or tta off"),
    (dict(erasing=1.5), "erasing must be in [0, 1], got 1.5"),
    (dict(ema=1.0), "ema must be in [0, 1), got 1.0"),
    (dict(tta="yes"), "tta must be true or false"),
    (dict(crop_padding=-1), "crop_padding must be an integer in [0, 64] px or none"),
    (dict(crop_padding=65), "crop_padding must be an integer in [0, 64] px or none"),
    (dict(crop_padding=1.5), "crop_padding must be an integer in [0, 64] px or none"),
])
def test_bad_lever_settings_are_refused_in_one_line(fields, message):
    import re

    with pytest.raises(ConfigError, match=re.escape(message)) as e:
        TrainConfig(**fields).validate()
    assert "\n" not in str(e.value)
