"""The HTML book builds with Sphinx warnings as errors, and every chapter page shows its
equations, figures and exercises, numbered per chapter, with its claim cells folded."""

import json
import re
from urllib.parse import unquote, urldefrag

import pytest
import yaml
from bs4 import BeautifulSoup

import book_standard as standard
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
    # RMSprop: Hinton, Srivastava and Swersky's lecture 6e (cited elsewhere as Tieleman and Hinton)
    for author in ["Robbins", "Polyak", "Nesterov", "Duchi", "Swersky", "Kingma", "Reddi",
                   "Loshchilov", "Dozat", "Smith", "Glorot", "He,", "Srivastava"]:
        assert author in text, f"no work by {author} in the bibliography"


def claim_folds(page):
    """The folds of a page whose title reads "How this is checked"."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    return [details for details in soup.find_all("details")
            if details.find("p", class_="collapsed") is not None
            and details.find("p", class_="collapsed").get_text(strip=True)
            == standard.CLAIM_FOLD["code_prompt_show"]]


def fold_problems(notebook, page):
    """Every claim cell of the notebook is one fold on its page, closed, holding its code."""
    claims = standard.claim_cells(standard.load(notebook))
    folds = claim_folds(page)
    problems = [] if len(folds) == len(claims) else [
        f"{len(claims)} claim cells but {len(folds)} folds titled "
        f"{standard.CLAIM_FOLD['code_prompt_show']!r} on the page"]
    for fold in folds:
        if fold.has_attr("open") or "assert" not in fold.find("pre").get_text():
            problems.append(f"a fold open or without its assertion: {fold.get_text()[:80]}")
        hide = fold.find("p", class_="expanded").get_text(strip=True)
        if hide != standard.CLAIM_FOLD["code_prompt_hide"]:
            problems.append(f"an open fold reads {hide!r}")
    return problems


def test_a_claim_cell_folds_under_how_this_is_checked(demo_html):
    """The demo's first claim cell, normalized as `.ci/notebooks.py execute` does, is one
    closed fold titled "How this is checked"; its second, tagged but not normalized, is not
    folded, and the check says so."""
    page = demo_html / "book" / "01_demo.html"
    folds = claim_folds(page)
    assert len(folds) == 1 and "assert x > 0" in folds[0].find("pre").get_text()
    notebook = demo_html.parent.parent / "book" / "01_demo.ipynb"
    assert fold_problems(notebook, page) == [
        f"2 claim cells but 1 folds titled {standard.CLAIM_FOLD['code_prompt_show']!r} on the page"]


@pytest.mark.parametrize("notebook", standard.chapter_params(book_notebooks.toc_notebooks()))
def test_every_claim_cell_is_folded_on_the_page(html, notebook):
    problems = fold_problems(notebook, html / notebook.relative_to(ROOT).with_suffix(".html"))
    assert not problems, f"{notebook.name}: {problems}"


def numbering_problems(page, number):
    """Chapter `number` is titled "number. ...", its equations (number.1), (number.2), ...
    and its exercises number.1, number.2, ..."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    problems = []
    title = soup.select_one("article h1").find("span", class_="section-number")
    if title is None or title.get_text(strip=True) != f"{number}.":
        problems.append(f"title {soup.select_one('article h1').get_text(strip=True)[:40]!r}")
    equations = [e.get_text(strip=True).split("#")[0] for e in soup.find_all("span", class_="eqno")]
    if not equations or equations != [f"({number}.{i})" for i in range(1, len(equations) + 1)]:
        problems.append(f"equations {equations[:4]}")
    exercises = [e.get_text(strip=True) for e in soup.select("p.admonition-title span.caption-number")]
    if not exercises or not exercises[0].startswith(f"Exercise {number}.1"):
        problems.append(f"exercises {exercises[:2]}")
    return problems


def test_the_numbering_check_catches_a_book_numbered_throughout(demo_html, unnumbered_demo_html):
    assert numbering_problems(demo_html / "book" / "01_demo.html", 1) == []
    assert numbering_problems(unnumbered_demo_html / "book" / "01_demo.html", 1) == [
        "title 'Demo#'", "equations ['(1)']", "exercises ['Exercise 1']"]


def test_equations_exercises_and_chapters_are_numbered_per_chapter(html):
    """Chapter 5's first equation is (5.1), its first exercise 5.1, its title "5. ...";
    the front and back matter (intro, notation, bibliography) carry no number."""
    for number, notebook in enumerate(book_notebooks.toc_notebooks(), 1):
        page = html / notebook.relative_to(ROOT).with_suffix(".html")
        assert numbering_problems(page, number) == [], notebook.name
    adam = BeautifulSoup((html / "book" / "05_adam.html").read_text(), "html.parser")
    assert adam.find("span", class_="eqno").get_text(strip=True).startswith("(5.1)")
    for name in ("book/intro", "book/notation", "book/bibliography"):
        h1 = BeautifulSoup((html / f"{name}.html").read_text(), "html.parser").select_one("article h1")
        assert h1.find("span", class_="section-number") is None, f"{name} is numbered"
