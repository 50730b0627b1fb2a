"""Keras 3 itself as the reference for ddlopt's Keras optimizers: the ``keras`` package (a
test-only dependency, pinned in requirements.txt) on its torch backend, in float64.

KERAS_BACKEND must be set before keras is first imported, so import keras from here.

Keras 3.15 on torch is not float64 throughout, even with floatx float64, and has one bug;
``repaired()`` removes both for the duration of a reference run, so that the comparison
measures the arithmetic (the tests also compare with Keras as shipped, at the precision
these allow):

- its type promotion maps float64 to float32 on every backend but TensorFlow ("aligned with
  JAX's default"), so ``ops.maximum(x, 0.5)``, ``ops.minimum`` and ``ops.norm`` of float64
  tensors return float32: clipnorm, global_clipnorm, Adafactor and Muon lose precision at
  1e-8;
- ScheduleFreeAdamW reads ``momentum_old = momentum.value``, which on torch is the
  variable's own storage, then updates the momentum in place: x_old is computed from the
  *new* z (on JAX, whose arrays are immutable, from the old one, as the code intends).
"""

import contextlib
import os

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

keras.config.set_floatx("float64")

from optim_harness import Problem  # noqa: E402


class EveryStep(Problem):
    """optim_harness's noisy quadratic, with a gradient for every parameter at every step
    (in a Keras ``fit`` every weight has one): the matrices, a vector, a 3-D array, a scalar."""

    def has_grad(self, i, t):
        return True


def keras_options(options):
    """Keras 3 spells Keras 2's ``lr`` ``learning_rate``, its ``epsilon=None``
    ``keras.config.epsilon()`` and its legacy ``decay`` the schedule
    ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``."""
    options = dict(options)
    if "epsilon" in options and options["epsilon"] is None:
        options["epsilon"] = keras.config.epsilon()   # what Keras 2 meant by None
    if "lr" in options:
        options["learning_rate"] = options.pop("lr")
    decay = options.pop("decay", 0.0)
    if decay:
        options["learning_rate"] = keras.optimizers.schedules.InverseTimeDecay(
            options.get("learning_rate", 0.001), decay_steps=1, decay_rate=decay)
    return options


class ScheduleFreeAdamWReadingOldMomentum(keras.optimizers.ScheduleFreeAdamW):
    """Keras's ScheduleFreeAdamW with its momentum updated out of place, so that its
    ``momentum_old`` keeps the old value, as on JAX."""

    def assign_sub(self, variable, value):
        if any(variable is m for m in self._momentums):
            variable._value = variable._value - value
        else:
            super().assign_sub(variable, value)


@contextlib.contextmanager
def repaired():
    """Keras with float64 kept as float64 and ScheduleFreeAdamW reading the old momentum."""
    from keras.src.backend.common import dtypes

    saved = dtypes.BIT64_TO_BIT32_DTYPE["float64"]
    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
    try:
        yield
    finally:
        dtypes.BIT64_TO_BIT32_DTYPE["float64"] = saved


def keras_trajectory(name, options, problem, as_shipped=False):
    """The parameters after each step of ``keras.optimizers.get(name)`` configured with
    ``options`` (Keras 3's spelling; see keras_options), driven by ``problem``'s gradients;
    Keras ``repaired()`` unless ``as_shipped``."""
    if as_shipped:
        return _keras_trajectory(type(keras.optimizers.get(name)), options, problem)
    cls = type(keras.optimizers.get(name))
    if cls.__name__ == "ScheduleFreeAdamW":
        cls = ScheduleFreeAdamWReadingOldMomentum
    with repaired():
        return _keras_trajectory(cls, options, problem)


def _keras_trajectory(cls, options, problem):
    optimizer = cls(**keras_options(options))
    variables = [keras.Variable(x, dtype="float64") for x in problem.initial]
    trajectory = []
    for t in range(problem.steps):
        values = [v.value.detach().numpy().copy() for v in variables]   # torch's tensors
        grads = [torch.as_tensor(problem.gradient(i, x, t)) for i, x in enumerate(values)]
        optimizer.apply(grads, variables)
        trajectory.append([v.value.detach().numpy().copy() for v in variables])
    return trajectory


def ddlopt_trajectory(optimizer, problem):
    """The same with a ddlopt optimizer made without parameters (bound here)."""
    import ddlopt

    params = [ddlopt.Parameter(x) for x in problem.initial]
    optimizer.build(params)
    trajectory = []
    for t in range(problem.steps):
        optimizer.zero_grad()
        for i, p in enumerate(params):
            p.grad = problem.gradient(i, p.data, t)
        optimizer.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory
