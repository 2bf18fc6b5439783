#!/usr/bin/env bash
# The GPU figures of issue 6 in one go, on synthetic data (a lent GPU machine has no internet):
#   bash benchmarks/gpu.sh            (from the repository root, with torch installed)
# 1. ResNet-50 at 224 px, AMP (bf16) + channels_last: training images/s and MFU against the
#    card's measured bf16 matmul peak. Anchor: NVIDIA's ResNet-50 v1.5 PyTorch example, about
#    2,470 img/s on one A100 with AMP; an H100 should be well over that.
# 2. ResNet-18 on 32x32 images: images/s and MFU (bf16 peak).
# 3. Our trainer against the tutorial-style reference loop on the GPU (digits, shapes, 32x32 RGB).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
$PY -c "import torch; print('#', torch.cuda.get_device_name(0), 'torch', torch.__version__)"
$PY benchmarks/mfu.py --device cuda --size 224 --batch 256 --steps 30 --archs resnet50 --peak-dtype bfloat16
$PY benchmarks/mfu.py --device cuda --size 32 --batch 512 --steps 100 --archs resnet18,resnet20 --peak-dtype bfloat16
$PY benchmarks/throughput.py --device cuda --rounds 2
