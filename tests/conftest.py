"""Shared test set-up: the repository root and the book's notebook list (.ci/notebooks.py)."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_spec = importlib.util.spec_from_file_location("book_notebooks", ROOT / ".ci" / "notebooks.py")
book_notebooks = importlib.util.module_from_spec(_spec)
sys.modules["book_notebooks"] = book_notebooks
_spec.loader.exec_module(book_notebooks)



@pytest.fixture(scope="session")
def html(tmp_path_factory):
    """Build the whole book from scratch (-W: any warning fails; -n: nitpicky references)."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book if jupyter_book.exists() else shutil.which("jupyter-book")),
               "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going", "--all"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out / "_build" / "html"
