"""inspect: what a model does to an input, layer by layer (shapes, parameters, receptive fields, MACs).

summary = summarize(build("tme2"), (3, 32, 32)); print(format_summary(summary))
"""

from .conv_manual import conv2d_manual
from .layer_size import explain_layer_size, kernel_for_output, layer_output_size, layer_size_formula
from .receptive import Field, propagate
from .registered import summarize_registered
from .summary import SCHEMA, LayerRow, ModelSummary, Totals, summarize
from .table import format_summary

__all__ = [
    "SCHEMA",
    "Field",
    "LayerRow",
    "ModelSummary",
    "Totals",
    "conv2d_manual",
    "explain_layer_size",
    "format_summary",
    "kernel_for_output",
    "layer_output_size",
    "layer_size_formula",
    "propagate",
    "summarize",
    "summarize_registered",
]
