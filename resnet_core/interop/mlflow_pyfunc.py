"""The registered model's code: an MLflow pyfunc that runs the exported ONNX file behind its
preprocessing contract (MLflow's "models from code": this file is copied into the model).

It imports only MLflow, NumPy, Pillow, onnxruntime and ``contract`` (resnet_core/contract.py,
which imports nothing of the workbench, copied into the model's code folder beside this file),
so a model from the registry loads wherever those are installed (``mlflow models serve``,
another lab's notebook) and preprocesses exactly as training did. tests/core/interop/test_mlflow.py checks
the same top-1 as ``resnet_core predict``.

    model = mlflow.pyfunc.load_model("models:/resnet-workbench-digits@champion")
    model.predict(["7.png", "3.png"])   # a DataFrame: class, probability, class_index

Input: a list of image file paths or bytes (or a DataFrame whose first column holds them), or
a list of float32 arrays already preprocessed, (C, S, S) each. Output: one row per image.
"""

from __future__ import annotations

import json
from typing import Any

import mlflow
import numpy as np
import pandas as pd

try:  # a loaded model: its code folder holds a copy of resnet_core/contract.py
    from contract import preprocess
except ImportError:  # the model being saved, in the workbench's own process (MLflow checks it)
    from resnet_core.contract import preprocess


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
