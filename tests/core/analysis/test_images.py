import numpy as np
import torch

from resnet_core.images import to_pil


def test_dataset_tensors_and_heatmap_arrays_enlarge_with_sharp_pixels():
    grey = torch.tensor([[[0, 255], [255, 0]]], dtype=torch.uint8)  # (1, 2, 2)
    im = to_pil(grey, 96)
    assert im.size == (96, 96) and im.mode == "L"
    assert im.getpixel((0, 0)) == 0 and im.getpixel((47, 0)) == 0 and im.getpixel((48, 0)) == 255
    rgb = torch.zeros(3, 8, 8, dtype=torch.uint8)
    rgb[0] = 200
    assert to_pil(rgb, 64).getpixel((5, 5)) == (200, 0, 0)
    heat = np.zeros((8, 8, 3), np.uint8)
    heat[..., 2] = 100
    im = to_pil(heat, 160)
    assert im.size == (160, 160) and im.getpixel((0, 0)) == (0, 0, 100)
