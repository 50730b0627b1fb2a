"""The HTML book builds with Sphinx warnings as errors, and every chapter page shows its
equations, figures and exercises."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, book_notebooks


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    """Build the whole book from scratch (-W: any warning fails; -n: nitpicky references)."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book if jupyter_book.exists() else shutil.which("jupyter-book")),
               "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going", "--all"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out / "_build" / "html"


def image_outputs(notebook):
    nb = json.loads(notebook.read_text())
    return sum("image/png" in out.get("data", {})
               for cell in nb["cells"] if cell["cell_type"] == "code" for out in cell["outputs"])


def test_every_toc_page_is_built(html):
    for name in book_notebooks.toc_files():
        assert (html / f"{name}.html").exists(), f"{name}.html was not built"
    assert (html / "index.html").exists()


@pytest.mark.parametrize("notebook", book_notebooks.toc_notebooks(), ids=lambda p: p.name)
def test_chapter_page_shows_its_figures_math_and_exercises(html, notebook):
    page = html / notebook.relative_to(ROOT).with_suffix(".html")
    text = page.read_text()
    figures = [src for src in re.findall(r'<img[^>]+src="([^"]+)"', text) if "/_images/" in src]
    assert len(figures) == image_outputs(notebook), "every figure output appears on the page"
    for src in figures:
        image = (page.parent / src).resolve()
        assert image.exists() and image.stat().st_size > 1000, f"missing figure {src}"
    assert text.count('class="math') >= 5, "equations are rendered as math"
    assert "_static/mathjax/" in text, "MathJax is served from the site itself, not a CDN"
    assert 'class="admonition exercise' in text or "exercise admonition" in text, "exercises render"
    assert "solution dropdown" in text, "solutions are hidden until the reader opens them"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    colab = (f"{config['launch_buttons']['colab_url']}/github/{repo}/blob/"
             f"{config['repository']['branch']}/{notebook.relative_to(ROOT)}")
    assert colab in text, f"the Colab button opens {colab}"
    assert "google.colab" not in text, "the Colab install cell is removed from the HTML"
