"""YAML files and dotted `key=value` overrides into validated configs, with errors that name the key."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cnnlab.errors import UserError, closest
from cnnlab.fileio import atomic_write_text

from .schema import RunConfig

M = TypeVar("M", bound=BaseModel)


MAX_YAML_VALUES = 100_000  # far above any real config or spec (the largest built-in study holds under 400)


class YamlRefused(yaml.YAMLError):
    """A YAML document refused before it is built: a duplicated key, or aliases that expand too far."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only, no tags that run code) that also refuses, while composing:

    - a document whose aliases expand to more than MAX_YAML_VALUES values (a few lines of nested aliases,
      the "billion laughs", would otherwise take minutes and gigabytes to validate), or refer to themselves;
    - a mapping that gives the same key twice (PyYAML keeps the last one without a word).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}  # id(node) -> values it expands to, aliases counted in full

    def compose_node(self, parent: Any, index: Any) -> Any:
        alias = self.check_event(yaml.AliasEvent)
        node = super().compose_node(parent, index)
        if id(node) in self._sizes:  # an alias of a finished node: the parent counts it again
            return node
        if alias:
            line = node.start_mark.line + 1
            raise YamlRefused(f"an alias inside the value anchored on line {line} refers back to that value")
        if isinstance(node, yaml.MappingNode):
            _refuse_duplicate_keys(node)
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        size = 1 + sum(self._sizes[id(child)] for child in children)
        if size > MAX_YAML_VALUES:
            raise YamlRefused(
                f"it expands to more than {MAX_YAML_VALUES:,} values (aliases repeated inside one another?); "
                "write the values out, or split the file"
            )
        self._sizes[id(node)] = size
        return node


def _refuse_duplicate_keys(node: yaml.MappingNode) -> None:
    seen: set[tuple[str, str]] = set()
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        if (key.tag, key.value) in seen:
            line = key.start_mark.line + 1
            raise YamlRefused(f"key '{key.value}' is given twice in one mapping (again on line {line}): keep one")
        seen.add((key.tag, key.value))


def safe_yaml(text: str) -> Any:
    """`text` as plain data, like yaml.safe_load, within bounds: a document _BoundedLoader refuses, or one
    nested too deeply to read, raises YamlRefused (a yaml.YAMLError, as text that is not YAML raises)."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader: plain data only
    except RecursionError:
        raise YamlRefused("it is nested too deeply") from None


class BadYaml(UserError):
    """A YAML file that cannot be used; `reason` says why without naming the file, for callers that word it."""

    def __init__(self, path: Path, reason: str, fix: str = "") -> None:
        self.path, self.reason = path, reason
        super().__init__(f"config file '{path}' {reason}" + (f": {fix}" if fix else ""))


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML file's top-level mapping; a missing, binary, refused (see safe_yaml) or bad file is a BadYaml."""
    path = Path(path)
    if not path.is_file():
        raise BadYaml(path, "does not exist", "give the path of a YAML file")
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BadYaml(path, "is not text (not UTF-8)", "give the path of a YAML file") from None
    except YamlRefused as err:
        raise BadYaml(path, f"is refused: {err}") from None
    except yaml.YAMLError as err:
        raise BadYaml(path, f"is not valid YAML ({_yaml_problem(err)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadYaml(path, "must hold a mapping of keys (like 'train: {epochs: 5}')")
    return data


def _yaml_problem(err: yaml.YAMLError) -> str:
    """What PyYAML found wrong and where, on one line: "expected <block end>, but found ... at line 3, column 1"."""
    problem, mark = getattr(err, "problem", None), getattr(err, "problem_mark", None)
    if problem is None:
        return " ".join(str(err).split())[:200]
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Turn ['optim.lr=0.1', 'data.augment.flip=true'] into a nested dict; values are read as YAML."""
    nested: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise UserError(f"override '{item}' is not of the form key=value (e.g. optim.lr=0.1)")
        try:
            value = safe_yaml(text) if text.strip() else None
        except YamlRefused as err:
            raise UserError(f"override '{item}' is refused: {err}") from None
        except yaml.YAMLError:
            value = text
        set_dotted(nested, key, value)
    return nested


def set_dotted(target: dict[str, Any], key: str, value: Any) -> None:
    """target['a']['b'] = value for key 'a.b', creating the mappings on the way."""
    *parents, leaf = key.split(".")
    node = target
    for i, part in enumerate(parents):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            section, inside = ".".join(parents[: i + 1]), value
            for name in reversed([*parents[i + 1 :], leaf]):
                inside = {name: inside}
            example = yaml.safe_dump(inside, default_flow_style=True).strip()
            raise UserError(
                f"override '{key}' goes inside '{section}', which an earlier override set to {child!r}: give the "
                f"section once, as a mapping (e.g. '{section}={example}'), or drop the earlier override"
            )
        node = child
    node[leaf] = value


def merge(base: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` with `updates` laid over it (mappings merge, other values replace)."""
    out = {k: (merge(v, {}) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in updates.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = merge(value, {}) if isinstance(value, Mapping) else value
    return out


def validate(data: Mapping[str, Any], schema: type[M] = RunConfig) -> M:  # type: ignore[assignment]
    """`schema` built from `data`; any problem becomes one UserError listing each bad key."""
    try:
        return schema.model_validate(dict(data))
    except ValidationError as err:
        raise UserError(describe_validation_error(err, schema)) from None


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    schema: type[M] = RunConfig,  # type: ignore[assignment]
) -> M:
    """The config from an optional YAML file with `key=value` overrides applied, validated."""
    data = read_yaml(path) if path is not None else {}
    return validate(merge(data, parse_overrides(overrides)), schema)


def with_overrides(config: M, overrides: Sequence[str] | Mapping[str, Any]) -> M:
    """A copy of `config` with dotted overrides (strings 'k=v' or a nested mapping) applied, validated."""
    updates = parse_overrides(overrides) if not isinstance(overrides, Mapping) else overrides
    return validate(merge(config.model_dump(mode="json"), updates), type(config))


def dump_config(config: BaseModel) -> str:
    """The config as YAML, every key written out."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def save_config(config: BaseModel, path: str | Path) -> Path:
    """Write the fully resolved config to `path` atomically."""
    return atomic_write_text(path, dump_config(config))


def config_keys(schema: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every dotted key of `schema`, depth first."""
    for name, field in schema.model_fields.items():
        key = f"{prefix}{name}"
        sub = _model_in(field.annotation)
        if sub is not None:
            yield from config_keys(sub, key + ".")
        else:
            yield key


# -- error messages -------------------------------------------------------------------------------


def describe_validation_error(err: ValidationError, schema: type[BaseModel]) -> str:
    """One line per bad key: what is wrong, what was given, and what is valid."""
    lines: list[str] = []
    seen: set[str] = set()
    for e in err.errors():
        path, model, annotation = _resolve(schema, e["loc"])
        key = ".".join(path)
        if key in seen:  # a union reports once per member; one line a key is enough
            continue
        seen.add(key)
        if e["type"] == "extra_forbidden":
            lines.append(_unknown_key_message(schema, path, model))
        else:
            lines.append(_bad_value_message(key, e, annotation))
    return lines[0] if len(lines) == 1 else "invalid config:\n  " + "\n  ".join(lines)


def _unknown_key_message(schema: type[BaseModel], path: list[str], owner: type[BaseModel] | None) -> str:
    key = ".".join(path)
    owner = owner or schema
    prefix = ".".join(path[:-1])
    valid = list(owner.model_fields)
    match = closest(path[-1], valid)
    suggestion = f"{prefix}.{match}" if prefix and match else match
    if suggestion is None:  # a key in the wrong section: 'lr' for 'optim.lr'
        everywhere = list(config_keys(schema))
        leaf = [k for k in everywhere if k.rsplit(".", 1)[-1] == path[-1]]
        suggestion = leaf[0] if leaf else closest(key, everywhere)
    where = f"under '{prefix}'" if prefix else "at the top level"
    hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
    return f"unknown config key '{key}'{hint}; valid keys {where}: {', '.join(valid)}"


def _bad_value_message(key: str, e: Any, annotation: Any) -> str:
    if e["type"] == "missing":
        return f"config key '{key}' is required"
    given = e.get("input")
    choices = _literal_choices(annotation)
    if choices:
        shown = ", ".join(str(c).lower() if isinstance(c, bool) else str(c) for c in choices)
        hint = closest(str(given), [str(c) for c in choices]) if isinstance(given, str) else None
        extra = f" (did you mean '{hint}'?)" if hint else ""
        return f"config key '{key}' = {_shown(given)} is not one of: {shown}{extra}"
    if e["type"] == "model_type" or (e["type"] == "model_attributes_type"):
        sub = _model_in(annotation)
        fields = ", ".join(sub.model_fields) if sub else ""
        return f"config key '{key}' must be a mapping of its own keys ({fields}), got {_shown(given)}"
    message = e["msg"].removeprefix("Value error, ")
    return f"config key '{key}' = {_shown(given)} is invalid: {message[0].lower() + message[1:]}"


def _shown(value: Any, limit: int = 80) -> str:
    """repr(value), cut to `limit` characters: a message never carries a whole huge value."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _resolve(schema: type[BaseModel], loc: Sequence[Any]) -> tuple[list[str], type[BaseModel] | None, Any]:
    """The config path within `loc`, the model that owns its last key, and that key's annotation.

    The path steps into list items (`conclusions[1]`) and mapping keys (`reference.figures.zca`), so an
    error inside a list of sections or a mapping names the very key.
    """
    path: list[str] = []
    owner: type[BaseModel] | None = schema
    annotation: Any = schema
    for part in loc:
        container = typing.get_origin(_required(annotation))
        if isinstance(part, int) and container is list and path:
            path[-1] += f"[{part}]"
            annotation = typing.get_args(_required(annotation))[0]
        elif isinstance(part, str) and container is dict:
            path.append(part)
            annotation = typing.get_args(_required(annotation))[1]
        elif isinstance(part, str) and (model := _model_in(annotation)) is not None:
            path.append(part)
            owner = model
            field = model.model_fields.get(part)
            if field is None:
                return path, owner, None
            annotation = field.annotation
        else:
            break
    return path, owner, annotation


def _required(annotation: Any) -> Any:
    """`X` for `X | None`, else the annotation itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _literal_choices(annotation: Any) -> list[Any]:
    """The allowed values of a Literal (or a union holding one, with bool's true/false)."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return _literal_choices(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [_bare(a) for a in typing.get_args(annotation)]
        literal = [c for a in args for c in _literal_choices(a)]
        if not literal:
            return []
        return ([True, False] if bool in args else []) + literal
    return []


def _bare(annotation: Any) -> Any:
    """`X` for `Annotated[X, ...]` (a type with its constraints), else the annotation itself."""
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation
