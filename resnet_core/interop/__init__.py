"""The interop wing: the workbench's runs where people already look, and back again.
MLflow (mlflow_export.py: runs with their params, per-step metrics, tags and artefacts, the
best checkpoint registered as a model that carries its preprocessing contract), imports from
a TensorBoard logdir or an MLflow store (importer.py: read-only runs for the Runs page), the
mapping between a metrics line and the scalars' names (scalars.py) and a TensorBoard the app
starts on a local port (tensorboard_server.py). The run's own TensorBoard event files are
written while it trains, by training/tensorboard.py.

The names below are the wing's public surface; each loads its module on first use, so
importing the wing costs nothing (MLflow is imported only by what uses it).
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it
PUBLIC = {
    "ExportReport": "mlflow_export",
    "default_tracking_uri": "mlflow_export",
    "export_runs": "mlflow_export",
    "ImportReport": "importer",
    "import_runs": "importer",
    "parse_tag": "scalars",
    "TensorBoardServer": "tensorboard_server",
    "shown_command": "tensorboard_server",
    "tensorboard_command": "tensorboard_server",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
