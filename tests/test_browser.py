"""The built book in a real browser: Debian's headless Chromium, driven by Playwright, over
the HTML served on localhost. Every page loads without console errors or failed requests,
every figure decodes, the math is typeset, search finds "Adam", solutions open on a click.
One screenshot per page goes to _build/screenshots/ for review."""

import functools
import http.server
import os
import shutil
import threading

import pytest

from conftest import ROOT, book_notebooks

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = book_notebooks.toc_files()
SCREENSHOTS = ROOT / "_build" / "screenshots"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(html):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is needed (apt-get install chromium); .ci/run installs it"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, url):
    """Load a page; return it with the console errors and failed local requests seen."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}")
            if "127.0.0.1" in r.url else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and "127.0.0.1" in r.url else None)
    page.goto(url, wait_until="load")
    return page, problems


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly_with_figures_and_typeset_math(browser, site, name):
    page, problems = open_page(browser, f"{site}/{name}.html")
    has_math = page.evaluate("document.querySelectorAll('.math').length > 0")
    if has_math:
        page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=30000)
        page.evaluate("MathJax.startup.promise")
        text = page.evaluate("document.querySelector('main').innerText")
        assert "$$" not in text and "\\begin{" not in text, "raw TeX left on the page"
        assert page.evaluate("document.querySelectorAll('mjx-merror').length") == 0, "a TeX error"
    images = page.evaluate("[...document.images].map(i => [i.src, i.complete && i.naturalWidth])")
    assert all(width for _, width in images), f"images that do not decode: {images}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name.replace('/', '_')}.png"), full_page=True)
    page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", book_notebooks.toc_notebooks(), ids=lambda p: p.name)
def test_solutions_are_hidden_until_clicked(browser, site, notebook):
    page, problems = open_page(browser, f"{site}/{notebook.relative_to(ROOT).with_suffix('.html')}")
    solutions = page.locator(".solution")
    assert solutions.count() >= 1
    for i in range(solutions.count()):
        assert "toggle-hidden" in solutions.nth(i).get_attribute("class"), f"solution {i} shown"
    first = solutions.nth(0)
    first.locator("button.toggle-button").click()  # the arrow a reader clicks
    page.wait_for_function(
        "!document.querySelector('.solution').classList.contains('toggle-hidden')", timeout=5000)
    page.close()
    assert not problems, "\n".join(problems)


def test_search_finds_adam(browser, site):
    page, problems = open_page(browser, f"{site}/search.html?q=Adam")
    page.wait_for_function("document.querySelectorAll('#search-results li').length > 0",
                           timeout=30000)
    titles = page.evaluate("[...document.querySelectorAll('#search-results li a')].map(a => a.innerText)")
    page.close()
    assert any("Adam" in t for t in titles), titles
    assert not problems, "\n".join(problems)
