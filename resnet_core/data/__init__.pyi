# Generated from PUBLIC by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.data.decode import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS
from resnet_core.data.decode import decode_image as decode_image
from resnet_core.data.drawing import CANVAS as CANVAS
from resnet_core.data.drawing import MAX_POINTS as MAX_POINTS
from resnet_core.data.drawing import clean_strokes as clean_strokes
from resnet_core.data.drawing import drawing_hint as drawing_hint
from resnet_core.data.drawing import drawing_to_image as drawing_to_image
from resnet_core.data.drawing import pen_width as pen_width
from resnet_core.data.folder import DEFAULT_ROOT as DEFAULT_ROOT
from resnet_core.data.registry import BUILT_IN as BUILT_IN
from resnet_core.data.registry import DATASET_NAMES as DATASET_NAMES
from resnet_core.data.registry import DATASETS as DATASETS
from resnet_core.data.registry import availability as availability
from resnet_core.data.sources import load_dataset as load_dataset

PUBLIC: dict[str, str]
