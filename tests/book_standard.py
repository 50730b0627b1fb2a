"""The book-wide standard of issue 16, as checks a test can run on one chapter notebook.

PENDING gates them: the chapters not yet rewritten to the standard. Every per-chapter test in
tests/test_book_standard.py (and the standard's checks in test_book.py and test_browser.py)
skips a pending chapter; a chapter's owner removes it from PENDING in the commit that makes it
pass. tests/test_book_standard.py also shows that each check catches a small notebook that
breaks it, so that an empty PENDING means something.

Each check takes a notebook (the parsed JSON, a dict) and returns its problems as strings;
an empty list is a pass. The module loads with the standard library alone (pytest, IPython
and ddlopt are imported where used): `.ci/notebooks.py` imports it too.
"""

import ast
import json
import math
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The chapter notebooks (stems) that do not meet the standard yet. Remove yours when it does.
PENDING = set()
PENDING_REASON = "{} is in PENDING (tests/book_standard.py): not yet rewritten to the standard"


def chapter_params(paths):
    """The chapters as pytest parameters (ids their stems), a pending one marked to skip."""
    import pytest

    return [pytest.param(path, id=path.stem, marks=pytest.mark.skip(
        reason=PENDING_REASON.format(path.stem))) if path.stem in PENDING
        else pytest.param(path, id=path.stem) for path in paths]


# Code that fits the page. tests/test_browser.py measures, at a 1280-pixel window in
# Chromium, how many characters a code cell, its output, a folded claim cell and a code cell
# inside a solution show without a horizontal scrollbar, and fails below this: 83, 83, 81
# and 80 with book/_static/book.css, in DejaVu Sans Mono (what the theme's font stack falls
# back to on Debian); 77 with the theme's own 14 px code font.
LINE_LIMIT = 80
CELL_LINES_LIMIT = 25  # code lines a cell, blank lines not counted

CLAIM_TAG = "claim"
# The fold of a claim cell in the HTML (`.ci/notebooks.py` writes it into the cell's metadata)
CLAIM_FOLD = {"code_prompt_show": "How this is checked",
              "code_prompt_hide": "Hide how this is checked"}

# The second nbval run: the arithmetic of another x86-64 machine (OpenBLAS's Haswell kernels,
# NumPy without AVX-512, torch's default CPU kernels, one thread), with the figure audit on.
ALT_ENV = {
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR",
    "ATEN_CPU_CAPABILITY": "default",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "DDLOPT_AUDIT_FIGURES": "1",
    "PYTHONHASHSEED": "0",
    "DDLOPT_BOOK": "1",  # interactive figures in the book's mode, as .ci/notebooks.py runs them
}


# ---------------------------------------------------------------------------- notebooks

def load(path):
    return json.loads(Path(path).read_text())


def source(cell):
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def python_of(cell_source):
    """A cell's source as plain Python (IPython's `!shell` and `%magic` lines translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def shown_text(output):
    """The text a reader sees for one output: a stream, or the plain text of a result that
    has no richer representation (a figure's `<Figure ...>` text is not shown)."""
    if output["output_type"] == "stream":
        return "".join(output["text"])
    data = output.get("data", {})
    if "text/plain" in data and not any(k.startswith("image/") or k in (
            "text/html", "text/markdown", "text/latex") for k in data):
        return "".join(data["text/plain"])
    return ""


def output_text(cell):
    """All the text of a cell's outputs, the rich ones (HTML tables, Markdown) included."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append("".join(out["text"]))
        for kind in ("text/plain", "text/markdown", "text/html", "text/latex"):
            if kind in out.get("data", {}):
                text = "".join(out["data"][kind])
                parts.append(re.sub(r"<[^>]+>", " ", text) if kind == "text/html" else text)
    return "\n".join(parts)


# ---------------------------------------------------------------------------- claim cells

def claim_cells(nb):
    """(index in nb["cells"], cell) of every code cell tagged `claim`."""
    return [(i, c) for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and CLAIM_TAG in tags(c)]


def _names(tree):
    """(names read, names bound, names bound by an import) in a parsed cell."""
    read, bound, imported = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                imported.add((alias.asname or alias.name).split(".")[0])
    return read, bound - imported, imported


def _can_fail(test):
    """Whether an assert's condition is something other than a constant."""
    return not isinstance(test, ast.Constant) and not (
        isinstance(test, (ast.Tuple, ast.List)) and test.elts)  # `assert (x, msg)` is always true


def claim_problems(nb, required=True):
    """Claim cells: at least one (when required); each folded in the HTML ("How this is
    checked"), holding an assertion that can fail, reading what an earlier cell computed,
    right after the output or code it checks, and printing at most one short line."""
    problems = []
    claims = claim_cells(nb)
    if required and not claims:
        problems.append("no claim cell: every quantitative sentence needs an assertion tagged "
                        f"`{CLAIM_TAG}` after the output it reads")
    cells = nb["cells"]
    for index, cell in claims:
        where = f"claim cell {index}"
        meta = cell.get("metadata", {})
        fold = meta.get("mystnb", {})
        if "hide-input" not in tags(cell) or any(fold.get(k) != v for k, v in CLAIM_FOLD.items()):
            problems.append(f"{where} is not folded in the HTML: run `.ci/notebooks.py execute` "
                            "(or `normalize`) on the notebook")
        try:
            tree = ast.parse(python_of(source(cell)))
        except SyntaxError as error:
            problems.append(f"{where} does not parse: {error}")
            continue
        asserts = [n for n in ast.walk(tree) if isinstance(n, ast.Assert)]
        checks = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and re.match(
            r"assert_", getattr(n.func, "attr", getattr(n.func, "id", "")))]
        if not asserts and not checks:
            problems.append(f"{where} holds no assertion (`assert ...` or a numpy.testing "
                            "assert_... call)")
        for node in asserts:
            if not _can_fail(node.test):
                problems.append(f"{where}: `{ast.unparse(node)}` cannot fail")
        read, _, _ = _names(tree)
        earlier, previous = set(), None
        for other in cells[:index]:
            if other["cell_type"] != "code":
                continue
            try:
                _, bound, _ = _names(ast.parse(python_of(source(other))))
            except SyntaxError:
                bound = set()
            earlier |= bound
            if CLAIM_TAG not in tags(other):
                previous = (other, bound)
        if not read & earlier:
            problems.append(f"{where} reads nothing an earlier cell computed: a claim checks "
                            "the output or the code before it")
        if previous is None or not (previous[0].get("outputs") or read & previous[1]):
            problems.append(f"{where} does not follow the output or code it checks: the code "
                            "cell before it (claim cells aside) has no output and defines "
                            "nothing the claim reads")
        shown = "".join(shown_text(out) for out in cell.get("outputs", []))
        rich = any(k != "text/plain" for out in cell.get("outputs", []) for k in out.get("data", {}))
        if rich or len(shown.splitlines()) > 1 or any(len(line) > LINE_LIMIT for line in shown.splitlines()):
            problems.append(f"{where} shows more than one short line of output")
    return problems


# ---------------------------------------------------------------------------- code that fits

def display_width(line):
    """Columns a line takes in a monospace block: East Asian wide characters count 2,
    combining marks 0, tabs to the next multiple of 8."""
    width = 0
    for ch in line:
        if ch == "\t":
            width += 8 - width % 8
        elif unicodedata.combining(ch):
            continue
        else:
            width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


def width_problems(nb):
    """Every code line and every printed line at most LINE_LIMIT columns; every code cell at
    most CELL_LINES_LIMIT lines, blank lines not counted."""
    problems = []
    for number, cell in enumerate(code_cells(nb), 1):
        lines = source(cell).splitlines()
        for line in lines:
            if display_width(line) > LINE_LIMIT:
                problems.append(f"code cell {number}: a code line of {display_width(line)} "
                                f"characters (limit {LINE_LIMIT}): {line.strip()[:60]}")
        filled = sum(1 for line in lines if line.strip())
        if filled > CELL_LINES_LIMIT:
            problems.append(f"code cell {number}: {filled} lines (limit {CELL_LINES_LIMIT}, blank "
                            "lines not counted): make it a tested function in ddlopt, or split it")
        if {"remove-output", "remove_output", "remove-cell"} & set(tags(cell)):
            continue
        for out in cell.get("outputs", []):
            for line in shown_text(out).splitlines():
                if display_width(line) > LINE_LIMIT:
                    problems.append(f"code cell {number}: a printed line of {display_width(line)} "
                                    f"characters (limit {LINE_LIMIT}): {line.strip()[:60]}")
    return problems


# ---------------------------------------------------------------------------- prose numbers
#
# A heuristic: every number the prose states must be carried by the chapter's outputs, code
# or claim cells, so that a sentence cannot quote a number that nothing in the chapter shows
# or checks. What it reads: the Markdown cells, their math included. What it allows:
#
# - references: equation, figure, section, chapter, exercise, table and line numbers after
#   their word ("chapter 9", "chapters 2 to 5", "Eq. 3.2", "§4"), version numbers after a
#   tool's name ("PyTorch 2.13", "Python 3.11"), and any dotted number like 2.13.0;
# - years: a whole number from 1900 to 2030 (not followed by a count like "steps");
# - whatever sits in citations and other roles ({cite:p}`...`, {eq}`...`), links (text and
#   target), bare URLs, inline code (`lr=1e-3` is code, not a finding), code blocks,
#   labels (`(eq-adam)=`, `:label:` and other directive options), HTML and headings'
#   leading numbers;
# - identifiers: digits glued to letters (float64, L2, β1, x86-64, CIFAR-10, 2D, H100);
#   subscripts in math, which are indices (x_{12}, \theta_{t+1});
# - small integers, 0 to 10, in digits or words: counts a reader sees (three seeds, 6
#   epochs), exponents in math (x^2, t-1), list items. Every chapter's code holds all of
#   them, so demanding them would test nothing; except as a ratio or a precision, where a
#   small integer is a finding ("ten times lower", "a factor of 3", "5×", "to 8 digits");
# - "a hundred", "a thousand", "a billion" (not "-fold"): a size in words, not a finding.
#
# Numbers in math follow the same rule (a hyperparameter in an equation is carried by the
# code that uses it). Forms are normalised: 1e-3 = 0.001 = 10^{-3} = 10⁻³ = $10^{-3}$,
# 3·10⁻⁴ = 3\times10^{-4} = 3e-4, 1,000 = 1000 = 1 000 = 1{,}000, −2 = 2 (signs are
# ignored), 77 % = 0.77, "33×" = "33 times" = 33; number words from eleven up ("twelve
# digits", "thirty times", "a thousandfold") count as their values.
#
# A stated number is carried when something printed or written in code rounds to it at the
# precision the prose gives: "0.93" by 0.9312, "33" by 33.2, "1e-11" by 1.4e-11; a whole
# number with trailing zeros is read as rounded to them ("30" by 25 to 35, "thirty times" by
# 33). The numeric defaults of ddlopt's functions carry too (Adam's 0.999 and 1e-8 in an
# equation). A claim cell's range carries every number inside it: `assert 25 < ratio < 40`
# carries "about thirty times" and "33×". A percentage is a finding: an output or a claim
# cell carries it, not a number in code. A ratio ("ten times lower", "33×", "a factor of 3")
# is a comparison, which the standard checks by a claim: only a claim cell carries it. So
# "about ten times lower" is caught unless a claim cell holds ten (or a range around it).
# So is a precision ("agrees to about twelve digits"): a claim cell carries it with a bound
# within a factor of ten of 1e-12 (`assert error < 1e-12`), or the number itself.
# The test cannot read meaning: it catches invented, stale and unchecked numbers, not
# wrong comparisons in words (those are what claim cells are for).

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate(
    "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_UNIT_WORDS = "|".join(sorted(_UNITS, key=len, reverse=True))
_TEN_WORDS = "|".join(_TENS)
_WORD_NUMBER = re.compile(
    rf"\b(?:(?P<tens>{_TEN_WORDS})(?:[- ](?P<tail>{_UNIT_WORDS}))?|(?P<unit>{_UNIT_WORDS})|(?P<a>a))?"
    rf"(?:[- ]?(?P<scale>hundred|thousand|million|billion))?(?P<fold>fold)?\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![\w.])(?<![^\W\d]-)"
    r"(?:(?:(?P<mant>\d+(?:\.\d+)?)\s*(?:×|x|\\times|\\cdot|·|\*)\s*)?"
    r"10\s*(?:\^|\*\*)\s*\{?\s*(?P<pexp>[-+]?\d+)\s*\}?"
    r"|(?P<num>\d{1,3}(?:,\d{3})+(?![\d,])|\d+(?:\.\d+)?|\.\d+)(?:[eE](?P<exp>[-+]?\d+))?)"
    r"(?P<suffix>\s?%|\s?(?:per ?cent)|\s?×(?!\s*\d)|x(?![\w])|(?:st|nd|rd|th)\b|-?fold\b)?"
    r"(?![\w])(?!\.\d)")
# "ten times lower", "5 times its best", "a factor of 3": a ratio; "shown three times": not
_RATIO_AFTER = re.compile(r"^\s*(?:times\s+(?:\w+er\b|more|less|fewer|as|the|its|it|that|this|"
                          r"worse|too|longer)|×(?!\s*\d)|-?fold\b)", re.IGNORECASE)
# "agrees to 15 digits", "the same to about twelve significant digits": a precision
_DIGITS_AFTER = re.compile(r"^\s*(?:significant\s+|decimal\s+|correct\s+)?digits\b", re.IGNORECASE)
_RATIO_BEFORE = re.compile(r"(?:factor of\s*(?:about|roughly|nearly|almost|some|over|around|"
                           r"only|just)?\s*|(?<![\d.]\s)(?<![\d.])×\s?)$", re.IGNORECASE)

_REFERENCE = re.compile(
    r"\b(?:chapters?|ch\.|sections?|§|figures?|figs?\.|equations?|eqs?\.|exercises?|tables?|"
    r"appendix|appendices|parts?|lines?|cells?|issues?)\s*\(?\d+(?:\.\d+)*\)?"
    r"(?:\s*(?:,|and|or|to|–|—|-)\s*\(?\d+(?:\.\d+)*\)?)*", re.IGNORECASE)
_VERSION = re.compile(
    r"\b(?:python|numpy|torch|pytorch|keras|tensorflow|jax|cuda|triton|sphinx|jupyter[ -]book|"
    r"scikit-learn|matplotlib|ubuntu|debian|ipython|nbval|myst-nb|version|release|v)\s*"
    r"v?\d+(?:\.\d+)*(?:\.x)?\b", re.IGNORECASE)
_YEAR_NOT = re.compile(r"^\s*(?:steps?|epochs?|iterations?|parameters?|samples?|examples?|points?|"
                       r"seeds?|runs?|images?|tumou?rs?|rows?|entries|cases?|times)\b", re.IGNORECASE)


def _resolution(digits, exponent=0):
    """Half the step of the last significant digit a number is written with: "0.93" is
    known to 0.005, "33" to 0.5, "30" to 5 (its zero read as rounding), "1.5e-12" to 5e-14."""
    digits = digits.replace(",", "")
    if "." in digits:
        step = 10.0 ** -len(digits.split(".")[1])
    else:
        stripped = digits.lstrip("0") or "0"
        step = 10.0 ** (len(stripped) - len(stripped.rstrip("0"))) if stripped != "0" else 1.0
    return step * 10.0 ** exponent / 2


def numbers_in(text, prose=False):
    """Every number written in text (prose, code or output), as (value, resolution, kind,
    start, token) with kind "number", "word", "percent", "ratio" or "digits"; signs dropped. In prose
    (and its math) a space, a thin space or LaTeX's {,} between groups of three digits
    separates thousands: "26 000", "201{,}408{,}512"."""
    text = text.translate(_SUPERSCRIPTS).replace("−", "-")
    if prose:
        text = re.sub(r"(?<=\d)(?:\{,\}|\\,|[ \u00a0\u2009\u202f])(?=\d{3}(?![\d.]))", ",", text)
    found = []
    for m in _NUMBER.finditer(text):
        if m.group("pexp") is not None:
            mant = m.group("mant") or "1"
            exp = int(m.group("pexp"))
            value, resolution = float(mant) * 10.0 ** exp, _resolution(mant, exp)
        else:
            digits, exp = m.group("num"), int(m.group("exp") or 0)
            value = float(digits.replace(",", "")) * 10.0 ** exp
            resolution = _resolution(digits, exp)
        suffix = (m.group("suffix") or "").strip().lower()
        if suffix in ("%", "percent", "per cent"):
            kind = "percent"
        elif suffix in ("×", "x", "fold", "-fold") or _RATIO_AFTER.match(text[m.end():]) \
                or _RATIO_BEFORE.search(text[:m.start()]):
            kind = "ratio"
        elif not suffix and _DIGITS_AFTER.match(text[m.end():]):
            kind = "digits"
        else:
            kind = "number"
        found.append((abs(value), resolution, kind, m.start(), m.group(0)))
    for m in _WORD_NUMBER.finditer(text):
        if not m.group(0).strip() or (m.group("a") and not m.group("scale")):
            continue
        vague = m.group("a") and not m.group("fold")  # "a billion parameters": a size, not a finding
        value = _TENS.get((m.group("tens") or "").lower(), 0) + _UNITS.get(
            (m.group("tail") or m.group("unit") or "").lower(), 0)
        if m.group("scale"):
            value = (value or 1) * _SCALES[m.group("scale").lower()]
        ratio = m.group("fold") or _RATIO_AFTER.match(text[m.end():]) \
            or _RATIO_BEFORE.search(text[:m.start()])
        if vague and not ratio:
            continue
        kind = "ratio" if ratio else "digits" if _DIGITS_AFTER.match(text[m.end():]) else "word"
        found.append((float(value), _resolution(str(value)), kind, m.start(), m.group(0)))
    found.sort(key=lambda number: number[3])
    # a range takes the kind of its end: "97-98 %", "5 to 10 times"
    for i in range(len(found) - 2, -1, -1):
        value, resolution, kind, start, token = found[i]
        after = found[i + 1]
        if kind in ("number", "word") and after[2] in ("percent", "ratio") and re.fullmatch(
                r"\s*(?:-|–|—|to|or|and)\s*", text[start + len(token):after[3]]):
            found[i] = (value, resolution, after[2], start, token)
    return found


_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\s*(?:\{(?P<name>[\w:-]+)\})?(?P<args>.*)$")
_MATH_ENV = re.compile(r"^\s*\\begin\{(align|equation|gather|multline|eqnarray)\*?\}")
_CODE_DIRECTIVES = {"code", "code-block", "code-cell", "literalinclude", "bibliography", "raw"}
_SILENT_ARGS = {"figure", "image", "include", "solution-start", "solution-end", "solution",
                "bibliography", "glue:figure", "glue"}


def _strip_markdown(text):
    """Markdown with what the heuristic allows removed, and its math, apart.
    Returns (prose, math), each a string."""
    math, prose_lines = [], []
    stack = []  # the open fences: (delimiter, "prose" | "math" | "code")
    env = None  # inside \begin{align} ... \end{align}
    for line in text.splitlines():
        fence = _FENCE.match(line)
        inside = stack[-1][1] if stack else "prose"
        if env:
            math.append(line)
            if re.search(rf"\\end\{{{env}\*?\}}", line):
                env = None
            continue
        if fence and stack and fence.group("fence") == stack[-1][0] and not fence.group("name") \
                and not fence.group("args").strip():
            stack.pop()  # a closing fence
            continue
        if inside == "math":
            if not re.match(r"^\s*:[\w-]+:", line):
                math.append(line)
            continue
        if inside == "code":
            continue
        if fence and (fence.group("name") or fence.group("fence").startswith("`")):
            name = (fence.group("name") or "").lower()
            if not name or name in _CODE_DIRECTIVES:
                kind = "code"
            elif name == "math":
                kind = "math"
            else:
                kind = "prose"
            if kind == "prose" and name not in _SILENT_ARGS:
                prose_lines.append(fence.group("args"))  # a title: prose
            if kind == "math" and fence.group("args").strip():
                math.append(fence.group("args"))
            stack.append((fence.group("fence"), kind))
            continue
        if _MATH_ENV.match(line):
            env = _MATH_ENV.match(line).group(1)
            math.append(line)
            if re.search(rf"\\end\{{{env}\*?\}}", line):
                env = None
            continue
        if re.match(r"^\s*:[\w-]+:", line) or re.match(r"^\s*\(.+\)=\s*$", line):
            continue  # directive options, labels
        prose_lines.append(re.sub(r"^(#+\s*)[\d.]+\s", r"\1", line))  # a heading's number
    prose = "\n".join(prose_lines)
    prose = re.sub(r"<!--.*?-->", " ", prose, flags=re.S)
    math.extend(re.findall(r"\$\$(.+?)\$\$", prose, flags=re.S))
    prose = re.sub(r"\$\$(.+?)\$\$(\s*\([\w-]+\))?", " ", prose, flags=re.S)
    math.extend(re.findall(r"\{math\}`([^`]*)`", prose))
    prose = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", prose)  # roles: cite, eq, numref, math, ...
    math.extend(re.findall(r"(?<![\\$])\$([^$\n]+?)\$", prose))
    prose = re.sub(r"(?<![\\$])\$([^$\n]+?)\$", " ", prose)
    prose = re.sub(r"`[^`\n]*`", " ", prose)  # inline code
    prose = re.sub(r"!?\[[^\]]*\]\([^)]*\)", " ", prose)  # links and images, text and target
    prose = re.sub(r"\[[^\]]*\]\[[^\]]*\]|\[\^[^\]]*\]", " ", prose)  # reference links, footnotes
    prose = re.sub(r"<https?://[^>]*>|https?://\S+", " ", prose)
    prose = re.sub(r"<[^>]+>", " ", prose)  # HTML
    math_text = "\n".join(math)
    math_text = re.sub(r"\\(?:label|tag|ref|eqref|text|mathrm|operatorname|mathbf|mathcal)"
                       r"\{[^}]*\}", " ", math_text)
    math_text = re.sub(r"_(?:\{[^{}]*\}|\d+)", " ", math_text)  # subscripts are indices
    return prose, math_text


def _allowed(text):
    """Blank out what the heuristic allows in running text: references, versions."""
    for pattern in (_REFERENCE, _VERSION):
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text


def stated_numbers(markdown):
    """The numbers a Markdown cell states that need carrying: (value, resolution, kind, where,
    context) for each, after what the heuristic allows."""
    prose, math = _strip_markdown(markdown)
    stated = []
    for where, text in (("prose", _allowed(prose)), ("math", math)):
        for value, resolution, kind, start, token in numbers_in(text, prose=True):
            if kind in ("number", "word") and value == int(value) and value <= 10:
                continue  # small integers
            if kind == "number" and re.fullmatch(r"\d{4}", token) and 1900 <= value <= 2030 \
                    and not _YEAR_NOT.match(text[start + 4:]):
                continue  # a year
            context = " ".join(text[max(0, start - 50):start + 30].split())
            stated.append((value, resolution, kind, where, context))
    return stated


def carried_numbers(nb):
    """What a chapter shows or checks: (numbers in its code, in its outputs, in its claim
    cells), each a sorted list; a printed percentage also as a fraction."""
    in_code, in_outputs, in_claims = [], [], []
    for cell in code_cells(nb):
        code = [v for v, *_ in numbers_in(re.sub(r"(?<=\d)_(?=\d)", "", source(cell)))]
        in_code.extend(code)
        if CLAIM_TAG in tags(cell):
            in_claims.extend(code)
        for value, _, kind, *_ in numbers_in(output_text(cell)):
            in_outputs.append(value)
            if kind == "percent":
                in_outputs.append(value / 100)
    return sorted(in_code), sorted(in_outputs), sorted(in_claims)


def _constant(node):
    """The value of a numeric constant expression (1e-3, -2, 10**-3, 1/3), else None."""
    if not all(isinstance(n, (ast.Constant, ast.UnaryOp, ast.BinOp, ast.operator, ast.unaryop))
               for n in ast.walk(node)):
        return None
    try:
        value = eval(compile(ast.Expression(node), "<claim>", "eval"), {"__builtins__": {}})
    except Exception:
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def claim_intervals(nb):
    """The ranges the claim cells hold a quantity to: `lo < x < hi` (or >, or <=) with
    constant bounds. A stated number inside one is carried: `assert 25 < ratio < 40`
    carries "about thirty times" and "33×", not "ten times"."""
    intervals = []
    for _, cell in claim_cells(nb):
        try:
            tree = ast.parse(python_of(source(cell)))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Compare) and len(node.ops) == 2):
                continue
            up = all(isinstance(op, (ast.Lt, ast.LtE)) for op in node.ops)
            down = all(isinstance(op, (ast.Gt, ast.GtE)) for op in node.ops)
            lo, hi = _constant(node.left), _constant(node.comparators[1])
            if (up or down) and lo is not None and hi is not None:
                intervals.append((min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
                                 if lo * hi >= 0 else (0.0, max(abs(lo), abs(hi))))
    return intervals


def library_defaults():
    """The numeric defaults of ddlopt's functions and classes (NumPy side; the PyTorch twins
    share them): hyperparameters in the library's code, which an equation may quote."""
    import importlib
    import inspect
    import pkgutil

    import ddlopt

    values = set()
    for info in pkgutil.walk_packages(ddlopt.__path__, "ddlopt."):
        if info.name.startswith(("ddlopt.torch", "ddlopt.plot", "ddlopt.interactive")):
            continue  # torch, matplotlib, plotly: layout numbers, not hyperparameters
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not (
                    callable(obj) and getattr(obj, "__module__", "").startswith("ddlopt")):
                continue
            try:
                parameters = inspect.signature(obj).parameters.values()
            except (TypeError, ValueError):
                continue
            for parameter in parameters:
                default = parameter.default
                for item in default if isinstance(default, tuple) else (default,):
                    if isinstance(item, (int, float)) and not isinstance(item, bool):
                        values.add(abs(float(item)))
    return sorted(values)


def _carried(value, resolution, pool):
    """Whether some number in the sorted pool rounds to value at the given resolution."""
    import bisect

    tolerance = resolution * (1 + 1e-9) + 1e-300
    lo = bisect.bisect_left(pool, value - tolerance)
    return lo < len(pool) and pool[lo] <= value + tolerance


def prose_number_hits(nb):
    """The numbers the chapter's Markdown states that nothing in its code, outputs or claim
    cells carries: a list of dicts (cell, value, kind, where, context). A ratio or a number
    of digits must be carried by a claim cell (a comparison is what a claim checks), a
    percentage by an output or a claim cell, anything else by those, the code, or a default
    of ddlopt's."""
    in_code, in_outputs, in_claims = carried_numbers(nb)
    findings = sorted(in_outputs + in_claims)
    everything = sorted(in_code + findings + library_defaults())
    intervals = claim_intervals(nb)

    def checked(*values):
        return any(lo <= v <= hi for v in values for lo, hi in intervals)

    hits = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for value, resolution, kind, where, context in stated_numbers(source(cell)):
            if kind == "percent":
                ok = _carried(value, resolution, findings) or checked(value, value / 100) or \
                    _carried(value / 100, resolution / 100, findings)
            elif kind == "ratio":
                ok = _carried(value, resolution, in_claims) or checked(value)
            elif kind == "digits":  # a claim cell holds the quantity to about 10^-value
                ok = _carried(value, resolution, in_claims) or checked(value) or any(
                    0 < v < 1 and abs(-math.log10(v) - value) <= 1 for v in in_claims)
            else:
                ok = _carried(value, resolution, everything) or checked(value)
            if not ok:
                hits.append({"cell": index, "value": value, "kind": kind, "where": where,
                             "context": context})
    return hits


def prose_number_problems(nb):
    return [f"markdown cell {h['cell']}: {h['value']:g} ({h['kind']}, in {h['where']}) is "
            f"carried by no output, code or claim cell: ...{h['context']}..."
            for h in prose_number_hits(nb)]


# ---------------------------------------------------------------------------- another machine

def alt_nbval(path, timeout=900):
    """nbval on one notebook in a fresh process with another machine's arithmetic (ALT_ENV):
    the committed outputs must come out again. Returns the CompletedProcess."""
    env = {**os.environ, **ALT_ENV}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
               str(ROOT / "tests" / "nbval_sanitize.cfg"), str(path)]
    return subprocess.run(command, capture_output=True, text=True, env=env,
                          cwd=Path(path).parent, timeout=timeout)


# ---------------------------------------------------------------------------- markdown

BLOCK_MARKER = re.compile(r"\s*([-+*>]|\d+[.)]|#+)\s")


def inline_math_problems(nb):
    """Lines of the Markdown that begin inside an inline formula ($...$ opened on an earlier
    line of the paragraph) with what Markdown reads as a list item, a quote or a heading
    ("- \\theta", "+ 2"): the formula breaks there, in the HTML and the PDF alike."""
    problems = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = re.sub(r"\$\$.*?\$\$", "", source(cell), flags=re.S)    # display math
        text = re.sub(r"```.*?```", "", text, flags=re.S)                # code blocks
        dollars = 0
        for line in text.split("\n"):
            if not line.strip():
                dollars = 0
                continue
            if dollars % 2 and BLOCK_MARKER.match(line):
                problems.append(f"markdown cell {index}: a formula broken by a line that "
                                f"starts like a list item or heading: {line[:50]!r}")
            dollars += len(re.findall(r"(?<![\\$])\$(?!\$)", line))
    return problems
