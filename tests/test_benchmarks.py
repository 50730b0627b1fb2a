"""benchmarks.optim_step keeps working (its helpers, one tiny CPU row); no timing is asserted."""

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT))

from benchmarks import optim_step  # noqa: E402


def test_shapes_split_the_parameters():
    assert optim_step.shapes(10, 3) == [4, 3, 3]
    assert sum(optim_step.shapes(134_000_000, 200)) == 134_000_000


def test_the_floors_come_from_ddlopt_floor():
    assert [optim_step.OPTIMIZERS[name][4] for name in ("SGD momentum", "Adam", "AdamW",
                                                        "RMSprop")] == [20, 28, 28, 20]


def test_a_cpu_row_times_every_cpu_path():
    makers = optim_step.paths("Adam", [300, 7], "cpu")
    assert {("torch.optim", "for-loop"), ("torch.optim", "foreach"), ("ddlopt", "per-tensor"),
            ("ddlopt", "foreach"), ("ddlopt", "NumPy")} <= set(makers)
    seconds = optim_step.time_paths(makers, "cpu", repeats=1, block=1)
    assert set(seconds) == set(makers) and all(s > 0 for s in seconds.values())
