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
    EraseConfig,
    LookaheadConfig,
    MixConfig,
    ModelConfig,
    OptimConfig,
    RandAugmentConfig,
    RunConfig,
    ScheduleConfig,
    TrainConfig,
)
from .study import Conclusion, Reference, Sample, StudySpec

__all__ = [
    "AugmentConfig",
    "Conclusion",
    "DataConfig",
    "EraseConfig",
    "LookaheadConfig",
    "MixConfig",
    "ModelConfig",
    "OptimConfig",
    "RandAugmentConfig",
    "Reference",
    "RunConfig",
    "Sample",
    "ScheduleConfig",
    "StudySpec",
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
