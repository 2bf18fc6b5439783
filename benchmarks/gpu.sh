#!/usr/bin/env bash
# The GPU figures in one go, on synthetic data (a lent GPU machine has no internet):
#   bash benchmarks/gpu.sh            (from the repository root, with torch installed)
# 1. ResNet-50 at 224 px, AMP (bf16) + channels_last: training images/s and MFU against the
#    card's measured bf16 matmul peak. Anchor: NVIDIA's ResNet-50 v1.5 PyTorch example, about
#    2,470 img/s on one A100 with AMP; target at least 3,000 img/s on one H100.
# 2. ResNet-18 / ResNet-20 on 32x32 images: images/s and MFU, the step replayed as a CUDA graph
#    (the default on a GPU) against the same step launched kernel by kernel, at batch 128/512.
# 3. Our trainer against the tutorial-style reference loop on the GPU (digits, shapes, 32x32
#    RGB), with and without the CUDA graph, and torch.compile(mode="reduce-overhead") on digits.
# 4. End to end: default digits runs (wall, test accuracy), fp16, fp32, batch 512, stop + resume.
# Each part runs on even if an earlier one failed; the exit status says whether all passed.
# Last measured (2026-11-28, one NVIDIA H100 80GB HBM3, 16 CPU cores; RESULTS.md "GPU"):
# ResNet-50 at 224 px 3,935 img/s, 12.0% MFU; digits resnet20 59,990 img/s with the CUDA
# graph (9,340 launched kernel by kernel). Not measured since: no task has had a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${OUT:-$(mktemp -d)}
rc=0
step() { echo "## $*"; "$@" || { rc=1; echo "## FAILED: $*"; }; }
$PY -c "import torch; print('#', torch.cuda.get_device_name(0), 'torch', torch.__version__)"
step $PY benchmarks/mfu.py --device cuda --size 224 --batch 256 --steps 30 --archs resnet50 --peak-dtype bfloat16
step $PY benchmarks/mfu.py --device cuda --size 32 --batch 512 --steps 100 --archs resnet18,resnet20 --peak-dtype bfloat16 --eager-step
step $PY benchmarks/mfu.py --device cuda --size 32 --batch 128 --steps 100 --archs resnet20 --peak-dtype bfloat16 --eager-step
step $PY benchmarks/throughput.py --device cuda --rounds 2 --eager-step
step $PY benchmarks/throughput.py --device cuda --rounds 1 --cases digits --compile
step $PY benchmarks/gpu_smoke.py "$OUT"
exit $rc
