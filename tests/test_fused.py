"""The fused Triton steps (ddlopt.torch.fused) against the references, on CPU tensors.

CI has no GPU: the kernels run in Triton's interpreter (TRITON_INTERPRET=1, set here before
triton is first imported; ddlopt.torch.fused.INTERPRET_ON_CPU lets a fused step run on CPU
tensors). The interpreter takes milliseconds per block (per program of the launch), so the
tensors are small: three of different sizes, one block each, one without a gradient on every
third step (its step count falls behind: the per-tensor bias corrections are exercised).
Each optimizer runs 1000 steps with its flags all on; the other flag sets run 200 steps;
a tensor over several blocks with a ragged end has a test of its own.
"""

import os
import warnings

os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported, or it compiles for a GPU

import numpy as np
import pytest
import torch

pytest.importorskip("triton")

import ddlopt.torch  # noqa: E402
from ddlopt.torch import fused  # noqa: E402

SHAPES = [(30, 20), (17,), (5,)]
SKIPPED = 2                          # no gradient on steps divisible by 3
TOLERANCE = 1e-6                     # fp32, 1000 steps: float rounding differs (FMA, lerp)


@pytest.fixture(autouse=True)
def interpret_on_cpu(monkeypatch):
    monkeypatch.setattr(fused, "INTERPRET_ON_CPU", True)


def trajectory(cls, steps, checkpoints=10, shapes=SHAPES, **kwargs):
    """Parameters every steps/checkpoints steps, on a noisy quadratic, in float32 (under
    maximize the quadratic is upside down, so ascent converges too)."""
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen).requires_grad_() for s in shapes]
    sign = -1.0 if kwargs.get("maximize") else 1.0
    curvature = [sign * (torch.rand(s, generator=gen) + 0.1) for s in shapes]
    opt = cls(params, **kwargs)
    seen = []
    for t in range(steps):
        for i, (p, c) in enumerate(zip(params, curvature)):
            if i == SKIPPED and t % 3 == 0:
                p.grad = None
            else:
                p.grad = c * p.detach() + 0.1 * torch.randn(p.shape, generator=gen)
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # a fused run must not fall back to foreach
            opt.step()
        if (t + 1) % (steps // checkpoints) == 0:
            seen.append([p.detach().clone() for p in params])
    if kwargs.get("fused"):
        assert opt._launch_tables, "the fused kernels never ran"
    return seen


def max_relative_error(ours, reference):
    return max(((x - y).norm() / y.norm()).item()
               for step, step_ref in zip(ours, reference, strict=True)
               for x, y in zip(step, step_ref, strict=True))


CASES = {  # name: (ddlopt class, torch.optim class, hyperparameters, steps)
    "Adam L2 amsgrad maximize": (ddlopt.torch.Adam, torch.optim.Adam, dict(
        lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True), 1000),
    "SGD nesterov": (ddlopt.torch.SGD, torch.optim.SGD, dict(
        lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-2), 1000),
    "RMSprop centered momentum": (ddlopt.torch.RMSprop, torch.optim.RMSprop, dict(
        lr=1e-3, centered=True, momentum=0.5, weight_decay=1e-2, maximize=True), 1000),
    "Adam": (ddlopt.torch.Adam, torch.optim.Adam, dict(lr=1e-2), 200),
    "AdamW amsgrad": (ddlopt.torch.AdamW, torch.optim.AdamW, dict(
        lr=1e-2, betas=(0.3, 0.99), weight_decay=0.1, amsgrad=True), 200),  # lerp's other form
    "SGD dampening maximize": (ddlopt.torch.SGD, torch.optim.SGD, dict(
        lr=1e-2, momentum=0.9, dampening=0.3, maximize=True), 200),
    "SGD plain": (ddlopt.torch.SGD, torch.optim.SGD, dict(lr=1e-2, weight_decay=1e-2), 200),
    "RMSprop": (ddlopt.torch.RMSprop, torch.optim.RMSprop, dict(lr=1e-3, alpha=0.3), 200),
}


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
    assert all(torch.equal(x, y) for a, b in zip(plain, capturable) for x, y in zip(a, b))


def test_capturable_bias_corrections_equal_the_hosts_for_every_step():
    """The device arithmetic (tensor pow in float64) against the host's (Python floats)."""
    steps = [torch.tensor(float(k)) for k in range(1, 20001)]
    host = fused.adam_scalars(steps, 3e-4, 0.9, 0.999, capturable=False, device="cpu")
    device = fused.adam_scalars(steps, 3e-4, 0.9, 0.999, capturable=True, device="cpu")
    assert torch.equal(host, device)
    assert host[0, 0].item() == pytest.approx(3e-4 / 0.1, rel=1e-7)   # lr / (1 - beta1)


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
