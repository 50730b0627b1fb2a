"""The base every NumPy optimizer shares: param groups, state, zero_grad, state_dict.

It mirrors ``torch.optim.Optimizer`` so closely that a training loop reads the same::

    opt = SGD(model.parameters(), lr=0.1)
    for X, y in batches:
        opt.zero_grad()
        loss = ...; model.backward(...)   # fills p.grad
        opt.step()

A subclass sets its defaults and writes ``_update(p, grad, state, group)``, which calls the
method's pure update function (``sgd_update`` and friends): the math lives there.
"""

import copy
import numbers

import numpy as np

from ..params import Parameter

__all__ = ["Optimizer", "check_hyperparameter", "check_flags", "non_finite_gradient_error"]


def non_finite_gradient_error(step, group, index, shape, has_nan):
    """The error ``check_finite=True`` raises (NumPy and torch optimizers alike)."""
    return FloatingPointError(
        f"step {step}: the gradient of parameter {index} in param group {group} (shape "
        f"{tuple(shape)}) contains {'NaN' if has_nan else 'inf'}; no parameter was updated")


def check_hyperparameter(value, name, *, low=0.0, high=None, inclusive_high=True, message=None):
    """Raise torch's ValueError ("Invalid learning rate: -1") unless low <= value (<= high).

    Non-numbers raise TypeError. ``message`` is torch's wording for the name.
    """
    wording = message or f"Invalid {name} value"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value) or value < low or (
            high is not None and (value > high if inclusive_high else value >= high)):
        raise ValueError(f"{wording}: {value}")


def _betas_as_tuple(group):
    """``betas=[0.9, 0.999]`` is kept as the tuple torch keeps (and state dicts compare)."""
    if isinstance(group.get("betas"), list):
        group["betas"] = tuple(group["betas"])
    return group


def check_flags(group, *names):
    """TypeError unless each of the named hyperparameters (those the group has) is True or
    False: a flag given as 1 or "yes" is a mistake, not a truthy value."""
    for name in names:
        if name in group and not isinstance(group[name], (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {group[name]!r}")


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with ``params`` and hyperparameters) and
    ``state`` (a dict per Parameter), exactly as ``torch.optim.Optimizer`` does.

    A subclass names its hyperparameters' checks (``check``, shared with its torch twin) and
    its pure update function (``update``); each step calls
    ``update(p.data, p.grad, state, **hyperparameters)`` for every parameter with a gradient.
    """

    check = None   # group -> None, raising torch's errors
    update = None  # (param, grad, state, **hyperparameters) -> None, in place

    def __init__(self, params, defaults, check_finite=False):
        self._configure(defaults, check_finite)
        self._bind(params)

    def _configure(self, defaults, check_finite):
        """Everything but the parameters: flags, defaults (checked), empty state."""
        if not isinstance(check_finite, (bool, np.bool_)):
            raise TypeError(f"check_finite must be True or False, got {check_finite!r}")
        self.check_finite = bool(check_finite)
        self._step_count = 0
        self.defaults = _betas_as_tuple(dict(defaults))
        self._check_group(self.defaults)  # bad hyperparameters are reported before bad params
        self.state = {}
        self.param_groups = []

    def _bind(self, params):
        """Add ``params`` (Parameters, or param-group dicts) as the optimizer's groups."""
        if isinstance(params, (Parameter, dict)):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Parameters or dicts, but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyperparameters (the rest from defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = _betas_as_tuple(dict(param_group))
        params = group.get("params")
        params = [params] if isinstance(params, Parameter) else list(params or [])
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(f"optimizer can only optimize ddlopt.Parameter objects, got "
                                f"{type(p).__name__}; wrap arrays as ddlopt.Parameter(array)")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate a group's hyperparameters with torch's messages."""
        if self.check is not None:
            self.check(group)

    def zero_grad(self, set_to_none=True):
        """Reset every gradient: to None (the default, as in torch) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.fill(0.0)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given.

        A NaN or infinite gradient flows into the parameters, as in torch; with
        ``check_finite=True`` it raises FloatingPointError instead, naming the parameter and
        the step, before any parameter is changed.
        """
        loss = closure() if closure is not None else None
        self._step_count += 1
        if self.check_finite:
            self._require_finite_gradients()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._update(p, p.grad, self.state.setdefault(p, {}), group)
        return loss

    def _update(self, p, grad, state, group):
        self.update(p.data, grad, state, **self._hyperparameters(group))

    def _hyperparameters(self, group):
        """The group's values of this optimizer's hyperparameters. Other keys are ignored, as
        torch ignores them: a scheduler keeps ``initial_lr`` (and OneCycleLR ``max_lr``...)
        in the groups."""
        return {name: group[name] for name in self.defaults}

    def _require_finite_gradients(self):
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is not None and not np.all(np.isfinite(p.grad)):
                    raise non_finite_gradient_error(self._step_count, g, i, p.data.shape,
                                                    bool(np.isnan(p.grad).any()))

    # -- saving and resuming ---------------------------------------------------------------
    def state_dict(self):
        """A deep copy of the state and hyperparameters, parameters replaced by their index
        (torch's layout), so a run resumed from it follows the same trajectory to the bit."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        params = [p for g in self.param_groups for p in g["params"]]
        state = {index[id(p)]: copy.deepcopy(self.state[p]) for p in params if p in self.state}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict()`` from an optimizer over
        parameters of the same shapes, in the same groups."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for ours, saved in zip(self.param_groups, saved_groups):
            if len(ours["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        by_index = {i: p for g, saved in zip(self.param_groups, saved_groups)
                    for p, i in zip(g["params"], saved["params"])}
        self.state = {}
        for i, state in state_dict["state"].items():
            p = by_index[int(i)]
            state = copy.deepcopy(state)
            for key, value in state.items():
                expected = self._state_shape(key, p.data.shape)
                if isinstance(value, np.ndarray) and value.shape != expected:
                    raise ValueError(f"state {key!r} has shape {value.shape}, "
                                     f"expected {expected} for a parameter of shape "
                                     f"{p.data.shape}")
            self.state[p] = state
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})

    def _state_shape(self, key, shape):
        """The shape of state ``key`` for a parameter of ``shape``: the parameter's own,
        unless an optimizer keeps a smaller summary (Adafactor's factors)."""
        return shape

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])
