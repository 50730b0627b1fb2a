r"""Utilities: gradient clipping for a training loop, as ``torch.nn.utils`` has it, and
``show_source``, which prints a function's code the way the book shows it.

Clipping by the global norm rescales all gradients together so that their joint norm is at
most ``max_norm``, keeping the direction of the step and bounding its length:

.. math::

    \|g\|_p = \Big(\sum_i \|g_i\|_p^p\Big)^{1/p}, \qquad
    g_i \leftarrow g_i \cdot \min\!\Big(1, \frac{c}{\|g\|_p + 10^{-6}}\Big),

with :math:`c` the ``max_norm`` and :math:`g_i` each parameter's gradient (Pascanu, Mikolov
and Bengio, 2013). The :math:`10^{-6}` is torch's: it keeps the division finite
when every gradient is zero, and makes a gradient exactly at the limit shrink very slightly.
"""

import ast
import inspect
import math
import numbers
import re

import numpy as np

from .params import Parameter

__all__ = ["clip_grad_norm", "show_source"]


def _parameter_list(parameters):
    params = [parameters] if isinstance(parameters, Parameter) else parameters
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"parameters must be a Parameter or an iterable of Parameters, "
                        f"got {type(parameters).__name__}") from None
    for p in params:
        if not isinstance(p, Parameter):
            raise TypeError(f"parameters must hold ddlopt.Parameter objects, got "
                            f"{type(p).__name__}; for torch tensors use torch.nn.utils.clip_grad_norm_")
    return params


def _real_number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescale the gradients of ``parameters`` in place so that their total norm is at most
    ``max_norm``; returns the total norm *before* clipping (a float), as
    ``torch.nn.utils.clip_grad_norm_`` does.

    The total norm is the ``norm_type``-norm of all gradients viewed as one vector (computed,
    as torch does, as the norm of the per-parameter norms); ``norm_type`` may be ``inf``
    (the largest absolute entry). Parameters whose ``grad`` is None are skipped. The
    scale factor is ``min(1, max_norm / (total_norm + 1e-6))``, torch's arithmetic exactly.
    With ``error_if_nonfinite=True`` a NaN or infinite total norm raises RuntimeError (as in
    torch) instead of turning the gradients into NaN.

    Stricter than torch: ``max_norm`` must be a non-negative number and ``norm_type`` a
    positive one or ``inf`` (torch silently flips the gradients for a negative ``max_norm``
    and accepts "norms" of order 0 or below).
    """
    params = _parameter_list(parameters)
    max_norm = _real_number("max_norm", max_norm)
    if not max_norm >= 0:  # also catches NaN
        raise ValueError(f"max_norm must be a non-negative number, got {max_norm}")
    norm_type = _real_number("norm_type", norm_type)
    if not norm_type > 0:
        raise ValueError(f"norm_type must be positive or inf, got {norm_type}")
    params = [p for p in params if p.grad is not None]
    grads = [p.grad for p in params]
    if not grads:
        return 0.0
    # the norm of the per-parameter norms is the norm of everything, for any p
    per_parameter = np.array([np.linalg.norm(g.ravel(), ord=norm_type) for g in grads])
    total_norm = float(np.linalg.norm(per_parameter, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    # multiply even when the factor is 1 (as torch does): NaN and inf propagate the same way
    clip_coef = min(max_norm / (total_norm + 1e-6), 1.0) if not math.isnan(total_norm) else math.nan
    for p in params:
        p.grad *= clip_coef  # in place for an array; a 0-d NumPy scalar is replaced
    return total_norm


def show_source(obj):
    """Print the source code of a function, method or class, dedented and without its
    docstring, and nothing else: how the book shows the library's code beside its equations.

    The docstrings of the functions and classes defined inside it go too (a class prints
    without its methods' docstrings); comments, decorators and every other line stay as they
    are written. A docstring that is a body's only statement stays, as the code would not
    parse without it.
    """
    lines = inspect.getsource(obj).splitlines()
    indent = re.match(r"[ \t]*", lines[0]).group()
    # a method is indented: parse it under an `if`, one line down
    offset = 2 if indent else 1
    tree = ast.parse(("if True:\n" if indent else "") + "\n".join(lines))
    drop = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        first = node.body[0]
        if len(node.body) < 2 or not (isinstance(first, ast.Expr) and isinstance(
                first.value, ast.Constant) and isinstance(first.value.value, str)):
            continue
        start, end = first.lineno - offset, first.end_lineno - offset
        alone = re.match(r"\s*[rRuU]?['\"]", lines[start]) and node.body[1].lineno - offset > end
        if alone:  # the docstring has its lines to itself: drop them, and the blank ones after
            end += 1
            while end < len(lines) and not lines[end].strip():
                end += 1
            drop.update(range(start, end))
    kept = [line[len(indent):] if line.startswith(indent) else line
            for i, line in enumerate(lines) if i not in drop]
    print("\n".join(kept))
