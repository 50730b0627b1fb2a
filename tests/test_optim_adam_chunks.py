"""The NumPy Adam's fast path (adam_update_in_chunks, what ddlopt.optim.Adam runs): the same
bits as the readable adam_update, and no allocation per step beyond its fixed scratch."""

import itertools
import tracemalloc

import numpy as np
import pytest

import ddlopt
import ddlopt.optim
from ddlopt.optim.adam import CHUNK, SMALL, adam_scratch, adam_update, adam_update_in_chunks

FLAGS = list(itertools.product([False, True], [False, True], [0.0, 0.1], [False, True]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad, maximize, weight_decay, decoupled", FLAGS)
def test_chunks_give_adam_updates_bits(dtype, amsgrad, maximize, weight_decay, decoupled):
    rng = np.random.default_rng(0)
    shape = (2, CHUNK // 2 + 1000)                 # two chunks, the last one short
    readable = rng.standard_normal(shape).astype(dtype)
    fast, scratch = readable.copy(), adam_scratch(dtype)
    readable_state, fast_state = {}, {}
    kwargs = dict(lr=1e-2, betas=(0.8, 0.99), amsgrad=amsgrad, maximize=maximize,
                  weight_decay=weight_decay, decoupled_weight_decay=decoupled)
    for _ in range(20):
        grad = rng.standard_normal(shape).astype(dtype)
        adam_update(readable, grad, readable_state, **kwargs)
        adam_update_in_chunks(fast, grad, fast_state, scratch, **kwargs)
    assert np.array_equal(fast, readable)
    assert readable_state.keys() == fast_state.keys()
    assert all(np.array_equal(fast_state[k], readable_state[k]) for k in readable_state)


def test_the_class_takes_the_fast_path_and_falls_back_for_other_layouts():
    rng = np.random.default_rng(1)
    contiguous = ddlopt.Parameter(rng.standard_normal((500, 40)).astype(np.float32))
    transposed = ddlopt.Parameter(np.asfortranarray(contiguous.data.copy()))
    opt = ddlopt.optim.Adam([contiguous, transposed], lr=0.1)
    for _ in range(3):
        grad = rng.standard_normal((500, 40)).astype(np.float32)
        contiguous.grad, transposed.grad = grad, np.asfortranarray(grad)
        opt.step()
    assert np.dtype(np.float32) in opt._scratch            # the fast path ran
    assert np.array_equal(contiguous.data, transposed.data)  # and agrees with the fallback


def test_small_arrays_take_the_readable_update():
    small = ddlopt.Parameter(np.ones(SMALL - 1))
    small.grad = np.ones(SMALL - 1)
    opt = ddlopt.optim.Adam([small])
    opt.step()
    assert not getattr(opt, "_scratch", None)


def test_a_step_allocates_nothing_but_python_objects():
    """tracemalloc sees NumPy's array allocations: a step on 4 M float32 values (16 MB an
    array) must peak far below one chunk's temporary (64 KiB), let alone one array's."""
    rng = np.random.default_rng(2)
    param = ddlopt.Parameter(rng.standard_normal(4_000_000).astype(np.float32))
    param.grad = rng.standard_normal(param.data.shape).astype(np.float32)
    opt = ddlopt.optim.Adam([param], amsgrad=True, weight_decay=0.1, maximize=True)
    opt.step()                          # the first step makes the state and the scratch
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024
