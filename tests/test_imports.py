"""`import ddlopt` needs NumPy alone: torch and matplotlib load only where they are used."""

import subprocess
import sys


def loaded_by(module, candidates):
    """Which of ``candidates`` a fresh interpreter has loaded after ``import module``."""
    code = f"import sys, {module}; print(sorted(m for m in {candidates!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_ddlopt_loads_neither_torch_nor_matplotlib():
    assert loaded_by("ddlopt", ("torch", "matplotlib", "sklearn", "tqdm", "plotly")) == "[]"


def test_the_interactive_figures_load_plotly_and_matplotlib_only_when_drawn():
    assert loaded_by("ddlopt.interactive", ("torch", "matplotlib", "plotly")) == "[]"


def test_set_seed_seeds_numpy_and_returns_a_generator():
    import numpy as np
    import pytest

    import ddlopt

    rng = ddlopt.set_seed(3)
    first = (np.random.rand(), rng.random())
    rng = ddlopt.set_seed(3)
    assert (np.random.rand(), rng.random()) == first
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        ddlopt.set_seed(-1)
    with pytest.raises(TypeError, match="seed must be a non-negative integer, got float 1.5"):
        ddlopt.set_seed(1.5)


def test_set_seed_seeds_torch_when_it_is_loaded():
    import torch

    import ddlopt

    ddlopt.set_seed(5)
    a = torch.rand(3)
    ddlopt.set_seed(5)
    assert torch.equal(torch.rand(3), a)
