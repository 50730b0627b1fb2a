"""The claim "in Colab, only the first cell is needed", proven: a fresh virtual environment
holding only what Colab preinstalls for this book, plus ddlopt installed from this checkout
as the first cell installs it (a plain, non-editable pip install of the repository), runs
every chapter top to bottom."""

import json
import os
import re
import shutil
import subprocess
import venv

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT, book_notebooks

# What Colab has preinstalled that the chapters use. torch is pinned because a bare "torch"
# pulls a several-GB CUDA build here; Colab's own is whatever Colab ships.
COLAB_PACKAGES = ["numpy", "matplotlib", "scikit-learn", "tqdm", "ipykernel", "torch==2.13.0"]
# Colab ships plotly 5 (5.24.1 in 2025), older than the book's pin: the interactive figures
# must work with it, and ddlopt's loose "plotly>=5.0" must leave it in place.
COLAB_PACKAGES.append("plotly==5.24.1")
# Plotly's notebook renderer, which the interactive figures use there, needs nbformat; Colab's
# Jupyter stack has it (5.10.4 in 2025).
COLAB_PACKAGES.append("nbformat")
# Chapter 10 runs Triton kernels. Colab's torch is a CUDA build, which installs the triton it
# was built with; this CPU stand-in for it does not, so it is added here by hand.
COLAB_PACKAGES.append("triton==3.7.1")


@pytest.fixture(scope="module")
def colab_kernel(tmp_path_factory):
    """A kernel spec for a fresh environment: Colab's packages, then ddlopt from the checkout."""
    home = tmp_path_factory.mktemp("colab")
    env_dir = home / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + COLAB_PACKAGES, check=True, timeout=900)
    # The first cell runs `pip install "ddlopt @ git+URL@main"`: a regular install of the
    # repository's tree, resolving ddlopt's own (loose) dependencies against what is there.
    # From a copy, as a clone would be, so the build leaves nothing in this checkout.
    tree = home / "checkout"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", "_build", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run(pip + [str(tree)], check=True, timeout=600)
    frozen = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True,
                            check=True).stdout
    kernels = home / "share" / "jupyter" / "kernels" / "colab"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    return home / "share" / "jupyter", frozen


def test_the_environment_holds_only_colabs_packages_and_ddlopt(colab_kernel):
    jupyter_path, frozen = colab_kernel
    spec = json.loads((jupyter_path / "kernels" / "colab" / "kernel.json").read_text())
    assert spec["argv"][0].startswith(str(jupyter_path.parent.parent))  # its own interpreter
    names = {re.split(r"[=@ ]", line)[0].lower() for line in frozen.splitlines() if line}
    for absent in ["jupyter-book", "nbval", "pytest", "sphinx", "myst-nb", "hypothesis"]:
        assert absent not in names, f"{absent} is not in Colab; the chapters must not need it"
    for absent in ["lion-pytorch", "schedulefree", "torch-optimizer"]:   # test-only references
        assert absent not in names, f"{absent} is a test dependency; ddlopt must not pull it in"
    assert "ddlopt" in names
    assert "plotly==5.24.1" in frozen.lower(), "ddlopt's install replaced Colab's plotly"


def test_the_first_cell_installs_from_the_repository_only_in_colab():
    for path in book_notebooks.toc_notebooks():
        first = "".join(json.loads(path.read_text())["cells"][0]["source"])
        assert re.search(r'if "google.colab" in sys.modules:\n\s+!pip install -q "ddlopt @ git\+https://', first)


@pytest.mark.parametrize("path", book_notebooks.toc_notebooks(), ids=lambda p: p.name)
def test_every_chapter_runs_top_to_bottom_in_the_colab_environment(colab_kernel, path):
    jupyter_path, _ = colab_kernel
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(jupyter_path) + (os.pathsep + old if old else "")
    book_mode = os.environ.pop("DDLOPT_BOOK", None)  # a reader's kernel is not the book's run
    try:
        NotebookClient(nb, kernel_name="colab", timeout=600,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if old is None:
            del os.environ["JUPYTER_PATH"]
        else:
            os.environ["JUPYTER_PATH"] = old
        if book_mode is not None:
            os.environ["DDLOPT_BOOK"] = book_mode
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
