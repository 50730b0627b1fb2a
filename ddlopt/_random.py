"""The library's random generators: ``set_seed`` seeds them all, and the default generator
is what layers and shuffling use when no ``rng`` is passed, so a seeded notebook is
deterministic."""

import random
import sys

import numpy as np

_default = np.random.default_rng()


def reseed(seed):
    global _default
    _default = np.random.default_rng([seed, 0x5EED])  # a stream apart from default_rng(seed)


def generator(rng=None):
    """``rng`` as a Generator: a Generator as it is, a seed made into one, None -> the default."""
    return _default if rng is None else np.random.default_rng(rng)


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
    reseed(seed)  # what layers and fit() draw from when given no rng
    torch = sys.modules.get("torch")  # never import torch here: `import ddlopt` stays light
    if torch is not None:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
