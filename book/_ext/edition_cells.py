"""Cells for one edition only: a notebook cell tagged ``html-only`` is left out of every
build but the HTML one (the PDF has no JavaScript: an interactive figure goes there), one
tagged ``pdf-only`` out of every build but the LaTeX one (the static panel that stands in for
it in the PDF).

myst-nb gives each code cell's container a class ``tag_<tag>`` per tag; this post-transform
removes the containers of the other edition before myst-nb picks each output's MIME type
(its SelectMimeType runs at priority 4), so an output the builder cannot show is never
looked at.
"""

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

ONLY = {"html-only": "html", "pdf-only": "latex"}  # tag -> the builder format that keeps it


class DropOtherEditionsCells(SphinxPostTransform):
    default_priority = 3

    def run(self, **kwargs):
        fmt = self.app.builder.format
        dropped = {f"tag_{tag}" for tag, keeper in ONLY.items() if keeper != fmt}
        for node in list(self.document.findall(nodes.container)):
            if dropped & set(node.get("classes", [])):
                node.parent.remove(node)


def setup(app):
    app.add_post_transform(DropOtherEditionsCells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
