r"""Chapter 7's experiments: signals and gradients through deep stacks of layers at their
initial weights, with and without normalization layers and residual connections, the
variance map that predicts them, and deep MLPs trained from each start over seeds.

    stats = layer_statistics("tanh", "glorot_normal", depth=20, width=128, seed=0)
    stats["act_std"][-1], stats["grad_std"][0]        # the last layer's signal, the first's gradient
    predicted = variance_map("tanh", gain=1.0, depth=20)
    result = train("relu", "he_normal", lr=0.05, seed=0)   # a 10-layer MLP on the digits
    result["loss"], result["val_loss"], result["test_loss"], result["test_accuracy"]

A *start* is what ``ddlopt.nn.Dense`` takes as ``init``: a name (``"glorot_normal"``,
``"he_normal"``, ...) or a function ``(n_in, n_out, rng) -> W``; :func:`small_random` and
:func:`glorot_gain` make the two the chapter adds. A *norm* is None, ``"batchnorm"`` or
``"layernorm"``: with one, each hidden layer is ``Dense`` (no activation), the
normalization, then ``Activation``, as Ioffe and Szegedy place it.
"""

import functools
import math
import numbers
from collections import namedtuple

import numpy as np

from .. import data, init, losses
from ..nn import ACTIVATIONS, Activation, BatchNorm, Dense, LayerNorm, Sequential
from ..optim import SGD
from ..study import _one_blas_thread, over_seeds

__all__ = ["small_random", "glorot_gain", "NORMS", "hidden_layers", "layer_statistics",
           "variance_map", "residual_stream", "problem", "mlp", "train", "tune", "Tuned"]

NORMS = {None: None, "batchnorm": BatchNorm, "layernorm": LayerNorm}
_LOSS = losses.get("sparse_categorical_crossentropy", from_logits=True)


def small_random(std=0.01):
    """A start of "small random" weights: every weight drawn from N(0, std^2), whatever the
    layer's width."""
    if isinstance(std, bool) or not isinstance(std, numbers.Real) or not std > 0:
        raise ValueError(f"std must be a positive number, got {std!r}")

    def start(n_in, n_out, rng):
        return rng.normal(0.0, std, (n_in, n_out))
    start.__name__ = f"small_random({std:g})"
    return start


def glorot_gain(gain):
    """Glorot normal times a gain ``c``: Var[w] = c^2 * 2 / (n_in + n_out) (torch's
    ``xavier_normal_(w, gain=c)``)."""
    def start(n_in, n_out, rng):
        return init.xavier_normal((n_in, n_out), gain=gain, fans=(n_in, n_out), rng=rng)
    start.__name__ = f"glorot_gain({gain:g})"
    return start


def _check_choice(value, known, name):
    if value not in known:
        raise ValueError(f"unknown {name} {value!r}; known: {', '.join(map(repr, known))}")


def hidden_layers(n_in, n_out, activation, start, rng, norm=None):
    """One hidden layer as a list of ddlopt layers: ``[Dense(n_in, n_out, activation)]``,
    or with a norm ``[Dense(n_in, n_out), Norm(n_out), Activation(activation)]``. The last
    layer of the list gives the layer's output a."""
    _check_choice(norm, NORMS, "norm")
    if norm is None:
        return [Dense(n_in, n_out, activation, init=start, rng=rng)]
    return [Dense(n_in, n_out, init=start, rng=rng), NORMS[norm](n_out), Activation(activation)]


def layer_statistics(activation, start, depth=20, width=128, batch=256, seed=0, norm=None):
    """Push a batch of standard-normal inputs through ``depth`` hidden layers of ``width``
    units, then backpropagate a standard-normal gradient dL/da from the last one.

    Returns a dict of arrays, one entry a layer (layer 1 first): ``act_mean``, ``act_std``
    and ``act_sq`` (E[a^2]) of each layer's output a; ``z_var``, the variance of its
    pre-activation z (what the activation is applied to); ``phi_prime_sq``, E[phi'(z)^2];
    ``w_var``, the variance of its weights as drawn; ``grad_mean``, ``grad_std`` of dL/da
    at its output; ``w_grad_std``, the std of dL/dW; and ``input_grad_std``, the std of
    dL/dx at the network's input. ``seed`` draws the weights, the inputs and the gradient.
    """
    _check_choice(activation, [a for a in ACTIVATIONS if a != "softmax"], "activation")
    rng = np.random.default_rng(seed)
    blocks = [hidden_layers(width, width, activation, start, rng, norm) for _ in range(depth)]
    model = Sequential([layer for block in blocks for layer in block])
    with _one_blas_thread():  # small matrices: threads cost more than they save
        model.forward(rng.normal(size=(batch, width)))
        grad = rng.normal(size=(batch, width))  # dL/da at the last layer's output
        grads = []
        for block in reversed(blocks):
            grads.append(grad)
            for layer in reversed(block):
                grad = layer.backward(grad)
    grads.reverse()
    outputs = [block[-1]._a for block in blocks]
    pre = [block[-1]._z for block in blocks]
    derivative = ACTIVATIONS[activation][1]
    return {
        "act_mean": np.array([a.mean() for a in outputs]),
        "act_std": np.array([a.std() for a in outputs]),
        "act_sq": np.array([np.mean(a**2) for a in outputs]),
        "z_var": np.array([z.var() for z in pre]),
        "phi_prime_sq": np.array([np.mean(derivative(z, a, np.ones_like(z))**2)
                                  for z, a in zip(pre, outputs)]),
        "w_var": np.array([block[0].W.data.var() for block in blocks]),
        "grad_mean": np.array([g.mean() for g in grads]),
        "grad_std": np.array([g.std() for g in grads]),
        "w_grad_std": np.array([block[0].W.grad.std() for block in blocks]),
        "input_grad_std": float(grad.std()),
    }


def _gauss(step=1e-3, half_width=12.0):
    """Nodes and weights of E[f(xi)], xi ~ N(0, 1), by the midpoint rule on
    [-half_width, half_width]. Gauss-Hermite quadrature is spectrally accurate for tanh but
    not for a ReLU, whose kink and jump at 0 it smears; the midpoint rule puts 0 on a cell
    boundary, so half the weight lies on each side (E[relu'(xi)^2] = 1/2 to rounding) and
    the kink costs an error of order step^2."""
    n = int(round(2 * half_width / step))
    nodes = -half_width + step * (np.arange(n) + 0.5)
    weights = np.exp(-nodes**2 / 2)
    return nodes, weights / weights.sum()


def variance_map(activation, gain, depth):
    r"""What the variance arguments predict for ``depth`` square layers with weights of
    variance :math:`c^2/n` (``gain`` c) and standard-normal inputs, treating each
    pre-activation as a Gaussian (exact for wide layers):

    .. math::

        \operatorname{Var}[z^{(l+1)}] = c^2\, E[\phi(z^{(l)})^2], \qquad
        \frac{\operatorname{Var}[\partial\mathcal{L}/\partial a^{(l-1)}]}
             {\operatorname{Var}[\partial\mathcal{L}/\partial a^{(l)}]}
            = c^2\, E[\phi'(z^{(l)})^2],

    with :math:`\operatorname{Var}[z^{(1)}] = c^2`. Returns a dict of arrays, layer 1
    first: ``z_var``, ``act_std`` and ``grad_std`` (of dL/da, relative to the last
    layer's, which is 1).
    """
    _check_choice(activation, [a for a in ACTIVATIONS if a != "softmax"], "activation")
    phi, derivative = ACTIVATIONS[activation]
    nodes, weights = _gauss()
    q, z_var, act_std, grad_factor = gain**2, [], [], []
    for _ in range(depth):
        z = math.sqrt(q) * nodes
        a = phi(z)
        mean, second = weights @ a, weights @ a**2
        z_var.append(q)
        act_std.append(math.sqrt(max(second - mean**2, 0.0)))
        grad_factor.append(gain**2 * (weights @ derivative(z, a, np.ones_like(z))**2))
        q = gain**2 * second
    # dL/da at layer l: the product of the factors of the layers above it
    grad_var = np.append(np.cumprod(np.array(grad_factor[:0:-1]))[::-1], 1.0)
    return {"z_var": np.array(z_var), "act_std": np.array(act_std),
            "grad_std": np.sqrt(grad_var)}


def residual_stream(depth, scale, width=128, batch=256, seed=0):
    r"""A stack of ``depth`` residual blocks :math:`x^{(l+1)} = x^{(l)} + s\,F(x^{(l)})`
    with :math:`F(x) = \operatorname{relu}(x W_1) W_2`, :math:`W_1` He-normal (keeps the
    variance through the ReLU) and :math:`W_2` LeCun-normal (keeps it through the product),
    so that :math:`\operatorname{Var}[F(x)] \approx E[x^2]`; ``scale`` is s. Standard-normal
    inputs go forward, a standard-normal gradient comes back. Returns a dict of arrays of
    depth + 1 values: ``std`` of the stream :math:`x^{(l)}` (the input first) and
    ``grad_std`` of dL/dx^(l).
    """
    rng = np.random.default_rng(seed)
    first = [init.DENSE["he_normal"](width, width, rng) for _ in range(depth)]
    second = [init.DENSE["lecun_normal"](width, width, rng) for _ in range(depth)]
    x = rng.normal(size=(batch, width))
    stream, hidden = [x], []
    grad = rng.normal(size=(batch, width))
    grads = [grad]
    with _one_blas_thread():
        for W1, W2 in zip(first, second):
            h = np.maximum(x @ W1, 0.0)
            x = x + scale * (h @ W2)
            stream.append(x)
            hidden.append(h)
        for W1, W2, h in zip(first[::-1], second[::-1], hidden[::-1]):
            grad_h = (scale * grad @ W2.T) * (h > 0)
            grad = grad + grad_h @ W1.T
            grads.append(grad)
    return {"std": np.array([s.std() for s in stream]),
            "grad_std": np.array([g.std() for g in grads[::-1]])}


# ---------------------------------------------------------------------------- training

@functools.lru_cache(maxsize=2)
def problem(dataset="digits", val_size=0.2, test_size=0.2):
    """The split, fixed for every seed (``ddlopt.data.splits``, seed 0, standardized):
    ``{"train": (X, y), "val": ..., "test": ...}``."""
    train_part, val_part, test_part = data.splits(dataset, val_size=val_size,
                                                  test_size=test_size, seed=0)
    return {"train": train_part, "val": val_part, "test": test_part}


def mlp(activation, start, seed, depth=10, width=64, norm=None, n_in=64, n_classes=10):
    """``depth`` hidden layers of ``width`` units (each with ``norm`` if given) and a last
    Dense layer giving logits, every weight drawn by ``start``; ``seed`` draws them."""
    rng = np.random.default_rng(seed)
    sizes = [n_in] + [width] * depth
    layers = [layer for a, b in zip(sizes, sizes[1:])
              for layer in hidden_layers(a, b, activation, start, rng, norm)]
    return Sequential(layers + [Dense(width, n_classes, init=start, rng=rng)])


def train(activation, start, lr, seed, epochs=10, norm=None, depth=10, width=64,
          batch_size=64):
    """Train :func:`mlp` on the digits with plain SGD at learning rate ``lr``; ``seed``
    draws the weights and orders the batches. Returns a dict: ``loss`` (the training loss
    of each epoch, as ``fit`` records it), ``val_loss``, ``test_loss`` and
    ``test_accuracy`` at the end, and ``diverged`` (then the losses are inf)."""
    parts = problem()
    (X, y), n_classes = parts["train"], int(parts["train"][1].max()) + 1
    model = mlp(activation, start, seed, depth, width, norm, X.shape[1], n_classes)
    model.compile(SGD(model.parameters(), lr=lr), loss=_LOSS, metrics=["accuracy"])
    with _one_blas_thread():  # small matrices: one thread is faster, and the same
        try:
            history = model.fit(X, y, epochs=epochs, batch_size=batch_size,
                                validation_data=parts["val"], verbose=0, rng=seed).history
            test_loss, test_accuracy = model.evaluate(*parts["test"])
        except FloatingPointError:
            return {"loss": np.full(epochs, np.inf), "val_loss": math.inf,
                    "test_loss": math.inf, "test_accuracy": 0.0, "diverged": True}
    return {"loss": np.array(history["loss"]), "val_loss": history["val_loss"][-1],
            "test_loss": test_loss, "test_accuracy": test_accuracy, "diverged": False}


Tuned = namedtuple("Tuned", "best_lr val runs lrs seeds")
Tuned.__doc__ = """What :func:`tune` returns: ``best_lr`` (the rate with the lowest mean final
validation loss), ``val`` (rate -> OverSeeds of it), ``runs`` (rate -> the :func:`train`
results, one a seed), the grid ``lrs`` and the ``seeds``."""


def tune(activation, start, lrs, seeds=(0, 1, 2), **options):
    """:func:`train` at every rate of ``lrs`` with every seed; the best rate is the one with
    the lowest mean validation loss at the end (a seed that diverged makes a rate lose).
    ``options`` go to :func:`train`. The test results are for reporting the chosen rate."""
    lrs = sorted(float(lr) for lr in lrs)
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate")
    seeds = list(seeds)
    runs = {lr: [train(activation, start, lr, seed, **options) for seed in seeds]
            for lr in lrs}
    val = {lr: over_seeds(lambda seed, rs=rs: rs[seeds.index(seed)]["val_loss"], seeds)
           for lr, rs in runs.items()}
    best = min(lrs, key=lambda lr: val[lr].mean if math.isfinite(val[lr].mean) else math.inf)
    return Tuned(best, val, runs, lrs, seeds)
