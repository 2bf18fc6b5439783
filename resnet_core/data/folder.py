"""The data folder: the one folder the dashboard reads datasets from and writes uploads and
lesson data into, and the rule that keeps every data root a user names inside it.

    <data>/uploads/<name>-<hash>/        an unpacked .zip of an image folder (one per upload)
    <data>/uploads/weights/<hash>-<stem>.pth   an uploaded weights file (one per upload)
    <data>/lessons/<lesson id>/          data a lesson writes for itself
    <data>/MNIST/raw/..., <data>/cifar-10-batches-py/...   torchvision's own layouts

Its root is $RESNET_WORKBENCH_DATA or ./data (``settings``); the CLI takes ``--data-root``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from resnet_core.errors import DataError
from resnet_core.i18n import _
from resnet_core.settings import DATA, settings

DEFAULT_ROOT = "./data"  # what TrainConfig.data_root and the loaders mean when not told
UPLOADS = "uploads"
WEIGHTS = "weights"  # inside UPLOADS
LESSONS = "lessons"


def uploads_dir(root: str | os.PathLike) -> Path:
    return Path(root) / UPLOADS


def weights_dir(root: str | os.PathLike) -> Path:
    return Path(root) / UPLOADS / WEIGHTS


def lesson_dir(root: str | os.PathLike, lesson_id: str) -> Path:
    return Path(root) / LESSONS / lesson_id


@dataclass(frozen=True)
class DataFolder:
    """The data folder of one workbench (resolved once)."""

    root: Path

    @classmethod
    def from_settings(cls) -> DataFolder:
        """$RESNET_WORKBENCH_DATA, or ./data of the working folder."""
        return cls(settings().data_dir.resolve())

    @property
    def uploads(self) -> Path:
        return uploads_dir(self.root)

    @property
    def weights(self) -> Path:
        return weights_dir(self.root)

    def inside(self, path: str | os.PathLike) -> Path:
        """``path`` resolved, if it is inside the data folder; a one-line error otherwise
        (a class server's students must not read the server's other folders)."""
        resolved = Path(path).expanduser().resolve()
        if not resolved.is_relative_to(self.root):
            raise DataError(_("data root {path} is outside the data folder {root}; use a folder "
                              "inside it (set {DATA} to change it)").format(
                                path=path, root=self.root, DATA=DATA))
        return resolved

    def place(self, config):
        """``config`` (a TrainConfig) reading its data from this folder: the default root
        becomes the folder itself, any other must lie inside it."""
        if config.data_root in (DEFAULT_ROOT, "data", ""):
            return dataclasses.replace(config, data_root=str(self.root))
        return dataclasses.replace(config, data_root=str(self.inside(config.data_root)))
