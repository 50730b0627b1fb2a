"""The fused Triton steps (ddlopt.torch.fused) against the references, on CPU tensors.

CI has no GPU: the kernels run in Triton's interpreter (TRITON_INTERPRET=1, set here before
triton is first imported; ddlopt.torch.fused.INTERPRET_ON_CPU lets a fused step run on CPU
tensors). The interpreter takes milliseconds per block (per program of the launch), so the
tensors are small: three of different sizes, one block each, one without a gradient on every
third step (its step count falls behind: the per-tensor bias corrections are exercised).
Each optimizer runs 1000 steps with its flags all on; the other flag sets run 200 steps;
a tensor over several blocks with a ragged end has a test of its own. The trajectories and
cases live in benchmarks/fused_check.py, which runs them on a GPU too
(benchmarks/gpu_run.sh).
"""

import os
import sys
import warnings

os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported, or it compiles for a GPU

import numpy as np
import pytest
import torch

pytest.importorskip("triton")

from conftest import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT))

import ddlopt.torch  # noqa: E402
from benchmarks.fused_check import (CASES, TOLERANCE, kernel_corrections,  # noqa: E402
                                    max_relative_error, same_bits, trajectory)
from ddlopt.torch import fused  # noqa: E402


@pytest.fixture(autouse=True)
def interpret_on_cpu(monkeypatch):
    monkeypatch.setattr(fused, "INTERPRET_ON_CPU", True)


@pytest.mark.parametrize("case", CASES)
def test_fused_follows_torch_optim_and_the_per_tensor_path(case):
    ours, reference, kwargs, steps = CASES[case]
    fused_run = trajectory(ours, steps, fused=True, **kwargs)
    torch_run = trajectory(reference, steps, foreach=False, **kwargs)
    per_tensor = trajectory(ours, steps, foreach=False, **kwargs)
    assert max_relative_error(fused_run, torch_run) <= TOLERANCE
    assert max_relative_error(fused_run, per_tensor) <= TOLERANCE
    assert max_relative_error([fused_run[-1]], [fused_run[0]]) > 1e-3  # and it moved


@pytest.mark.parametrize("cls, kwargs", [
    (ddlopt.torch.Adam, dict(lr=1e-2, weight_decay=0.1)),
    (ddlopt.torch.AdamW, dict(lr=1e-2, amsgrad=True)),
    (ddlopt.torch.RMSprop, dict(lr=1e-3, centered=True)),
])
def test_capturable_gives_the_same_numbers_to_the_bit(cls, kwargs):
    steps = 100
    plain = trajectory(cls, steps, fused=True, **kwargs)
    capturable = trajectory(cls, steps, fused=True, capturable=True, **kwargs)
    assert same_bits(plain, capturable)


def test_the_kernels_bias_corrections_equal_the_hosts_to_the_bit():
    """capturable=True: the kernel's float64 arithmetic (bias_corrections) against the
    host's (adam_scalars), for t = 1..300 and 300 counts up to 2^24, one program each."""
    gen = torch.Generator().manual_seed(0)
    counts = torch.cat([torch.arange(1, 301), torch.randint(301, 2**24, (300,), generator=gen)])
    for lr, beta1, beta2 in [(3e-4, 0.9, 0.999), (1e-2, 0.0, 0.3)]:
        host = fused.adam_scalars(counts.tolist(), lr, beta1, beta2, device="cpu")
        assert torch.equal(host, kernel_corrections(counts, lr, beta1, beta2))
    assert host[0, 0].item() == pytest.approx(1e-2, rel=1e-7)   # lr / (1 - beta1), beta1 = 0


def test_power_is_exact_where_the_product_is():
    assert fused.power(0.5, 10) == 0.5**10 and fused.power(3.0, 0) == 1.0
    assert fused.power(0.9, 1) == 0.9 and fused.power(0.0, 5) == 0.0
    assert fused.power(0.999, 12345) == pytest.approx(0.999**12345, rel=1e-13)


def test_float_bits_round_trip():
    import struct
    for x in (1e-3, 0.0, 0.999, 5e-324):
        assert struct.unpack("<d", struct.pack("<q", fused.float_bits(x)))[0] == x


def test_capturable_keeps_the_step_count_on_the_parameters_device():
    w = torch.zeros(3, requires_grad=True)
    opt = ddlopt.torch.Adam([w], fused=True, capturable=True)
    w.grad = torch.ones(3)
    opt.step()
    assert opt.state[w]["step"].device == w.device and opt.state[w]["step"].item() == 1


def test_a_tensor_over_several_blocks_with_a_ragged_end():
    shapes = [(2100,), (3,)]    # blocks of 1024: 1024 + 1024 + 52
    kwargs = dict(lr=1e-2, amsgrad=True)
    fused_run = trajectory(ddlopt.torch.Adam, 30, 3, shapes=shapes, fused=True, **kwargs)
    torch_run = trajectory(torch.optim.Adam, 30, 3, shapes=shapes, **kwargs)
    assert max_relative_error(fused_run, torch_run) <= TOLERANCE


def test_block_table_covers_every_element_once():
    numels = [1, 1024, 1025, 3000, 7]
    block_tensor, block_start = fused.block_table(numels, 1024)
    covered = [set() for _ in numels]
    for t, start in zip(block_tensor.tolist(), block_start.tolist()):
        covered[t] |= set(range(start, min(start + 1024, numels[t])))
    assert [len(c) for c in covered] == numels
    assert block_tensor.tolist() == [0, 1, 2, 2, 3, 3, 3, 4]


def test_outside_cuda_fused_warns_once_and_takes_the_foreach_path(monkeypatch):
    monkeypatch.setattr(fused, "INTERPRET_ON_CPU", False)
    runs = {}
    for fused_flag in (True, None):
        w = torch.ones(5, requires_grad=True)
        opt = ddlopt.torch.Adam([w], lr=0.1, fused=fused_flag)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                w.grad = torch.arange(5.0)
                opt.step()
        runs[fused_flag] = (w.detach().clone(), [str(c.message) for c in caught])
    assert torch.equal(runs[True][0], runs[None][0])
    assert runs[None][1] == []
    assert len(runs[True][1]) == 1 and "foreach path" in runs[True][1][0]


def test_fused_on_cuda_without_triton_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(fused, "triton_available", lambda: False)

    class FakeCuda:
        dtype, is_cuda = torch.float32, True

    with pytest.raises(RuntimeError, match="pip install triton"):
        fused.fused_runs_here([FakeCuda()])


def test_float64_parameters_are_not_fused():
    assert not fused.fused_runs_here([torch.zeros(3, dtype=torch.float64)])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(fused="yes"), TypeError, "fused must be None, True or False"),
    (dict(capturable=1), TypeError, "capturable must be True or False"),
    (dict(fused=True, foreach=True), ValueError, "fused=True and foreach=True"),
    (dict(capturable=True), ValueError, "capturable=True needs fused=True"),
])
def test_bad_fused_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        ddlopt.torch.Adam([torch.zeros(2, requires_grad=True)], **kwargs)


def test_non_contiguous_tensors_are_refused():
    w = torch.zeros(4, 6).t().requires_grad_()    # a transposed view: not contiguous
    opt = ddlopt.torch.SGD([w], lr=0.1, fused=True)
    w.grad = torch.ones(6, 4)
    with pytest.raises(ValueError, match="contiguous"):
        opt.step()


def test_no_gradient_no_update_and_a_late_momentum_buffer():
    """A tensor that first gets a gradient on step 2 starts its buffer there (b_1 = g_1),
    while the others update theirs: the two kinds go to two launches."""
    kwargs = dict(lr=0.1, momentum=0.9)
    results = []
    for options in (dict(fused=True), dict(foreach=False)):
        a, b = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
        opt = ddlopt.torch.SGD([a, b], **kwargs, **options)
        a.grad = torch.full((3,), 0.5)
        opt.step()
        assert torch.equal(b, torch.ones(2))
        b.grad = torch.full((2,), 2.0)
        opt.step()
        results.append([a.detach().clone(), b.detach().clone()])
    assert all(torch.allclose(x, y, rtol=1e-7, atol=0) for x, y in zip(*results))


def test_the_fused_state_dict_loads_into_torch_optim():
    """The fused step's state is torch's layout: it loads into torch.optim.Adam."""
    w = torch.nn.Parameter(torch.ones(3))
    ours = ddlopt.torch.Adam([w], fused=True)
    for _ in range(2):
        w.grad = torch.full((3,), 0.5)
        ours.step()
    theirs = torch.optim.Adam([w])
    theirs.load_state_dict(ours.state_dict())
    assert all(np.array_equal(theirs.state[w][k].numpy(), v.numpy())
               for k, v in ours.state[w].items())


def test_full_blocks_and_ragged_ends_split_into_two_launches():
    numels = [1, 1024, 1025, 3000, 7]
    full = fused.block_table(numels, 1024, full=True)
    ragged = fused.block_table(numels, 1024, full=False)
    every = fused.block_table(numels, 1024)
    pairs = lambda table: set(zip(*(t.tolist() for t in table)))   # noqa: E731
    assert pairs(full) | pairs(ragged) == pairs(every) and not pairs(full) & pairs(ragged)
    assert pairs(full) == {(1, 0), (2, 0), (3, 0), (3, 1024)}


@pytest.mark.parametrize("vectorize", [False, True])
def test_vectorized_and_plain_launches_give_the_same_bits(monkeypatch, vectorize):
    """VECTORIZE only changes how the blocks are launched and what the compiler is told; a
    tensor over full blocks and a ragged end exercises both launches."""
    shapes = [(2048,), (1030,), (3,)]
    kwargs = dict(lr=1e-2, weight_decay=0.1)
    monkeypatch.setattr(fused, "VECTORIZE", vectorize)
    run = trajectory(ddlopt.torch.Adam, 20, 2, shapes=shapes, fused=True, **kwargs)
    monkeypatch.setattr(fused, "VECTORIZE", not vectorize)
    other = trajectory(ddlopt.torch.Adam, 20, 2, shapes=shapes, fused=True, **kwargs)
    assert same_bits(run, other)


def test_a_view_off_the_16_byte_grid_is_not_hinted_and_still_right():
    """A contiguous view one float into its storage is 4-byte aligned only: the table must
    not promise 16 (on a GPU a vector load there faults or reads the wrong bytes)."""
    storage = torch.zeros(2049)
    w = storage[1:].requires_grad_()
    reference = torch.zeros(2048, requires_grad=True)
    ours, theirs = ddlopt.torch.SGD([w], lr=0.1, fused=True), torch.optim.SGD([reference], lr=0.1)
    for opt, p in ((ours, w), (theirs, reference)):
        p.grad = torch.linspace(-1, 1, 2048)
        opt.step()
    table = ours._launch_tables[0]["plain"]
    assert table.align == 1 and torch.equal(w.detach(), reference.detach())


def test_where_the_step_counts_live():
    """On the device with capturable, or fused under STEPS_ON_DEVICE (the default; read when
    the state is created), where the kernel reads them. On a CPU both places are the CPU, so
    the GPU run checks the device case (benchmarks/fused_check.py)."""
    assert fused.STEPS_ON_DEVICE                      # the default, as torch's fused
    assert fused.on_device(dict(fused=True, capturable=False))
    assert fused.on_device(dict(fused=False, capturable=True))
    assert not fused.on_device(dict(fused=False, capturable=False))
    with fused.launch_settings(STEPS_ON_DEVICE=False):
        assert not fused.on_device(dict(fused=True, capturable=False))
        assert fused.on_device(dict(fused=True, capturable=True))
    assert fused.STEPS_ON_DEVICE   # restored


def test_launch_settings_refuse_unknown_names():
    with pytest.raises(ValueError, match="unknown launch settings.*STEPS_ON_DEVICE"):
        with fused.launch_settings(VECTORISE=False):
            pass
