"""The memory floor of an optimizer step: how many bytes it must move, at the least.

An optimizer step does a handful of arithmetic operations per parameter and moves every
parameter, gradient and state value between memory and the processor: it is bound by memory
bandwidth, not by arithmetic. Counting the bytes gives its floor, ``bytes x N / bandwidth``,
the time no implementation can beat (chapter 10). NumPy only.
"""

__all__ = ["arrays_moved", "step_bytes"]


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
