"""Importing this package registers every architecture, in the order `cnnlab models` lists them."""

# isort: off
from . import tme2, rob313, vgg, eq2425, tdt4265, resnet, fastnet, mlp, layers  # noqa: F401
# isort: on
