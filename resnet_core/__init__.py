"""resnet_core: train, compare and explain residual networks (no Streamlit in here).

    from resnet_core import TrainConfig, train
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=10))
"""

__version__ = "0.1.0"

from .charts import compare_curves, confusion_heatmap, training_curves  # noqa: E402
from .checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from .config import TrainConfig  # noqa: E402
from .data import Dataset, DatasetInfo, load_dataset  # noqa: E402
from .errors import (  # noqa: E402
    CheckpointError,
    ConfigError,
    DataError,
    RunError,
    TrainingFailed,
    WorkbenchError,
)
from .evaluation import Predictor, evaluate_run  # noqa: E402
from .events import Callback, ProgressBar, TrainState  # noqa: E402
from .explain import (  # noqa: E402
    explain,
    heatmap_rgb,
    overlay_rgb,
    randomization_check,
)
from .metrics import classification_report  # noqa: E402
from .models import ARCHS, build_model, count_parameters  # noqa: E402
from .runs import Run, RunStore  # noqa: E402
from .training import resume, train  # noqa: E402

__all__ = [
    "Predictor", "compare_curves", "confusion_heatmap", "training_curves", "explain",
    "heatmap_rgb", "overlay_rgb", "randomization_check",
    "ARCHS", "Callback", "CheckpointError", "ConfigError", "DataError", "Dataset", "DatasetInfo",
    "ProgressBar", "Run", "RunError", "RunStore", "TrainConfig", "TrainState", "TrainingFailed",
    "WorkbenchError", "build_model", "classification_report", "count_parameters", "evaluate_run",
    "load_checkpoint", "load_dataset", "model_from_checkpoint", "resume", "train",
    "__version__",
]
