"""ddlopt.check.step_bytes (chapter 10): the right count passes, each usual slip is named."""

import pytest

from ddlopt import check


@pytest.mark.parametrize("answer, passes, says", [
    (28, True, "28 bytes per parameter"),
    (16, False, "reads only"),
    (32, False, "gradient is read but not written"),
    (24, False, "one array is missing"),
    (7, False, "counts arrays"),
    (56, False, "float64"),
    (30, False, "not 30"),
])
def test_checker_names_the_slip(capsys, answer, passes, says):
    assert check.step_bytes(answer, "adam") is passes
    assert says in capsys.readouterr().out
