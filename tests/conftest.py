"""Shared test set-up: the repository root, the book's notebook list (.ci/notebooks.py), the
built book, and a one-chapter demo book that shows the standard's page mechanics."""

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
    return build_book(ROOT, tmp_path_factory.mktemp("book"))


def build_book(source, out):
    """`jupyter-book build` of the book at source into out, from scratch, -W -n."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book if jupyter_book.exists() else shutil.which("jupyter-book")),
               "build", str(source), "--path-output", str(out), "-W", "-n", "--keep-going", "--all"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out / "_build" / "html"


def pytest_terminal_summary(terminalreporter):
    """After a run of the standard's tests: the claim cells of each chapter."""
    ran = any(getattr(report, "nodeid", "").startswith("tests/test_book_standard.py")
              for reports in terminalreporter.stats.values() for report in reports)
    if not ran:
        return
    import book_standard

    terminalreporter.section("claim cells per chapter (tests/book_standard.py)")
    for path in book_notebooks.toc_notebooks():
        count = len(book_standard.claim_cells(book_standard.load(path)))
        pending = "  pending" if path.stem in book_standard.PENDING else ""
        terminalreporter.write_line(f"{path.stem:<24}{count:>4}{pending}")


DEMO_TOO_WIDE = "too_wide"


def demo_chapter():
    """A chapter that exercises the page: a code cell and its output, a claim cell, and a
    code solution, each line exactly LINE_LIMIT characters wide; one code line wider, which
    must scroll; and a claim cell left unfolded (tagged after the normalization), which the
    HTML check must catch."""
    import nbformat
    from nbformat import v4

    from book_standard import CLAIM_TAG, LINE_LIMIT

    line = "x = " + "1" * (LINE_LIMIT - 4)
    printed = [v4.new_output("stream", name="stdout", text="y" * LINE_LIMIT + "\n")]
    cells = [
        v4.new_markdown_cell("# Demo\n\n```{math}\n:label: eq-demo\na = b\n```\n"),
        v4.new_code_cell(line, execution_count=1, outputs=printed),
        v4.new_code_cell("assert x > 0  # " + "c" * (LINE_LIMIT - 16), execution_count=2,
                         metadata={"tags": [CLAIM_TAG]}),
        v4.new_markdown_cell("```{exercise} Demo\n:label: ex-demo\n\nDo it.\n```\n\n"
                             "````{solution-start} ex-demo\n:class: dropdown\n````\nLike this:"),
        v4.new_code_cell(line, execution_count=3, outputs=printed),
        v4.new_markdown_cell("````{solution-end}\n````"),
        v4.new_code_cell(f"{DEMO_TOO_WIDE} = '" + "w" * LINE_LIMIT + "'", execution_count=4),
    ]
    nb = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    book_notebooks.normalize_claim_cells(nb)  # what `.ci/notebooks.py execute` does
    nb.cells.append(v4.new_code_cell("assert x != 0", execution_count=5,
                                     metadata={"tags": [CLAIM_TAG]}))
    return nbformat.writes(nb)


def build_demo(root, numbered):
    """demo_chapter() as chapter 1 of a book with this book's own configuration."""
    shutil.copy(ROOT / "_config.yml", root)
    for name in ("_ext", "_static"):
        shutil.copytree(ROOT / "book" / name, root / "book" / name)
    for name in ("references.bib", "favicon.svg"):
        shutil.copy(ROOT / "book" / name, root / "book")
    (root / "book" / "intro.md").write_text("# Intro\n\nA demo.\n")
    (root / "book" / "01_demo.ipynb").write_text(demo_chapter())
    chapters = "    chapters:\n      - file: book/01_demo\n"
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n" + (
        "parts:\n  - caption: Chapters\n    numbered: 1\n" + chapters if numbered
        else chapters.replace("    ", "", 1).replace("      -", "  -")))
    return build_book(root, root)


@pytest.fixture(scope="session")
def demo_html(tmp_path_factory):
    """The demo chapter built as this book builds its chapters."""
    return build_demo(tmp_path_factory.mktemp("demo"), numbered=True)


@pytest.fixture(scope="session")
def unnumbered_demo_html(tmp_path_factory):
    """The demo chapter in a book whose table of contents numbers nothing (the book's own
    table of contents before issue 16): what the numbering check must catch."""
    return build_demo(tmp_path_factory.mktemp("unnumbered"), numbered=False)
