"""A small document model rendered two ways: Markdown, and a self-contained HTML page."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Code:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    align: str = ""  # a letter a column, l or r; missing letters: l for the first column, r after

    def right(self, column: int) -> bool:
        return (self.align[column] if column < len(self.align) else ("l" if column == 0 else "r")) == "r"


@dataclass
class Figure:
    path: Path  # the PNG file
    caption: str
    relative_to: Path  # the report's folder, for Markdown links


Block = Heading | Paragraph | Bullets | Code | Table | Figure


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Code):
            out.append(f"```\n{block.text.rstrip()}\n```")
        elif isinstance(block, Table):
            align = ["---:" if block.right(i) else "---" for i in range(len(block.header))]
            lines = [_md_row(block.header), _md_row(align)] + [_md_row(r) for r in block.rows]
            out.append("\n".join(lines))
        elif isinstance(block, Figure):
            out.append(
                f"![{block.caption}]({block.path.relative_to(block.relative_to).as_posix()})\n\n*{block.caption}*"
            )
    return "\n\n".join(out) + "\n"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
th { background: #f3f3f3; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
"""


def to_html(blocks: list[Block], title: str) -> str:
    """A single HTML file: figures are embedded as base64 PNG, so it can be mailed or archived alone."""
    out = [
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Code):
            out.append(f"<pre>{html.escape(block.text)}</pre>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>"
                + "".join(f"<td{' class=n' if block.right(i) else ''}>{html.escape(c)}</td>" for i, c in enumerate(r))
                + "</tr>"
                for r in block.rows
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.path.read_bytes()).decode()
            out.append(
                f"<figure><img alt='{html.escape(block.caption)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(block.caption)}</figcaption></figure>"
            )
    out.append("</body></html>\n")
    return "\n".join(out)
