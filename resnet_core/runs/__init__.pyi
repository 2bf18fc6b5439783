# Generated from PUBLIC by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.runs.folder import ACTIVE_STATES as ACTIVE_STATES
from resnet_core.runs.folder import Run as Run
from resnet_core.runs.jsonl import MetricsTail as MetricsTail
from resnet_core.runs.progress import duration as duration
from resnet_core.runs.progress import run_progress as run_progress
from resnet_core.runs.progress import time_taken as time_taken
from resnet_core.runs.store import RunStore as RunStore
from resnet_core.runs.store import config_table as config_table

PUBLIC: dict[str, str]
