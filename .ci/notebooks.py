"""The book's notebooks: which ones the table of contents lists, and how they are executed.

    python .ci/notebooks.py list       # the notebooks in _toc.yml, one per line
    python .ci/notebooks.py execute    # re-execute each in a fresh kernel, in place (make execute)
    python .ci/notebooks.py normalize  # fold the claim cells in the HTML, without executing

Used by the Makefile and by the tests, so both agree on what "every notebook" means.

Claim cells (tagged `claim`: an assertion that checks a sentence of the prose) are folded in
the HTML under "How this is checked": `execute` and `normalize` add myst-nb's `hide-input`
tag and the fold's labels to each, so that authors only tag `claim`. Colab ignores both and
shows the cell plainly. A chapter that meets the book-wide standard (not PENDING in
tests/book_standard.py) executes with DDLOPT_AUDIT_FIGURES=1: ddlopt.plot then audits every
figure it shows, and a figure that breaks the house rules is a cell error.
"""

import json
import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CELL_TIMEOUT_S = 600

AUDIT_VARIABLE = "DDLOPT_AUDIT_FIGURES"


def book_standard():
    """tests/book_standard.py: PENDING (the chapters not yet meeting the standard), the claim
    tag and the fold's labels."""
    import importlib.util

    module = sys.modules.get("book_standard")
    if module is None:
        spec = importlib.util.spec_from_file_location("book_standard", ROOT / "tests" / "book_standard.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["book_standard"] = module
    return module


def toc_files(root=ROOT):
    """Every file named in _toc.yml (root first), as paths relative to the root, no suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            for key in ("chapters", "sections", "parts"):
                walk(entry.get(key))

    walk(toc.get("chapters"))
    walk(toc.get("parts"))
    return files


def toc_notebooks(root=ROOT):
    """The notebooks of the table of contents, in reading order, as absolute paths."""
    return [root / f"{name}.ipynb" for name in toc_files(root) if not (root / f"{name}.md").exists()]


def execute(path):
    """Run a notebook top to bottom in a fresh kernel and write it back with its outputs.

    Deterministic by construction: no timing metadata is recorded, the kernel starts in
    the notebook's folder with a fixed hash seed, stream chunks are merged, and cell ids
    stay as they are.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    normalize_claim_cells(nb)
    os.environ["PYTHONHASHSEED"] = "0"  # inherited by the kernel
    if path.stem in book_standard().PENDING:
        os.environ.pop(AUDIT_VARIABLE, None)
    else:
        os.environ[AUDIT_VARIABLE] = "1"
    os.environ["DDLOPT_BOOK"] = "1"  # interactive figures output the book's HTML (ddlopt.interactive)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nbformat.write(nb, path)


def normalize_claim_cells(nb):
    """Make every code cell tagged `claim` fold in the HTML under "How this is checked"
    (myst-nb's `hide-input` tag and cell-level prompts); returns how many cells changed."""
    standard = book_standard()
    changed = 0
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or standard.CLAIM_TAG not in tags:
            continue
        before = json.dumps(cell["metadata"], sort_keys=True)
        metadata = cell.setdefault("metadata", {})
        if "hide-input" not in tags:
            metadata["tags"] = [*tags, "hide-input"]
        # myst-nb folds the code under the cell-level prompts of its `mystnb` metadata
        metadata.setdefault("mystnb", {}).update(standard.CLAIM_FOLD)
        changed += json.dumps(metadata, sort_keys=True) != before
    return changed


def normalize(path):
    """Normalize a notebook's claim cells in place, leaving everything else byte for byte."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if normalize_claim_cells(nb):
        nbformat.write(nb, path)


def coalesce_streams(outputs):
    """Merge consecutive stdout (or stderr) chunks: how the kernel splits a cell's printing
    into messages depends on timing, and the committed file must not."""
    merged = []
    for out in outputs:
        if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                and merged[-1].name == out.name):
            merged[-1].text += out.text
        else:
            merged.append(out)
    return merged


def main(argv):
    command = argv[1] if len(argv) > 1 else "list"
    paths = [Path(p).resolve() for p in argv[2:]] or toc_notebooks()
    if command == "list":
        print("\n".join(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p) for p in paths))
    elif command == "execute":
        for path in paths:
            start = time.perf_counter()
            execute(path)
            name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(f"executed {name} in {time.perf_counter() - start:.1f} s")
    elif command == "normalize":
        for path in paths:
            normalize(path)
    else:
        sys.exit(f"unknown command {command!r}; use 'list', 'execute' or 'normalize'")


if __name__ == "__main__":
    main(sys.argv)
