"""The registered model's code: an MLflow pyfunc that runs the exported ONNX file behind its
preprocessing contract (MLflow's "models from code": this file is copied into the model).

It imports only MLflow, NumPy, Pillow and onnxruntime, never resnet_core, so a model from
the registry loads wherever those are installed (``mlflow models serve``, another lab's
notebook). The preprocessing below is therefore a copy of ``serving.export.
preprocess_for_export`` (with ``data.decode.to_8bit``); tests/test_mlflow.py checks the two
give the same arrays on the test images, and the same top-1 as ``resnet_core predict``.

    model = mlflow.pyfunc.load_model("models:/resnet-workbench-digits@champion")
    model.predict(["7.png", "3.png"])   # a DataFrame: class, probability, class_index

Input: a list of image file paths or bytes (or a DataFrame whose first column holds them), or
a list of float32 arrays already preprocessed, (C, S, S) each. Output: one row per image.
"""

from __future__ import annotations

import io
import json
from typing import Any

import mlflow
import numpy as np
import pandas as pd


def to_8bit(im):
    """16-bit grey scaled by 255/65535; transparency composited over white (as training)."""
    from PIL import Image

    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(im).astype(np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im


def preprocess(source, contract: dict) -> np.ndarray:
    """One image (a path or bytes) -> float32 (C, S, S), by the contract's resize rule."""
    from PIL import Image, ImageOps

    im = Image.open(io.BytesIO(source) if isinstance(source, bytes | bytearray) else source)
    im = to_8bit(ImageOps.exif_transpose(im)).convert(contract["color_mode"])
    size = contract["image_size"]
    if im.size != (size, size):
        im = ImageOps.fit(im, (size, size), Image.Resampling.BILINEAR)
    x = np.asarray(im, dtype=np.float32) / 255.0
    x = x[None] if x.ndim == 2 else x.transpose(2, 0, 1)
    mean = np.asarray(contract["mean"], dtype=np.float32)[:, None, None]
    std = np.asarray(contract["std"], dtype=np.float32)[:, None, None]
    return ((x - mean) / std).astype(np.float32)


class ContractModel(mlflow.pyfunc.PythonModel):
    """The exported network and its contract: images in, classes and probabilities out."""

    def load_context(self, context) -> None:
        import onnxruntime

        with open(context.artifacts["contract"]) as f:
            self.contract = json.load(f)
        self.session = onnxruntime.InferenceSession(context.artifacts["model"],
                                                    providers=["CPUExecutionProvider"])

    def predict(self, context, model_input: list[Any], params=None) -> pd.DataFrame:
        batch = self._batch(model_input)
        logits = self.session.run(["logits"], {"input": batch})[0]
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = exp / exp.sum(axis=1, keepdims=True)
        top = probs.argmax(axis=1)
        names = self.contract["class_names"]
        return pd.DataFrame({"class": [names[i] for i in top],
                             "probability": probs[np.arange(len(top)), top].astype(float),
                             "class_index": top.astype(int)})

    def _batch(self, model_input) -> np.ndarray:
        if isinstance(model_input, pd.DataFrame):
            model_input = model_input.iloc[:, 0]
        items = list(model_input)
        if items and isinstance(items[0], np.ndarray):  # preprocessed images, one by one
            return np.stack(items).astype(np.float32)
        return np.stack([preprocess(item, self.contract) for item in items])


mlflow.models.set_model(ContractModel())
