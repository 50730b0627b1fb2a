"""The HTML book builds with Sphinx warnings as errors, and every chapter page shows its
equations, figures and exercises."""

import json
import re
from urllib.parse import unquote, urldefrag

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import ROOT, book_notebooks


def image_outputs(notebook):
    """Outputs the HTML shows as an image: a PNG, unless the output also carries HTML (an
    interactive figure whose PNG is its static panel for the PDF, ddlopt.plot.interactive)."""
    nb = json.loads(notebook.read_text())
    return sum("image/png" in out.get("data", {}) and "text/html" not in out.get("data", {})
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
    alts = [alt for alt, src in re.findall(r'<img alt="([^"]*)"[^>]+src="([^"]+)"', text)
            if "/_images/" in src]
    assert len(alts) == len(figures) and all(alts), "every figure carries its alt text"
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


def test_internal_links_and_anchors_resolve(html):
    broken, checked = [], 0
    for page in html.rglob("*.html"):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for a in soup.find_all("a", href=True):
            href = a["href"]
            if re.match(r"^[a-z]+:", href) or href.startswith("//"):
                continue  # external: http(s), mailto, javascript
            checked += 1
            path, anchor = urldefrag(unquote(href))
            target = (page.parent / path).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(html)}: {href} (no such file)")
            elif anchor and target.suffix == ".html":
                ids = {t["id"] for t in BeautifulSoup(target.read_text(), "html.parser").find_all(id=True)}
                if anchor not in ids:
                    broken.append(f"{page.relative_to(html)}: {href} (no such anchor)")
    assert checked > 200, f"only {checked} internal links: is the site complete?"
    assert not broken, "\n".join(broken[:20])


def test_the_bibliography_holds_the_paper_behind_every_method(html):
    text = BeautifulSoup((html / "book" / "bibliography.html").read_text(), "html.parser").get_text()
    for author in ["Robbins", "Polyak", "Nesterov", "Duchi", "Tieleman", "Kingma", "Reddi",
                   "Loshchilov", "Dozat", "Smith", "Glorot", "He,", "Srivastava"]:
        assert author in text, f"no work by {author} in the bibliography"
