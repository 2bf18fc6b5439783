"""The analysis wing: what a trained network did and costs. Attributions (Captum),
FLOPs, time and memory estimates, Plotly figures, block diagrams, live curves.

The names below are the wing's public surface (the pages use the wing through them); each
loads its module on first use, so importing the wing costs nothing.
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it (or a foundation module, in full)
PUBLIC = {
    "BASELINES": "attribution",
    "METHODS": "attribution",
    "METHOD_TITLES": "attribution",
    "black_pixel": "attribution",
    "explain": "attribution",
    "attribution_notes": "attribution",
    "heatmap_rgb": "attribution",
    "overlay_rgb": "attribution",
    "probe_indices": "attribution",
    "randomization_check": "attribution",
    "compare_curves": "charts",
    "confusion_heatmap": "charts",
    "diagnostics_over_time": "charts",
    "feature_map_grid": "charts",
    "gradient_norm_profile": "charts",
    "lesson_curves": "charts",
    "lr_find_curve": "charts",
    "service_curves": "charts",
    "top_k_bars": "charts",
    "training_curves": "charts",
    "transfer_curve": "charts",
    "MemoryEstimate": "cost",
    "Plan": "planning",
    "PrintEstimate": "planning",
    "plan": "planning",
    "LEVER_NAMES": "planning",
    "announce_progress": "describe",
    "curve_rows": "describe",
    "curves_table": "describe",
    "describe_compare_curves": "describe",
    "describe_confusion": "describe",
    "describe_diagnostics": "describe",
    "describe_feature_maps": "describe",
    "describe_gradient_profile": "describe",
    "describe_lr_find": "describe",
    "describe_service": "describe",
    "describe_top_k": "describe",
    "describe_training_curves": "describe",
    "describe_transfer": "describe",
    "PALETTE": "palette",
    "available_memory": "cost",
    "estimate_cost": "cost",
    "estimate_memory": "cost",
    "block_dot": "diagram",
    "block_shapes": "diagram",
    "to_pil": "resnet_core.images",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
