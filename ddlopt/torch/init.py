r"""The PyTorch twins of ``ddlopt.init``: same names, same arguments, acting in place.

Each function fills a tensor (its shape in PyTorch's own layout, ``(out, in, *kernel)``) in
place, under ``torch.no_grad()``, and returns it, exactly like its ``torch.nn.init``
counterpart with the trailing underscore (``xavier_uniform`` here is ``xavier_uniform_``
there). The scales come from the same formulas as the NumPy versions (one function each in
``ddlopt.init``); the tests check that the draws agree with torch.nn.init's, given the same
generator, and in distribution (bounds and variance). ``generator`` is a ``torch.Generator``
(default: torch's global one, which ``ddlopt.set_seed`` seeds).

``zeros`` and ``constant`` are ``Tensor.zero_`` and ``Tensor.fill_``; ``lecun_normal`` has
no torch.nn.init counterpart (it is ``kaiming_normal_(t, nonlinearity="linear")``).
"""

import torch

from .. import init as _np_init
from ..init import calculate_gain  # the same table for both

__all__ = ["calculate_gain", "calculate_fan_in_and_fan_out", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "lecun_normal", "orthogonal", "zeros", "constant"]


def calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight tensor, from its shape (``ddlopt.init``'s rule)."""
    return _np_init.calculate_fan_in_and_fan_out(tuple(tensor.shape))


@torch.no_grad()
def xavier_uniform(tensor, gain=1.0, generator=None):
    r"""Glorot uniform in place: :math:`U(-b, b)`, :math:`b = g\sqrt{6/(n_\text{in} + n_\text{out})}`."""
    bound = _np_init.xavier_uniform_bound(*calculate_fan_in_and_fan_out(tensor), gain)
    return tensor.uniform_(-bound, bound, generator=generator)


@torch.no_grad()
def xavier_normal(tensor, gain=1.0, generator=None):
    r"""Glorot normal in place: :math:`N(0, \sigma^2)`, :math:`\sigma = g\sqrt{2/(n_\text{in} + n_\text{out})}`."""
    std = _np_init.xavier_normal_std(*calculate_fan_in_and_fan_out(tensor), gain)
    return tensor.normal_(0.0, std, generator=generator)


@torch.no_grad()
def kaiming_uniform(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He uniform in place: :math:`U(-b, b)`, :math:`b = g\sqrt{3/n_\text{mode}}`."""
    std = _np_init.kaiming_std(*calculate_fan_in_and_fan_out(tensor), a, mode, nonlinearity)
    bound = 3.0**0.5 * std
    return tensor.uniform_(-bound, bound, generator=generator)


@torch.no_grad()
def kaiming_normal(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He normal in place: :math:`N(0, \sigma^2)`, :math:`\sigma = g/\sqrt{n_\text{mode}}`."""
    std = _np_init.kaiming_std(*calculate_fan_in_and_fan_out(tensor), a, mode, nonlinearity)
    return tensor.normal_(0.0, std, generator=generator)


def lecun_normal(tensor, generator=None):
    r"""LeCun normal in place: :math:`N(0, 1/n_\text{in})`."""
    return kaiming_normal(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


@torch.no_grad()
def orthogonal(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix times ``gain``, in place: QR of a Gaussian matrix with the
    signs of diag(R) moved into Q (Saxe et al. 2014), the algorithm of ``ddlopt.init.orthogonal``."""
    _np_init._check_gain(gain)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal needs a tensor with at least 2 dimensions, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = tensor.new_empty((rows, cols)).normal_(0.0, 1.0, generator=generator)
    if rows < cols:
        flat = flat.T
    q, r = torch.linalg.qr(flat)
    q = q * torch.sign(torch.diagonal(r))
    if rows < cols:
        q = q.T
    return tensor.copy_(q.reshape(tensor.shape)).mul_(gain)


@torch.no_grad()
def zeros(tensor):
    """All zeros, in place."""
    return tensor.zero_()


@torch.no_grad()
def constant(tensor, value):
    """Every entry ``value``, in place."""
    _np_init.constant((), value)  # the same check of value
    return tensor.fill_(value)
