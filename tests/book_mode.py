"""A pytest plugin (loaded with -p book_mode): the kernels nbval starts run in the book's
mode, as `.ci/notebooks.py execute` runs them, so that an interactive figure
(ddlopt.interactive) outputs the book's HTML in both and nbval compares like with like."""

import os

os.environ["DDLOPT_BOOK"] = "1"
