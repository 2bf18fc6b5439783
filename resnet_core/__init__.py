"""resnet_core: train, compare and explain residual networks (no Streamlit in here).

    from resnet_core import TrainConfig, train
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=10))

Names are imported when first used (PEP 562), so ``import resnet_core`` costs nothing and a
command pays only for what it needs: training never imports plotly or captum.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "compare_curves": "charts", "confusion_heatmap": "charts", "training_curves": "charts",
    "load_checkpoint": "checkpoint", "model_from_checkpoint": "checkpoint",
    "TrainConfig": "config",
    "Dataset": "data", "DatasetInfo": "data", "load_dataset": "data",
    "CheckpointError": "errors", "ConfigError": "errors", "DataError": "errors",
    "RunError": "errors", "TrainingFailed": "errors", "WorkbenchError": "errors",
    "Predictor": "evaluation", "evaluate_run": "evaluation",
    "Callback": "events", "ProgressBar": "events", "TrainState": "events",
    "explain": "explain", "heatmap_rgb": "explain", "overlay_rgb": "explain",
    "LiveChart": "live_chart",
    "randomization_check": "explain",
    "classification_report": "metrics",
    "ARCHS": "models", "build_model": "models", "count_parameters": "models",
    "Run": "runs", "RunStore": "runs",
    "resume": "training", "train": "training",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'resnet_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _Package(types.ModuleType):
    """Keeps ``resnet_core.explain`` the function, as the eager imports did: importing the
    submodule of the same name would otherwise replace the package attribute with the module."""

    def __setattr__(self, name: str, value) -> None:
        if name == "explain" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # for type checkers and editors; never executed
    from .charts import compare_curves, confusion_heatmap, training_curves  # noqa: F401
    from .checkpoint import load_checkpoint, model_from_checkpoint  # noqa: F401
    from .config import TrainConfig  # noqa: F401
    from .data import Dataset, DatasetInfo, load_dataset  # noqa: F401
    from .errors import (  # noqa: F401
        CheckpointError,
        ConfigError,
        DataError,
        RunError,
        TrainingFailed,
        WorkbenchError,
    )
    from .evaluation import Predictor, evaluate_run  # noqa: F401
    from .events import Callback, ProgressBar, TrainState  # noqa: F401
    from .explain import explain, heatmap_rgb, overlay_rgb, randomization_check  # noqa: F401
    from .live_chart import LiveChart  # noqa: F401
    from .metrics import classification_report  # noqa: F401
    from .models import ARCHS, build_model, count_parameters  # noqa: F401
    from .runs import Run, RunStore  # noqa: F401
    from .training import resume, train  # noqa: F401
