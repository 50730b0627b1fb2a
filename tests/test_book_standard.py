"""The book-wide standard (issue 16), chapter by chapter: claim cells, numbers in the prose
that the chapter carries, code that fits the page, outputs that reproduce under another
machine's arithmetic. A chapter in PENDING (tests/book_standard.py) is skipped; the last
tests build small notebooks that break each check and make sure it catches them."""

import json
import subprocess
import sys

import nbformat
import pytest
from nbformat import v4

import book_standard as standard
from conftest import ROOT, book_notebooks

CHAPTERS = book_notebooks.toc_notebooks()


def report(problems):
    return "\n".join(problems[:40]) + (f"\n... and {len(problems) - 40} more" if len(problems) > 40 else "")


def test_pending_names_chapters_of_the_book():
    stems = {path.stem for path in CHAPTERS}
    assert standard.PENDING <= stems, f"not chapters: {sorted(standard.PENDING - stems)}"


def test_every_chapter_out_of_pending_has_claim_cells():
    """(The run's summary lists the claim cells of every chapter: tests/conftest.py.)"""
    missing = [path.stem for path in CHAPTERS if path.stem not in standard.PENDING
               and not standard.claim_cells(standard.load(path))]
    assert not missing, f"chapters out of PENDING without a claim cell: {missing}"


@pytest.mark.parametrize("path", standard.chapter_params(CHAPTERS))
def test_claims_are_checked_by_code_and_folded(path):
    problems = standard.claim_problems(standard.load(path))
    assert not problems, f"{path.name}:\n{report(problems)}"


@pytest.mark.parametrize("path", standard.chapter_params(CHAPTERS))
def test_every_number_in_the_prose_is_carried_by_the_chapter(path):
    problems = standard.prose_number_problems(standard.load(path))
    assert not problems, (f"{path.name}: numbers the prose states that no output, code or "
                          f"claim cell carries (see tests/book_standard.py for what is "
                          f"allowed):\n{report(problems)}")


@pytest.mark.parametrize("path", standard.chapter_params(CHAPTERS))
def test_code_fits_the_page(path):
    problems = standard.width_problems(standard.load(path))
    assert not problems, f"{path.name}:\n{report(problems)}"


@pytest.mark.parametrize("path", standard.chapter_params(CHAPTERS))
def test_no_formula_is_broken_by_a_line_break(path):
    problems = standard.inline_math_problems(standard.load(path))
    assert not problems, f"{path.name}: join the line to the one before:\n{report(problems)}"


@pytest.mark.parametrize("path", standard.chapter_params(CHAPTERS))
def test_outputs_reproduce_under_another_machines_arithmetic(path):
    result = standard.alt_nbval(path)
    assert result.returncode == 0, (
        f"{path.name}: nbval under {standard.ALT_ENV} gives other outputs than the committed "
        f"ones (print to the precision that holds on every machine):\n{result.stdout[-6000:]}")


# ---------------------------------------------------------------- the checks are not vacuous

def notebook(*cells):
    """A chapter-shaped notebook from cells: a string is Markdown, a dict a code cell."""
    made = []
    count = 0
    for cell in cells:
        if isinstance(cell, str):
            made.append(v4.new_markdown_cell(cell))
            continue
        count += 1
        outputs = [v4.new_output("stream", name="stdout", text=cell["prints"])] if cell.get("prints") else []
        made.append(v4.new_code_cell(cell["code"], execution_count=count, outputs=outputs,
                                     metadata={"tags": cell.get("tags", [])} if cell.get("tags") else {}))
    return json.loads(nbformat.writes(v4.new_notebook(cells=made, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})))


def code(source, prints=None, tags=()):
    return {"code": source, "prints": prints, "tags": list(tags)}


def claim(source, prints=None):
    return code(source, prints, tags=["claim"])


SETUP = code("import numpy as np")
EXPERIMENT = code("ratio = 33.2\nprint(f'ratio {ratio:.1f}')", prints="ratio 33.2\n")


def folded(nb):
    book_notebooks.normalize_claim_cells(nb)
    return nb


def test_a_good_chapter_passes_every_check():
    nb = folded(notebook(
        "# A chapter\n\nIn 2015 (chapter 12, eq. (5.1)) the step took $10^{-3}$, three seeds.",
        SETUP, code("lr = 1e-3"),
        "The ratio is about thirty times (33×), the accuracy 77 %.",
        EXPERIMENT, code("acc = 0.771\nprint(acc)", prints="0.771\n"),
        claim("assert 25 < ratio < 40 and acc > 0.7")))
    for check in (standard.claim_problems, standard.prose_number_problems, standard.width_problems):
        assert check(nb) == [], check.__name__


@pytest.mark.parametrize("broken, expected", [
    (notebook(SETUP, EXPERIMENT), "no claim cell"),
    (notebook(SETUP, EXPERIMENT, claim("assert ratio > 30")), "not folded"),
    (folded(notebook(SETUP, EXPERIMENT, claim("print(ratio > 30)"))), "holds no assertion"),
    (folded(notebook(SETUP, EXPERIMENT, claim("assert True, ratio"))), "cannot fail"),
    (folded(notebook(SETUP, EXPERIMENT, claim("assert (ratio > 30, 'ratio')"))), "cannot fail"),
    (folded(notebook(SETUP, claim("assert np.pi > 3"), EXPERIMENT)), "reads nothing an earlier"),
    (folded(notebook(SETUP, EXPERIMENT, code("y = 2"), claim("assert ratio > 30"))),
     "does not follow the output or code"),
    (folded(notebook(SETUP, EXPERIMENT, claim("assert ratio > 30\nprint(1)\nprint(2)",
                                              prints="1\n2\n"))), "more than one short line"),
])
def test_the_claim_check_catches(broken, expected):
    problems = standard.claim_problems(broken)
    assert any(expected in p for p in problems), problems


def test_a_numpy_testing_assertion_is_a_claim_and_a_claim_may_check_code():
    nb = folded(notebook(SETUP, code("def f(x):\n    return 2 * x"),
                         claim("np.testing.assert_allclose(f(np.ones(2)), 2)")))
    assert standard.claim_problems(nb) == []


@pytest.mark.parametrize("prose, printed, found", [
    ("Momentum is best about ten times lower.", "ratio 33.2\n", [10]),  # a ratio needs a claim
    ("It reaches 0.93.", "0.91\n", [0.93]),
    ("It reaches 93 % by epoch 21.", "0.91\n", [93, 21]),
    ("The error is $3.2\\cdot10^{-3}$ and 1.5e-12.", "0.003\n", [0.0032, 1.5e-12]),
    ("It needs 17,695 steps, twelve digits, about 26 000 weights.", "17000\n", [17695, 12, 26000]),
    ("| lr | acc |\n|---|---|\n| 0.1 | 0.984 |", "0.1 0.98\n", [0.984]),
])
def test_the_prose_number_check_catches(prose, printed, found):
    nb = notebook(SETUP, code("x = 1", prints=printed), prose)
    hits = standard.prose_number_hits(nb)
    assert sorted(h["value"] for h in hits) == pytest.approx(sorted(found)), hits


@pytest.mark.parametrize("prose, printed", [
    ("The step $\\eta = 10^{-3}$ is 1e-3, 0.001, 10⁻³.", "lr 0.001\n"),
    ("It reaches 0.93 (77 %), 33 times, 1.4e-11.", "acc 0.9312 zeros 0.771 33.2 err 1.4e-11\n"),
    ("See chapter 11, chapters 2 to 5, Section 4.2, eq. 3.14, Figure 12.", "\n"),
    ("Kingma and Ba (2015); PyTorch 2.13, Python 3.11, version 2.13.0.", "\n"),
    ("The {cite:p}`kingma2015` and {eq}`eq-adam-42` and [chapter 42](42_x.ipynb).", "\n"),
    ("`lr=3e-4` in code, float64, L2, CIFAR-10, x86-64, β1, H100.", "\n"),
    ("Adam's defaults: $\\beta = (0.9, 0.999)$, $\\epsilon = 10^{-8}$.", "\n"),
    ("```{math}\n:label: eq-x-17\nx^2 + y_{12}\n```\nthree seeds, 6 epochs, a billion weights.", "\n"),
])
def test_the_prose_number_check_allows(prose, printed):
    nb = notebook(SETUP, code("x = 1", prints=printed), prose)
    assert standard.prose_number_hits(nb) == []


def test_a_precision_in_digits_is_carried_by_a_claim_cell_bound():
    prose = "The two agree to about twelve digits."
    shown = notebook(SETUP, code("err = 4e-16\nprint(f'{err:.0e}')", prints="4e-16\n"), prose)
    assert [h["kind"] for h in standard.prose_number_hits(shown)] == ["digits"]
    checked = notebook(SETUP, code("err = 4e-16\nprint(f'{err:.0e}')", prints="4e-16\n"),
                       claim("assert err < 1e-12"), prose)
    assert standard.prose_number_hits(checked) == []


def test_a_claim_cell_carries_a_ratio_and_code_does_not():
    prose = "Momentum is best about thirty times lower."
    in_code = notebook(SETUP, code("ratio = 30", prints="33.2\n"), prose)
    assert [h["value"] for h in standard.prose_number_hits(in_code)] == [30]
    checked = notebook(SETUP, code("ratio = 33.2", prints="33.2\n"),
                       claim("assert 25 < ratio < 40"), prose)
    assert standard.prose_number_hits(checked) == []


@pytest.mark.parametrize("broken, expected", [
    (notebook(code("x = '" + "a" * (standard.LINE_LIMIT - 5) + "'")), "a code line of 81"),
    (notebook(code("print(s)", prints="é" * standard.LINE_LIMIT + "b\n")), "a printed line of 81"),
    (notebook(code("print(s)", prints="界" * 41 + "\n")), "a printed line of 82"),
    (notebook(code("\n\n".join(f"x{i} = {i}" for i in range(standard.CELL_LINES_LIMIT + 1)))),
     "26 lines"),
])
def test_the_width_check_catches(broken, expected):
    problems = standard.width_problems(broken)
    assert any(expected in p for p in problems), problems


def test_the_width_check_allows_the_limit_exactly():
    nb = notebook(code("x = '" + "a" * (standard.LINE_LIMIT - 6) + "'\n\n" +
                       "\n".join(f"x{i} = {i}" for i in range(standard.CELL_LINES_LIMIT - 1)),
                       prints="b" * standard.LINE_LIMIT + "\n"))
    assert standard.width_problems(nb) == []


ENVIRONMENT = ("import os\n"
               "names = ['OPENBLAS_CORETYPE', 'ATEN_CPU_CAPABILITY', 'OMP_NUM_THREADS',\n"
               "         'DDLOPT_AUDIT_FIGURES']\n"
               "for name in names:\n"
               "    print(name, os.environ.get(name))")


def test_the_second_nbval_run_has_another_machines_arithmetic(tmp_path):
    """It passes a notebook whose outputs hold under ALT_ENV, and fails one whose outputs
    are those of this machine's own settings."""
    expected = "".join(f"{name} {standard.ALT_ENV[name]}\n" for name in (
        "OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS", "DDLOPT_AUDIT_FIGURES"))
    for name, printed, returncode in [("same.ipynb", expected, 0),
                                      ("local.ipynb", expected.replace("Haswell", "None"), 1)]:
        path = tmp_path / name
        path.write_text(json.dumps(notebook(code(ENVIRONMENT, prints=printed))))
        result = standard.alt_nbval(path, timeout=300)
        assert result.returncode == returncode, (name, result.stdout[-3000:])


def test_normalize_folds_claim_cells_and_execute_audits_figures_outside_pending(tmp_path):
    nb = notebook(SETUP, code(ENVIRONMENT), claim("assert len(names) == 4"))
    for stem, audit in [(sorted(standard.PENDING)[0] if standard.PENDING else None, "None"),
                        ("99_not_pending", "1")]:
        if stem is None:
            continue
        path = tmp_path / f"{stem}.ipynb"
        path.write_text(json.dumps(nb))
        subprocess.run([sys.executable, str(ROOT / ".ci" / "notebooks.py"), "execute", str(path)],
                       check=True, capture_output=True, text=True, timeout=300)
        executed = standard.load(path)
        assert "DDLOPT_AUDIT_FIGURES " + audit in "".join(executed["cells"][1]["outputs"][0]["text"])
        assert standard.claim_problems(executed) == []  # folded by execute
    path = tmp_path / "normalize.ipynb"
    path.write_text(json.dumps(notebook(SETUP, EXPERIMENT, claim("assert ratio > 30"))))
    assert any("not folded" in p for p in standard.claim_problems(standard.load(path)))
    subprocess.run([sys.executable, str(ROOT / ".ci" / "notebooks.py"), "normalize", str(path)],
                   check=True, timeout=60)
    cell = standard.load(path)["cells"][2]
    assert cell["metadata"]["tags"] == ["claim", "hide-input"]
    assert cell["metadata"]["mystnb"] == standard.CLAIM_FOLD
    assert standard.claim_problems(standard.load(path)) == []


@pytest.mark.parametrize("prose, broken", [
    ("From $a = b\n- c$ on.", True),
    ("From $a = b\n+ 2$ on.", True),
    ("From $a = b -\nc$ on.", False),
    ("Two: $a$ and $b$,\n- a list item after closed formulas", False),
    ("$$\na\n- b\n$$", False),
])
def test_the_inline_math_check(prose, broken):
    problems = standard.inline_math_problems(notebook(SETUP, prose))
    assert bool(problems) is broken, problems
