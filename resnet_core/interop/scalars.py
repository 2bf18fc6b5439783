"""Scalars' names between the workbench and other trackers.

The workbench writes a metrics line's values as ``<split>/<name>`` (``val/accuracy``:
``training.tensorboard.scalars_of``), to TensorBoard and to MLflow alike. Runs made elsewhere
name theirs as their authors chose: ``Loss/train``, ``val_loss``, ``train_acc``,
``accuracy``. ``parse_tag`` reads the common spellings back into (split, name), so an imported
run's curves land on the same axes as a native run's.
"""

from __future__ import annotations

import math
import re

SPLIT_WORDS = {"train": "train", "training": "train", "val": "val", "valid": "val",
               "validation": "val", "eval": "val", "test": "test"}
NAME_WORDS = {"loss": "loss", "acc": "accuracy", "accuracy": "accuracy", "top1": "accuracy",
              "lr": "lr", "learning_rate": "lr", "images_per_sec": "images_per_sec",
              "macro_f1": "macro_f1", "f1": "macro_f1", "top5_accuracy": "top5_accuracy"}
SKIPPED_PREFIXES = ("hparam/",)  # the hyperparameters' summary copies, not curves


def parse_tag(tag: str) -> tuple[str, str] | None:
    """(split, name) for a scalar's tag, or None for one that is not a curve (``hparam/...``).
    A tag without a split word is a training curve; an unknown name is kept, tidied."""
    if tag.startswith(SKIPPED_PREFIXES):
        return None
    parts = [p for p in re.split(r"[/_\s.-]+", tag.strip().lower()) if p]
    split = next((SPLIT_WORDS[p] for p in parts if p in SPLIT_WORDS), "train")
    rest = [p for p in parts if p not in SPLIT_WORDS]
    joined = "_".join(rest)
    if joined in NAME_WORDS:
        return split, NAME_WORDS[joined]
    for part in rest:
        if part in NAME_WORDS:
            return split, NAME_WORDS[part]
    return (split, joined) if joined else None


# A line's own keys: a source's scalar of that name must not overwrite them.
RESERVED = ("split", "step")
MAX_STEP = 2**53  # past this a float step is no longer a whole number


def lines_from_points(points: dict[str, list[tuple[int, float]]]) -> list[dict]:
    """{tag: [(step, value), ...]} -> metrics lines, one per (split, step), in step order
    (splits train, val, test at the same step). A later value at the same step wins. What a
    hostile or broken source holds is left out, not raised: a value that is NaN or infinite,
    a step that is not a whole number from 0, an epoch that is not one, and tags that would be
    the line's own ``split`` or ``step`` (a NaN epoch once stopped an import midway)."""
    lines: dict[tuple[int, int, str], dict] = {}
    order = {"train": 0, "val": 1, "test": 2}
    for tag, series in points.items():
        parsed = parse_tag(tag)
        if parsed is None or parsed[1] in RESERVED:
            continue
        split, name = parsed
        for step, value in series:
            value = _finite(value)
            if value is None or not _whole(step) or name == "epoch" and not _whole(value):
                continue
            line = lines.setdefault((int(step), order.get(split, 3), split), {"split": split, "step": int(step)})
            line[name] = int(value) if name == "epoch" else value
    return [lines[k] for k in sorted(lines)]


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _whole(value) -> bool:
    value = _finite(value)
    return value is not None and 0 <= value < MAX_STEP and value == int(value)
