"""Real data, offline: where dataset files are found (one rule, in the registry), IDX files
plain or gzip-compressed, and Fashion-MNIST from Debian's dataset-fashion-mnist package.

Tests that need the package skip with a reason where it is absent, and fail instead where
REQUIRE_FASHION_MNIST is set (.ci/run installs the package and sets it).
"""

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from resnet_core.cli import main
from resnet_core.data.registry import DATASETS, locate, missing_message, search_path
from resnet_core.data.sources import load_dataset, read_idx
from resnet_core.errors import ConfigError, DataError
from resnet_core.training.config import PRESETS

# The module fixtures below are made once: its tests run on one worker (.ci/run, loadgroup).
pytestmark = pytest.mark.xdist_group("test_real_data")

SYSTEM = Path("/usr/share/datasets")
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")


def write_idx_set(folder: Path, seed: int, *, n_train: int = 40, n_test: int = 20,
                  compress: bool = False) -> dict[str, np.ndarray]:
    """The four files of an MNIST-format set in LeCun's IDX layout (as torchvision reads it)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8)}
    for name, a in arrays.items():
        header = struct.pack(">I", 0x800 | a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
        data = header + a.tobytes()
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A data folder, a system folder and a torchvision root, all empty, for this test only."""
    system = tmp_path / "system"
    monkeypatch.setenv("RESNET_WORKBENCH_SYSTEM_DATA", str(system))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return {"data": tmp_path / "data", "system": system, "torch": tmp_path / "torch" / "datasets"}


def test_the_search_order_is_data_folder_then_system_then_torchvision(places):
    spec = DATASETS["fashion-mnist"]
    assert [(p.folder, p.origin) for p in search_path(spec, places["data"])] == [
        (places["data"] / "FashionMNIST" / "raw", "data folder"),
        (places["system"] / "fashion-mnist", "system"),
        (places["torch"] / "FashionMNIST" / "raw", "torchvision root")]


def test_the_data_folder_wins_over_the_system_location(places):
    system = write_idx_set(places["system"] / "fashion-mnist", seed=1, compress=True)
    found = locate(DATASETS["fashion-mnist"], places["data"])
    assert found.origin == "system"
    ds = load_dataset("fashion-mnist", data_root=places["data"])
    assert torch.equal(ds.test.images[:, 0], torch.from_numpy(system["t10k-images-idx3-ubyte"]))
    assert ds.found_in == f"{places['system'] / 'fashion-mnist'} (system)"

    own = write_idx_set(places["data"] / "FashionMNIST" / "raw", seed=2)
    assert locate(DATASETS["fashion-mnist"], places["data"]).origin == "data folder"
    ds = load_dataset("fashion-mnist", data_root=places["data"])
    assert torch.equal(ds.test.images[:, 0], torch.from_numpy(own["t10k-images-idx3-ubyte"]))


def test_torchvisions_root_is_the_last_place_and_half_a_set_is_not_found(places):
    torch_raw = places["torch"] / "MNIST" / "raw"
    write_idx_set(torch_raw, seed=3)
    assert locate(DATASETS["mnist"], places["data"]).origin == "torchvision root"
    # A data folder holding three of the four files is passed over, not half-read.
    partial = write_idx_set(places["data"] / "MNIST" / "raw", seed=4)
    (places["data"] / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    assert partial and locate(DATASETS["mnist"], places["data"]).origin == "torchvision root"


def test_gzip_and_plain_idx_read_the_same_as_torchvision(tmp_path):
    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

    plain = write_idx_set(tmp_path / "plain", seed=5)
    write_idx_set(tmp_path / "gz", seed=5, compress=True)
    for name in IDX_NAMES:
        a = read_idx(tmp_path / "plain" / name)
        b = read_idx(tmp_path / "gz" / f"{name}.gz")
        assert a.dtype == b.dtype == np.uint8 and np.array_equal(a, b)
        assert np.array_equal(a, plain[name])
        assert np.array_equal(a, read_sn3_pascalvincent_tensor(str(tmp_path / "plain" / name)).numpy())


def test_a_missing_dataset_is_one_line_with_the_package_the_flag_and_the_layout(places):
    message = missing_message(DATASETS["fashion-mnist"], places["data"])
    with pytest.raises(DataError) as e:
        load_dataset("fashion-mnist", data_root=places["data"])
    assert str(e.value) == message and "\n" not in message
    for part in ("apt-get install dataset-fashion-mnist", "--download",
                 f"{places['data']}/FashionMNIST/raw/", str(places["system"] / "fashion-mnist")):
        assert part in message


def test_a_truncated_or_foreign_idx_file_is_a_one_line_error(tmp_path):
    write_idx_set(tmp_path, seed=6)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(images)
    images.write_bytes(b"PK\x03\x04 not an idx file")
    with pytest.raises(DataError, match="is not an IDX file"):
        read_idx(images)


def test_the_datasets_command_lists_where_each_set_is(places, capsys):
    write_idx_set(places["system"] / "fashion-mnist", seed=7, compress=True)
    assert main(["datasets", "--data-root", str(places["data"])]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(lines) == set(DATASETS)
    assert "built in" in lines["digits"]
    assert f"here: {places['system'] / 'fashion-mnist'} (system)" in lines["fashion-mnist"]
    assert "not here: put" in lines["mnist"] and "--download" in lines["mnist"]


# ----------------------------------------------------------------- the real Debian package


def _require_fashion_mnist() -> None:
    folder = SYSTEM / "fashion-mnist"
    if not all((folder / f"{n}.gz").is_file() for n in IDX_NAMES):
        if os.environ.get("REQUIRE_FASHION_MNIST"):
            pytest.fail(f"REQUIRE_FASHION_MNIST is set but {folder} lacks the four .gz files")
        pytest.skip("Debian's dataset-fashion-mnist is not installed "
                    "(apt-get install dataset-fashion-mnist); .ci/run installs it")


def test_the_cli_trains_fashion_mnist_with_the_apps_default_recipe_unless_told(tmp_path, capsys):
    """Issue 41, item 4: `train --dataset fashion-mnist` without --preset takes the recipe the
    Train page starts from (fashion-mnist-fast), not TrainConfig's plain 15-epoch defaults;
    flags still override it, and --preset custom asks for no recipe."""
    import json

    write_idx_set(tmp_path / "data" / "fashion-mnist", seed=3, n_train=100, n_test=20)
    common = ["--dataset", "fashion-mnist", "--max-steps", "1", "--quiet", "--data-root",
              str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs")]
    assert main(["train", *common, "--lr", "0.05"]) == 0
    run_dir = capsys.readouterr().out.strip().splitlines()[-1]
    made = {"default": json.loads((Path(run_dir) / "config.json").read_text())}
    assert (made["default"]["arch"], made["default"]["width"], made["default"]["stem"]) == ("resnet14", 32, "strided")
    assert made["default"]["lr"] == 0.05  # a flag given still overrides the recipe
    from resnet_core.cli import config_from  # what --preset custom makes, without training it

    made["custom"] = config_from({"dataset": "fashion-mnist", "preset": "custom"}).to_dict()
    assert made["custom"]["arch"] == "resnet20" and made["custom"]["stem"] != "strided"


@pytest.fixture
def fashion_mnist():
    """The real Fashion-MNIST from Debian's package (70,000 images)."""
    _require_fashion_mnist()
    return SYSTEM / "fashion-mnist"


def test_debians_fashion_mnist_loads_as_torchvision_reads_it(fashion_mnist, tmp_path):
    from torchvision.datasets import FashionMNIST

    ds = load_dataset("fashion-mnist", data_root=tmp_path / "empty")
    assert ds.found_in == f"{fashion_mnist} (system)"
    assert (len(ds.train), len(ds.val), len(ds.test)) == (54_000, 6_000, 10_000)
    assert ds.info.class_names == FashionMNIST.classes
    assert ds.test.images.shape == (10_000, 1, 28, 28) and ds.test.images.dtype == torch.uint8
    # Every class is 1,000 of the test images, as Zalando's README says.
    assert torch.bincount(ds.test.labels).tolist() == [1000] * 10
    # The training statistics the registry states are the pool's (to 3 decimals).
    pool = torch.cat([ds.train.images, ds.val.images]).float() / 255
    assert abs(pool.mean().item() - ds.info.mean[0]) < 1e-3
    assert abs(pool.std().item() - ds.info.std[0]) < 1e-3


def test_the_article_lesson_runs_on_mnist_else_fashion_mnist_else_digits(places):
    from resnet_core.classroom.lesson_queue import article_data
    from resnet_core.classroom.lessons import LESSONS

    overrides, why = article_data(places["data"])
    assert overrides == {"dataset": "digits"} and "Neither MNIST nor Fashion-MNIST" in why
    assert "apt-get install" not in why.split("MNIST")[0]  # one sentence, then how to get MNIST
    write_idx_set(places["system"] / "fashion-mnist", seed=8, compress=True)
    overrides, why = article_data(places["data"])
    assert overrides["dataset"] == "fashion-mnist" and "runs on Fashion-MNIST" in why
    [config] = LESSONS["article"].configs(**overrides)
    assert (config.dataset, config.arch, config.lr, config.max_steps) == ("fashion-mnist", "resnet50",
                                                                          0.001, 100)
    write_idx_set(places["data"] / "MNIST" / "raw", seed=9)
    assert article_data(places["data"]) == ({"data_root": str(places["data"])}, "")


# ----------------------------------------------------------------- the app on a real-size run

PAGES = ["home.py", "train.py", "runs.py", "evaluate.py", "explain.py", "predict.py", "lessons.py",
         "deploy.py"]


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    """The CLI command a user types, for 1 of its 8 epochs (its one-cycle schedule squeezed
    into that epoch), then all 10,000 test images: one real Fashion-MNIST run that the pages
    below render and the epoch test checks (one training for both: CI's time, issue 36)."""
    import contextlib
    import io

    _require_fashion_mnist()
    from resnet_core.runs.folder import Run

    runs = tmp_path_factory.mktemp("fashion-runs")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "--preset", "fashion-mnist-fast", "--epochs", "1", "--runs-dir",
                     str(runs), "--data-root", str(runs / "no-data-here"), "--quiet"])
    assert code == 0, out.getvalue()[-2000:]
    return Run(Path(out.getvalue().strip().splitlines()[-1]))


@pytest.mark.slow  # about a minute: the default run stays under 10 minutes on 2 cores
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_fashion_mnist_run(fashion_run, page, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from helpers import ROOT

    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(fashion_run.dir.parent))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=120)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    if page == "evaluate.py":
        assert len(fashion_run.predictions("test")) == 10_000
        assert len(at.get("plotly_chart")) >= 1  # the confusion matrix
    if page == "train.py":
        at.selectbox(key="dataset").set_value("fashion-mnist").run()
        assert at.selectbox(key="recipe_fashion-mnist").value == "fashion-mnist-fast"
        assert at.session_state["arch"] == PRESETS["fashion-mnist-fast"]["arch"]
        captions = [c.value.replace("\\", "") for c in at.caption]  # plain() escapes Markdown
        assert "Found in /usr/share/datasets/fashion-mnist (system)" in captions



@pytest.mark.slow
def test_one_epoch_of_the_fast_recipe_beats_people_on_the_real_files(fashion_run):
    """Past Zalando's 83.5% for people after 1 epoch. (Two epochs took 99 s of CI's time.)"""
    run = fashion_run
    assert run.status["state"] == "completed"
    metrics = run.metrics()
    assert metrics[metrics["split"] == "val"]["epoch"].tolist() == [1]
    summary = run.summary("test")
    assert summary["accuracy"] > 0.835, summary
    assert len(run.predictions("test")) == 10_000


def test_the_transfer_lessons_fashion_variant_pretrains_on_fashion_mnist_at_8_px(tmp_path):
    from resnet_core.classroom.lessons import FASHION_LABEL, LESSONS, with_fashion

    lesson = with_fashion(LESSONS["transfer"])
    assert lesson.labels[0] == FASHION_LABEL and "pretrain on 0-4" not in lesson.labels
    configs = dict(zip(lesson.labels, lesson.configs(data_root=str(tmp_path)), strict=True))
    pretrain = configs[FASHION_LABEL]
    assert (pretrain.dataset, pretrain.image_size, pretrain.arch) == ("fashion-mnist", 8, "resnet20")
    for k in (5, 20, 100):  # the k-shot runs are the digits variant's, started from Fashion-MNIST
        assert configs[f"pretrained, k={k}"].init_from == f"{{run:{FASHION_LABEL}}}"
        assert configs[f"scratch, k={k}"] == dict(zip(
            LESSONS["transfer"].labels, LESSONS["transfer"].configs(data_root=str(tmp_path)),
            strict=True))[f"scratch, k={k}"]


def test_the_real_data_lessons_are_variants_with_their_own_runs_and_budget():
    from resnet_core.classroom.lesson_queue import lesson_for
    from resnet_core.classroom.lessons import LESSONS, run_name

    with_variant = sorted(i for i, lesson in LESSONS.items() if lesson.real_data)
    assert with_variant == ["degradation", "depth", "normalisation"]
    for lesson_id in with_variant:
        variant = lesson_for(f"{lesson_id}-fashion")
        assert variant.id == f"{lesson_id}-fashion" and "Fashion-MNIST" in variant.heading()
        assert variant.labels == LESSONS[lesson_id].labels
        for config in variant.configs():
            assert (config.dataset, config.max_steps, config.epochs) == ("fashion-mnist", 300, None)
            assert config.run_name.startswith(f"lesson:{lesson_id}-fashion:")  # not the digits runs
        assert "TO BE MEASURED" not in variant.explanation
        assert variant.real_data is None
    with pytest.raises(ConfigError, match="unknown lesson"):
        lesson_for("activations-fashion")
    assert run_name("depth", "resnet20") != run_name("depth-fashion", "resnet20")
