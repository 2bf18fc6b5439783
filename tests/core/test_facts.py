"""Facts that lived in pages (issue 36, item 6), each with one owner in the core: the pages
read them from there, and these tests hold what each one says."""

from __future__ import annotations

import pytest
from PIL import Image

from resnet_core import ConfigError, TrainConfig

from helpers import CLASSES, image_bytes


def test_the_image_extensions_are_pils_names_for_the_formats_decode_opens():
    from resnet_core.data.decode import IMAGE_EXTENSIONS, IMAGE_FORMATS

    pil = {ext.lstrip(".") for ext, fmt in Image.registered_extensions().items() if fmt in IMAGE_FORMATS}
    assert set(IMAGE_EXTENSIONS) == pil
    assert {"png", "jpg", "jpeg", "gif", "webp", "tif"} <= set(IMAGE_EXTENSIONS)


def test_an_image_folder_reads_every_file_type_an_upload_field_accepts(tmp_path):
    """One list for both: a .gif in a class folder is read, as the Predict page takes one."""
    from resnet_core.data.sources import load_dataset

    for cls, colour in CLASSES.items():
        (tmp_path / cls).mkdir()
        for fmt in ("PNG", "GIF", "WEBP", "BMP"):
            (tmp_path / cls / f"0.{fmt.lower()}").write_bytes(image_bytes(colour, fmt=fmt))
    ds = load_dataset("folder", data_root=str(tmp_path), image_size=8)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 8


def test_the_class_limits_bounds_are_what_validation_accepts():
    from resnet_core.classroom.challenge import LIMIT_BOUNDS, ClassLimits

    for name, (low, top) in LIMIT_BOUNDS.items():
        ClassLimits(**{name: low}).validate()
        ClassLimits(**{name: top}).validate()
        for bad in (low - 1, top + 1):
            with pytest.raises(ConfigError, match=f"{name} must be a whole number from {low} to {top:,}"):
                ClassLimits(**{name: bad}).validate()


def test_a_challenge_runs_on_the_built_in_datasets_only(room):
    from resnet_core.data.registry import BUILT_IN, DATASETS


    assert "folder" not in BUILT_IN and set(BUILT_IN) | {"folder"} == set(DATASETS)
    room.open_challenge(BUILT_IN[0], 10)
    with pytest.raises(ConfigError, match="one of " + ", ".join(BUILT_IN)):
        room.open_challenge("folder", 10)


def test_the_headline_metrics_are_the_keys_a_summary_has(short_run):
    from resnet_core.training.metrics import HEADLINE_METRICS

    assert set(HEADLINE_METRICS) <= set(short_run.summary("test"))


def test_a_runs_snapshots_by_epoch_and_its_diagnostics_file(short_run):
    epochs = short_run.snapshot_epochs()
    assert list(epochs) == sorted(epochs) and all(p.is_file() for p in epochs.values())
    assert list(epochs.values()) == short_run.snapshots()
    assert not short_run.has_diagnostics  # trained with diagnostics_every = 0


def test_the_sweep_forms_searches_are_specs_the_cli_parses_back():
    from resnet_core.sweeps.space import FORM_SEARCH, form_options, parse_param

    for name, param in FORM_SEARCH.items():
        assert parse_param(param.spec()) == param
        if param.kind == "choice":
            assert set(param.choices) <= set(form_options(name))
            assert getattr(TrainConfig(), name) in form_options(name)  # the fixed default is offered


def test_the_few_images_start_takes_the_cached_features_path():
    from resnet_core.training.transfer import FEW_IMAGES_START

    config = TrainConfig(dataset="folder", **FEW_IMAGES_START).validate()
    assert config.freeze == "backbone" and not config.augment and config.starts_from_weights


def test_one_plan_gives_the_memory_line_the_class_check_and_the_estimate(tmp_path):
    """The Train page, the CLI and the class server's memory check once worked the estimate
    out three ways; one ``plan`` now does it, so they cannot disagree."""
    from resnet_core.analysis.cost import estimate_memory
    from resnet_core.analysis.planning import check_memory, plan, plan_from_registry

    config = TrainConfig(dataset="digits", arch="resnet20", batch_size=64, epochs=3)
    planned = plan_from_registry(config)
    reference = estimate_memory("resnet20", 10, 1, 8)
    assert planned.peak_bytes == reference.peak(64)
    assert f"batch 64: about {reference.peak(64) / 2**20:,.0f} MiB (fp32)" in planned.memory_line()
    # Issue 38, item 17: a recipe that trains in bf16 is not told "fp32" without a word.
    bf16 = plan_from_registry(TrainConfig(dataset="digits", arch="resnet20", batch_size=64, epochs=3,
                                          amp="bf16", device="cpu"))
    assert "(counted in fp32: an upper bound, bf16 autocast keeps about half" in bf16.memory_line()
    assert planned.cost is None  # the memory only: no calibration on a class server
    check_memory(config)
    huge = TrainConfig(dataset="digits", arch="resnet20", batch_size=1_000_000, epochs=1)
    with pytest.raises(ConfigError) as e:
        check_memory(huge)
    assert "needs about" in str(e.value) and "\n" not in str(e.value)
    timed = plan(config, num_classes=10, channels=1, size=8, train_images=1000, val_images=100)
    assert timed.epochs == 3 and timed.total_seconds == pytest.approx(3 * timed.seconds_per_epoch)
    assert timed.estimate_line().startswith("about ") and " in all on this CPU (" in timed.estimate_line()


@pytest.mark.parametrize("seconds, text", [(0.2134, "0.21 s"), (4.46, "4.5 s"), (48, "48 s"),
                                           (170, "2 min 50 s"), (3725, "1 h 02 min")])
def test_durations_read_as_people_read_them(seconds, text):
    from resnet_core.runs.progress import duration

    assert duration(seconds) == text


def test_the_version_has_one_owner_and_a_run_records_it(short_run):
    import resnet_core
    from resnet_core.version import __version__

    assert resnet_core.__version__ == __version__
    assert short_run.config["versions"]["resnet_core"] == __version__


def test_the_ranges_the_forms_offer_are_what_validation_accepts():
    from resnet_core.training.config import RANGES

    for name, (low, top) in RANGES.items():
        TrainConfig(**{name: low}).validate()
        TrainConfig(**{name: top}).validate()
        with pytest.raises(ConfigError, match=name):
            TrainConfig(**{name: low - 1}).validate()
        with pytest.raises(ConfigError, match=name):
            TrainConfig(**{name: top + 1}).validate()


def test_the_run_folders_config_types_are_train_configs_annotations():
    """runs/validate.py keeps TrainConfig's field types (the runs wing cannot import training):
    the same fields, each with the kind and nullability its annotation says."""
    import dataclasses

    from resnet_core.runs.validate import CONFIG_TYPES

    expected = {}
    for f in dataclasses.fields(TrainConfig):
        parts = [p.strip() for p in str(f.type).split("|")]
        expected[f.name] = ([p for p in parts if p != "None"][0], "None" in parts)
    assert CONFIG_TYPES == expected


def test_a_changed_recipe_says_what_changed_and_label_smoothing_has_a_floor():
    """Issue 38, item 14: the Recipe box kept promising the recipe's result after the
    architecture was changed; label smoothing's higher training loss was unexplained."""
    import math

    from resnet_core import training

    recipe = training.DATASET_PRESET["fashion-mnist"]
    same = TrainConfig.from_preset(recipe, dataset="fashion-mnist")
    assert training.preset_changes(recipe, same) == {}
    other = TrainConfig.from_preset(recipe, dataset="fashion-mnist", arch="resnet32")
    assert training.preset_changes(recipe, other) == {"arch": (training.PRESETS[recipe]["arch"], "resnet32")}
    floor = training.label_smoothing_floor(0.1, 10)
    assert floor == pytest.approx(-(0.91 * math.log(0.91) + 9 * 0.01 * math.log(0.01)))
    assert round(floor, 2) == 0.50 and training.label_smoothing_floor(0.0, 10) == 0.0
