"""The interactive figures in a built book, on a test book of their own (the chapters are not
touched): plotly.js is served by the site on the one page that needs it, cells tagged
html-only and pdf-only land in their edition only, and in headless Chromium each figure
renders, every slider and button changes what is drawn, with no console error and no request
leaving localhost. Screenshots of each figure at two settings go to
_build/screenshots/interactive/."""

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

from ddlopt import interactive

NAMES = ["gradient_descent", "momentum", "adam", "schedules", "initialization"]
SCREENSHOTS = ROOT / "_build" / "screenshots" / "interactive"
PDF_MARKER = "static panel for the PDF edition"


def jupyter_book():
    local = Path(sys.executable).parent / "jupyter-book"
    return str(local if local.exists() else shutil.which("jupyter-book"))


def write_test_book(root, explorers):
    """A two-page book: figures.ipynb (each explorer's html-only output cell, as show()
    writes it in the book's runs, and a pdf-only stand-in), and a page with none."""
    (root / "_config.yml").write_text(json.dumps({
        "title": "Interactive figures, tested", "author": "ddlopt", "copyright": "2026",
        "only_build_toc_files": True, "execute": {"execute_notebooks": "off"},
        "html": {"use_repository_button": False, "favicon": "favicon.svg"},
        "sphinx": {"recursive_update": True,
                   "local_extensions": {"book_fixes": str(ROOT / "book" / "_ext")},
                   "config": {"exclude_patterns": ["_build"], "html_context": {
                       "default_mode": "light"}}}}))
    (root / "_toc.yml").write_text(json.dumps({
        "format": "jb-book", "root": "index",
        "chapters": [{"file": "figures"}, {"file": "plain"}]}))
    shutil.copyfile(ROOT / "book" / "favicon.svg", root / "favicon.svg")  # else a 404
    (root / "index.md").write_text("# Interactive figures\n\nA test book.\n")
    (root / "plain.md").write_text("# A page without figures\n\nNothing to draw here.\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata.update({"kernelspec": {"name": "python3", "display_name": "Python 3",
                                       "language": "python"},
                        "language_info": {"name": "python"}})
    nb.cells.append(nbformat.v4.new_markdown_cell("# The five figures"))
    for n, (name, ex) in enumerate(explorers.items(), 1):
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## {name}"))
        html_cell = nbformat.v4.new_code_cell(
            f"explorer = interactive.{name}()\nexplorer.show()", execution_count=2 * n - 1,
            metadata={"tags": ["html-only"]})
        html_cell.outputs = [nbformat.v4.new_output(
            "display_data", data={"text/html": ex.html(), "text/plain": ex.describe()})]
        pdf_cell = nbformat.v4.new_code_cell(
            "explorer.panel()\nplt.show()", execution_count=2 * n,
            metadata={"tags": ["pdf-only", "remove-input"]})
        pdf_cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=f"{PDF_MARKER}: {name}\n")]
        nb.cells += [html_cell, pdf_cell]
    nbformat.write(nb, root / "figures.ipynb")


@pytest.fixture(scope="module")
def explorers():
    return {name: getattr(interactive, name)() for name in NAMES}


@pytest.fixture(scope="module")
def book(tmp_path_factory, explorers):
    root = tmp_path_factory.mktemp("interactive_book")
    write_test_book(root, explorers)
    for builder in ("html", "latex"):
        result = subprocess.run([jupyter_book(), "build", str(root), "--builder", builder,
                                 "-W", "-n", "--keep-going"],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{builder}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return root / "_build"


def test_plotly_js_is_served_by_the_site_and_loaded_by_the_figures_page_only(book):
    import plotly

    html = book / "html"
    served = html / "_static" / "plotly.min.js"
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert served.read_bytes() == shipped.read_bytes()
    figures, plain, index = ((html / f"{p}.html").read_text() for p in ("figures", "plain", "index"))
    assert '<script src="_static/plotly.min.js?v=' in figures
    assert "plotly.min.js" not in plain and "plotly.min.js" not in index
    assert figures.index("plotly.min.js") < figures.index("Plotly.newPlot")  # loaded first


def test_html_only_cells_are_in_the_html_and_pdf_only_cells_in_the_latex(book, explorers):
    figures = (book / "html" / "figures.html").read_text()
    assert figures.count('class="plotly-graph-div"') == len(NAMES)
    assert PDF_MARKER not in figures
    (tex,) = (book / "latex").glob("*.tex")
    latex = tex.read_text()
    assert latex.count(PDF_MARKER) == len(NAMES)
    assert "plotly" not in latex.lower() and "Interactive figure:" not in latex
    for ex in explorers.values():
        assert f'id="{ex.div_id}"' in figures


def test_the_figures_page_stays_small(book):
    page = (book / "html" / "figures.html").stat().st_size
    # the five figures' HTML (about 290 KB) and the theme's page: far under 5 MB
    assert page < 600_000, page


# ---------------------------------------------------------------------------------------
# In the browser
# ---------------------------------------------------------------------------------------
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# What a figure draws now: the y values (and text) of every trace shown.
DRAWN = """id => document.getElementById(id).data
    .filter(t => t.visible !== false && (t.opacity === undefined || t.opacity > 0))
    .map(t => JSON.stringify([t.y, t.text]))"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def page(book):
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is needed (apt-get install chromium); .ci/run installs it"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(book / "html")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        problems, requests = [], []
        tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
               if m.type == "error" else None)
        tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        tab.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
        tab.on("request", lambda r: requests.append(r.url))
        tab.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
               if r.status >= 400 else None)
        tab.goto(f"{site}/figures.html", wait_until="load")
        yield tab, problems, requests, site
        browser.close()
    server.shutdown()


def test_the_page_loads_with_no_error_and_no_request_leaving_localhost(page):
    tab, problems, requests, site = page
    tab.wait_for_function("document.querySelectorAll('.js-plotly-plot').length === 5",
                          timeout=60000)
    assert not problems, "\n".join(problems)
    outside = [url for url in requests if not url.startswith(site) and not url.startswith("data:")]
    assert not outside, outside


@pytest.mark.parametrize("name", NAMES)
def test_each_control_changes_what_the_figure_draws(page, explorers, name):
    tab, problems, requests, site = page
    ex = explorers[name]
    div = tab.locator(f"#{ex.div_id}")
    tab.wait_for_function(f"document.getElementById('{ex.div_id}')"
                          ".classList.contains('js-plotly-plot')", timeout=60000)
    div.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    div.screenshot(path=str(SCREENSHOTS / f"{name}-1.png"))
    sliders = [c for c in ex.controls if not c.buttons]
    menus = [c for c in ex.controls if c.buttons]
    for k, control in enumerate(sliders):
        before = tab.evaluate(DRAWN, ex.div_id)
        rail = div.locator(".slider-rail-rect").nth(k)
        box = rail.bounding_box()
        target = 0 if control.active > len(control.values) // 2 else len(control.values) - 1
        fraction = (target + 0.5) / len(control.values)
        tab.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        tab.wait_for_timeout(300)
        after = tab.evaluate(DRAWN, ex.div_id)
        assert after != before, f"{name}: moving {control.label} changed nothing"
        active = tab.evaluate(f"id => document.getElementById(id).layout.sliders[{k}].active",
                              ex.div_id)
        assert active != control.active
    for k, control in enumerate(menus):
        before = tab.evaluate(DRAWN, ex.div_id)
        other = (control.active + 1) % len(control.values)
        div.locator(".updatemenu-button").nth(other).click()
        tab.wait_for_timeout(300)
        after = tab.evaluate(DRAWN, ex.div_id)
        assert after != before, f"{name}: the button {control.labels[other]} changed nothing"
    div.screenshot(path=str(SCREENSHOTS / f"{name}-2.png"))
    # what is drawn now is one setting's curves, and the numbers are the explorer's
    drawn = [json.loads(s)[0] for s in tab.evaluate(DRAWN, ex.div_id)]
    shown_settings = [i for i, result in ex.results.items()
                      if [t.get("y") for t in map(interactive._clean, ex._traces(i, result))]
                      == drawn[-len(ex._traces(i, result)):]]
    assert len(shown_settings) == 1, f"{name}: drawn curves match {len(shown_settings)} settings"
    assert not problems, "\n".join(problems)
