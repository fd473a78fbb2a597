"""`cnnlab models [NAME] [--options] [--json]`: the registry, one line a model, or one model's options."""

from __future__ import annotations

import argparse
import json
import typing
from typing import Any

from cnnlab.models import ModelEntry, available_models, format_table, get_entry, table_of


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("models", help="the registered models, one line a model")
    p.add_argument("name", nargs="?", help="show this model's description and options")
    p.add_argument("--options", action="store_true", help="list every model's options and defaults")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    entries = [get_entry(args.name)] if args.name else available_models()
    if args.json:
        print(json.dumps([describe(e) for e in entries], indent=2))
        return 0
    if not args.name and not args.options:
        width = max(len(e.name) for e in entries)
        print("\n".join(f"{e.name.ljust(width)}  {e.description}" for e in entries))
        return 0
    print("\n\n".join(format_entry(e, full_doc=bool(args.name)) for e in entries))
    return 0


def describe(entry: ModelEntry) -> dict[str, Any]:
    """A model's name, description and options (type and default) as plain data."""
    return {
        "name": entry.name,
        "description": entry.description,
        "options": {
            name: {"type": type_name(entry.hints.get(name)), "default": jsonable(param.default)}
            for name, param in entry.options.items()
        },
    }


def format_entry(entry: ModelEntry, full_doc: bool) -> str:
    """The model's description (its whole docstring when `full_doc`), an option a line, and for a net written
    as a layer table (when `full_doc`), that table at its defaults: what `model.name=layers` takes to start from."""
    doc = (entry.doc or entry.description) if full_doc else entry.description
    lines = [f"{entry.name}: {_dedent(doc)}", "options (model.<option>=value):"]
    rows = [(name, type_name(entry.hints.get(name)), repr(jsonable(p.default))) for name, p in entry.options.items()]
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(2)]
    lines += [f"  {n.ljust(widths[0])}  {t.ljust(widths[1])}  default {d}" for n, t, d in rows]
    if full_doc and entry.table is not None and entry.name != "layers":
        lines += ["layer table at the defaults (model.name=layers with model.layers=<this list> builds the same net):"]
        table = table_of(entry.name)
        assert table is not None  # the entry has a table
        lines += [f"  {line}" for line in format_table(table).splitlines()]
    return "\n".join(lines)


def type_name(hint: Any) -> str:
    """'relu|leaky_relu|...' for a Literal, 'tuple[int, int]' for a tuple, the plain name otherwise."""
    if hint is None:
        return "any"
    if typing.get_origin(hint) is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(hint))
    if typing.get_args(hint):  # tuple[int, int], str | None
        return str(hint).replace("NoneType", "None")
    return getattr(hint, "__name__", None) or str(hint)


def jsonable(value: Any) -> Any:
    """Tuples as lists, so defaults print as they are written in YAML."""
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    return value


def _dedent(doc: str) -> str:
    return "\n".join(line.strip() for line in doc.splitlines())
