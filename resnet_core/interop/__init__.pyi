# Generated from PUBLIC by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.interop.importer import ImportReport as ImportReport
from resnet_core.interop.importer import import_runs as import_runs
from resnet_core.interop.mlflow_export import ExportReport as ExportReport
from resnet_core.interop.mlflow_export import default_tracking_uri as default_tracking_uri
from resnet_core.interop.mlflow_export import export_runs as export_runs
from resnet_core.interop.scalars import parse_tag as parse_tag
from resnet_core.interop.tensorboard_server import TensorBoardServer as TensorBoardServer
from resnet_core.interop.tensorboard_server import shown_command as shown_command
from resnet_core.interop.tensorboard_server import tensorboard_command as tensorboard_command

PUBLIC: dict[str, str]
