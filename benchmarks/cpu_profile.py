"""What a CPU really does with fastnet's training step: threads, memory format, batch size, torch.compile,
and where the time goes, one factor at a time on the same synthetic batch (no data pipeline).

    python benchmarks/cpu_profile.py [--widths 32,128,128] [--steps 6] [--no-compile]

Each figure is training images/s (forward + backward + SGD step, the trainer's loss and optimiser),
the best of interleaved rounds. The profile splits one step's time by operator kind. Last line: one JSON
object.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
from torch import nn

from _common import finish, machine
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


KINDS = {
    "convolution": ("conv",),
    "batch norm": ("batch_norm",),
    "activation (GELU)": ("gelu",),
    "max pool": ("max_pool", "adaptive_max_pool"),
    "optimiser": ("sgd", "_foreach", "add_", "mul_", "lerp"),
}


def profile(widths: tuple[int, ...], batch: int) -> dict[str, float]:
    """Share of one step's self CPU time by operator kind (the rest: copies, loss, bookkeeping)."""
    step = make_step(widths, batch, channels_last=True)
    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            step()
    shares: dict[str, float] = defaultdict(float)
    total = 0.0
    for event in prof.key_averages():
        total += event.self_cpu_time_total
        kind = next((k for k, keys in KINDS.items() if any(key in event.key for key in keys)), "other")
        shares[kind] += event.self_cpu_time_total
    return {kind: round(100 * t / total, 1) for kind, t in sorted(shares.items(), key=lambda kv: -kv[1])}


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
    finish(figures)


if __name__ == "__main__":
    main()
