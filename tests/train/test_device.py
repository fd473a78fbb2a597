"""Compute choices: auto resolves to what measured fastest here; impossible requests are user errors."""

from __future__ import annotations

import pytest
import torch

from cnnlab.config import TrainConfig
from cnnlab.errors import UserError
from cnnlab.train import resolve_compute, resolve_device


@pytest.mark.parametrize("bf16", [False, True])
def test_auto_on_a_cpu_machine(monkeypatch, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    compute = resolve_compute(TrainConfig(threads=1))
    assert compute.device.type == "cpu" and compute.precision == ("bf16" if bf16 else "fp32")
    assert compute.channels_last and compute.memory_format == torch.channels_last
    assert "1 thread " in compute.describe() and "channels_last" in compute.describe()
    assert not resolve_compute(TrainConfig(threads=1, channels_last=False)).channels_last


def test_bf16_autocast_wraps_the_forward_pass() -> None:
    compute = resolve_compute(TrainConfig(device="cpu", precision="bf16", threads=1))
    with compute.autocast():
        out = torch.nn.Linear(4, 2)(torch.ones(1, 4))
    assert out.dtype == torch.bfloat16


def test_unavailable_devices_and_fp16_on_cpu_are_user_errors(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(UserError, match="fp16 needs CUDA"):
        resolve_compute(TrainConfig(device="cpu", precision="fp16"))


def test_glibc_keeps_freed_memory_when_asked() -> None:
    import platform

    from cnnlab.train.device import keep_freed_memory

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("the allocator setting is for glibc")
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # idempotent
