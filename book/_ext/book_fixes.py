"""Small fixes to the Jupyter Book 1 HTML, found by tests/test_browser.py.

sphinx-thebe registers its inline configuration script (``const THEBE_JS_URL = ...``) twice
in a Jupyter Book 1.0.4 build, and the second ``const`` is a JavaScript error on every page.
The book does not use thebe (chapters open in Colab), so the duplicate is simply dropped.
"""


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        # an inline script is registered with filename None or "" depending on the caller
        key = (getattr(script, "filename", None) or None,
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    # the book's other local extensions live beside this one (book/_ext is on sys.path)
    app.setup_extension("plotly_pages")     # plotly.js on the pages with interactive figures
    app.setup_extension("edition_cells")    # cells tagged html-only / pdf-only
    return {"parallel_read_safe": True, "parallel_write_safe": True}
