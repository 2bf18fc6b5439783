# Generated from PUBLIC by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.device import resolve_device as resolve_device
from resnet_core.training.checkpoint import load_checkpoint as load_checkpoint
from resnet_core.training.checkpoint import model_from_checkpoint as model_from_checkpoint
from resnet_core.training.config import CROP_PADDINGS as CROP_PADDINGS
from resnet_core.training.config import DATASET_PRESET as DATASET_PRESET
from resnet_core.training.config import DEFAULT_EPOCHS as DEFAULT_EPOCHS
from resnet_core.training.config import DEFAULT_LR as DEFAULT_LR
from resnet_core.training.config import MAXIMUMS as MAXIMUMS
from resnet_core.training.config import OPTIMIZERS as OPTIMIZERS
from resnet_core.training.config import PRESET_RESULTS as PRESET_RESULTS
from resnet_core.training.config import PRESETS as PRESETS
from resnet_core.training.config import RANGES as RANGES
from resnet_core.training.config import SCHEDULERS as SCHEDULERS
from resnet_core.training.config import label_smoothing_floor as label_smoothing_floor
from resnet_core.training.config import preset_changes as preset_changes
from resnet_core.training.config import presets_for as presets_for
from resnet_core.training.config import tta_problem as tta_problem
from resnet_core.training.diagnostics import feature_maps as feature_maps
from resnet_core.training.diagnostics import read_diagnostics as read_diagnostics
from resnet_core.training.evaluation import evaluate_run as evaluate_run
from resnet_core.training.evaluation import misclassified as misclassified
from resnet_core.training.evaluation import tta_note as tta_note
from resnet_core.training.metrics import HEADLINE_METRICS as HEADLINE_METRICS
from resnet_core.training.models import ACTIVATIONS as ACTIVATIONS
from resnet_core.training.models import ARCHS as ARCHS
from resnet_core.training.models import NORMS as NORMS
from resnet_core.training.transfer import BACKBONE_LR_FACTOR as BACKBONE_LR_FACTOR
from resnet_core.training.transfer import FEW_IMAGES_START as FEW_IMAGES_START
from resnet_core.training.transfer import IMAGENET_FILES as IMAGENET_FILES
from resnet_core.training.transfer import imagenet_status as imagenet_status

PUBLIC: dict[str, str]
