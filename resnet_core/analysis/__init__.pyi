# Generated from PUBLIC by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.analysis.attribution import BASELINES as BASELINES
from resnet_core.analysis.attribution import METHOD_TITLES as METHOD_TITLES
from resnet_core.analysis.attribution import METHODS as METHODS
from resnet_core.analysis.attribution import attribution_notes as attribution_notes
from resnet_core.analysis.attribution import black_pixel as black_pixel
from resnet_core.analysis.attribution import explain as explain
from resnet_core.analysis.attribution import heatmap_rgb as heatmap_rgb
from resnet_core.analysis.attribution import overlay_rgb as overlay_rgb
from resnet_core.analysis.attribution import probe_indices as probe_indices
from resnet_core.analysis.attribution import randomization_check as randomization_check
from resnet_core.analysis.charts import compare_curves as compare_curves
from resnet_core.analysis.charts import confusion_heatmap as confusion_heatmap
from resnet_core.analysis.charts import diagnostics_over_time as diagnostics_over_time
from resnet_core.analysis.charts import feature_map_grid as feature_map_grid
from resnet_core.analysis.charts import gradient_norm_profile as gradient_norm_profile
from resnet_core.analysis.charts import lesson_curves as lesson_curves
from resnet_core.analysis.charts import lr_find_curve as lr_find_curve
from resnet_core.analysis.charts import service_curves as service_curves
from resnet_core.analysis.charts import top_k_bars as top_k_bars
from resnet_core.analysis.charts import training_curves as training_curves
from resnet_core.analysis.charts import transfer_curve as transfer_curve
from resnet_core.analysis.cost import MemoryEstimate as MemoryEstimate
from resnet_core.analysis.cost import available_memory as available_memory
from resnet_core.analysis.cost import estimate_cost as estimate_cost
from resnet_core.analysis.cost import estimate_memory as estimate_memory
from resnet_core.analysis.describe import announce_progress as announce_progress
from resnet_core.analysis.describe import curve_rows as curve_rows
from resnet_core.analysis.describe import curves_table as curves_table
from resnet_core.analysis.describe import describe_compare_curves as describe_compare_curves
from resnet_core.analysis.describe import describe_confusion as describe_confusion
from resnet_core.analysis.describe import describe_diagnostics as describe_diagnostics
from resnet_core.analysis.describe import describe_feature_maps as describe_feature_maps
from resnet_core.analysis.describe import describe_gradient_profile as describe_gradient_profile
from resnet_core.analysis.describe import describe_lr_find as describe_lr_find
from resnet_core.analysis.describe import describe_service as describe_service
from resnet_core.analysis.describe import describe_top_k as describe_top_k
from resnet_core.analysis.describe import describe_training_curves as describe_training_curves
from resnet_core.analysis.describe import describe_transfer as describe_transfer
from resnet_core.analysis.diagram import block_dot as block_dot
from resnet_core.analysis.diagram import block_shapes as block_shapes
from resnet_core.analysis.palette import PALETTE as PALETTE
from resnet_core.analysis.planning import LEVER_NAMES as LEVER_NAMES
from resnet_core.analysis.planning import Plan as Plan
from resnet_core.analysis.planning import PrintEstimate as PrintEstimate
from resnet_core.analysis.planning import plan as plan
from resnet_core.images import to_pil as to_pil

PUBLIC: dict[str, str]
