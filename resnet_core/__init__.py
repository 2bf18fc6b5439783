"""resnet_core: train, compare and explain residual networks (no Streamlit in here).

    from resnet_core import TrainConfig, train
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=10))

The package is nine wings over a small foundation (ARCHITECTURE.md draws the layers, and
import-linter enforces them in CI):

    data/       datasets: the registry, sources, the preprocessing contract, loaders, uploads
    runs/       the run folder: paths, states, metric lines, the store, progress
    training/   models, TrainConfig, the loop, checkpoints, transfer, evaluation, metrics
    analysis/   explanations, cost estimates, charts, diagrams, live curves
    serving/    the predictor, export, the HTTP service, deployments
    jobs/       the queue, the local executor and the training child
    sweeps/     hyperparameter searches (Optuna) whose trials are runs on the queue
    interop/    MLflow export (with the model registered), imports from TensorBoard and MLflow
    classroom/  users and access, class mode, the sign-in gate, lessons
    workbench.py  the front door: one Workbench per runs folder, a Session per user
    cli.py      the command line

Names are imported when first used (PEP 562), so ``import resnet_core`` costs nothing and a
command pays only for what it needs: training never imports plotly or captum. Editors and
type checkers read the names from ``__init__.pyi`` beside each package's ``__init__.py``,
generated from the tables (``python -m resnet_core.lazy``; a test keeps them equal).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

from resnet_core.version import __version__  # noqa: F401 - the foundation owns it

# public name -> the module that defines it
_EXPORTS = {
    "compare_curves": "analysis.charts", "confusion_heatmap": "analysis.charts",
    "training_curves": "analysis.charts",
    "load_checkpoint": "training.checkpoint", "model_from_checkpoint": "training.checkpoint",
    "TrainConfig": "training.config",
    "Dataset": "data.dataset", "DatasetInfo": "data.dataset", "load_dataset": "data.sources",
    "CheckpointError": "errors", "ConfigError": "errors", "DataError": "errors",
    "RunError": "errors", "TrainingFailed": "errors", "WorkbenchError": "errors",
    "Predictor": "serving.predictor", "evaluate_run": "training.evaluation",
    "Callback": "events", "ProgressBar": "events", "TrainState": "events",
    "explain": "analysis.attribution", "heatmap_rgb": "analysis.attribution",
    "overlay_rgb": "analysis.attribution", "randomization_check": "analysis.attribution",
    "LiveChart": "analysis.live_chart", "PrintEstimate": "analysis.planning",
    "classification_report": "training.metrics",
    "ARCHS": "training.models", "build_model": "training.models", "count_parameters": "training.models",
    "Run": "runs.folder", "RunStore": "runs.store",
    "resume": "training.loop", "train": "training.loop",
    "Workbench": "workbench", "sweep": "workbench", "SweepResult": "workbench",
    "SweepConfig": "sweeps.study",
    "export_runs": "interop.mlflow_export", "import_runs": "interop.importer",
}

# Modules of release 0.1.0 that README documented, and their homes now: ``from
# resnet_core.lessons import LESSONS`` keeps working (the same module object, not a copy).
MOVED = {
    "lessons": "classroom.lessons",
    "drawing": "data.drawing",
    "lr_find": "training.lr_find",
    "diagnostics": "training.diagnostics",
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


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``resnet_core.<old name>`` as the module that now holds it (``MOVED``)."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.rpartition(".")
        if prefix != __name__ or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{MOVED[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module) -> None:
        pass  # the module it stands for is already executed


sys.meta_path.append(_MovedModules())
