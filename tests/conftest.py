"""Shared test set-up: the repository root and the book's notebook list (.ci/notebooks.py)."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_spec = importlib.util.spec_from_file_location("book_notebooks", ROOT / ".ci" / "notebooks.py")
book_notebooks = importlib.util.module_from_spec(_spec)
sys.modules["book_notebooks"] = book_notebooks
_spec.loader.exec_module(book_notebooks)

