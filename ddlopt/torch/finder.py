"""The learning-rate range test for a torch model and a torch optimizer.

The test itself is ``ddlopt.range_test`` (framework-free, shared with the NumPy finder
``ddlopt.finder``); this module supplies the torch training step and puts the model, its
gradients and the optimizer back afterwards.
"""

import copy
import math

import torch

from ..range_test import range_test
from .fit import check_training_arguments

__all__ = ["lr_finder"]


def _cycle(batches):
    """The batches of a DataLoader (or any re-iterable), pass after pass, as long as needed."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("batches yielded nothing: pass a DataLoader or a list of "
                             "(inputs, targets) batches")


def lr_finder(model, optimizer, loss_fn, batches, *, start_lr=1e-7, end_lr=10.0, num_iter=100,
              smooth=0.98, diverge_th=5.0, rule="min/10"):
    """Smith's range test (see ``ddlopt.range_test``) on a ``torch.nn.Module`` trained by a
    ``torch.optim.Optimizer`` with ``loss_fn(model(inputs), targets)``, over ``batches`` (a
    DataLoader or an iterable of ``(inputs, targets)`` on the model's device, cycled if it
    is shorter than ``num_iter``). Every param group trains at the test's rate.

    Afterwards the model's parameters and buffers (``state_dict``), its gradients, its
    train/eval mode and the optimizer's state and hyperparameters are restored exactly.
    Returns a ``ddlopt.range_test.LRFinderResult``.
    """
    check_training_arguments(model, optimizer, loss_fn)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    saved_grads = [None if p.grad is None else p.grad.clone() for p in params]
    was_training = model.training
    stream = _cycle(batches)

    def train_step():
        inputs, targets = next(stream)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        if not torch.isfinite(loss):
            return math.inf
        loss.backward()
        optimizer.step()
        return loss.item()

    model.train()
    try:
        return range_test(train_step, optimizer, start_lr, end_lr, num_iter, smooth, diverge_th, rule)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        for p, grad in zip(params, saved_grads):
            p.grad = grad
        model.train(was_training)
