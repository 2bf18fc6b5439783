"""The serving wing: the predictor, export (ONNX, torch.export, TorchScript), the HTTP
service and the app's deployments.

The names below are the wing's public surface (the pages use the wing through them); each
loads its module on first use, so importing the wing costs nothing.
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it (or a foundation module, in full)
PUBLIC = {
    "Replay": "deploy",
    "SUFFIXES": "export",
    "export_run": "export",
    "Predictor": "predictor",
    "DRIFT_WARN": "feedback",
    "FORMATS": "serve",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
