"""cnnlab: a laboratory for convolutional networks on small images."""

__version__ = "0.1.0"

from cnnlab.errors import UserError

__all__ = ["UserError", "__version__"]
