"""What every ddlopt.torch optimizer shares: the NumPy twin's hyperparameter checks, lazy
state, and the choice between the per-tensor loop and the ``torch._foreach_*`` path."""

import torch

from ..optim.optimizer import non_finite_gradient_error


class TwinOptimizer(torch.optim.Optimizer):
    """A subclass sets ``check`` (the NumPy twin's validation, so both raise the same
    errors) and writes ``_init_state``, ``_single_tensor`` and ``_foreach``; the last two get
    the group's parameters that have gradients, their gradients and their state dicts.

    ``foreach=None`` takes the foreach path (one kernel per operation for all tensors)
    when every parameter is on a CUDA device, the per-tensor loop otherwise, as torch does.
    """

    check = None

    def __init__(self, params, defaults, foreach, check_finite=False):
        self.check(defaults)
        if not isinstance(check_finite, bool):
            raise TypeError(f"check_finite must be True or False, got {check_finite!r}")
        self.check_finite = check_finite
        self._finite_step = 0
        super().__init__(params, {**defaults, "foreach": foreach})

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        self.check(self.param_groups[-1])

    def _init_state(self, p, state, group):
        """Fill a parameter's empty state before its first step."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._finite_step += 1
        if self.check_finite:  # costs a device sync: off by default, as torch has no such check
            for g, group in enumerate(self.param_groups):
                for i, p in enumerate(group["params"]):
                    if p.grad is not None and not torch.isfinite(p.grad).all():
                        raise non_finite_gradient_error(self._finite_step, g, i, p.shape,
                                                        bool(torch.isnan(p.grad).any()))
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            states = []
            for p in params:
                state = self.state[p]
                if not state:
                    self._init_state(p, state, group)
                states.append(state)
            foreach = group["foreach"]
            if foreach is None:
                foreach = all(p.is_cuda for p in params)
            update = self._foreach if foreach else self._single_tensor
            update(params, [p.grad for p in params], states, group)
        return loss
