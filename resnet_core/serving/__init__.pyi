# Generated from PUBLIC by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.serving.deploy import Replay as Replay
from resnet_core.serving.export import SUFFIXES as SUFFIXES
from resnet_core.serving.export import export_run as export_run
from resnet_core.serving.feedback import DRIFT_WARN as DRIFT_WARN
from resnet_core.serving.predictor import Predictor as Predictor
from resnet_core.serving.serve import FORMATS as FORMATS

PUBLIC: dict[str, str]
