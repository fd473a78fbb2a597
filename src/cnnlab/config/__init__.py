"""Run configuration: the typed schema, YAML loading, dotted overrides and their error messages."""

from .loading import (
    config_keys,
    dump_config,
    load_config,
    merge,
    parse_overrides,
    read_yaml,
    save_config,
    validate,
    with_overrides,
)
from .schema import (
    AugmentConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    RunConfig,
    ScheduleConfig,
    TrainConfig,
)

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "ModelConfig",
    "OptimConfig",
    "RunConfig",
    "ScheduleConfig",
    "TrainConfig",
    "config_keys",
    "dump_config",
    "load_config",
    "merge",
    "parse_overrides",
    "read_yaml",
    "save_config",
    "validate",
    "with_overrides",
]
