"""What every ddlopt.torch optimizer shares: the NumPy twin's hyperparameter checks, lazy
state, and the choice between the per-tensor loop, the ``torch._foreach_*`` path and (where a
subclass writes ``_fused``) one Triton kernel per group (:mod:`ddlopt.torch.fused`)."""

import torch

from . import fused as fused_steps

from ..optim.optimizer import _betas_as_tuple, non_finite_gradient_error


class TwinOptimizer(torch.optim.Optimizer):
    """A subclass sets ``check`` (the NumPy twin's validation, so both raise the same
    errors) and writes ``_init_state``, ``_single_tensor`` and ``_foreach``; the last two get
    the group's parameters that have gradients, their gradients and their state dicts.

    ``foreach=None`` takes the foreach path (one kernel per operation for all tensors)
    when every parameter is on a CUDA device, the per-tensor loop otherwise, as torch does.

    A subclass with a fused step passes ``fused`` (None, False or True, as in torch.optim;
    None means False here) and ``capturable`` in its defaults and writes ``_fused(params,
    grads, states, group, table)``. Where ``fused=True`` cannot run (not CUDA float32) the
    step warns once and takes the foreach path.
    """

    check = None

    def __init__(self, params, defaults, foreach, check_finite=False):
        defaults = _betas_as_tuple(dict(defaults))
        self.check(defaults)
        check_fused_options(foreach, defaults)
        if not isinstance(check_finite, bool):
            raise TypeError(f"check_finite must be True or False, got {check_finite!r}")
        self.check_finite = check_finite
        self._finite_step = 0
        super().__init__(params, {**defaults, "foreach": foreach})

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        self.check(self.param_groups[-1])
        check_fused_options(self.param_groups[-1]["foreach"], self.param_groups[-1])

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
                    if p.grad is not None and not global_item(torch.isfinite(p.grad).all()):
                        has_nan = global_item(torch.isnan(p.grad).any())
                        raise non_finite_gradient_error(self._finite_step, g, i, p.shape,
                                                        has_nan)
        for index, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            states = []
            for p in params:
                state = self.state[p]
                if not state:
                    self._init_state(p, state, group)
                states.append(state)
            grads = [p.grad for p in params]
            if group.get("fused"):
                if fused_steps.fused_runs_here(params + grads):
                    tables = self.__dict__.setdefault("_launch_tables", {})
                    self._fused(params, grads, states, group, tables.setdefault(index, {}))
                    continue
                fused_steps.warn_fallback(self, params)
                self._foreach(params, grads, states, group)
                continue
            foreach = group["foreach"]
            if foreach is None:
                foreach = all(p.is_cuda for p in params)
            update = self._foreach if foreach else self._single_tensor
            update(params, grads, states, group)
        return loss


def check_fused_options(foreach, group):
    """torch.optim's rules for ``fused`` and ``capturable``, with messages that name them."""
    if not (group.get("fused") is None or isinstance(group["fused"], bool)):
        raise TypeError(f"fused must be None, True or False, got {group['fused']!r}")
    if not isinstance(group.get("capturable", False), bool):
        raise TypeError(f"capturable must be True or False, got {group['capturable']!r}")
    if group.get("fused") and foreach:
        raise ValueError("fused=True and foreach=True cannot be asked for together: fused is "
                         "one kernel for the whole step, foreach one kernel per operation")
    if group.get("capturable") and not group.get("fused"):
        raise ValueError("capturable=True needs fused=True in ddlopt.torch: only the fused "
                         "step keeps its bias corrections on the device")


# ---- Sharded parameters: FSDP2's fully_shard makes each parameter a DTensor, one shard per
# process. An elementwise step runs on DTensors as on tensors (DTensor runs each operation
# on the local shards); these two helpers serve where a step looks at a whole tensor.

def global_item(value):
    """The number in a 0-d tensor. On a DTensor, ``.item()`` reads this process's partial
    value alone (the norm of its own shard, not of the parameter): gather it first."""
    if hasattr(value, "full_tensor"):
        value = value.full_tensor()
    return value.item()


def laid_out_like(update, param):
    """``update`` laid out over the processes as ``param`` is, where ``param`` is a DTensor
    (FSDP2's ``fully_shard`` makes each parameter one): a tensor computed from whole rows
    or columns (Adafactor's factored statistics) may come out replicated where the parameter
    is sharded, and DTensor adds two such tensors in place only when they agree."""
    placements = getattr(param, "placements", None)
    if placements is None or update.placements == placements:
        return update
    return update.redistribute(param.device_mesh, placements)
