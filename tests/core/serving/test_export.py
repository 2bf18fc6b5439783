"""Exports predict exactly what the PyTorch model predicts, with the contract they carry."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from resnet_core import load_checkpoint, load_dataset, model_from_checkpoint
from resnet_core.data.decode import decode_image
from resnet_core.data.loader import normalize
from resnet_core.serving.export import export_run, preprocess_for_export

from helpers import run_cli

# The module fixtures below are made once: its tests run on one worker (.ci/run, loadgroup).
pytestmark = pytest.mark.xdist_group("test_export")


@pytest.fixture(scope="module")
def exports(short_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    onnx_meta = export_run(short_run.dir, "onnx", out / "model.onnx")
    ts_meta = export_run(short_run.dir, "torchscript", out / "model.pt")
    return out, onnx_meta, ts_meta


def test_whole_digits_test_split_same_top1_and_probabilities(short_run, exports):
    out, _, _ = exports
    model, _, info = model_from_checkpoint(load_checkpoint(short_run.dir / "checkpoints" / "best.pt"))
    ds = load_dataset("digits")
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    x = normalize(ds.test.images, mean, std)
    with torch.no_grad():
        ref = torch.softmax(model(x), 1).numpy()
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    onnx_probs = torch.softmax(torch.from_numpy(session.run(None, {"input": x.numpy()})[0]), 1).numpy()
    scripted = torch.jit.load(str(out / "model.pt"))
    with torch.no_grad():
        ts_probs = torch.softmax(scripted(x), 1).numpy()
    assert len(x) == 359  # every test image, in one dynamic batch
    for probs in (onnx_probs, ts_probs):
        np.testing.assert_array_equal(probs.argmax(1), ref.argmax(1))
        np.testing.assert_allclose(probs, ref, atol=1e-4)


def test_the_contract_is_inside_each_file_and_beside_it(exports):
    out, onnx_meta, ts_meta = exports
    sidecar = json.loads((out / "model.onnx.json").read_text())
    assert sidecar == onnx_meta
    assert sidecar["class_names"] == [str(i) for i in range(10)]
    assert sidecar["channels"] == 1 and sidecar["image_size"] == 8 and len(sidecar["mean"]) == 1
    embedded = {p.key: p.value for p in onnx.load(str(out / "model.onnx")).metadata_props}
    assert json.loads(embedded["preprocessing"]) == onnx_meta
    extra = {"preprocessing.json": ""}
    torch.jit.load(str(out / "model.pt"), _extra_files=extra)
    assert json.loads(extra["preprocessing.json"]) == ts_meta
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"  # dynamic batch dimension


def test_an_image_file_predicts_as_in_the_test_split(short_run, exports, tmp_path):
    """The sidecar's recipe (NumPy + PIL) equals training's preprocessing, through a PNG file."""
    out, meta, _ = exports
    ds = load_dataset("digits")
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    model, _, info = model_from_checkpoint(load_checkpoint(short_run.dir / "checkpoints" / "best.pt"))
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    for i in range(20):
        path = tmp_path / f"{i}.png"
        Image.fromarray(ds.test.images[i, 0].numpy(), mode="L").save(path)
        x = preprocess_for_export(path, meta)
        np.testing.assert_allclose(x, normalize(decode_image(path, info)[None], mean, std).numpy(), atol=1e-6)
        with torch.no_grad():
            expected = int(model(normalize(ds.test.images[i:i + 1], mean, std)).argmax())
        assert int(session.run(None, {"input": x})[0].argmax()) == expected


@pytest.mark.slow  # 7-14 s: the default run stays under 10 min on 2 cores; CI runs it
def test_cli_export_and_bad_format(short_run, tmp_path):
    result = run_cli("export", str(short_run.dir), "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m.onnx").is_file() and (tmp_path / "m.onnx.json").is_file()
    bad = run_cli("export", str(short_run.dir), "--format", "tflite", "--out", str(tmp_path / "m.x"))
    assert bad.returncode == 2 and "invalid choice: 'tflite'" in bad.stderr
    missing = run_cli("export", str(short_run.dir), "--format", "onnx", "--out", "/no/such/dir/m.onnx")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr


def test_pt2_program_predicts_like_the_model_with_a_dynamic_batch(short_run, tmp_path):
    """torch.export's program (the deployment path that replaces TorchScript): same top-1
    and probabilities on the whole test split in one batch and one image at a time, and the
    contract inside the archive and beside it."""
    meta = export_run(short_run.dir, "pt2", tmp_path / "model.pt2")
    assert meta["format"] == "pt2"
    extra = {"preprocessing.json": ""}
    program = torch.export.load(str(tmp_path / "model.pt2"), extra_files=extra)
    assert json.loads(extra["preprocessing.json"]) == meta
    assert json.loads((tmp_path / "model.pt2.json").read_text()) == meta
    model, _, info = model_from_checkpoint(load_checkpoint(short_run.dir / "checkpoints" / "best.pt"))
    x = normalize(load_dataset("digits").test.images, torch.tensor(info.mean).view(1, -1, 1, 1),
                  torch.tensor(info.std).view(1, -1, 1, 1))
    with torch.no_grad():
        ref = torch.softmax(model.eval()(x), 1)
        probs = torch.softmax(program.module()(x), 1)
        one = torch.softmax(program.module()(x[:1]), 1)
    assert len(x) == 359
    assert torch.equal(probs.argmax(1), ref.argmax(1))
    torch.testing.assert_close(probs, ref, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(one, ref[:1], atol=1e-5, rtol=1e-4)
    cli = run_cli("export", str(short_run.dir), "--format", "pt2", "--out", str(tmp_path / "c.pt2"))
    assert cli.returncode == 0, cli.stderr
