"""ddlopt.torch.timing: the bandwidth probes move the bytes they count, and interleaved
timing calls every step as often as it says. No timing is asserted beyond being positive."""

import statistics

import pytest
import torch

from ddlopt.torch import timing


def test_probes_count_each_byte_read_and_written_once():
    probes = timing.bandwidth_probes("cpu", megabytes=1)
    n = (1 << 20) // 4
    assert {name: nbytes for name, (_, nbytes) in probes.items()} == {
        "copy": 8 * n, "in-place": 8 * n, "triad": 12 * n}


def test_probes_compute_what_they_are_named_for():
    probes = timing.bandwidth_probes("cpu", megabytes=1)
    for call, _ in probes.values():
        out = call()
        assert out.numel() == (1 << 20) // 4
    assert torch.all(probes["triad"][0]() == 1.5)   # c = a + b / 2 with a = b = 1


def test_bandwidths_are_positive_and_finite():
    result = timing.bandwidths("cpu", megabytes=1, repeats=2)
    assert set(result) == {"copy", "in-place", "triad"}
    assert all(0 < v < float("inf") for v in result.values())


def test_interleaved_warms_up_then_times_every_step_in_rounds():
    calls = []
    steps = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    seconds = timing.interleaved(steps, repeats=3, block=2)
    assert calls == ["a", "b"] + (["a"] * 2 + ["b"] * 2) * 3
    assert set(seconds) == {"a", "b"} and all(s > 0 for s in seconds.values())


def test_interleaved_summary_reduces_the_rounds():
    rounds = []
    timing.interleaved({"a": lambda: None}, repeats=4, block=1,
                       summary=lambda t: rounds.append(list(t)) or statistics.median(t))
    assert len(rounds) == 1 and len(rounds[0]) == 4


@pytest.mark.parametrize("repeats, block", [(0, 1), (1, 0)])
def test_interleaved_rejects_empty_rounds(repeats, block):
    with pytest.raises(ValueError, match="at least 1"):
        timing.interleaved({"a": lambda: None}, repeats=repeats, block=block)


def test_probes_reject_an_empty_array():
    with pytest.raises(ValueError, match="megabytes must be positive"):
        timing.bandwidth_probes("cpu", megabytes=0)


def test_a_torch_stepper_steps_its_own_parameters():
    step = timing.stepper(torch.optim.SGD, [5, 3], lr=0.1)
    params = step.__self__.param_groups[0]["params"]
    before = [p.detach().clone() for p in params]
    step()
    assert [p.shape for p in params] == [(5,), (3,)]
    assert all(p.dtype == torch.float32 for p in params)
    for p, b in zip(params, before):     # one SGD step: p - lr * grad
        assert torch.allclose(p.detach(), b - 0.1 * p.grad)


def test_a_numpy_stepper_steps_ddlopt_parameters():
    import numpy as np
    import ddlopt
    step = timing.stepper(ddlopt.optim.SGD, [4], lr=0.1)
    (param,) = step.__self__.param_groups[0]["params"]
    before = param.data.copy()
    step()
    assert param.data.dtype == np.float32
    np.testing.assert_allclose(param.data, before - 0.1 * param.grad, rtol=1e-6)


def test_a_numpy_stepper_stays_on_the_cpu():
    import ddlopt
    with pytest.raises(ValueError, match="device must be cpu"):
        timing.stepper(ddlopt.optim.SGD, [4], device="meta", lr=0.1)
