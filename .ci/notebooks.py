"""The book's notebooks: which ones the table of contents lists, and how they are executed.

    python .ci/notebooks.py list       # the notebooks in _toc.yml, one per line
    python .ci/notebooks.py execute    # re-execute each in a fresh kernel, in place (make execute)

Used by the Makefile and by the tests, so both agree on what "every notebook" means.
"""

import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CELL_TIMEOUT_S = 600


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
    os.environ["PYTHONHASHSEED"] = "0"  # inherited by the kernel
    os.environ["DDLOPT_BOOK"] = "1"  # interactive figures output the book's HTML (ddlopt.interactive)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
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
        print("\n".join(str(p.relative_to(ROOT)) for p in paths))
    elif command == "execute":
        for path in paths:
            start = time.perf_counter()
            execute(path)
            print(f"executed {path.relative_to(ROOT)} in {time.perf_counter() - start:.1f} s")
    else:
        sys.exit(f"unknown command {command!r}; use 'list' or 'execute'")


if __name__ == "__main__":
    main(sys.argv)
