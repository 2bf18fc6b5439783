# Generated from PUBLIC by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.sweeps.charts import best_so_far as best_so_far
from resnet_core.sweeps.charts import caveats as caveats
from resnet_core.sweeps.charts import describe as describe
from resnet_core.sweeps.charts import epoch_curves as epoch_curves
from resnet_core.sweeps.charts import importances as importances
from resnet_core.sweeps.charts import parallel_coordinates as parallel_coordinates
from resnet_core.sweeps.charts import trial_runs as trial_runs
from resnet_core.sweeps.charts import trial_table as trial_table
from resnet_core.sweeps.charts import trials_of as trials_of
from resnet_core.sweeps.runner import SweepRunner as SweepRunner
from resnet_core.sweeps.runner import Sweeps as Sweeps
from resnet_core.sweeps.space import FORM_SEARCH as FORM_SEARCH
from resnet_core.sweeps.space import FORMS as FORMS
from resnet_core.sweeps.space import SEARCHABLE as SEARCHABLE
from resnet_core.sweeps.space import Param as Param
from resnet_core.sweeps.space import SearchSpace as SearchSpace
from resnet_core.sweeps.space import form_options as form_options
from resnet_core.sweeps.space import parse_param as parse_param
from resnet_core.sweeps.study import MAX_PARALLEL as MAX_PARALLEL
from resnet_core.sweeps.study import MAX_TRIALS as MAX_TRIALS
from resnet_core.sweeps.study import PRUNERS as PRUNERS
from resnet_core.sweeps.study import SAMPLERS as SAMPLERS
from resnet_core.sweeps.study import Sweep as Sweep
from resnet_core.sweeps.study import SweepConfig as SweepConfig
from resnet_core.sweeps.study import get_sweep as get_sweep
from resnet_core.sweeps.study import list_sweeps as list_sweeps

PUBLIC: dict[str, str]
