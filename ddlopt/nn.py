r"""A small neural network with hand-written backpropagation, and Keras's compile/fit.

A layer turns inputs into outputs (``forward``) and, given the gradient of the loss with
respect to its outputs, returns the gradient with respect to its inputs while adding the
gradients of its parameters to their ``.grad`` (``backward``). For a dense layer
:math:`z = xW + b`, :math:`a = \phi(z)`, with :math:`\delta = \partial L/\partial a`:

.. math::

    \frac{\partial L}{\partial z} = \delta \odot \phi'(z), \quad
    \frac{\partial L}{\partial W} = x^\top \frac{\partial L}{\partial z}, \quad
    \frac{\partial L}{\partial b} = \sum_{\text{rows}} \frac{\partial L}{\partial z}, \quad
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial z} W^\top.

``Sequential`` chains layers and adds Keras's workflow::

    model = Sequential([Dense(64, 32, "relu"), Dense(32, 10, "softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=20, batch_size=32, validation_data=(X_val, y_val))
    history.history["val_accuracy"]

A sigmoid or softmax output trained with cross-entropy is *folded* into the loss: the
network trains on its logits with the ``from_logits=True`` loss (exact and stable, the
gradient is simply prediction minus target) while ``predict`` still returns probabilities.
"""

import numbers

import numpy as np

from . import _random, losses, optim
from .params import Parameter

__all__ = ["Dense", "Sequential", "History", "Callback", "ACTIVATIONS"]


# ----------------------------------------------------------------------------------------
# Activations: the function, and its backward pass given z, a = phi(z) and dL/da
# ----------------------------------------------------------------------------------------
def _softmax_backward(z, a, grad_a):
    # the Jacobian of softmax is diag(a) - a a^T: multiply without forming it
    return a * (grad_a - np.sum(grad_a * a, axis=-1, keepdims=True))


ACTIVATIONS = {
    "linear": (lambda z: z, lambda z, a, g: g),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a, g: g * (z > 0)),
    "tanh": (np.tanh, lambda z, a, g: g * (1.0 - a**2)),
    "sigmoid": (losses.sigmoid, lambda z, a, g: g * a * (1.0 - a)),
    "softmax": (losses.softmax, _softmax_backward),
}


# ----------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------
class Dense:
    """A fully connected layer, ``activation(x @ W + b)``.

    ``W`` (in_features, out_features) starts Glorot-uniform, Keras's default:
    :math:`U(-\\sqrt{6/(n_\\text{in} + n_\\text{out})}, +\\sqrt{\\cdot})`; ``b`` starts at zero.
    ``activation`` is one of ``ACTIVATIONS`` or None (linear). ``rng`` draws the initial
    weights (default: ddlopt's generator, which ``ddlopt.set_seed`` seeds).
    """

    def __init__(self, in_features, out_features, activation=None, rng=None):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        activation = "linear" if activation is None else activation
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
        self.in_features, self.out_features, self.activation = in_features, out_features, activation
        limit = np.sqrt(6.0 / (in_features + out_features))
        self.W = Parameter(_random.generator(rng).uniform(-limit, limit, (in_features, out_features)))
        self.b = Parameter(np.zeros(out_features))

    def forward(self, x, apply_activation=True):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Dense({self.in_features}, {self.out_features}) expects input of "
                             f"shape (batch, {self.in_features}), got {x.shape}")
        self._x, self._activated = x, apply_activation
        self._z = x @ self.W.data + self.b.data
        self._a = ACTIVATIONS[self.activation][0](self._z) if apply_activation else self._z
        return self._a

    def backward(self, grad_out):
        grad_z = ACTIVATIONS[self.activation][1](self._z, self._a, grad_out) \
            if self._activated else grad_out
        self.W.accumulate(self._x.T @ grad_z)
        self.b.accumulate(grad_z.sum(axis=0))
        return grad_z @ self.W.data.T

    def parameters(self):
        return [self.W, self.b]

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features}, activation={self.activation!r})"


# ----------------------------------------------------------------------------------------
# Training: History, callbacks, Sequential
# ----------------------------------------------------------------------------------------
class History:
    """What ``fit`` returns: ``history`` maps Keras's keys (``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``, ``lr``) to one value per epoch; ``epoch`` lists them."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class Callback:
    """Keras's callback protocol: override any hook; set ``self.model.stop_training = True``
    to end ``fit`` after the current epoch."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


_FOLDED = {"sigmoid": losses.BinaryCrossentropy, "softmax": losses.CategoricalCrossentropy}
_METRICS = {"accuracy": "accuracy", "acc": "accuracy", "mse": "mse",
            "mean_squared_error": "mse", "mae": "mae", "mean_absolute_error": "mae"}


class Sequential:
    """Layers applied in order, with ``forward``/``backward``/``parameters`` and Keras's
    ``compile``, ``fit``, ``evaluate`` and ``predict``."""

    def __init__(self, layers):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential needs at least one layer")
        for a, b in zip(self.layers, self.layers[1:]):
            if a.out_features != b.in_features:
                raise ValueError(f"{a} gives {a.out_features} features but {b} expects {b.in_features}")
        self.optimizer = self.loss = None
        self.stop_training = False

    # -- the network ----------------------------------------------------------------------
    def forward(self, X, fold=False):
        """Outputs for inputs X; with ``fold``, the last layer's logits (no activation)."""
        X = np.asarray(X, dtype=np.float64)
        for i, layer in enumerate(self.layers):
            X = layer.forward(X, apply_activation=not (fold and i == len(self.layers) - 1))
        return X

    __call__ = forward

    def backward(self, grad_output):
        """Backpropagate dL/d(output of the last forward); fills every parameter's .grad and
        returns dL/d(input)."""
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    # -- Keras's workflow -------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer (a Keras name or an Optimizer over ``self.parameters()``), the
        loss (a Keras name or a Loss) and the metrics (``"accuracy"``, ``"mse"``, ``"mae"``)."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        self.loss = losses.get(loss)
        if isinstance(optimizer, optim.Optimizer):
            ours = {id(p) for p in self.parameters()}
            theirs = {id(p) for g in optimizer.param_groups for p in g["params"]}
            if ours != theirs:
                raise ValueError("the optimizer must be built over this model's parameters: "
                                 "SGD(model.parameters(), ...)")
            self.optimizer = optimizer
        else:
            self.optimizer = optim.get(optimizer, self.parameters())
        self.metrics = []
        for m in metrics or []:
            if m not in _METRICS:
                raise ValueError(f"unknown metric {m!r}; known: {', '.join(_METRICS)}")
            if _METRICS[m] == "accuracy" and not isinstance(
                    self.loss, (losses.BinaryCrossentropy, losses.CategoricalCrossentropy)):
                raise ValueError(f"'accuracy' needs a classification loss, got {self.loss.name}")
            self.metrics.append(_METRICS[m])
        # fold a sigmoid/softmax output into the cross-entropy: train on logits, exactly
        last = self.layers[-1].activation
        from_logits = getattr(self.loss, "from_logits", False)
        if from_logits and last in _FOLDED:
            raise ValueError(f"the loss has from_logits=True but the last layer applies "
                             f"{last!r}: use a linear last layer, or from_logits=False")
        self._fold = last in _FOLDED and isinstance(self.loss, _FOLDED[last]) and not from_logits
        self._train_loss = type(self.loss)(from_logits=True) if self._fold else self.loss
        return self

    def _targets(self, y, outputs):
        """Keras accepts y of shape (n,) for an (n, 1) output; make it (n, 1)."""
        y = np.asarray(y)
        if y.ndim == 1 and outputs.ndim == 2 and outputs.shape[1] == 1 \
                and not isinstance(self.loss, losses.SparseCategoricalCrossentropy):
            y = y[:, None]
        return y

    def train_on_batch(self, X, y):
        """One optimizer step on one batch; returns the batch's loss and its outputs."""
        self._require_compiled()
        # overflow is reported as one clear error below, not as NumPy warnings
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.forward(X, fold=self._fold)
            y = self._targets(y, out)
            value = self._train_loss(y, out) if np.all(np.isfinite(out)) else np.inf
            if not np.isfinite(value):
                raise FloatingPointError("training diverged: the loss is no longer finite "
                                         "(inf or NaN); lower the learning rate")
            self.optimizer.zero_grad()
            self.backward(self._train_loss.gradient(y, out))
            self.optimizer.step()
        return value, out

    def _metric(self, name, y, out, logits):
        """A metric on outputs (probabilities, or logits when ``logits``)."""
        if name == "mse":
            return float(np.mean((out - y) ** 2))
        if name == "mae":
            return float(np.mean(np.abs(out - y)))
        if isinstance(self.loss, losses.BinaryCrossentropy):
            threshold = 0.0 if (logits or self.loss.from_logits) else 0.5
            return float(np.mean((out > threshold) == (y > 0.5)))
        predicted = np.argmax(out, axis=-1)
        if isinstance(self.loss, losses.SparseCategoricalCrossentropy):
            return float(np.mean(predicted == y.reshape(predicted.shape)))
        return float(np.mean(predicted == np.argmax(y, axis=-1)))

    def fit(self, X, y, epochs=1, batch_size=32, validation_data=None, shuffle=True,
            callbacks=None, verbose=1, rng=None):
        """Train for ``epochs`` passes over (X, y) in mini-batches; returns a History.

        Per epoch it records the mean training loss and metrics over the batches (weighted
        by batch size, as Keras does), the validation loss and metrics after the epoch, and
        the learning rate of the first param group. ``verbose=1`` shows a progress bar
        (tqdm, on stderr); ``verbose=0`` is silent. ``rng`` orders the batches (default:
        ddlopt's generator, which ``ddlopt.set_seed`` seeds).
        """
        self._require_compiled()
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}; they must match")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        rng = _random.generator(rng)
        callbacks = list(callbacks or [])
        history = History()
        for cb in callbacks:
            cb.set_model(self)
            cb.on_train_begin()
        self.stop_training = False
        epoch_range = range(epochs)
        if verbose:
            from tqdm.auto import tqdm
            epoch_range = tqdm(epoch_range, desc="fit", unit="epoch")
        for epoch in epoch_range:
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            sums, seen = dict.fromkeys(["loss"] + self.metrics, 0.0), 0
            order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
            for start in range(0, len(X), batch_size):
                index = order[start:start + batch_size]
                value, out = self.train_on_batch(X[index], y[index])
                sums["loss"] += value * len(index)
                targets = self._targets(y[index], out)
                for m in self.metrics:
                    sums[m] += self._metric(m, targets, out, logits=self._fold) * len(index)
                seen += len(index)
            logs = {k: v / seen for k, v in sums.items()}
            if validation_data is not None:
                results = self.evaluate(*validation_data, return_dict=True)
                logs.update({f"val_{k}": v for k, v in results.items()})
            logs["lr"] = self.optimizer.param_groups[0]["lr"]
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            history.append(epoch, logs)
            if verbose:
                epoch_range.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "lr"})
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()
        return history

    def evaluate(self, X, y, return_dict=False):
        """The loss and metrics on (X, y): ``[loss, *metrics]`` (just the loss if there are no
        metrics), or a dict with ``return_dict=True``."""
        self._require_compiled()
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.forward(X, fold=self._fold)
        if not np.all(np.isfinite(out)):
            raise FloatingPointError("the network's outputs are not finite (inf or NaN): "
                                     "training diverged; lower the learning rate")
        y = self._targets(y, out)
        results = {"loss": self._train_loss(y, out)}
        for m in self.metrics:
            results[m] = self._metric(m, y, out, logits=self._fold)
        if return_dict:
            return results
        return list(results.values()) if self.metrics else results["loss"]

    def predict(self, X):
        """Outputs for X: probabilities for a sigmoid or softmax output."""
        return self.forward(X)

    def _require_compiled(self):
        if self.loss is None:
            raise RuntimeError("call model.compile(optimizer=..., loss=...) before training")

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"
