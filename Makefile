# make book     build the HTML from the committed notebook outputs into _build/html
# make test     install everything, then run the whole test suite (library, nbval, HTML build)
# make execute  re-execute every notebook in _toc.yml in a fresh kernel, refreshing its outputs
# make pdf      build the PDF edition into _build/latex from the committed outputs (no torch);
#               needs Debian's LaTeX packages named in the README (.ci/run installs them)
#
# Everything installs into .venv, once: a second run installs nothing unless
# requirements.txt or pyproject.toml changed.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
BOOK_STAMP := $(VENV)/.installed-book
ALL_STAMP := $(VENV)/.installed-all

.PHONY: book test execute pdf clean

book: $(BOOK_STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo ""
	@echo "The book is built. Open it in a browser:"
	@echo "    file://$(CURDIR)/_build/html/index.html"

test: $(ALL_STAMP)
	$(BIN)/python -m pytest

execute: $(ALL_STAMP)
	$(BIN)/python .ci/notebooks.py execute

# -halt-on-error: a LaTeX error stops the build with its message instead of a prompt
pdf: $(BOOK_STAMP)
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null || { \
	  echo "make pdf needs LaTeX: apt-get install the Debian packages the README names"; exit 1; }
	LATEXOPTS="-halt-on-error -interaction=nonstopmode" \
	  $(BIN)/jupyter-book build . --builder pdflatex -W -n --keep-going </dev/null
	@echo ""
	@echo "The PDF is built: $(CURDIR)/_build/latex/how-neural-networks-learn.pdf"
	@echo "(a make book after this links it from every page's download menu)"

clean:
	rm -rf _build

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The book toolchain alone: the first part of requirements.txt, no torch.
$(BOOK_STAMP): requirements.txt | $(BIN)/python
	sed '/^# ---- end of book toolchain/q' requirements.txt > $(VENV)/requirements-book.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements-book.txt
	touch $@

# Everything: the pinned environment, then ddlopt itself, editable.
$(ALL_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@ $(BOOK_STAMP)
