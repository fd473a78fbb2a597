"""Reports: a study's tables, learning curves and Markdown/HTML write-up."""

from .aggregate import Difference, Stat, difference, summarize
from .build import ReportFiles, build
from .figures import learning_curves, overlay

__all__ = ["Difference", "ReportFiles", "Stat", "build", "difference", "learning_curves", "overlay", "summarize"]
