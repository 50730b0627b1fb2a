"""Parameter: what an optimizer updates."""

import numpy as np

__all__ = ["Parameter"]


class Parameter:
    """A float array an optimizer updates in place, and the gradient that tells it how.

    ``data`` is a float ndarray; optimizers write into it (``p.data -= ...``), so any
    layer holding ``p`` sees the new values. ``grad`` is None until a backward pass fills
    it, then an array of ``data``'s shape; gradients accumulate (``+=``) as in PyTorch,
    and ``optimizer.zero_grad()`` resets them to None.
    """

    __slots__ = ("data", "grad")

    def __init__(self, data):
        array = np.asarray(data)
        if array.dtype.kind not in "iuf":
            raise TypeError(f"data must hold real numbers, got dtype {array.dtype}")
        # integers become float64; a float array keeps its precision; always a copy
        self.data = np.array(array, dtype=array.dtype if array.dtype.kind == "f" else np.float64)
        self.grad = None

    @property
    def shape(self):
        return self.data.shape

    def accumulate(self, grad):
        """Add ``grad`` to ``self.grad`` (or set it, if None), as autograd does."""
        grad = np.asarray(grad, dtype=self.data.dtype)
        if grad.shape != self.data.shape:
            raise ValueError(f"grad has shape {grad.shape} but the parameter has shape {self.data.shape}")
        if self.grad is None:
            self.grad = grad.copy()
        else:
            self.grad += grad

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
