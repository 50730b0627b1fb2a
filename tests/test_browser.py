"""The built book in a real browser: Debian's headless Chromium, driven by Playwright, over
the HTML served on localhost. Every page loads without console errors or failed requests,
every figure decodes, the math is typeset, search finds "Adam", solutions open on a click,
claim cells fold under "How this is checked", code fits its block at a 1280-pixel window,
and in the theme's dark mode every figure is opaque and reads as dark ink on a light panel.
One screenshot per page goes to _build/screenshots/ (dark mode: _build/screenshots/dark/)
for review."""

import functools
import http.server
import io
import os
import shutil
import threading

import numpy as np
import pytest

import book_standard as standard
from conftest import DEMO_TOO_WIDE, ROOT, book_notebooks

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = book_notebooks.toc_files()
SCREENSHOTS = ROOT / "_build" / "screenshots"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def site(html):
    yield from serve(html)


@pytest.fixture(scope="module")
def demo_site(demo_html):
    yield from serve(demo_html)


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is needed (apt-get install chromium); .ci/run installs it"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, url, width=1200, dark=False):
    """Load a page (in the theme's dark mode if asked, as its switch leaves it); return it
    with the console errors and failed local requests seen."""
    page = browser.new_page(viewport={"width": width, "height": 900},
                            color_scheme="dark" if dark else "light")
    if dark:
        page.add_init_script("localStorage.setItem('mode', 'dark');"
                             "localStorage.setItem('theme', 'dark');")
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


# Every code block of a page, folds and solutions opened: where it sits, how many characters
# of its own monospace font its width shows (padding off), and whether it scrolls sideways.
CODE_BLOCKS = """
() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  return [...document.querySelectorAll('div.cell pre')].map(pre => {
    const style = getComputedStyle(pre);
    const probe = document.createElement('span');
    probe.style.whiteSpace = 'pre';
    probe.textContent = 'x'.repeat(100);
    pre.appendChild(probe);
    const char = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const kind = pre.closest('.cell_output') ? 'output' : 'code';
    const where = pre.closest('details') ? 'claim ' : pre.closest('.admonition') ? 'solution ' : '';
    return {where: where + kind, fits: Math.floor(inner / char + 1e-6),
            scrolls: pre.scrollWidth > pre.clientWidth, text: pre.innerText.slice(0, 60)};
  });
}
"""
PAGE_WIDTH = 1280


def test_every_code_block_shows_the_line_limit_at_1280_pixels(browser, demo_site):
    """The limit of tests/book_standard.py is what the page shows: in a code cell, its
    output, a folded claim cell and a code solution, a line of LINE_LIMIT characters fits
    without a horizontal scrollbar, and a longer one scrolls (so the check can fail)."""
    page, problems = open_page(browser, f"{demo_site}/book/01_demo.html", width=PAGE_WIDTH)
    blocks = page.evaluate(CODE_BLOCKS)
    page.close()
    print(f"\ncharacters a block shows at {PAGE_WIDTH} px:",
          {b["where"]: b["fits"] for b in blocks if DEMO_TOO_WIDE not in b["text"]})
    assert {b["where"] for b in blocks} >= {"code", "output", "claim code", "solution code",
                                            "solution output"}, blocks
    for block in blocks:
        if DEMO_TOO_WIDE in block["text"]:
            assert block["scrolls"], f"a line of {standard.LINE_LIMIT + 13} characters fits: {block}"
        else:
            assert block["fits"] >= standard.LINE_LIMIT and not block["scrolls"], block
    assert not problems, "\n".join(problems)


def test_a_claim_fold_opens_on_a_click(browser, demo_site):
    page, problems = open_page(browser, f"{demo_site}/book/01_demo.html")
    fold = page.locator("details.hide", has_text=standard.CLAIM_FOLD["code_prompt_show"])
    assert fold.count() == 1
    code = fold.locator("pre")
    assert not code.is_visible(), "the check is folded until the reader asks"
    fold.locator("summary").click()
    code.wait_for(state="visible", timeout=5000)
    assert "assert x > 0" in code.inner_text()
    page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", standard.chapter_params(book_notebooks.toc_notebooks()))
def test_no_code_block_scrolls_sideways_at_1280_pixels(browser, site, notebook):
    page, problems = open_page(browser, f"{site}/{notebook.relative_to(ROOT).with_suffix('.html')}",
                               width=PAGE_WIDTH)
    wide = [b for b in page.evaluate(CODE_BLOCKS) if b["scrolls"]]
    page.close()
    assert not wide, f"{len(wide)} blocks scroll sideways: {wide[:5]}"
    assert not problems, "\n".join(problems)


def luminance(rgb):
    """WCAG relative luminance of sRGB pixels (0-255)."""
    c = np.asarray(rgb, dtype=float) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ [0.2126, 0.7152, 0.0722]


TRANSLUCENT_PIXELS = """async img => {
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let i = 3; i < rgba.length; i += 4) if (rgba[i] < 255) count++;
    return count;
}"""


@pytest.mark.parametrize("notebook", book_notebooks.toc_notebooks(), ids=lambda p: p.name)
def test_figures_read_in_dark_mode(browser, site, notebook):
    """The theme dims every image in dark mode and sets a notebook's figure on a light
    panel: a figure must be opaque (a transparent one would show the panel, and on a dark
    notebook elsewhere, nothing) and, as the reader sees it there, dark ink on a light
    ground with a contrast of at least 4.5 (WCAG AA for text)."""
    from PIL import Image

    name = str(notebook.relative_to(ROOT).with_suffix(""))
    page, problems = open_page(browser, f"{site}/{name}.html", dark=True)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page_ground = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert luminance([int(v) for v in page_ground[4:-1].split(",")[:3]]) < 0.05, page_ground
    figures = page.locator("div.cell_output img")
    assert figures.count() >= 1, "no figure on the page"
    for i in range(figures.count()):
        figure = figures.nth(i)
        assert figure.evaluate(TRANSLUCENT_PIXELS) == 0, f"figure {i + 1} is not opaque"
        shown = np.asarray(Image.open(io.BytesIO(figure.screenshot())).convert("RGB"))
        light = luminance(shown.reshape(-1, 3))
        ground, ink = np.median(light), np.percentile(light, 0.5)
        assert ground > 0.5, f"figure {i + 1}: its ground is dark ({ground:.2f})"
        assert (ground + 0.05) / (ink + 0.05) >= 4.5, (
            f"figure {i + 1}: ink {ink:.2f} on ground {ground:.2f} is too faint")
    (SCREENSHOTS / "dark").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dark" / f"{name.replace('/', '_')}.png"),
                    full_page=True)
    page.close()
    assert not problems, "\n".join(problems)
