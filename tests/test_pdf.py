"""The book as a PDF (`make pdf`): built from the committed outputs through XeLaTeX, then read
back with poppler's tools. Every chapter is in it with the number the HTML gives it, every
equation number, figure and caption; no unresolved reference or citation; no line past the
text block and no character the fonts lack (from the LaTeX log); each chapter's solutions
gathered after its exercises. The title page, the contents and each chapter's opening and
solutions pages go to _build/screenshots/pdf/ for review.

The PDF build needs Debian's LaTeX and poppler (README); it is skipped where they are missing,
except in CI. The layout hooks (cells left out of the PDF, interactive figures printed as their
static panel, solutions moved, the HTML's link to the PDF) are tested on a two-page book with
Sphinx's LaTeX writer alone, which needs no LaTeX."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import ROOT, book_notebooks

TOOLS = ["xelatex", "latexmk", "pdftotext", "pdfimages", "pdftoppm", "pdfinfo"]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PDF_NAME = Path(CONFIG["latex"]["latex_documents"]["targetname"]).with_suffix(".pdf").name
SCREENSHOTS = ROOT / "_build" / "screenshots" / "pdf"
LEFT_OUT_TAGS = {"claim", "html-only", "remove-cell", "remove-output"}  # book/_ext/book_pdf.py
SOLUTION = re.compile(r"^[`:]{3,}\{solution(-start)?\}", re.M)
EXERCISE = re.compile(r"^[`:]{3,}\{exercise(-start)?\}", re.M)


def jupyter_book(*args, timeout=900):
    executable = Path(sys.executable).parent / "jupyter-book"
    command = [str(executable if executable.exists() else shutil.which("jupyter-book")), "build",
               *map(str, args)]
    # a LaTeX error stops the build with its message instead of waiting at a prompt
    env = {**os.environ, "LATEXOPTS": "-halt-on-error -interaction=nonstopmode"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def normalized(text):
    """Text as pdftotext gives it, compared loosely: one space for any run of white space,
    straight apostrophes, no markdown or math."""
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"[`*]", "", text).replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


# ---- what the sources say the PDF must hold
def page_title(name):
    """The title (first level-1 heading) of a page of the table of contents."""
    path = ROOT / f"{name}.md"
    if path.exists():
        source = path.read_text()
    else:
        cells = json.loads((ROOT / f"{name}.ipynb").read_text())["cells"]
        source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return re.search(r"^# (.+)$", source, re.M).group(1).strip()


def markdown(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def markdown_of(name):
    path = ROOT / f"{name}.md"
    return path.read_text() if path.exists() else markdown(ROOT / f"{name}.ipynb")


def printed_figures(notebook):
    """The figure outputs the PDF prints: an image (or PDF) in an output of a cell it keeps."""
    count = 0
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code" or set(cell["metadata"].get("tags", [])) & LEFT_OUT_TAGS:
            continue
        count += sum(bool({"image/png", "image/jpeg", "application/pdf"} & set(out.get("data", {})))
                     for out in cell["outputs"])
    return count


def captions(notebook):
    """Figure captions: myst-nb's cell metadata and {figure} directives in the markdown."""
    found = []
    for cell in json.loads(notebook.read_text())["cells"]:
        caption = cell["metadata"].get("mystnb", {}).get("figure", {}).get("caption")
        if cell["cell_type"] == "code" and caption:
            found.append(caption)
    for block in re.findall(r"^[`:]{3,}\{figure\}[^\n]*\n(.*?)^[`:]{3,}\s*$", markdown(notebook),
                            re.M | re.S):
        body = "\n".join(line for line in block.splitlines() if not line.startswith(":"))
        if body.strip():
            found.append(body.strip().split("\n\n")[0])
    return found


# ---- the PDF
class Book:
    def __init__(self, out, seconds):
        latex = out / "_build" / "latex"
        self.path = latex / PDF_NAME
        self.log = (latex / PDF_NAME).with_suffix(".log").read_text(errors="replace")
        self.tex = (latex / PDF_NAME).with_suffix(".tex").read_text().splitlines()
        self.seconds = seconds
        text = subprocess.run(["pdftotext", str(self.path), "-"], capture_output=True,
                              text=True, check=True).stdout
        self.pages = text.split("\f")
        info = subprocess.run(["pdfinfo", str(self.path)], capture_output=True, text=True,
                              check=True).stdout
        self.page_count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
        listing = subprocess.run(["pdfimages", "-list", str(self.path)], capture_output=True,
                                 text=True, check=True).stdout.splitlines()[2:]
        # page, number, type, width, height, ..., x-ppi, y-ppi; "smask" rows are alpha channels
        self.images = [(int(row.split()[0]), int(row.split()[12])) for row in listing
                       if row.split()[2] == "image"]

    def opening_page(self, name, number=None):
        """The index of the page that opens a chapter: its heading at the top of the page."""
        title = normalized(page_title(name))[:40]
        heading = f"Chapter {number} {title}" if number else title
        for index, page in enumerate(self.pages):
            if normalized(page).startswith(heading) and ". . . . ." not in page:  # not contents
                return index
        return None

    def text(self, start, end):
        return "\n".join(self.pages[start:end])


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = (f"the PDF needs {', '.join(missing)}: Debian's LaTeX and poppler-utils, "
                   "as the README names them; .ci/run installs them")
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    out = tmp_path_factory.mktemp("pdf")
    start = time.perf_counter()
    result = jupyter_book(ROOT, "--builder", "pdflatex", "--path-output", out, "-W", "-n",
                          "--keep-going", "--all")
    seconds = time.perf_counter() - start
    assert result.returncode == 0 and (out / "_build" / "latex" / PDF_NAME).exists(), \
        f"the PDF build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return Book(out, seconds)


@pytest.fixture(scope="module")
def chapters(book, html):
    """Each page of the table of contents but the root: (name, its HTML number or None,
    first and last page index in the PDF)."""
    found = []
    for name in book_notebooks.toc_files()[1:]:
        page = BeautifulSoup((html / f"{name}.html").read_text(), "html.parser")
        # the page's own title (the theme repeats it, unnumbered, in its header)
        h1 = next(h for h in page.find_all("h1") if h.find(class_="headerlink"))
        span = h1.find(class_="section-number")
        number = span.get_text().strip().rstrip(".") if span else None
        found.append([name, number, book.opening_page(name, number)])
    missing = [f"{name} ({'chapter ' + number if number else 'unnumbered'})"
               for name, number, page in found if page is None]
    assert not missing, f"chapters without an opening page as in the HTML: {missing}"
    found.sort(key=lambda entry: entry[2])
    ends = [page for _, _, page in found[1:]] + [len(book.pages)]
    return [(name, number, first, end) for (name, number, first), end in zip(found, ends)]


def test_title_page_contents_and_a_plausible_length(book, chapters):
    assert normalized(book.pages[0]).startswith(normalized(CONFIG["title"])), "the title page"
    assert CONFIG["author"] in book.pages[0]
    contents = next(i for i, page in enumerate(book.pages) if page.lstrip().startswith("Contents"))
    listing = normalized(book.text(contents, chapters[0][2]))
    for name, number, _, _ in chapters:
        assert normalized(page_title(name))[:40] in listing, f"{name} is not in the contents"
    notebooks = book_notebooks.toc_notebooks()
    assert 6 * len(notebooks) <= book.page_count <= 40 * len(notebooks), book.page_count
    print(f"\n{book.page_count} pages, built in {book.seconds:.0f} s")


def test_chapters_and_equations_numbered_as_in_the_html(book, chapters, html):
    for name, number, first, end in chapters:
        page = BeautifulSoup((html / f"{name}.html").read_text(), "html.parser")
        numbers = [re.match(r"\(.*?\)", span.get_text().strip()).group()
                   for span in page.select("span.eqno")]  # "(5.1)", then the anchor's "#"
        labelled = re.search(r"^\$\$ *\(", markdown_of(name), re.M)
        assert numbers or not labelled, f"{name}: no equation numbers in the HTML"
        text = book.text(first, end)
        missing = [n for n in numbers if n not in text]
        assert not missing, f"{name}: equation numbers of the HTML not in the PDF: {missing}"


@pytest.mark.parametrize("notebook", book_notebooks.toc_notebooks(), ids=lambda p: p.name)
def test_every_figure_and_caption_is_printed(book, chapters, notebook):
    name = str(notebook.relative_to(ROOT).with_suffix(""))
    first, end = next((f, e) for n, _, f, e in chapters if n == name)
    images = [page for page, _ in book.images if first < page <= end]  # pdfimages counts from 1
    assert len(images) >= printed_figures(notebook), \
        f"{len(images)} images on the chapter's pages, {printed_figures(notebook)} figures"
    text = normalized(book.text(first, end))
    for caption in captions(notebook):
        assert " ".join(normalized(caption).split()[:8]) in text, f"caption missing: {caption}"


def test_no_unresolved_reference_or_citation(book):
    text = "\n".join(book.pages)
    assert "??" not in text, "an unresolved reference (??) in the PDF"
    assert "[?]" not in text, "a missing citation ([?]) in the PDF"
    undefined = re.findall(r"^.*(?:Reference|Citation|reference) `[^']*' .*undefined.*$",
                           book.log, re.M)
    assert not undefined, "\n".join(undefined[:10])


def test_nothing_runs_past_the_text_block(book):
    """Code, outputs, tables and formulas stay inside the margins (the log's Overfull \\hbox
    warnings), and every character has a glyph (the log's Missing character)."""
    overfull = []
    for width, line in re.findall(r"Overfull \\hbox \((\d+\.\d+)pt too wide\)\D*(\d+)", book.log):
        if float(width) > 1.0:
            chapters = re.findall(r"\\chapter\{([^}]*)\}", "\n".join(book.tex[:int(line)]))
            where = chapters[-1] if chapters else "front matter"
            overfull.append(f"{float(width):.1f}pt in {where!r}, LaTeX line {line}: "
                            f"{book.tex[int(line) - 1].strip()[:100]}")
    assert not overfull, f"{len(overfull)} lines run past the text block:\n" + "\n".join(overfull)
    missing = sorted(set(re.findall(r"Missing character: There is no (.+?) in font", book.log)))
    assert not missing, f"characters the fonts lack (dropped from the PDF): {missing}"


@pytest.mark.parametrize("notebook", book_notebooks.toc_notebooks(), ids=lambda p: p.name)
def test_solutions_follow_the_chapter_exercises(book, chapters, notebook):
    name = str(notebook.relative_to(ROOT).with_suffix(""))
    first, end = next((f, e) for n, _, f, e in chapters if n == name)
    source = markdown(notebook)
    solutions, exercises = len(SOLUTION.findall(source)), len(EXERCISE.findall(source))
    if not solutions:
        return
    lines = [line.strip() for line in book.text(first, end).splitlines()]
    assert "Solutions" in lines, "no Solutions section in the chapter"
    heading = lines.index("Solutions")
    before, after = "\n".join(lines[:heading]), "\n".join(lines[heading:])
    assert "Solution to" not in before, "a solution is printed beside its exercise"
    assert after.count("Solution to Exercise") == solutions
    assert len(re.findall(r"^Exercise \S+", before, re.M)) == exercises
    pointers = re.findall(r"Solution on page (\d+)", before)
    assert pointers and len(pointers) <= solutions, "exercises point to their solutions' pages"


def test_one_page_per_chapter_rendered_for_review(book, chapters):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    pages = {"0-title": 0,
             "0-contents": next(i for i, p in enumerate(book.pages) if p.lstrip().startswith("Contents"))}
    for name, _, first, end in chapters:
        slug = Path(name).name
        pages[slug] = first
        solutions = next((i for i in range(first, end)
                          if "\nSolutions\n" in f"\n{book.pages[i]}"), None)
        if solutions is not None:
            pages[f"{slug}-solutions"] = solutions
    for stem, index in pages.items():
        subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", str(index + 1),
                        "-l", str(index + 1), str(book.path), str(SCREENSHOTS / stem)], check=True)
    written = sorted(SCREENSHOTS.glob("*.png"))
    assert len(written) == len(pages) and all(p.stat().st_size > 5000 for p in written)


@pytest.mark.xfail(strict=True, reason="the committed figures are 90-dpi PNGs: ddlopt.plot.style() "
                   "now embeds them at twice that, and they print at 180 ppi once every chapter is "
                   "executed again (make execute); remove this mark then")
def test_figures_print_at_150_ppi_or_more(book):
    low = [(page, ppi) for page, ppi in book.images if ppi < 150]
    assert not low, f"{len(low)} of {len(book.images)} images below 150 ppi (page, ppi): {low[:10]}"


def test_readme_and_ci_install_the_same_latex_packages():
    run = (ROOT / ".ci" / "run").read_text()
    packages = re.search(r'LATEX_PACKAGES="([^"]+)"', run).group(1).replace("\\\n", " ").split()
    readme = " ".join((ROOT / "README.md").read_text().split())
    named = re.search(r"apt-get install (texlive[^`]+)`", readme).group(1).split()
    assert sorted(named) == sorted(packages)
    assert "make pdf" in readme and "\npdf:" in (ROOT / "Makefile").read_text()


# ---- the layout hooks, on a two-page book (Sphinx's LaTeX writer: no LaTeX needed)
def hooks_book(path):
    """A book with a preface, one numbered chapter holding every hook, one unnumbered page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat

    from ddlopt.plot import interactive_bundle

    (path / "book").mkdir(parents=True)
    for folder in ["_ext", "_static"]:
        shutil.copytree(ROOT / "book" / folder, path / "book" / folder)
    for name in ["references.bib", "favicon.svg"]:
        shutil.copy(ROOT / "book" / name, path / "book" / name)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] = "Hooks"
    (path / "_config.yml").write_text(yaml.safe_dump(config))
    (path / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "book/intro",
        "parts": [{"caption": "Chapters", "numbered": 1, "chapters": [{"file": "book/hooks"}]},
                  {"caption": "Back matter", "chapters": [{"file": "book/notes"}]}]}))
    (path / "book" / "intro.md").write_text("# Hooks\n\nprefacemarker\n\n## About\n\naboutmarker\n")
    (path / "book" / "notes.md").write_text("# Notes\n\nnotesmarker\n")
    fig, ax = plt.subplots(figsize=(4, 2), dpi=90)
    ax.plot([0, 1], [0, 1])
    data, metadata = interactive_bundle('<div id="hookdiv">slider</div>', fig, "a summary")
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    figure = nbformat.v4.new_code_cell("interactive(html, static)", execution_count=1, outputs=[
        nbformat.v4.new_output("display_data", data=data, metadata=metadata)])
    claim = nbformat.v4.new_code_cell("assert 'claimmarker'", execution_count=2,
                                      metadata={"tags": ["claim", "hide-input"]})
    html_only = nbformat.v4.new_code_cell("print('htmlonlymarker')", execution_count=3,
                                          metadata={"tags": ["html-only"]})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Hooks chapter\n\n$$\nE = mc^2\n$$ (eq-hook)\n"),
        figure, claim, html_only,
        nbformat.v4.new_markdown_cell("## Exercises\n\n```{exercise} First\n:label: ex-hook\n\n"
                                      "exercisemarker\n```\n\n````{solution} ex-hook\n"
                                      ":class: dropdown\n\nsolutionmarker\n````\n"),
        nbformat.v4.new_markdown_cell("## References\n\naftermarker\n"),
    ]
    nbformat.write(nb, path / "book" / "hooks.ipynb")
    return path


def test_layout_hooks_in_latex_and_html(tmp_path):
    root = hooks_book(tmp_path / "hooks")
    built = jupyter_book(root, "--builder", "latex", "--path-output", root, "-W", "-n",
                         "--keep-going", timeout=300)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    tex = (root / "_build" / "latex" / PDF_NAME).with_suffix(".tex").read_text()
    for left_out in ["hookdiv", "claimmarker", "htmlonlymarker"]:
        assert left_out not in tex, f"{left_out} is in the LaTeX"
    assert tex.count(r"\sphinxincludegraphics") == 1, "the interactive figure's static panel"
    assert re.search(r"\\bookpdfunnumberedchapter\s*\\chapter\{Preface\}", tex)
    assert tex.index("prefacemarker") < tex.index("aboutmarker") < tex.index(r"\chapter{Hooks chapter}")
    assert re.search(r"\\bookpdfnumberedchapter\{1\}\{0\}\s*\\chapter\{Hooks chapter\}", tex)
    assert re.search(r"\\bookpdfunnumberedchapter\s*\\chapter\{Notes\}", tex)
    order = [tex.index(marker) for marker in
             ["exercisemarker", r"\bookpdfsolutionpointer", r"\section{Solutions}",
              "solutionmarker", r"\section{References}", "aftermarker"]]
    assert order == sorted(order), "the solution moves to a section after the exercises"

    page = root / "_build" / "html" / "book" / "hooks.html"

    def html_build():
        result = jupyter_book(root, "--path-output", root, "-W", "-n", "--keep-going", timeout=300)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        return page.read_text()

    text = html_build()
    for shown in ["hookdiv", "claimmarker", "htmlonlymarker"]:
        assert shown in text, f"{shown} is missing from the HTML"
    assert text.index("solutionmarker") < text.index("aftermarker"), "solution beside exercise"
    assert PDF_NAME not in text, "a link to a PDF that was not built"
    (root / "_build" / "latex" / PDF_NAME).write_bytes(b"%PDF-1.5 a stand-in\n")
    text = html_build()
    assert f'href="../{PDF_NAME}"' in text, "the download menu links the PDF"
    assert (root / "_build" / "html" / PDF_NAME).read_bytes().startswith(b"%PDF")


def test_interactive_output_carries_a_print_resolution_panel():
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ddlopt.plot import interactive_bundle

    fig, _ = plt.subplots(figsize=(4, 2), dpi=90)
    data, metadata = interactive_bundle("<div>x</div>", fig, "summary")
    assert set(data) == {"text/html", "image/png", "text/plain"}
    png = base64.b64decode(data["image/png"])
    width = int.from_bytes(png[16:20], "big")
    assert metadata["image/png"]["width"] == width // 2 and width >= 2 * 4 * 90 * 0.9
    assert not plt.get_fignums(), "the static figure is closed"
