"""The device: auto, cpu or cuda (an index dropped), autocast's dtype per device, and what a
machine without a GPU refuses in one line."""

from __future__ import annotations

import pytest
import torch

from resnet_core.device import (
    autocast_context,
    cpu_has_fast_bf16,
    device_count,
    device_kind,
    resolve_amp,
    resolve_device,
)
from resnet_core.errors import ConfigError


def test_a_device_with_an_index_is_its_kind():
    assert [device_kind(d) for d in ("cuda:1", "cpu:0", "auto", "cpu")] == ["cuda", "cpu", "auto", "cpu"]


def test_auto_is_the_gpu_where_there_is_one():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="device must be one of auto, cpu, cuda; got 'tpu'"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without a GPU")
def test_cuda_without_a_gpu_is_one_line():
    with pytest.raises(ConfigError, match="no CUDA GPU is available; use auto or cpu"):
        resolve_device("cuda")
    assert device_count("cuda") == 0


def test_autocast_on_the_cpu_is_off_unless_asked_and_never_fp16():
    cpu = torch.device("cpu")
    assert resolve_amp("auto", cpu) is None and resolve_amp("off", cpu) is None
    assert resolve_amp("bf16", cpu) is torch.bfloat16
    with pytest.raises(ConfigError, match="amp fp16 needs a CUDA GPU"):
        resolve_amp("fp16", cpu)
    with autocast_context(cpu, torch.bfloat16):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype is torch.bfloat16
    with autocast_context(cpu, None):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype is torch.float32


def test_a_cpu_job_may_use_every_core_it_is_allowed_and_no_more():
    """The cores are the process's affinity: a server started under ``taskset -c 0`` (or in a
    container's cpuset) on a bigger machine gives a CPU job one process, not the machine's count."""
    import os
    import shutil
    import subprocess
    import sys

    assert device_count("cpu") == len(os.sched_getaffinity(0))
    if shutil.which("taskset") is None:
        pytest.skip("taskset (util-linux) is not installed")
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                          "from resnet_core.device import cpu_cores, device_count; "
                          "print(cpu_cores(), device_count('cpu'))"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "1"]


@pytest.mark.parametrize(("flags", "fast"), [
    ("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni", True),     # AMD Zen 4: AVX512-BF16
    ("fpu sse2 avx512f amx_bf16 amx_tile amx_int8", True),        # Intel Sapphire Rapids: AMX
    ("fpu sse2 avx2 fma", False),                                 # neither: bf16 is slower
    ("fpu sse2 avx512f avx512_bf16x", False),                     # a whole flag, not a prefix
])
def test_the_recipes_bf16_follows_the_cpus_flags(tmp_path, flags, fast):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nvendor_id\t: X\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    assert cpu_has_fast_bf16(str(cpuinfo)) is fast
    assert cpu_has_fast_bf16(str(tmp_path / "absent")) is False  # not Linux: fp32
