"""What makes nbval mean something: every notebook in the toc is there, executed top to
bottom in one kernel, free of errors, with an output wherever its code prints or plots."""

import ast
import json
import re

import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

from conftest import ROOT, book_notebooks

NOTEBOOKS = book_notebooks.toc_notebooks()
IDS = [p.name for p in NOTEBOOKS]


def load(path):
    return json.loads(path.read_text())


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"])


def shows_something(cell_source):
    """Whether running the cell displays something: a print or display call, a figure
    shown, or a bare expression as the last statement (IPython displays its value)."""
    python = TransformerManager().transform_cell(cell_source)  # `!pip` and `%magic` to Python
    tree = ast.parse(python)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in {"print", "display", "show", "loss"}:  # check.loss prints its verdict
                return True
    last = tree.body[-1] if tree.body else None
    return isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call) \
        and not python.rstrip().endswith(";")


def test_toc_lists_every_chapter_and_every_chapter_exists():
    assert NOTEBOOKS, "_toc.yml lists no notebook"
    missing = [str(p.relative_to(ROOT)) for p in NOTEBOOKS if not p.exists()]
    assert not missing, f"listed in _toc.yml but missing: {missing}"
    on_disk = set((ROOT / "book").glob("*.ipynb"))
    orphans = sorted(str(p.relative_to(ROOT)) for p in on_disk - set(NOTEBOOKS))
    assert not orphans, f"notebooks not in _toc.yml (nbval would test them, the book would not show them): {orphans}"
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: name chapters NN_slug.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_executed_top_to_bottom_in_one_kernel(path):
    counts = [c["execution_count"] for c in code_cells(load(path))]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}; run `make execute` to execute it in a fresh kernel")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_error_outputs_and_no_object_reprs(path):
    for i, cell in enumerate(code_cells(load(path)), 1):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name}, code cell {i}: {out.get('ename')}"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), \
                f"{path.name}, code cell {i} writes to stderr (a warning?): {''.join(out['text'])[:200]}"
            text = "".join(out.get("data", {}).get("text/plain", "")) + "".join(out.get("text", ""))
            assert not re.search(r"<[\w.]+ (object )?at 0x[0-9a-f]+>", text), \
                f"{path.name}, code cell {i} shows an object repr: {text[:120]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_cell_that_prints_or_plots_has_its_output_committed(path):
    for i, cell in enumerate(code_cells(load(path)), 1):
        if i == 1:  # the Colab install cell prints nothing outside Colab
            continue
        if shows_something(source(cell)):
            assert cell.get("outputs"), f"{path.name}, code cell {i} prints or plots but has no output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_first_cell_installs_ddlopt_in_colab_only_from_the_configured_repository(path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url, branch = config["repository"]["url"], config["repository"]["branch"]
    nb = load(path)
    first = nb["cells"][0]
    assert first["cell_type"] == "code" and "remove-cell" in first["metadata"].get("tags", [])
    text = source(first)
    assert 'if "google.colab" in sys.modules:' in text
    assert f"git+{url}@{branch}" in text, f"{path.name}: the install cell must use {url}@{branch}"
    second = source(code_cells(nb)[1])
    assert "ddlopt.set_seed(0)" in second and "style()" in second, \
        f"{path.name}: cell 2 imports, seeds with ddlopt.set_seed(0) and sets the plot style"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_metadata_names_the_kernel_and_language(path):
    meta = load(path)["metadata"]
    assert meta["kernelspec"]["name"] == "python3"
    assert meta["language_info"]["name"] == "python"


def test_the_output_check_sees_prints_plots_and_bare_expressions():
    assert shows_something("x = 1\nprint(x)")
    assert shows_something("plt.plot([1, 2])\nplt.show()")
    assert shows_something("x = 1\nx")
    assert shows_something('ok = check.loss(f, "mse")')
    assert not shows_something("import numpy as np\nx = np.ones(3)")
    assert not shows_something("def f(x):\n    return x")
    assert not shows_something("x = 1\nx;")
    assert not shows_something('import sys\nif "google.colab" in sys.modules:\n    !pip install -q ddlopt')


def test_nbval_fails_when_a_committed_output_is_stale(tmp_path):
    """The comparison is real: change one printed number and nbval must fail."""
    import subprocess
    import sys

    nb = load(NOTEBOOKS[0])
    stale = next(out for cell in code_cells(nb) for out in cell["outputs"]
                 if out["output_type"] == "stream" and re.search(r"\d\.\d", "".join(out["text"])))
    text = "".join(stale["text"])
    digit = re.search(r"\d(?=\.\d)", text)
    stale["text"] = text[:digit.start()] + str((int(digit.group()) + 1) % 10) + text[digit.end():]
    copy = tmp_path / NOTEBOOKS[0].name
    copy.write_text(json.dumps(nb))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "-o", "addopts=", str(copy)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 1 and "1 failed" in result.stdout, result.stdout[-2000:]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_has_alt_text(path):
    """A reader who cannot see the figure gets its point: cell metadata mystnb.image.alt,
    which the book's HTML carries as the image's alt attribute."""
    for i, cell in enumerate(code_cells(load(path)), 1):
        if any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 30, f"{path.name}, code cell {i}: a figure without alt text"
