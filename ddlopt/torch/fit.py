"""Keras's ``fit`` for a ``torch.nn.Module``: the training loop every PyTorch project writes,
once, returning the same :class:`ddlopt.nn.History` as the NumPy ``Sequential.fit``.

    history = fit(model, train_loader, optimizer, torch.nn.CrossEntropyLoss(), epochs=20,
                  val_loader=val_loader, metrics=["accuracy"])
    history.history["val_accuracy"]
"""

import inspect
import math

import torch

from .. import _random, data
from .._checks import check_count
from ..nn import History, begin_training

__all__ = ["fit", "BatchLoader", "KerasModel"]

_ACCURACY = {"accuracy", "acc"}


class BatchLoader:
    """Mini-batches of tensors ``(X, y)``, reshuffled every epoch, in the order the NumPy
    ``Sequential.fit(..., rng=rng)`` visits them: a NumPy run and a PyTorch run given the
    same ``rng`` see the same batches. Also a light stand-in for a DataLoader on data that
    fits in memory (no workers, no collation)."""

    def __init__(self, X, y, batch_size=32, shuffle=True, rng=None):
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}; they must match")
        check_count(batch_size, "batch_size")
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = _random.generator(rng)

    def __iter__(self):  # the very batches of the NumPy fit: both walk ddlopt.data.batches
        return data.batches(self.X, self.y, self.batch_size, self.shuffle, self.rng)

    def __len__(self):
        return -(-len(self.X) // self.batch_size)


class KerasModel:
    """What a Keras callback sees as ``self.model`` while ``fit`` trains a torch module: the
    module itself (any attribute it lacks is looked up on the module), with Keras's
    ``optimizer``, ``stop_training``, ``get_weights()`` and ``set_weights()``. So the callbacks
    of ``ddlopt.callbacks`` (ReduceLROnPlateau, EarlyStopping with restore_best_weights...)
    work unchanged for the NumPy and the torch fit, without ``fit`` writing on the module."""

    def __init__(self, module, optimizer):
        self.module, self.optimizer, self.stop_training = module, optimizer, False

    def __getattr__(self, name):  # called only for names this object does not have
        return getattr(self.module, name)

    def get_weights(self):
        """A copy of every parameter and buffer (the state dict's tensors, in its order)."""
        return [t.detach().clone() for t in self.module.state_dict().values()]

    def set_weights(self, weights):
        """Copy ``weights`` (as ``get_weights`` returns them) back into the module, in place."""
        tensors = list(self.module.state_dict().values())
        if len(weights) != len(tensors):
            raise ValueError(f"set_weights got {len(weights)} arrays; the model has {len(tensors)}")
        with torch.no_grad():
            for tensor, value in zip(tensors, weights):
                tensor.copy_(torch.as_tensor(value))


def _binary_threshold(loss_fn):
    """Where a single output means class 1: logits above 0, probabilities above 0.5."""
    if isinstance(loss_fn, torch.nn.BCEWithLogitsLoss):
        return 0.0
    if isinstance(loss_fn, torch.nn.BCELoss):
        return 0.5
    raise ValueError("'accuracy' on a single output needs loss_fn BCEWithLogitsLoss (logits) "
                     f"or BCELoss (probabilities), got {type(loss_fn).__name__}")


def _correct(outputs, targets, threshold):
    """How many predictions are right, as a tensor (no device synchronization)."""
    if outputs.ndim == 2 and outputs.shape[1] > 1:  # one column a class
        predicted = outputs.argmax(dim=1)
        labels = targets.argmax(dim=1) if targets.ndim == 2 else targets
        return (predicted == labels).sum()
    return ((outputs.reshape(-1) > threshold) == (targets.reshape(-1) > 0.5)).sum()


def _metric_functions(metrics, loss_fn):
    """name -> fn(outputs, targets) giving the number right in a batch (summed, then divided)."""
    functions = {}
    for m in metrics or []:
        if isinstance(m, str) and m in _ACCURACY:
            multiclass = isinstance(loss_fn, (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss))
            threshold = None if multiclass else _binary_threshold(loss_fn)
            functions["accuracy"] = lambda out, y, t=threshold: _correct(out, y, t)
        else:
            raise ValueError(f"unknown metric {m!r}; known: 'accuracy'")
    return functions


def _wants_metric(scheduler):
    """ReduceLROnPlateau (torch's, or a twin with its ``step(metrics)``) steps on val_loss."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        return True
    return "metrics" in inspect.signature(scheduler.step).parameters


def check_training_arguments(model, optimizer, loss_fn):
    """What every torch training loop here needs (fit, lr_finder): a module, an optimizer and
    a loss function; TypeError naming the one that is not."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable: a function (outputs, targets) -> loss, such as "
                        f"torch.nn.CrossEntropyLoss(); got {loss_fn!r}")


def _check_arguments(model, optimizer, loss_fn, epochs, scheduler, val_loader, callbacks):
    check_training_arguments(model, optimizer, loss_fn)
    check_count(epochs, "epochs")
    if scheduler is not None:
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"scheduler must have a step() method (a torch.optim.lr_scheduler), "
                            f"got {type(scheduler).__name__}")
        if _wants_metric(scheduler) and val_loader is None:
            raise ValueError("a ReduceLROnPlateau scheduler steps on val_loss: pass val_loader")
    for cb in callbacks:
        if not callable(getattr(cb, "on_epoch_end", None)):
            raise TypeError(f"callbacks must follow ddlopt.nn.Callback's protocol, got {type(cb).__name__}")


def _run_epoch(model, loader, loss_fn, device, metric_functions, optimizer=None):
    """One pass over ``loader``: trains when given an optimizer, else evaluates without
    gradients. Returns the batch-size-weighted mean loss and metrics, as floats."""
    model.train(optimizer is not None)
    totals = None
    seen = 0
    with torch.set_grad_enabled(optimizer is not None):
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            n = len(inputs)
            batch = {"loss": loss.detach() * n}
            batch.update({name: fn(outputs.detach(), targets) for name, fn in metric_functions.items()})
            # summed on the device: one synchronization an epoch, not one a batch
            totals = batch if totals is None else {k: totals[k] + v for k, v in batch.items()}
            seen += n
    if seen == 0:
        raise ValueError("a loader yielded no batches (a generator is used up after one epoch: "
                         "pass a DataLoader or a list)")
    return {k: v.item() / seen for k, v in totals.items()}


def fit(model, train_loader, optimizer, loss_fn, epochs, val_loader=None, scheduler=None,
        callbacks=None, device=None, metrics=None, verbose=1):
    """Train ``model`` for ``epochs`` passes over ``train_loader``; returns a History.

    - ``train_loader`` and ``val_loader`` yield ``(inputs, targets)`` batches every epoch (a
      ``torch.utils.data.DataLoader``, or a list of pairs). ``loss_fn(outputs, targets)``
      returns the batch's mean loss (``torch.nn.CrossEntropyLoss()``).
    - Per epoch the History records, with Keras's keys, the mean training loss and metrics
      over the batches (weighted by batch size, as the NumPy ``fit``), the validation loss and
      metrics after the epoch (``val_loss``, ...; the model in ``eval()`` mode, no gradients),
      and ``lr``, the first param group's learning rate during the epoch.
    - ``metrics``: ``["accuracy"]`` for classification: the arg-max for an output with a
      column per class (``CrossEntropyLoss``), or a threshold for a single output (0 for
      ``BCEWithLogitsLoss`` logits, 0.5 for ``BCELoss`` probabilities).
    - ``scheduler`` is stepped once an epoch, after validation; a ``ReduceLROnPlateau`` gets
      ``val_loss``.
    - ``callbacks`` follow :class:`ddlopt.nn.Callback`: they get ``set_model`` with a
      :class:`KerasModel` (the module, plus Keras's ``optimizer``, ``get_weights``,
      ``set_weights``) and the logs of each epoch; one sets ``self.model.stop_training =
      True`` to end after this epoch. ``ddlopt.callbacks`` work here as in the NumPy fit.
    - ``device``: where to train (``"cuda"``, ``"cpu"``); the model is moved there and each
      batch as it comes. ``None`` trains where the model's parameters are.
    - ``verbose=1`` shows a progress bar (tqdm, on stderr); ``verbose=0`` is silent.
    """
    callbacks = list(callbacks or [])
    _check_arguments(model, optimizer, loss_fn, epochs, scheduler, val_loader, callbacks)
    if device is None:
        device = next(model.parameters(), torch.empty(0)).device
    device = torch.device(device)
    model.to(device)
    metric_functions = _metric_functions(metrics, loss_fn)
    history = History()
    keras_model = KerasModel(model, optimizer)
    epoch_range = begin_training(keras_model, callbacks, epochs, verbose)
    for epoch in epoch_range:
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        lr = optimizer.param_groups[0]["lr"]
        logs = _run_epoch(model, train_loader, loss_fn, device, metric_functions, optimizer)
        if not math.isfinite(logs["loss"]):
            raise FloatingPointError(f"training diverged in epoch {epoch + 1}: the loss is no "
                                     "longer finite (inf or NaN); lower the learning rate")
        if val_loader is not None:
            val_logs = _run_epoch(model, val_loader, loss_fn, device, metric_functions)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        logs["lr"] = float(lr)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        history.append(epoch, logs)
        if scheduler is not None and _wants_metric(scheduler):
            scheduler.step(logs["val_loss"])
        elif scheduler is not None:
            scheduler.step()
        if verbose:
            epoch_range.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "lr"})
        if keras_model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end()
    return history
