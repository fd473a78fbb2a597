"""The text form of a ModelSummary: a table a layer, the totals and the notes."""

from __future__ import annotations

from .summary import LayerRow, ModelSummary

HEADER = ("layer", "type", "output", "weights", "biases", "params", "RF", "jump", "MACs")
RIGHT = {"weights", "biases", "params", "RF", "jump", "MACs"}


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def _pair(pair: tuple[int, int] | None) -> str:
    if pair is None:
        return "-"
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _cells(row: LayerRow) -> tuple[str, ...]:
    rf = "all" if row.whole_input else _pair(row.receptive_field)
    return (
        row.name,
        row.type,
        _shape(row.output_shape),
        f"{row.weights:,}",
        f"{row.biases:,}",
        f"{row.params:,}",
        rf,
        _pair(row.jump),
        f"{row.macs:,}",
    )


def format_model_summary(summary: ModelSummary) -> str:
    """A fixed-width table: one line a layer, then the totals and the notes that explain them."""
    t = summary.totals
    lines = [f"{summary.model}: input {_shape(summary.input_shape)} -> output {_shape(summary.output_shape)}", ""]
    total = ("total", "", "", f"{t.weights:,}", f"{t.biases:,}", f"{t.params:,}", "", "", f"{t.macs:,}")
    rows = [HEADER, *(_cells(r) for r in summary.layers), total]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]

    def line(cells: tuple[str, ...]) -> str:
        out = [c.rjust(w) if h in RIGHT else c.ljust(w) for c, w, h in zip(cells, widths, HEADER, strict=True)]
        return "  ".join(out).rstrip()

    lines.append(line(HEADER))
    lines.append("-" * len(line(HEADER)))
    lines += [line(r) for r in rows[1:-1]]
    lines.append("-" * len(line(HEADER)))
    lines.append(line(total))
    lines.append("")
    frozen = f" ({t.params - t.trainable:,} frozen)" if t.trainable != t.params else ""
    lines.append(f"parameters: {t.params:,}, trainable {t.trainable:,}{frozen}; multiply-accumulates: {t.macs:,}")
    lines += summary.notes
    if len(summary.input_shape) == 3:
        lines.append("RF: receptive field in input pixels (all: the whole input); jump: input pixels between outputs")
    return "\n".join(lines)
