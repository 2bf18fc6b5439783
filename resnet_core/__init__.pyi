# Generated from _EXPORTS by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.analysis.attribution import explain as explain
from resnet_core.analysis.attribution import heatmap_rgb as heatmap_rgb
from resnet_core.analysis.attribution import overlay_rgb as overlay_rgb
from resnet_core.analysis.attribution import randomization_check as randomization_check
from resnet_core.analysis.charts import compare_curves as compare_curves
from resnet_core.analysis.charts import confusion_heatmap as confusion_heatmap
from resnet_core.analysis.charts import training_curves as training_curves
from resnet_core.analysis.live_chart import LiveChart as LiveChart
from resnet_core.analysis.planning import PrintEstimate as PrintEstimate
from resnet_core.data.dataset import Dataset as Dataset
from resnet_core.data.dataset import DatasetInfo as DatasetInfo
from resnet_core.data.sources import load_dataset as load_dataset
from resnet_core.errors import CheckpointError as CheckpointError
from resnet_core.errors import ConfigError as ConfigError
from resnet_core.errors import DataError as DataError
from resnet_core.errors import RunError as RunError
from resnet_core.errors import TrainingFailed as TrainingFailed
from resnet_core.errors import WorkbenchError as WorkbenchError
from resnet_core.events import Callback as Callback
from resnet_core.events import ProgressBar as ProgressBar
from resnet_core.events import TrainState as TrainState
from resnet_core.interop.importer import import_runs as import_runs
from resnet_core.interop.mlflow_export import export_runs as export_runs
from resnet_core.runs.folder import Run as Run
from resnet_core.runs.store import RunStore as RunStore
from resnet_core.serving.predictor import Predictor as Predictor
from resnet_core.sweeps.study import SweepConfig as SweepConfig
from resnet_core.training.checkpoint import load_checkpoint as load_checkpoint
from resnet_core.training.checkpoint import model_from_checkpoint as model_from_checkpoint
from resnet_core.training.config import TrainConfig as TrainConfig
from resnet_core.training.evaluation import evaluate_run as evaluate_run
from resnet_core.training.loop import resume as resume
from resnet_core.training.loop import train as train
from resnet_core.training.metrics import classification_report as classification_report
from resnet_core.training.models import ARCHS as ARCHS
from resnet_core.training.models import build_model as build_model
from resnet_core.training.models import count_parameters as count_parameters
from resnet_core.version import __version__ as __version__
from resnet_core.workbench import SweepResult as SweepResult
from resnet_core.workbench import Workbench as Workbench
from resnet_core.workbench import sweep as sweep

MOVED: dict[str, str]
__all__: list[str]
_EXPORTS: dict[str, str]
