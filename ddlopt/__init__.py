"""ddlopt: the library behind the book *How Neural Networks Learn*.

`import ddlopt` needs NumPy alone. PyTorch twins live in `ddlopt.torch`, the book's
figures in `ddlopt.plot` (matplotlib); neither is imported here.
"""

import random
import sys

import numpy as np

from . import (_random, callbacks, check, data, init, losses, nn, optim, regularization,
               schedules, study, surfaces)
from .finder import lr_finder
from .params import Parameter
from .study import compare
from .utils import clip_grad_norm

__version__ = "0.1.0"

__all__ = ["Parameter", "callbacks", "check", "clip_grad_norm", "compare", "data", "init",
           "losses", "lr_finder", "nn", "optim", "regularization", "schedules", "set_seed",
           "study", "surfaces", "__version__"]

def set_seed(seed):
    """Seed Python's, NumPy's, ddlopt's and (if it is already imported) PyTorch's generators.

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``, for the book's code to
    pass around explicitly where randomness matters.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative integer, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _random.reseed(seed)  # what layers and fit() draw from when given no rng
    torch = sys.modules.get("torch")  # never import torch here: `import ddlopt` stays light
    if torch is not None:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
