"""One row a layer (output shape, weights, biases, receptive field, jump, multiply-accumulates) and the totals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from cnnlab.errors import UserError
from cnnlab.models.blocks import too_small

from .receptive import PIXEL, UNKNOWN, Field, propagate

SCHEMA = "cnnlab.inspect/1"


@dataclass(frozen=True)
class LayerRow:
    """One call of a leaf module during a forward pass; shapes are without the batch dimension."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    weights: int
    biases: int
    params: int
    trainable: int
    receptive_field: tuple[int, int] | None
    jump: tuple[int, int] | None
    whole_input: bool
    macs: int


@dataclass(frozen=True)
class Totals:
    """Parameter counts of the whole model (each parameter once) and the multiply-accumulates of one input."""

    params: int
    trainable: int
    weights: int
    biases: int
    conv_biases: int
    linear_biases: int
    other_biases: int
    macs: int


@dataclass(frozen=True)
class ModelSummary:
    """What `inspect` says about a model for one input shape."""

    model: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: list[LayerRow]
    totals: Totals
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema `cnnlab.inspect/1`): tuples become lists, nothing else changes."""
        data = asdict(self)
        return {"schema": SCHEMA, **_lists(data)}


def summarize(model: nn.Module, input_shape: tuple[int, ...], name: str | None = None) -> ModelSummary:
    """Run one zero input of `input_shape` (C, H, W) through `model` and describe every leaf layer it calls.

    Rows follow the forward pass and are named as in `named_modules` (`features.conv1`). A layer that
    shrinks the input to nothing is a UserError naming it. The model may live on the meta device.
    """
    tracer = _Tracer(model, input_shape)
    output = tracer.run()
    totals = _totals(model, tracer.rows)
    return ModelSummary(
        model=name or type(model).__name__,
        input_shape=tuple(input_shape),
        output_shape=tuple(output.shape[1:]),
        layers=tracer.rows,
        totals=totals,
        notes=tracer.notes + _bias_notes(totals),
    )


class _Tracer:
    """Forward hooks on every leaf module: rows in call order, and each tensor's receptive field."""

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...]) -> None:
        self.model = model
        self.input_shape = tuple(input_shape)
        self.rows: list[LayerRow] = []
        self.notes: list[str] = []
        self.fields: dict[int, tuple[torch.Tensor, Field | None]] = {}  # id -> (tensor kept alive, field)
        self.last: Field | None = PIXEL if len(input_shape) >= 3 else None
        self.seen: set[int] = set()
        self.current: tuple[str, tuple[int, ...]] | None = None

    def run(self) -> torch.Tensor:
        names = {module: name for name, module in self.model.named_modules()}
        containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)  # an empty one (mlp's features) is no layer
        leaves = [m for m in self.model.modules() if not list(m.children()) and not isinstance(m, containers)]
        handles = []
        for module in leaves:
            name = names[module] or type(module).__name__
            handles.append(module.register_forward_pre_hook(self._before(name)))
            handles.append(module.register_forward_hook(self._after(name)))
        device = next((p.device for p in self.model.parameters()), torch.device("cpu"))
        x = torch.zeros(1, *self.input_shape, device=device)
        self.fields[id(x)] = (x, self.last)
        was_training = self.model.training
        self.model.eval()  # batch norm on a batch of one, no dropout
        try:
            with torch.no_grad():
                return self.model(x)
        except RuntimeError as err:
            raise UserError(self._too_small(str(err).splitlines()[0])) from None
        finally:
            self.model.train(was_training)
            for handle in handles:
                handle.remove()

    def _before(self, name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            x = args[0] if args and isinstance(args[0], torch.Tensor) else None
            self.current = (name, tuple(x.shape[1:]) if x is not None else ())

        return hook

    def _after(self, name: str):
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                return
            x = args[0] if args and isinstance(args[0], torch.Tensor) else None
            in_shape = tuple(x.shape[1:]) if x is not None else ()
            out_shape = tuple(output.shape[1:])
            if any(d <= 0 for d in out_shape):
                raise UserError(self._too_small(f"its output would be {out_shape}"))
            # a tensor made outside any module (a residual sum in place, a functional op) keeps the last field
            field_in = self.fields[id(x)][1] if x is not None and id(x) in self.fields else self.last
            field_out = propagate(module, field_in, in_shape, out_shape) if field_in is not None else None
            if field_in is not None and field_in.size is not None and field_out == UNKNOWN:
                self.notes.append(f"receptive fields are not followed through '{name}' ({type(module).__name__})")
            if getattr(module, "restarts_receptive_field", False):
                size = "x".join(map(str, out_shape))
                self.notes.append(f"receptive fields from '{name}' on are in pixels of its {size} output")
            self.fields[id(output)] = (output, field_out)
            self.last = field_out
            self.rows.append(self._row(name, module, output, field_out))

        return hook

    def _row(self, name: str, module: nn.Module, output: torch.Tensor, fld: Field | None) -> LayerRow:
        first_call = id(module) not in self.seen  # a module called twice (ResNet's ReLU) counts its weights once
        self.seen.add(id(module))
        own = list(module.named_parameters(recurse=False)) if first_call else []
        biases = sum(p.numel() for n, p in own if n.endswith("bias"))
        params = sum(p.numel() for _, p in own)
        whole = bool(fld and fld.whole)
        return LayerRow(
            name=name,
            type=type(module).__name__,
            output_shape=tuple(output.shape[1:]),
            weights=params - biases,
            biases=biases,
            params=params,
            trainable=sum(p.numel() for _, p in own if p.requires_grad),
            receptive_field=self.input_shape[-2:] if whole else (fld.size if fld else None),  # type: ignore[arg-type]
            jump=fld.jump if fld else None,
            whole_input=whole,
            macs=_macs(module, output),
        )

    def _too_small(self, reason: str) -> str:
        layer, got = self.current or ("?", ())
        return too_small(f"'{layer}'", got, self.input_shape, reason)


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-accumulates of one call: conv out_elems * in/groups * kh * kw, linear in * out (per position)."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output[0].numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        positions = output[0].numel() // module.out_features
        return positions * module.in_features * module.out_features
    return 0


def _totals(model: nn.Module, rows: list[LayerRow]) -> Totals:
    params = list(model.named_parameters())
    conv_biases = sum(m.bias.numel() for m in model.modules() if isinstance(m, nn.Conv2d) and m.bias is not None)
    linear_biases = sum(m.bias.numel() for m in model.modules() if isinstance(m, nn.Linear) and m.bias is not None)
    biases = sum(p.numel() for n, p in params if n.endswith("bias"))
    total = sum(p.numel() for _, p in params)
    return Totals(
        params=total,
        trainable=sum(p.numel() for _, p in params if p.requires_grad),
        weights=total - biases,
        biases=biases,
        conv_biases=conv_biases,
        linear_biases=linear_biases,
        other_biases=biases - conv_biases - linear_biases,
        macs=sum(row.macs for row in rows),
    )


def _bias_notes(t: Totals) -> list[str]:
    """Where the course reports' smaller counts come from: the biases some of them left out."""
    if not (t.conv_biases or t.linear_biases):
        return []
    parts = [f"{t.weights:,} weights", f"{t.conv_biases:,} conv biases", f"{t.linear_biases:,} fully connected biases"]
    if t.other_biases:
        parts.append(f"{t.other_biases:,} other biases (batch norm shifts)")
    without = [
        f"without the {what} biases: {t.params - count:,}"
        for what, count in (("conv", t.conv_biases), ("fully connected", t.linear_biases))
        if count
    ]
    return [f"{t.params:,} parameters = {' + '.join(parts)}", "; ".join(without)]


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value
