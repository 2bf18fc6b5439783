"""The training wing: the ResNets, TrainConfig, the loop, checkpoints, starting from
trained weights, the learning-rate finder, evaluation, metrics, diagnostics.

The names below are the wing's public surface (the pages use the wing through them); each
loads its module on first use, so importing the wing costs nothing.
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it (or a foundation module, in full)
PUBLIC = {
    "load_checkpoint": "checkpoint",
    "model_from_checkpoint": "checkpoint",
    "DEFAULT_EPOCHS": "config",
    "MAXIMUMS": "config",
    "RANGES": "config",
    "CROP_PADDINGS": "config",
    "DEFAULT_LR": "config",
    "PRESETS": "config",
    "PRESET_RESULTS": "config",
    "DATASET_PRESET": "config",
    "presets_for": "config",
    "preset_changes": "config",
    "label_smoothing_floor": "config",
    "tta_problem": "config",
    "OPTIMIZERS": "config",
    "SCHEDULERS": "config",
    "feature_maps": "diagnostics",
    "read_diagnostics": "diagnostics",
    "evaluate_run": "evaluation",
    "tta_note": "evaluation",
    "HEADLINE_METRICS": "metrics",
    "misclassified": "evaluation",
    "ACTIVATIONS": "models",
    "ARCHS": "models",
    "NORMS": "models",
    "resolve_device": "resnet_core.device",
    "BACKBONE_LR_FACTOR": "transfer",
    "FEW_IMAGES_START": "transfer",
    "IMAGENET_FILES": "transfer",
    "imagenet_status": "transfer",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
