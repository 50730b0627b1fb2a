"""The library's default random generator: what layers and shuffling use when no ``rng`` is
passed. ``ddlopt.set_seed`` reseeds it, so a seeded notebook is deterministic."""

import numpy as np

_default = np.random.default_rng()


def reseed(seed):
    global _default
    _default = np.random.default_rng([seed, 0x5EED])  # a stream apart from default_rng(seed)


def generator(rng=None):
    """``rng`` as a Generator: a Generator as it is, a seed made into one, None -> the default."""
    return _default if rng is None else np.random.default_rng(rng)
