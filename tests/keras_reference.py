"""Keras 3 itself as the reference for ddlopt's Keras optimizers: the ``keras`` package (a
test-only dependency, pinned in requirements.txt) on its torch backend, in float64.

KERAS_BACKEND must be set before keras is first imported, so import keras from here.
"""

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
    """Keras 3 spells Keras 2's ``lr`` ``learning_rate``, and its legacy ``decay`` as the
    schedule ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``."""
    options = dict(options)
    if "lr" in options:
        options["learning_rate"] = options.pop("lr")
    decay = options.pop("decay", 0.0)
    if decay:
        options["learning_rate"] = keras.optimizers.schedules.InverseTimeDecay(
            options.get("learning_rate", 0.001), decay_steps=1, decay_rate=decay)
    return options


def keras_trajectory(name, options, problem):
    """The parameters after each step of ``keras.optimizers.get(name)`` configured with
    ``options`` (Keras 3's spelling; see keras_options), driven by ``problem``'s gradients."""
    cls = type(keras.optimizers.get(name))
    optimizer = cls(**keras_options(options))
    variables = [keras.Variable(x, dtype="float64") for x in problem.initial]
    trajectory = []
    for t in range(problem.steps):
        values = [keras.ops.convert_to_numpy(v) for v in variables]
        grads = [torch.as_tensor(problem.gradient(i, x, t)) for i, x in enumerate(values)]
        optimizer.apply(grads, variables)
        trajectory.append([np.array(keras.ops.convert_to_numpy(v)) for v in variables])
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
