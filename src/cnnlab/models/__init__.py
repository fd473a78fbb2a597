"""Models: a registry of architectures built for any input size and class count.

model = build("tme2", in_channels=3, num_classes=10, input_size=32, dropout=0.5)
"""

from .blocks import ConvClassifier
from .fully_conv import to_fully_convolutional
from .registry import (
    ModelEntry,
    available_models,
    build,
    check_model,
    check_options,
    get_entry,
    register,
    register_table,
    register_variant,
    table_of,
)
from .table import build_table, format_table

__all__ = [
    "ConvClassifier",
    "ModelEntry",
    "available_models",
    "build",
    "build_table",
    "check_model",
    "check_options",
    "format_table",
    "get_entry",
    "register",
    "register_table",
    "register_variant",
    "table_of",
    "to_fully_convolutional",
]
