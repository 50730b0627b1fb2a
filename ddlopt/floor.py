"""The memory floor of an optimizer step: how many bytes it must move, at the least.

An optimizer step does a handful of arithmetic operations per parameter and moves every
parameter, gradient and state value between memory and the processor: it is bound by memory
bandwidth, not by arithmetic. Counting the bytes gives its floor, ``bytes x N / bandwidth``,
the time no implementation can beat (chapter 10). NumPy only.
"""

__all__ = ["arrays_moved", "step_bytes", "zero_bytes"]


def arrays_moved(optimizer, *, momentum=0.0, amsgrad=False, centered=False):
    """``(read, written)``: how many arrays of the parameter's size one step reads and writes.

    Every step reads the parameter and its gradient and writes the parameter; each state
    array (a momentum buffer, Adam's two moments, ...) is read and written back. The
    gradient is only read. (SGD's first momentum step writes its buffer without reading it;
    steady state is what is counted.)
    """
    states = {
        "sgd": 1 if momentum else 0,                         # momentum_buffer
        "adam": 2 + amsgrad, "adamw": 2 + amsgrad,           # exp_avg, exp_avg_sq, (max)
        "rmsprop": 1 + centered + (1 if momentum else 0),    # square_avg, grad_avg, buffer
        "adagrad": 1,                                        # sum
    }
    name = optimizer.lower()
    if name not in states:
        raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(states)}")
    return 2 + states[name], 1 + states[name]


def step_bytes(optimizer, *, itemsize=4, **flags):
    """Bytes one step moves per parameter: (read + written) x ``itemsize`` (4 for float32).
    ``step_bytes("adam")`` is 28: read param, grad, exp_avg, exp_avg_sq, write three."""
    read, written = arrays_moved(optimizer, **flags)
    return (read + written) * itemsize


def zero_bytes(stage, processes, *, param_bytes=2, grad_bytes=2, state_bytes=12):
    """Bytes of model state per parameter that each of ``processes`` data-parallel
    processes holds under ZeRO ``stage`` (Rajbhandari et al., 2020); activations aside.

    Stage 0 is plain data parallelism: every process holds the parameters, the gradients
    and the optimizer state, ``param_bytes + grad_bytes + state_bytes``. Stage 1 shards the
    optimizer state over the processes (``state_bytes / processes``), stage 2 the gradients
    as well, stage 3 the parameters as well (as PyTorch's FSDP does). The defaults are
    mixed-precision Adam, ZeRO's case: 16-bit parameters and gradients (2 bytes each) and
    12 bytes of float32 state (master weights, m and v), 16 bytes in all.
    """
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"stage must be 0, 1, 2 or 3, got {stage!r}")
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be a whole number of at least 1, got {processes!r}")
    sizes = dict(param_bytes=param_bytes, grad_bytes=grad_bytes, state_bytes=state_bytes)
    for name, value in sizes.items():
        if not value >= 0:
            raise ValueError(f"{name} must be at least 0, got {value!r}")
    # what each stage shards, from the last stage's list down: state, then grads, then params
    held = [state_bytes, grad_bytes, param_bytes]
    sharded, whole = held[:stage], held[stage:]
    return sum(whole) + sum(sharded) / processes
