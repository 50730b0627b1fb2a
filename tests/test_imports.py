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


PUBLIC = ["Parameter", "__version__", "callbacks", "check", "clip_grad_norm", "compare", "data",
          "floor", "init", "losses", "lr_finder", "metrics", "nn", "optim", "optimizers",
          "regularization", "schedules", "set_seed", "study", "surfaces", "utils"]


def test_dir_lists_only_what_a_student_uses():
    code = "import ddlopt; print(' '.join(dir(ddlopt))); import ddlopt.plot; print('plot' in dir(ddlopt))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, plot_after_import = out.stdout.split("\n")[:2]
    assert names.split() == sorted(PUBLIC)  # no np, sys, random, params, finder, ...
    assert plot_after_import == "True"      # a subpackage shows once it is imported


def test_every_public_name_resolves_and_star_import_gives_them():
    import ddlopt

    namespace = {}
    exec("from ddlopt import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(PUBLIC)
    assert all(namespace[name] is getattr(ddlopt, name) for name in PUBLIC)
