"""A pytest plugin (loaded with -p notebook_times): how long each notebook took under nbval.

Prints a table at the end of the run. The budget is a guide for authors, not an assertion:
tests never fail on timings, which vary with the machine.
"""

from collections import defaultdict

NOTEBOOK_BUDGET_S = 60  # each notebook, top to bottom, on 2 CPU cores

_seconds = defaultdict(float)  # notebook -> seconds spent in its cells (kernel start included)
_failed = set()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration
        if report.failed:
            _failed.add(path)


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    write = terminalreporter.write_line
    terminalreporter.section("notebook execution times (nbval)")
    write(f"{'notebook':<40}{'seconds':>9}  budget {NOTEBOOK_BUDGET_S} s")
    for path, seconds in sorted(_seconds.items()):
        verdict = "OVER BUDGET" if seconds > NOTEBOOK_BUDGET_S else "ok"
        if path in _failed:
            verdict += ", outputs differ or a cell failed"
        write(f"{path:<40}{seconds:>9.1f}  {verdict}")
