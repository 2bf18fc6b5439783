"""Predictor: a run's checkpoint loaded once for inference, with the preprocessing contract it
was trained with (what Predict, serve and export all use)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from PIL import Image

from resnet_core.data.loader import preprocess
from resnet_core.errors import DataError, RunError, first_line
from resnet_core.i18n import _
from resnet_core.runs.folder import Run
from resnet_core.training.checkpoint import load_checkpoint, model_from_checkpoint

if TYPE_CHECKING:
    pass


class Predictor:
    """A frozen snapshot of a run's weights (a checkpoint file, never the live model) plus its
    preprocessing contract; classifies image files, file objects or PIL images."""

    def __init__(self, checkpoint_path: str | Path) -> None:
        self.path = Path(checkpoint_path)
        self.model, self.config, self.info = model_from_checkpoint(load_checkpoint(self.path))

    def warm_up(self, rounds: int = 3) -> None:
        """Forward and backward on a blank input a few times: torch picks and warms its CPU
        kernels for a new input shape on the first calls (0.6-2.6 s for resnet20 on digits
        here), which would otherwise be the first drawing's wait on the Predict page."""
        x = torch.zeros(1, self.info.channels, self.info.image_size, self.info.image_size,
                        requires_grad=True)
        for _round in range(rounds):
            torch.autograd.grad(self.model(x).sum(), x)  # no parameter .grad is touched

    def preprocess(self, source) -> torch.Tensor:
        """The normalised (1, C, H, W) input, made exactly as for training and evaluation."""
        from resnet_core.data.decode import ACCEPTED, ImageError

        try:
            return preprocess([source], self.info)
        except ImageError:
            raise  # already one line, with the one list of what is accepted
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            name = getattr(source, "name", None) or getattr(source, "filename", None) or source
            raise DataError(_("{name} is not an image this tool can read ({first_line}); "
                              "accepted: {ACCEPTED}").format(
                                name=name, first_line=first_line(e, 200), ACCEPTED=ACCEPTED)) from e

    @torch.no_grad()
    def predict(self, sources: list, top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (class name, probability) for each source, most likely first."""
        return self._top_k(torch.cat([self.preprocess(s) for s in sources]), top_k)

    @torch.no_grad()
    def predict_images(self, images: torch.Tensor, top_k: int = 3) -> list[list[tuple[str, float]]]:
        """The same for uint8 images (N, C, H, W) already at the input size (a drawing, a test
        image): normalised by the contract, nothing resized."""
        return self._top_k(self.info.normalize(images), top_k)

    @torch.no_grad()
    def probabilities(self, image: torch.Tensor) -> torch.Tensor:
        """Every class's probability (C,) for one uint8 image (C, H, W) at the input size."""
        return F.softmax(self.model(self.info.normalize(image[None])).float(), dim=1)[0]

    def _top_k(self, batch: torch.Tensor, top_k: int) -> list[list[tuple[str, float]]]:
        probs = F.softmax(self.model(batch).float(), dim=1)
        top = probs.topk(min(top_k, self.info.num_classes), dim=1)
        names = self.info.class_names
        return [[(names[i], float(p)) for p, i in zip(ps.tolist(), idx.tolist(), strict=True)]
                for ps, idx in zip(top.values, top.indices, strict=True)]


def predict_images(run_dir: str | Path, sources: list, *, checkpoint: str = "best",
                   top_k: int = 3) -> list[list[tuple[str, float]]]:
    """Top-k (class name, probability) for each image with one of a run's checkpoints."""
    if checkpoint not in ("best", "last"):
        raise RunError(_("unknown checkpoint {checkpoint}; choose best or last").format(
                           checkpoint=f"{checkpoint!r}"))
    return Predictor(Run(Path(run_dir)).checkpoint(checkpoint)).predict(sources, top_k)
