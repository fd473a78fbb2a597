"""Facts about the machine a run uses: its cores, free memory, CPU model and features, and native bf16.

Read by the data layer (how many decoding processes, what fits in memory), the trainer (threads,
precision) and the study runner (cores per worker), and written into every run's record, so that a
figure is always read with the machine it was measured on.
"""

from __future__ import annotations

import os
import platform
from functools import cache

import torch

# the CPU features that decide how fast cnnlab's nets train here, by their /proc/cpuinfo flag
SPEED_FLAGS = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_bf16": "AVX512-BF16", "amx_bf16": "AMX-BF16"}


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory(device: torch.device) -> int:
    """Free memory on `device` in bytes (best effort)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "mps":
        return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes in bf16 natively (CUDA with bf16, or a CPU with AVX512-BF16 or AMX).

    On such CPUs bf16 autocast trained fastnet 1.66x faster at the same accuracy (2-core EPYC with
    AVX512-BF16: 1,853 -> 3,077 images/s); CPUs without it only emulate bf16, which is slower than fp32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
        except AttributeError:  # older torch: stay with fp32
            return False
    return False


@cache
def _cpuinfo() -> tuple[str, frozenset[str]]:
    """(model name, flags) of the first CPU in /proc/cpuinfo; the platform's processor name elsewhere."""
    name = platform.processor() or platform.machine()
    flags: frozenset[str] = frozenset()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == (platform.processor() or platform.machine()):
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = frozenset(value.split())
    except OSError:
        pass
    return name, flags


def cpu_features() -> list[str]:
    """The speed-relevant features this CPU has (AVX2, AVX-512, AVX512-BF16, AMX-BF16), as named in SPEED_FLAGS."""
    flags = _cpuinfo()[1]
    return [label for flag, label in SPEED_FLAGS.items() if flag in flags]


def hardware_description() -> str:
    """The CPU model, its speed-relevant features and core count, and the GPU if there is one.

    For run records and reports: the same model name ("AMD EPYC") has covered CPUs 5x apart in speed
    here, and the features tell them apart.
    """
    name, features = _cpuinfo()[0], cpu_features()
    text = f"{name} ({', '.join(features)})" if features else name
    text += f", {usable_cores()} cores"
    if torch.cuda.is_available():
        text += f"; GPU {torch.cuda.get_device_name(0)}"
    return text
