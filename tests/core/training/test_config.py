"""TrainConfig.validate directly: each mistake is a one-line ConfigError that names the field
and what it accepts (the CLI and the Train page show these lines as they are)."""

import pytest

from resnet_core import ConfigError, TrainConfig
from resnet_core.data.registry import DATASETS as SPECS
from resnet_core.data.registry import markdown_table
from resnet_core.training.config import CHOICES, DEFAULT_EPOCHS

from helpers import ROOT


@pytest.mark.parametrize(("fields", "message"), [
    ({"dataset": "imagenet"}, "unknown dataset 'imagenet'; choose one of: digits, shapes, mnist"),
    ({"arch": "resnet19"}, "unknown arch 'resnet19'; choose one of: resnet8, resnet14, resnet20"),
    ({"optimizer": "lion"}, "unknown optimizer 'lion'; choose one of: sgd, adam, adamw"),
    ({"epochs": 0}, "epochs must be a whole number >= 1, got 0"),
    ({"epochs": 3, "max_steps": 10}, "give either epochs or max_steps, not both"),
    ({"batch_size": 2.5}, "batch_size must be a whole number >= 1, got 2.5"),
    ({"batch_size": True}, "batch_size must be a whole number >= 1, got True"),
    ({"lr": 0.0}, "lr must be in (0, 10], got 0.0"),
    ({"lr": float("nan")}, "lr must be in (0, 10], got nan"),
    ({"momentum": 1.0}, "momentum must be in [0, 1), got 1.0"),
    ({"val_fraction": 0.6}, "val_fraction must be in (0, 0.5], got 0.6"),
    ({"image_size": 4}, "image_size must be at least 8 px, got 4"),
    ({"probe_snapshots": 101}, "probe_snapshots must be an integer in [0, 100], got 101"),
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"grad_clip": 0.0}, "grad_clip must be in (0, 1e+06], got 0.0"),
])
def test_each_mistake_is_one_line_naming_the_field(fields, message):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**fields).validate()
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)


def test_defaults_validate_and_budgets_come_from_the_dataset_registry():
    assert TrainConfig().validate().resolved_epochs() == 30
    assert TrainConfig(dataset="shapes").resolved_epochs() == SPECS["shapes"].default_epochs
    assert TrainConfig(max_steps=50).resolved_epochs() is None
    assert CHOICES["dataset"] == tuple(SPECS) and DEFAULT_EPOCHS["mnist"] == SPECS["mnist"].default_epochs


def test_presets_and_round_trip_through_a_dict():
    config = TrainConfig.from_preset("digits-99", seed=3)
    assert (config.epochs, config.batch_size, config.seed) == (60, 64, 3)
    assert TrainConfig.from_preset("digits-99", max_steps=10).epochs is None
    with pytest.raises(ConfigError, match="unknown preset 'fast'"):
        TrainConfig.from_preset("fast")
    saved = {**config.to_dict(), "a_field_from_a_newer_version": 1}
    assert TrainConfig.from_dict(saved) == config


def test_readme_dataset_table_is_the_registry():
    assert markdown_table() in (ROOT / "docs" / "datasets.md").read_text()


@pytest.mark.parametrize(("fields", "message"), [
    ({"batch_size": 2_000_000}, "batch_size must be at most 1,048,576, got 2,000,000"),
    ({"image_size": 4096}, "image_size must be at most 1,024, got 4,096"),
    ({"epochs": 50_000}, "epochs must be at most 10,000, got 50,000"),
    ({"max_steps": 10**9}, "max_steps must be at most 10,000,000, got 1,000,000,000"),
    ({"probe_snapshots": 1000}, "probe_snapshots must be an integer in [0, 100], got 1000"),
    ({"num_workers": 500}, "num_workers must be an integer in [0, 64], got 500"),
])
def test_upper_bounds_are_one_line_errors(fields, message):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**fields).validate()
    assert str(e.value) == message


def test_a_config_reads_as_one_line():
    """The Train page's line under its folded settings (issue 38, item 14)."""
    assert TrainConfig(dataset="digits", arch="resnet20", optimizer="sgd", lr=0.1, scheduler="cosine",
                       batch_size=128, epochs=30).summary() == \
        "resnet20 on digits, sgd lr 0.1 (cosine), batch 128, 30 epochs"
    assert TrainConfig(dataset="digits", residual=False, max_steps=1500).summary().endswith("1,500 steps")
    assert "(plain)" in TrainConfig(residual=False).summary()
