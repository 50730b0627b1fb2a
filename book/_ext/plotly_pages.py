"""plotly.js for the pages that draw an interactive figure (ddlopt.interactive), and no other.

An interactive figure's output is a div of class ``plotly-graph-div`` and a script that calls
``Plotly.newPlot``, without plotly.js itself (``include_plotlyjs=False``): the site serves the
library once, from ``_static/plotly.min.js``, a copy of the file the installed plotly package
ships (so its version is the Python package's, pinned in requirements.txt), and only the pages
that have such a figure load it. Nothing comes from a CDN.
"""

import shutil
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError

SCRIPT = "plotly.min.js"
MARKER = 'class="plotly-graph-div"'


def plotly_js_path():
    """The plotly.min.js inside the installed plotly package, or None without plotly."""
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).parent / "package_data" / SCRIPT
    return path if path.exists() else None


def has_plotly_figure(doctree):
    return any(MARKER in node.astext() for node in doctree.findall(nodes.raw)
               if "html" in node.get("format", "").split())


def copy_plotly_js(app):
    """Put plotly.min.js in the HTML build's _static before any page is written (the page's
    script tag then gets the file's checksum, as Sphinx's own static files do)."""
    if app.builder.format != "html":
        return
    source = plotly_js_path()
    if source is not None:
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, static / SCRIPT)


def add_plotly_js(app, pagename, templatename, context, doctree):
    if doctree is None or app.builder.format != "html" or not has_plotly_figure(doctree):
        return
    if plotly_js_path() is None:
        raise ExtensionError(f"{pagename} has an interactive figure, but plotly is not "
                             "installed: install the book toolchain of requirements.txt")
    app.add_js_file(SCRIPT, priority=200)  # in this page's head, before the figures' scripts


def setup(app):
    app.connect("builder-inited", copy_plotly_js)
    app.connect("html-page-context", add_plotly_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
