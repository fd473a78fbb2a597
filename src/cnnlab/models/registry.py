"""The model registry: `@register("name")` on a builder, `build(name, ...)` with checked options.

A builder is a function `(in_channels, num_classes, input_size, *, option=default, ...) -> nn.Module`;
its keyword-only parameters, with their type hints and defaults, are the model's options
(`model.<option>` in a config). `build` refuses unknown options and wrong types with a message
naming the option, the value and the valid ones.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from torch import nn

from cnnlab.errors import UserError, did_you_mean

from .blocks import Init
from .table import Row, build_table

Builder = Callable[..., nn.Module]
SpatialSize = tuple[int, int] | None


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its builder, one-line description and options; a table net also has its rows."""

    name: str
    builder: Builder
    description: str
    options: dict[str, inspect.Parameter]
    hints: dict[str, Any]
    doc: str = ""
    table: Callable[..., list[Row]] | None = None  # options -> the net's layer table (see models/table.py)
    check: Callable[..., None] | None = None  # options -> None, or a UserError: what building needs is there

    def defaults(self) -> dict[str, Any]:
        """Each option's default value."""
        return {name: p.default for name, p in self.options.items()}


_REGISTRY: dict[str, ModelEntry] = {}


def register(
    name: str, description: str | None = None, check: Callable[..., None] | None = None
) -> Callable[[Builder], Builder]:
    """Register `builder` under `name`; its docstring's first line describes it unless `description` does.

    `check(**options)` (optional) says, before any data is loaded or any run of a study trains, whether
    what the builder will need is at hand (e.g. pretrained weights), raising a UserError that says how to
    provide it.
    """

    def decorator(builder: Builder) -> Builder:
        doc = inspect.cleandoc(builder.__doc__ or "")
        _add(name, builder, inspect.signature(builder), doc, description, check=check)
        return builder

    return decorator


def _add(
    name: str,
    builder: Builder,
    signature: inspect.Signature,
    doc: str,
    description: str | None = None,
    extra: inspect.Parameter | None = None,
    table: Callable[..., list[Row]] | None = None,
    check: Callable[..., None] | None = None,
) -> None:
    """Enter a model whose options are `signature`'s keyword-only parameters (and `extra`)."""
    if name in _REGISTRY:
        raise ValueError(f"model '{name}' is registered twice")
    options = {n: p for n, p in signature.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    hints = typing.get_type_hints(table or builder)
    if extra is not None:
        options[extra.name] = extra
        hints[extra.name] = extra.annotation
    _REGISTRY[name] = ModelEntry(
        name=name,
        builder=builder,
        description=description or (doc.splitlines()[0] if doc else name),
        options=options,
        hints=hints,
        doc=doc,
        table=table,
        check=check,
    )


def register_table(
    name: str, where: str | None = None
) -> Callable[[Callable[..., list[Row]]], Callable[..., list[Row]]]:
    """Register the net whose layer table the decorated function writes: `rows(*, option=default, ...)`.

    The function's keyword-only parameters are the net's options, as for `register`; every table net also
    takes `init` (the weight initialisation of its convs and fcs). Shapes are inferred by `build_table`;
    its messages name a row as `where[i]` (default: the net's name).
    """

    def decorator(rows: Callable[..., list[Row]]) -> Callable[..., list[Row]]:
        def builder(in_channels: int, num_classes: int, input_size: SpatialSize, *, init: str = "default", **options):
            table = rows(**options)
            return build_table(table, in_channels, num_classes, input_size, init=init, where=where or f"{name} row")

        init = inspect.Parameter("init", inspect.Parameter.KEYWORD_ONLY, default="default", annotation=Init)
        _add(name, builder, inspect.signature(rows), inspect.cleandoc(rows.__doc__ or ""), extra=init, table=rows)
        return rows

    return decorator


def register_variant(name: str, of: str, doc: str, **defaults: Any) -> None:
    """Register `name` as model `of` with other defaults: the same options, a description of its own.

    For nets that differ from another only in their settings (the report nets of a course, a
    shorter VGG): one builder, many registered defaults, no copied signatures.
    """
    base = _REGISTRY[of]
    unknown = sorted(set(defaults) - set(base.options))
    if unknown:
        raise ValueError(f"variant '{name}' of '{of}' sets unknown options: {', '.join(unknown)}")
    if name in _REGISTRY:
        raise ValueError(f"model '{name}' is registered twice")
    doc = inspect.cleandoc(doc)
    _REGISTRY[name] = ModelEntry(
        name=name,
        builder=functools.partial(base.builder, **defaults),  # options given at build time still win
        description=doc.splitlines()[0],
        options={k: p.replace(default=defaults[k]) if k in defaults else p for k, p in base.options.items()},
        hints=base.hints,
        doc=doc,
        table=functools.partial(base.table, **{k: v for k, v in defaults.items() if k != "init"})
        if base.table
        else None,
    )


def table_of(name: str, options: dict[str, Any] | None = None) -> list[Row] | None:
    """The layer table of table net `name` with `options` (checked), or None for a net built otherwise."""
    entry = get_entry(name)
    if entry.table is None:
        return None
    checked = check_options(name, dict(options or {}))
    checked.pop("init", None)
    return entry.table(**checked)


def check_model(name: str, options: dict[str, Any] | None = None) -> None:
    """Model `name` with `options` can be built: its options are valid and what it needs is at hand.

    For a study, before anything trains: a missing download (pretrained weights offline) stops it at once
    with the fix, not after hours of other runs.
    """
    checked = check_options(name, dict(options or {}))
    entry = get_entry(name)
    if entry.check is not None:
        entry.check(**{**entry.defaults(), **checked})


def available_models() -> list[ModelEntry]:
    """Every registered model, in registration order."""
    _load_architectures()
    return list(_REGISTRY.values())


def get_entry(name: str) -> ModelEntry:
    """The registry entry for `name`; an unknown name is a UserError listing the models."""
    _load_architectures()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown model '{name}'{did_you_mean(name, _REGISTRY)}; models: {', '.join(_REGISTRY)} "
            "(`cnnlab models` describes them)"
        ) from None


def check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` validated against model `name`'s builder: known names, values of the right type."""
    entry = get_entry(name)
    checked = {}
    for key, value in options.items():
        if key not in entry.options:
            valid = ", ".join(entry.options) or "none"
            raise UserError(
                f"model '{name}' has no option '{key}'{did_you_mean(key, entry.options)}; its options: {valid}"
            )
        try:
            checked[key] = TypeAdapter(entry.hints[key]).validate_python(value) if key in entry.hints else value
        except ValidationError as err:
            reason = err.errors()[0]["msg"]
            raise UserError(f"model option 'model.{key}' = {value!r} is invalid for '{name}': {reason}") from None
    return checked


def normalize_size(input_size: int | tuple[int, int] | None) -> SpatialSize:
    """(H, W) from an int or a pair; None stays None (inputs without spatial dimensions)."""
    if input_size is None:
        return None
    if isinstance(input_size, int):
        return (input_size, input_size)
    h, w = input_size
    return (int(h), int(w))


def build(
    name: str,
    in_channels: int = 3,
    num_classes: int = 10,
    input_size: int | tuple[int, int] | None = 32,
    **options: Any,
) -> nn.Module:
    """Model `name` for inputs of `in_channels` x `input_size` and `num_classes` outputs."""
    checked = check_options(name, options)
    entry = get_entry(name)
    return entry.builder(in_channels, num_classes, normalize_size(input_size), **checked)


def _load_architectures() -> None:
    """Import the modules that register architectures (once)."""
    from . import architectures  # noqa: F401
