"""The PDF edition of the book (`make pdf`): Sphinx's LaTeX builder through XeLaTeX, laid out
for print. Nothing here changes the HTML pages, except that they link to the PDF once it is
built.

What the LaTeX build gets (a post-transform on the one document Sphinx assembles from all
pages):

- **Front matter, chapters, back matter.** The root page becomes an unnumbered "Preface"
  (its sections become sections of it). Every other page keeps the number the HTML gives it
  (Sphinx's ``env.toc_secnumbers``, set by ``numbered`` in ``_toc.yml``), to the same depth;
  a page the HTML does not number (the preface, notation) is an unnumbered chapter, and the
  unnumbered pages number their equations and figures in one running sequence, as Sphinx
  does in the HTML.
- **Solutions at the end of each chapter.** Every sphinx-exercise solution (``{solution}``,
  or the cells between ``{solution-start}`` and ``{solution-end}``) moves from beside its
  exercise, where the HTML folds it, to a "Solutions" section after the chapter's exercises;
  each exercise ends with the page of its solution.
- **Cells the HTML folds away or that only a browser can show.** Code cells tagged ``claim``
  (the assertions behind the prose, folded under "How this is checked" in the HTML) and
  ``html-only`` are left out of the PDF.
- **Interactive figures** print as a static panel: a cell displays *one* output that carries
  both representations, ``text/html`` (the interactive figure) and ``image/png`` or
  ``application/pdf`` (the static panel; see ``ddlopt.plot.interactive``). myst-nb picks per
  builder: the HTML shows the first, the PDF the second. An HTML-only output without a static
  panel is a warning, so the ``-W`` build of the PDF fails on it.
- **Figures at their own size**, never enlarged, shrunk to the text width when wider (the
  notebook's display size in pixels is a screen size and is dropped).
- **Tables that fit**: a table too wide for the text block gets wrapping columns sized by its
  content.
- The page style, fonts and code wrapping are in ``bookpdf.sty`` beside this file.

And the HTML build: when ``_build/latex/<name>.pdf`` exists beside ``_build/html`` (from an
earlier ``make pdf``), the site carries the PDF and every page's download menu links to it.
"""

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

PDF_REMOVE_TAGS = ("claim", "html-only")
PREFACE_TITLE = "Preface"
SOLUTIONS_TITLE = "Solutions"
# an estimate of the text block in characters of the body font, for sizing wide tables
LINE_CHARACTERS = 95


def pdf_name(config):
    """The PDF's file name: latex_documents' target, with .pdf for .tex."""
    return Path(config.latex_documents[0][1]).with_suffix(".pdf").name


def raw_latex(text):
    return nodes.raw("", text, format="latex")


def cell_tags(node):
    metadata = node.get("cell_metadata") or {}
    return set(metadata.get("tags", [])) if isinstance(metadata, dict) else set()


class PrintLayout(SphinxPostTransform):
    """Lay the assembled LaTeX document out for print (see the module's docstring)."""

    builders = ("latex",)
    # after sphinx-exercise has titled exercises and solutions (priorities 20-22), before
    # the LaTeX builder's own transforms (400 and up)
    default_priority = 300

    def run(self, **kwargs):
        self.drop_cells()
        self.fit_figures()
        self.fit_tables()
        root = next(iter(self.document.findall(nodes.section)), None)
        if root is None:
            return
        # the pages of the table of contents, in order (each inside its toctree's wrapper)
        chapters = [node for node in root.findall(addnodes.start_of_file)
                    if not self.inside_chapter(node.parent)]
        if not chapters:  # a single page: nothing to arrange
            return
        self.make_preface(root)
        numbers = self.env.toc_secnumbers
        for chapter in chapters:
            self.number_chapter(chapter, numbers.get(chapter["docname"], {}))
            self.gather_solutions(chapter)
        self.drop_bibliography_page(chapters)

    # ---- cells and outputs
    def drop_cells(self):
        for cell in list(self.document.findall(nodes.container)):
            if cell.get("nb_element") == "cell_code" and cell_tags(cell) & set(PDF_REMOVE_TAGS):
                cell.parent.remove(cell)

    def fit_figures(self):
        for image in self.document.findall(nodes.image):
            if self.inside(image, lambda n: isinstance(n, nodes.container)
                           and n.get("nb_element") == "cell_code_output"):
                for option in ("width", "height", "scale"):
                    image.attributes.pop(option, None)

    @staticmethod
    def inside(node, condition):
        while node is not None:
            if condition(node):
                return True
            node = node.parent
        return False

    def inside_chapter(self, node):
        return self.inside(node, lambda n: isinstance(n, addnodes.start_of_file))

    def fit_tables(self):
        """A table too wide for the text block gets columns that wrap: each at least as wide as
        its longest word, the rest of the line shared in proportion to what each holds."""
        for table in self.document.findall(nodes.table):
            if "colwidths-given" in table["classes"]:
                continue
            tgroup = next(iter(table.findall(nodes.tgroup)), None)
            colspecs = [c for c in tgroup.children if isinstance(c, nodes.colspec)] if tgroup else []
            if not colspecs:
                continue
            longest_word, longest_text = [1] * len(colspecs), [1] * len(colspecs)
            for row in tgroup.findall(nodes.row):
                cells = [c for c in row.children if isinstance(c, nodes.entry)]
                if len(cells) != len(colspecs):  # spanning cells: leave it to Sphinx
                    break
                # a header prints bold, about a third wider; every cell has a character's padding
                bold = 1.3 if self.inside(row, lambda n: isinstance(n, nodes.thead)) else 1.0
                for i, cell in enumerate(cells):
                    text = self.printed_text(cell)
                    words = re.split(r"[\s_]+", text)
                    widest = int(bold * max(map(len, words)) + 0.5) + 1
                    longest_word[i] = max(longest_word[i], min(widest, 30))
                    longest_text[i] = max(longest_text[i], min(len(text), 60))
            else:
                if sum(longest_text) <= LINE_CHARACTERS:
                    continue
                spare = max(LINE_CHARACTERS - sum(longest_word), 0)
                flex = [max(t - w, 0) for t, w in zip(longest_text, longest_word)]
                for colspec, word, give in zip(colspecs, longest_word, flex):
                    colspec["colwidth"] = int(round(10 * (word + spare * give / max(sum(flex), 1))))
                table["classes"].append("colwidths-given")

    @staticmethod
    def printed_text(node):
        """About the characters a cell prints: a formula counts for a few, not its source."""
        parts = []
        for child in node.findall(lambda n: isinstance(n, (nodes.Text, nodes.math))):
            if isinstance(child, nodes.math):
                parts.append("x" * 6)
            elif not PrintLayout.inside(child.parent, lambda n: isinstance(n, nodes.math)):
                parts.append(str(child))
        return " ".join(" ".join(parts).split())

    # ---- front matter and chapter numbers
    def make_preface(self, root):
        """The root page's own content becomes an unnumbered chapter, its sections sections."""
        content = []
        for child in root.children:
            if isinstance(child, nodes.title):
                continue
            if next(iter(child.findall(addnodes.start_of_file)), None) is not None:
                break
            content.append(child)
        if not content:
            return
        start = root.index(content[0])
        preface = nodes.section(ids=["bookpdf-preface"], names=["bookpdf-preface"])
        preface += nodes.title(PREFACE_TITLE, PREFACE_TITLE)
        for node in content:
            root.remove(node)
            preface += node
        root.insert(start, preface)
        root.insert(start, raw_latex(r"\bookpdfunnumberedchapter"))

    def number_chapter(self, chapter, secnumbers):
        """Give the chapter its HTML number (and sections to the same depth), or none."""
        numbered = [n for n in secnumbers.values() if n]
        if numbered:
            number = min(numbered, key=len)[0]
            depth = max(len(n) for n in numbered) - 1  # 0: chapters only
            command = r"\bookpdfnumberedchapter{%d}{%d}" % (number, depth)
        else:
            command = r"\bookpdfunnumberedchapter"
        chapter.insert(0, raw_latex(command))

    # ---- solutions
    def gather_solutions(self, chapter):
        from sphinx_exercise.nodes import is_exercise_node, solution_node

        solutions = list(chapter.findall(solution_node))
        if not solutions:
            return
        top = next((s for s in chapter.children if isinstance(s, nodes.section)), None)
        if top is None or not all(self.inside(s, lambda n: n is top) for s in solutions):
            return
        exercises = {node.get("label"): node for node in chapter.findall(is_exercise_node)}
        docname = chapter["docname"]
        section = nodes.section(ids=[f"bookpdf-solutions-{docname}".replace("/", "-")],
                                names=[f"bookpdf solutions {docname}"])
        section += nodes.title(SOLUTIONS_TITLE, SOLUTIONS_TITLE)
        # the new section goes right after the part of the chapter that holds the first
        # solution (its Exercises section)
        holder = solutions[0]
        while holder.parent is not top:
            holder = holder.parent
        top.insert(top.index(holder) + 1, section)
        for solution in solutions:
            anchor = "bookpdf-solution-" + re.sub(r"[^A-Za-z0-9-]", "-", solution.get("label", ""))
            solution.parent.remove(solution)
            section += raw_latex(r"\phantomsection\label{%s}" % anchor)
            section += solution
            exercise = exercises.get(solution.get("target_label"))
            if exercise is not None and not exercise.get("bookpdf_pointer"):
                exercise["bookpdf_pointer"] = True
                content = next((c for c in reversed(exercise.children)
                                if isinstance(c, nodes.section)), exercise)
                pointer = nodes.paragraph()
                pointer += raw_latex(r"\bookpdfsolutionpointer{%s}" % anchor)
                content += pointer

    # ---- the bibliography
    def drop_bibliography_page(self, chapters):
        """Sphinx gathers every citation into one bibliography at the end of the PDF; the page
        that holds the HTML's bibliography would be an empty chapter before it. The page goes,
        its citations stay (Sphinx moves them), and its label moves to the bibliography, so
        that links to the page land there."""
        for chapter in chapters:
            citations = list(chapter.findall(nodes.citation))
            if not citations:
                continue
            for citation in citations:
                citation.parent.remove(citation)
            label = raw_latex(r"\bookpdfbibliographylabel{%s}" % f"{chapter['docname']}::doc")
            chapter.parent.replace(chapter, [label, *citations])


# ---- the HTML links to the PDF
def find_pdf(app):
    """The PDF beside this HTML build (`_build/latex/<name>.pdf`), or None."""
    if app.builder.format != "html":
        return None
    path = Path(app.outdir).parent / "latex" / pdf_name(app.config)
    return path if path.is_file() else None


def note_pdf(app, config):
    """A config value the HTML pages depend on, so that they are written again when the PDF
    appears or goes. (The PDF's name is not known yet: Jupyter Book sets latex_documents after
    this event; link_pdf checks the name.)"""
    config.bookpdf_present = sorted(path.name for path in
                                    (Path(app.outdir).parent / "latex").glob("*.pdf"))


def link_pdf(app, pagename, templatename, context, doctree):
    if find_pdf(app) is None:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].append({
                "type": "link",
                "url": context["pathto"](pdf_name(app.config), 1),
                "text": "book .pdf",
                "tooltip": "Download the whole book as a PDF",
                "icon": "fas fa-book",
                "label": "download-book-pdf-button",
            })


def copy_pdf(app, exception):
    path = find_pdf(app) if exception is None else None
    if path is not None:
        shutil.copyfile(path, Path(app.outdir) / path.name)


def add_style(app, config):
    config.latex_additional_files = [*config.latex_additional_files,
                                     str(Path(__file__).with_name("bookpdf.sty"))]


def setup(app):
    app.add_config_value("bookpdf_present", [], "html")
    app.add_post_transform(PrintLayout)
    app.connect("config-inited", note_pdf)
    # after sphinx-book-theme has made its header buttons (priority 501)
    app.connect("html-page-context", link_pdf, priority=600)
    app.connect("build-finished", copy_pdf)
    app.connect("config-inited", add_style)
    app.add_latex_package("bookpdf")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
