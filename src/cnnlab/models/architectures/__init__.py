"""Importing this package registers every architecture."""

from . import mlp, tme2  # noqa: F401
