import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_core.data.decode import decode_image
from resnet_core.data.loader import BatchLoader, augment
from resnet_core.data.sources import load_dataset, make_shapes
from resnet_core.errors import DataError

from helpers import image_bytes


def test_digits_splits_are_fixed_disjoint_and_stratified():
    a = load_dataset("digits", seed=0)
    b = load_dataset("digits", seed=1)
    assert a.info.channels == 1 and a.info.image_size == 8 and a.info.num_classes == 10
    assert len(a.train) + len(a.val) + len(a.test) == 1797
    # The test split does not depend on the run's seed; validation does.
    assert torch.equal(a.test.images, b.test.images)
    assert not torch.equal(a.val.images, b.val.images)
    assert torch.bincount(a.val.labels).min() >= 10  # every class is in validation
    train_rows = {tuple(x.flatten().tolist()) for x in a.train.images}
    assert not any(tuple(x.flatten().tolist()) in train_rows for x in a.val.images[:50])
    assert a.info.hflip is False  # a mirrored 3 is not a 3


def test_shapes_are_deterministic_with_masks_where_drawn():
    a, b = make_shapes(40, seed=3), make_shapes(40, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.images.shape == (40, 3, 32, 32) and a.masks.shape == (40, 32, 32)
    inside = a.images.float().mean(1)[a.masks].mean()
    outside = a.images.float().mean(1)[~a.masks].mean()
    assert inside > outside + 60  # shapes are drawn bright on a dark background
    ds = load_dataset("shapes")
    assert ds.info.class_names == ["circle", "square", "triangle", "cross"]
    assert ds.test.masks is not None and len(ds.test) == 1000


def _write_idx(raw: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    n, h, w = images.shape
    (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, h, w) + images.tobytes())
    (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + labels.tobytes())


def test_mnist_loads_from_torchvision_raw_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train_x = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    train_y = (np.arange(50) % 10).astype(np.uint8)
    test_x = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    test_y = (np.arange(20) % 10).astype(np.uint8)
    _write_idx(raw, "train", train_x, train_y)
    _write_idx(raw, "t10k", test_x, test_y)
    ds = load_dataset("mnist", data_root=tmp_path, val_fraction=0.2)
    assert ds.info.channels == 1 and ds.info.image_size == 28 and ds.info.class_names[3] == "3"
    assert torch.equal(ds.test.images[:, 0], torch.from_numpy(test_x))
    assert torch.equal(ds.test.labels, torch.from_numpy(test_y.astype(np.int64)))
    assert len(ds.train) + len(ds.val) == 50 and len(ds.val) == 10


def test_missing_mnist_names_the_expected_layout(tmp_path):
    with pytest.raises(DataError, match=r"MNIST/raw/ holding train-images-idx3-ubyte.*--download"):
        load_dataset("mnist", data_root=tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("cifar10", data_root=tmp_path / "nowhere")


def _png(path: Path, color, size=(20, 16)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes(color, size))


def test_image_folder_skips_corrupt_files_and_hidden_folders(tmp_path):
    for i in range(6):
        _png(tmp_path / "cat" / f"{i}.png", (200, 10 * i, 10))
        _png(tmp_path / "dog" / f"{i}.png", (10, 10 * i, 200))
    (tmp_path / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (tmp_path / "cat" / "notes.txt").write_text("not an image, not counted")
    _png(tmp_path / ".git" / "x.png", (0, 0, 0))
    _png(tmp_path / ".ipynb_checkpoints" / "y.png", (0, 0, 0))
    _png(tmp_path / "cat" / ".ipynb_checkpoints" / "0-checkpoint.png", (0, 0, 0))
    ds = load_dataset("folder", data_root=tmp_path, image_size=16)
    assert ds.info.class_names == ["cat", "dog"]
    assert [Path(p).name for p in ds.skipped_files] == ["broken.png"]
    assert len(ds.train) + len(ds.val) + len(ds.test) == 12
    assert ds.train.images.shape[1:] == (3, 16, 16)
    # ImageOps.fit keeps the colour of a flat image: cats are red, dogs are blue.
    cats = ds.train.images[ds.train.labels == 0]
    assert (cats[:, 0] > cats[:, 2]).all()


def test_class_folders_with_no_readable_image_are_a_one_line_error(tmp_path):
    """Issue 25, bug 1: a tree whose image files are all unreadable crashed loading with
    torch.cat's "expected a non-empty list of Tensors" (the Train page and the CLI alike)."""
    from helpers import run_cli

    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    (tmp_path / "cats" / "a.txt").write_text("not an image")
    (tmp_path / "cats" / "b.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / "dogs" / "c.png").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError) as e:
        load_dataset("folder", data_root=tmp_path, image_size=16)
    message = str(e.value)
    assert "\n" not in message and "cats, dogs" in message and "no readable image" in message
    assert "PNG" in message  # says what is accepted
    result = run_cli("train", "--dataset", "folder", "--data-root", str(tmp_path), "--epochs", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cats, dogs" in result.stderr.strip().splitlines()[-1]


def test_a_class_whose_images_are_all_unreadable_is_named(tmp_path):
    for i in range(4):
        _png(tmp_path / "cat" / f"{i}.png", (200, 10 * i, 10))
    (tmp_path / "dog").mkdir()
    (tmp_path / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError, match=r"class folder\(s\) dog in .* no readable image .*"
                                        r"1 file\(s\) could not be read, e.g. dog/broken.png"):
        load_dataset("folder", data_root=tmp_path, image_size=16)


def test_folder_with_one_class_is_refused(tmp_path):
    _png(tmp_path / "only" / "a.png", (1, 2, 3))
    with pytest.raises(DataError, match=r"at least 2 class folders; found 1 \('only'\)"):
        load_dataset("folder", data_root=tmp_path)


def test_decode_image_converts_mode_and_size_as_training_did(tmp_path):
    _png(tmp_path / "wide.png", (255, 255, 255), size=(40, 20))
    ds = load_dataset("digits")
    x = decode_image(tmp_path / "wide.png", ds.info)
    assert x.shape == (1, 8, 8) and x.dtype == torch.uint8 and int(x.min()) == 255


def test_augment_crops_by_shifting_and_keeps_labels_aligned():
    ds = load_dataset("shapes")
    loader = BatchLoader(ds.test, ds.info, torch.device("cpu"), batch_size=64)
    g = torch.Generator().manual_seed(0)
    order = torch.arange(len(ds.test))
    batches = list(loader.batches(order, drop_last=True, augment_generator=g))
    assert len(batches) == len(ds.test) // 64
    x, y = batches[0]
    assert x.shape == (64, 3, 32, 32) and torch.equal(y, ds.test.labels[:64])
    images = ds.test.images[:8]
    out = augment(images, ds.info, torch.Generator().manual_seed(1))
    assert out.shape == images.shape and not torch.equal(out, images)
    # Every output is a (possibly mirrored) shift of its input: it matches somewhere.
    p = ds.info.crop_padding
    padded = torch.nn.functional.pad(images, (p, p, p, p))
    for i in range(8):
        windows = [padded[i, :, dy:dy + 32, dx:dx + 32] for dy in range(2 * p + 1) for dx in range(2 * p + 1)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)


@pytest.mark.parametrize("padding", [0, 1])
def test_crop_padding_bounds_the_shift_and_zero_leaves_flips_only(padding):
    """Issue 41: ``crop_padding`` 0 is flips without crops (each output is its input or its
    mirror, and some are mirrored); 1 shifts by at most one pixel, not the dataset's 2."""
    ds = load_dataset("shapes")
    assert ds.info.crop_padding == 2 and ds.info.hflip
    images = ds.test.images[:32]
    out = augment(images, ds.info, torch.Generator().manual_seed(1), padding)
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    side = 2 * padding + 1
    for i in range(32):
        windows = [padded[i, :, dy:dy + 32, dx:dx + 32] for dy in range(side) for dx in range(side)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)
    if padding == 0:
        mirrored = [torch.equal(out[i], images[i].flip(2)) and not torch.equal(out[i], images[i])
                    for i in range(32)]
        assert 0 < sum(mirrored) < 32


def test_decompression_bomb_is_refused_by_the_pixel_limit(tmp_path):
    from PIL import Image as PILImage

    from resnet_core.data.decode import ImageError

    path = tmp_path / "bomb.png"
    PILImage.new("1", (12_000, 12_000)).save(path)  # 144 M pixels in a ~20 KB file
    assert path.stat().st_size < 100_000
    info = load_dataset("digits").info
    with pytest.raises(ImageError, match="too large to decode safely.*limit is 89,478,485 pixels"):
        decode_image(path, info)


def test_a_file_that_is_not_an_image_is_a_one_line_error(tmp_path):
    from resnet_core.data.decode import ImageError

    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageError, match="notes.png is not an image this tool can read"):
        decode_image(path, load_dataset("digits").info)


def test_digits_read_from_sklearns_file_equal_load_digits():
    """data.digits_arrays reads the file scikit-learn ships without importing scikit-learn."""
    import numpy as np
    from sklearn.datasets import load_digits

    from resnet_core.data.sources import digits_arrays

    images, labels = digits_arrays()
    reference = load_digits()
    np.testing.assert_array_equal(images, reference.images)
    np.testing.assert_array_equal(labels, reference.target)


def _twins(tmp_path):
    """A digit as 8-bit greyscale PNG, and the same digit as 16-bit, palette, transparent
    palette, RGBA and CMYK files."""
    import numpy as np

    digits = load_dataset("digits")
    grey = digits.test.images[0, 0].numpy()
    base = Image.fromarray(grey, "L").resize((32, 32), Image.Resampling.NEAREST)
    files = {"8bit": tmp_path / "a.png"}
    base.save(files["8bit"])
    sixteen = Image.fromarray(np.asarray(base).astype(np.uint16) * 257)  # I;16
    files["16bit"] = tmp_path / "b16.png"
    sixteen.save(files["16bit"])
    files["palette"] = tmp_path / "p.png"
    base.convert("RGB").quantize(256).save(files["palette"])
    rgba = base.convert("RGBA")
    rgba.putalpha(255)
    files["rgba"] = tmp_path / "rgba.png"
    rgba.save(files["rgba"])
    files["cmyk"] = tmp_path / "c.jpg"
    base.convert("CMYK").save(files["cmyk"], quality=100)
    return digits.info, files


def test_16bit_palette_transparent_and_cmyk_images_decode_like_their_8bit_twin(tmp_path):
    from resnet_core.data.decode import decode_image

    info, files = _twins(tmp_path)
    reference = decode_image(files["8bit"], info).int()
    for kind in ("16bit", "palette", "rgba", "cmyk"):
        other = decode_image(files[kind], info).int()
        assert (other - reference).abs().max() <= (3 if kind == "cmyk" else 1), kind


def test_transparent_pixels_are_white_and_unknown_formats_are_refused(tmp_path):
    import pytest

    from resnet_core.data.decode import ImageError, decode_image

    info = load_dataset("digits").info
    clear = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    clear.save(tmp_path / "clear.png")
    assert int(decode_image(tmp_path / "clear.png", info).min()) == 255
    Image.new("RGB", (8, 8)).save(tmp_path / "x.ico", format="ICO")
    with pytest.raises(ImageError, match="not an image this tool can read"):
        decode_image(tmp_path / "x.ico", info)
