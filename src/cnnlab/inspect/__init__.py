"""inspect: what a model does to an input, layer by layer (shapes, parameters, receptive fields, MACs).

summary = summarize(build("tme2"), (3, 32, 32)); print(format_model_summary(summary))
print(format_explained_convolution(explain_convolution(parse_matrix("1,0,2;3,2,0"), parse_matrix("1,0;0,-1"))))
"""

from .conv_explained import ExplainedConvolution, explain_convolution, first_element_sum, format_explained_convolution
from .conv_manual import conv2d_manual, rotate_180
from .layer_size import explain_layer_size, kernel_for_output, layer_output_size, layer_size_formula
from .matrix_text import format_matrix, parse_matrix
from .receptive import Field, propagate
from .registered import summarize_registered
from .summary import SCHEMA, LayerRow, ModelSummary, Totals, summarize
from .table import format_model_summary

__all__ = [
    "SCHEMA",
    "ExplainedConvolution",
    "Field",
    "LayerRow",
    "ModelSummary",
    "Totals",
    "conv2d_manual",
    "explain_convolution",
    "explain_layer_size",
    "first_element_sum",
    "format_explained_convolution",
    "format_matrix",
    "format_model_summary",
    "kernel_for_output",
    "layer_output_size",
    "layer_size_formula",
    "parse_matrix",
    "propagate",
    "rotate_180",
    "summarize",
    "summarize_registered",
]
