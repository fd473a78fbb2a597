"""What a CPU really does with fastnet's training step: threads, memory format, batch size, torch.compile,
and where the time goes, one factor at a time on the same synthetic batch (no data pipeline).

    python benchmarks/cpu_profile.py [--widths 32,128,128] [--steps 6] [--no-compile]

Each figure is training images/s (forward + backward + SGD step, the trainer's loss and optimiser),
the best of interleaved rounds. The profile splits one step's time by operator kind, then each
convolution alone (forward and backward at its real input shape) is timed with the GFLOP/s it reaches.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
from torch import nn

from _common import finish, machine
from _step_cost import profile_step
from cnnlab.models import build
from cnnlab.train.device import keep_freed_memory


def make_step(widths: tuple[int, ...], batch: int, channels_last: bool, compiled: bool = False):
    """A closure doing one training step of fastnet on a fixed random batch."""
    model: nn.Module = build("fastnet", 3, 10, 32, widths=widths)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    forward = torch.compile(model) if compiled else model
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.85, nesterov=True
    )
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=memory_format)
    y = torch.randint(0, 10, (batch,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(forward(x), y, label_smoothing=0.2).backward()
        optimizer.step()

    return step


def step_images_per_second(step, batch: int, steps: int) -> float:
    """Images/s over `steps` steps after one warm-up step."""
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def profile(widths: tuple[int, ...], batch: int, steps: int = 3) -> dict[str, float]:
    """Share of a step's time by kind of operator (_step_cost's grouping), over `steps` profiled steps."""
    step = make_step(widths, batch, channels_last=True)
    step()

    def run() -> None:
        for _ in range(steps):
            step()

    return profile_step(run, steps).shares()


LAYER_BATCH = 512  # the presets' batch: the per-conv figures are for a step they take


def conv_layers(widths: tuple[int, ...], batch: int, rounds: int) -> list[dict[str, Any]]:
    """Each conv of fastnet timed alone at its real input shape: forward and both backward products (input and
    weight gradients), best of rounds. The frozen whitening conv is left out."""
    model = build("fastnet", 3, 10, 32, widths=widths).to(memory_format=torch.channels_last)
    shapes: dict[str, tuple[int, ...]] = {}
    convs = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and name != "features.whiten"}

    def record_shape(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            shapes[name] = tuple(inputs[0].shape)

        return hook

    hooks = [module.register_forward_hook(record_shape(name)) for name, module in convs.items()]
    with torch.no_grad():
        model(torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last))
    for hook in hooks:
        hook.remove()
    layers = []
    for name, conv in convs.items():
        conv.weight.requires_grad_(True)
        x = torch.randn(shapes[name]).contiguous(memory_format=torch.channels_last).requires_grad_(True)
        best = float("inf")
        for _ in range(rounds + 1):  # the first round warms oneDNN up
            start = time.perf_counter()
            y = conv(x)
            y.backward(torch.ones_like(y))
            best = min(best, time.perf_counter() - start)
        macs = y.numel() * conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
        layers.append(
            {
                "conv": name.split(".")[-1],
                "input": list(shapes[name][1:]),
                "out_channels": conv.out_channels,
                "ms": round(1000 * best, 1),
                "gflops": round(3 * 2 * macs / best / 1e9, 1),
            }
        )
    return layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="32,128,128")
    parser.add_argument("--steps", type=int, default=6, help="timed steps a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (about a minute of compiling)")
    args = parser.parse_args()
    widths = tuple(int(w) for w in args.widths.split(","))
    cores = torch.get_num_threads()
    keep_freed_memory()
    print(f"machine: {machine()}; fastnet {widths}", flush=True)
    figures: dict[str, object] = {"widths": list(widths)}
    variants = {  # key: (label, batch, threads, channels_last)
        "baseline": (f"baseline: {cores} threads, channels_last, batch 256", 256, cores, True),
        "one_thread": ("1 thread", 256, 1, True),
        "nchw": ("contiguous (NCHW) memory format", 256, cores, False),
        "batch_128": ("batch 128", 128, cores, True),
        "batch_512": ("batch 512", 512, cores, True),
    }
    steps = {key: make_step(widths, batch, channels_last=cl) for key, (_, batch, _, cl) in variants.items()}
    best = dict.fromkeys(variants, 0.0)
    for round_ in range(1, args.rounds + 1):  # interleaved rounds: a slow spell of the machine hits every variant
        for key, (label, batch, threads, _) in variants.items():
            torch.set_num_threads(threads)
            ips = step_images_per_second(steps[key], batch, args.steps)
            best[key] = max(best[key], ips)
            print(f"round {round_}: {label:40s} {ips:7.0f} images/s", flush=True)
    torch.set_num_threads(cores)
    print("best of the rounds: " + ", ".join(f"{key} {ips:.0f}" for key, ips in best.items()), flush=True)
    figures.update({key: round(ips, 1) for key, ips in best.items()})
    if not args.no_compile:
        start = time.perf_counter()
        step = make_step(widths, 256, channels_last=True, compiled=True)
        step()  # the first step compiles forward and backward
        figures["compile_seconds"] = round(time.perf_counter() - start, 1)
        ips = max(step_images_per_second(step, 256, args.steps) for _ in range(args.rounds))
        figures["compiled"] = round(ips, 1)
        seconds = figures["compile_seconds"]
        print(f"torch.compile, batch 256: {ips:.0f} images/s after {seconds} s compiling", flush=True)
    shares = profile(widths, 256)
    print("where one step's time goes: " + ", ".join(f"{k} {v}%" for k, v in shares.items()), flush=True)
    figures["profile_percent"] = shares
    layers = conv_layers(widths, LAYER_BATCH, args.rounds)
    total = sum(float(layer["ms"]) for layer in layers)
    for layer in layers:
        share = 100 * float(layer["ms"]) / total
        print(
            f"{layer['conv']:8s} input {layer['input']} -> {layer['out_channels']:4d} channels: "
            f"{layer['ms']:7.1f} ms a batch of {LAYER_BATCH} ({share:4.1f}%), {layer['gflops']:6.1f} GFLOP/s",
            flush=True,
        )
    figures[f"conv_layers_batch_{LAYER_BATCH}"] = layers
    finish(figures)


if __name__ == "__main__":
    main()
