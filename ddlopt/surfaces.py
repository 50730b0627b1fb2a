r"""Two-dimensional test functions for watching optimizers move.

Each surface ``f`` gives ``f(x)`` (the value; ``x`` has shape ``(2,)`` or ``(..., 2)``, so a
whole grid evaluates at once for contour plots), ``f.gradient(x)``, its known minimizers
``f.minima`` (an array of points; empty for the saddle), ``f.min_value``, a good plotting
window ``f.bounds = ((x_lo, x_hi), (y_lo, y_hi))`` and a usual starting point ``f.start``.

=====================  ====================================================  =============
surface                f(x, y)                                                minimum
=====================  ====================================================  =============
Quadratic(kappa)       (x^2 + kappa y^2) / 2 (``angle=``: rotated)            (0, 0)
Rosenbrock()           (1 - x)^2 + 100 (y - x^2)^2                            (1, 1)
Beale()                (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2                 (3, 0.5)
                       + (2.625 - x + xy^3)^2
Himmelblau()           (x^2 + y - 11)^2 + (x + y^2 - 7)^2                     four points
Saddle()               (x^2 - y^2) / 2                                        none
NoisyQuadratic(...)    Quadratic, with Gaussian noise added to each gradient  (0, 0)
=====================  ====================================================  =============
"""

import numpy as np

__all__ = ["Surface", "Quadratic", "Rosenbrock", "Beale", "Himmelblau", "Saddle",
           "NoisyQuadratic"]


def _point(x):
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1:] != (2,):
        raise ValueError(f"x must have shape (2,) or (..., 2), got {x.shape}")
    return x[..., 0], x[..., 1]


class Surface:
    """Base class: subclasses write ``_value(x, y)`` and ``_gradient(x, y)``."""

    minima = np.empty((0, 2))
    min_value = None
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = np.array([-1.5, 1.5])

    def __call__(self, x):
        return self._value(*_point(x))

    def gradient(self, x):
        gx, gy = self._gradient(*_point(x))
        return np.stack(np.broadcast_arrays(gx, gy), axis=-1)

    def grid(self, n=200):
        """(X, Y, Z) on an n-by-n grid over ``bounds``, ready for ``plt.contour``."""
        (x0, x1), (y0, y1) = self.bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return X, Y, self(np.stack([X, Y], axis=-1))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Quadratic(Surface):
    r"""An ill-conditioned bowl, :math:`f = \tfrac12(x^2 + \kappa y^2)`, optionally rotated.

    Its Hessian is diag(1, kappa): the largest curvature :math:`L = \kappa` (when
    :math:`\kappa \ge 1`) sets the largest stable learning rate :math:`2/L`, and the ratio of
    the largest to the smallest curvature is the condition number :math:`\kappa`.

    ``angle`` (radians, default 0) turns the bowl about the origin: the Hessian becomes
    :math:`H = R\,\mathrm{diag}(1, \kappa)\,R^\top`, with :math:`R` the rotation by ``angle``,
    and :math:`f = \tfrac12 \theta^\top H \theta`. The curvatures are the same; only the axes
    they lie along are no longer the coordinate axes (what per-coordinate methods cannot
    undo, chapter 4).
    """

    min_value = 0.0

    def __init__(self, condition_number=10.0, angle=0.0):
        if isinstance(condition_number, bool) or not isinstance(condition_number, (int, float)):
            raise TypeError(f"condition_number must be a number, got {condition_number!r}")
        if not (np.isfinite(condition_number) and condition_number > 0):
            raise ValueError(f"condition_number must be positive and finite, got {condition_number}")
        if isinstance(angle, bool) or not isinstance(angle, (int, float)) or not np.isfinite(angle):
            raise ValueError(f"angle must be a finite number (radians), got {angle!r}")
        self.condition_number = float(condition_number)
        self.angle = float(angle)
        self.minima = np.zeros((1, 2))
        if self.angle == 0.0:
            self.hessian = np.diag([1.0, self.condition_number])
        else:
            c, s = np.cos(self.angle), np.sin(self.angle)
            rotation = np.array([[c, -s], [s, c]])
            self.hessian = rotation @ np.diag([1.0, self.condition_number]) @ rotation.T
            self.hessian = (self.hessian + self.hessian.T) / 2  # exactly symmetric
        self.bounds = ((-2.0, 2.0), (-1.5, 1.5))
        self.start = np.array([-1.8, 1.0])

    def _value(self, x, y):
        if self.angle == 0.0:
            return 0.5 * (x**2 + self.condition_number * y**2)
        (a, b), (_, d) = self.hessian
        return 0.5 * (a * x**2 + 2 * b * x * y + d * y**2)

    def _gradient(self, x, y):
        if self.angle == 0.0:
            return x, self.condition_number * y
        (a, b), (_, d) = self.hessian
        return a * x + b * y, b * x + d * y

    def __repr__(self):
        if self.angle == 0.0:
            return f"Quadratic(condition_number={self.condition_number:g})"
        return f"Quadratic(condition_number={self.condition_number:g}, angle={self.angle:.4g})"


class Rosenbrock(Surface):
    r"""Rosenbrock's banana valley, :math:`(a - x)^2 + b(y - x^2)^2`: easy to find, hard to follow."""

    min_value = 0.0
    bounds = ((-2.0, 2.0), (-1.0, 3.0))
    start = np.array([-1.5, 2.0])

    def __init__(self, a=1.0, b=100.0):
        self.a, self.b = float(a), float(b)
        self.minima = np.array([[self.a, self.a**2]])

    def _value(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def _gradient(self, x, y):
        return -2 * (self.a - x) - 4 * self.b * x * (y - x**2), 2 * self.b * (y - x**2)


class Beale(Surface):
    """Beale's function: flat plateaus and steep ridges; minimum 0 at (3, 0.5)."""

    minima = np.array([[3.0, 0.5]])
    min_value = 0.0
    bounds = ((-4.5, 4.5), (-4.5, 4.5))
    start = np.array([1.0, 1.5])
    _c = (1.5, 2.25, 2.625)

    def _value(self, x, y):
        return sum((c - x + x * y**k) ** 2 for k, c in enumerate(self._c, 1))

    def _gradient(self, x, y):
        gx = gy = 0.0
        for k, c in enumerate(self._c, 1):
            r = c - x + x * y**k
            gx = gx + 2 * r * (y**k - 1)
            gy = gy + 2 * r * k * x * y ** (k - 1)
        return gx, gy


class Himmelblau(Surface):
    """Himmelblau's function: four equal minima (value 0), so where you end depends on where
    you start."""

    minima = np.array([[3.0, 2.0], [-2.805118086952745, 3.131312518250573],
                       [-3.779310253377747, -3.283185991286170],
                       [3.584428340330492, -1.848126526964404]])
    min_value = 0.0
    bounds = ((-5.0, 5.0), (-5.0, 5.0))
    start = np.array([0.0, 0.0])

    def _value(self, x, y):
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def _gradient(self, x, y):
        a, b = x**2 + y - 11, x + y**2 - 7
        return 4 * x * a + 2 * b, 2 * a + 4 * y * b


class Saddle(Surface):
    r"""A saddle, :math:`\tfrac12(x^2 - y^2)`: the gradient vanishes at the origin, which is
    not a minimum; gradient descent started exactly on the x-axis stays stuck there."""

    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = np.array([-1.8, 1e-3])

    def _value(self, x, y):
        return 0.5 * (x**2 - y**2)

    def _gradient(self, x, y):
        return x, -y


class NoisyQuadratic(Quadratic):
    """The quadratic bowl whose ``gradient`` adds Gaussian noise of standard deviation
    ``noise`` (drawn from ``rng``): a stand-in for a stochastic, mini-batch gradient. The
    value and ``true_gradient`` are exact."""

    def __init__(self, condition_number=10.0, noise=1.0, rng=None):
        super().__init__(condition_number)
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
            raise ValueError(f"noise must be a non-negative number, got {noise!r}")
        self.noise = float(noise)
        self.rng = np.random.default_rng(rng)

    def true_gradient(self, x):
        return super().gradient(x)

    def gradient(self, x):
        g = self.true_gradient(x)
        return g + self.noise * self.rng.standard_normal(g.shape)

    def __repr__(self):
        return f"NoisyQuadratic(condition_number={self.condition_number:g}, noise={self.noise:g})"
