"""Exercise checkers: they run a student's code on test inputs and say what is wrong.

Each checker prints one line per finding (``✓`` passed, ``✗`` failed, with the likely
cause and the fix) and returns True when everything passed. A skeleton, a function whose
body is still ``raise NotImplementedError("your code here")``, gets one verdict instead of
a traceback::

    ✗ not written yet: fill in the body of my_mse and run this cell again

>>> import numpy as np
>>> def my_mse(y_true, y_pred):
...     return np.mean((y_pred - y_true) ** 2)
>>> check.loss(my_mse, "mse")          # doctest: +SKIP
✓ value matches mean_squared_error on random inputs

One module per chapter (``ch01`` … ``ch11``) holds that chapter's checkers; this package
re-exports them all, so ``from ddlopt import check; check.loss(...)`` is all a notebook
needs. **To add a checker** to chapter N:

1. Write it in ``chNN.py`` as a function whose first argument is the student's function
   (or answer), decorated with ``@checker`` from ``._shared``, and list its name in that
   module's ``__all__`` (this package re-exports every chapter's ``__all__``).
2. Check the arguments that are yours first (raise TypeError / ValueError naming them;
   ``require_function(f, "student_f")``). Then run the student's code only through
   ``call(f, ...)`` (any return is fine, e.g. an in-place update) or ``result_of(f, ...)``
   (a value is needed: None back means "not written yet"); ``answer_of(answer)`` for a
   number the student gives. A skeleton raises ``NotWritten`` in them, which ``@checker``
   turns into the "not written yet" verdict. Any other error of the student's is caught
   by ``except Exception`` in your checker and reported ("it raised ZeroDivisionError:
   ...").
3. Print each finding with ``say(passed, message)`` (or ``verdict(problem, success)``:
   ``problem`` None prints ``success`` with ✓), which wraps at 78 columns, and return True
   only if every finding passed. Name the likely mistake and its fix, never just "wrong".
4. Test it in ``tests/test_check_chNN.py`` with a right answer and each typical wrong one,
   and add it to the skeleton table in ``tests/test_check.py`` (that test fails for a
   public checker missing from the table).

An update rule for ``optimizer_step`` is added with ``ch02.add_update_rule(name, update,
mistakes)`` in the chapter that teaches it (see ``ch05.py``).
"""

from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11
from .ch01 import *  # noqa: F401,F403
from .ch02 import *  # noqa: F401,F403
from .ch03 import *  # noqa: F401,F403
from .ch04 import *  # noqa: F401,F403
from .ch05 import *  # noqa: F401,F403
from .ch06 import *  # noqa: F401,F403
from .ch07 import *  # noqa: F401,F403
from .ch08 import *  # noqa: F401,F403
from .ch09 import *  # noqa: F401,F403
from .ch10 import *  # noqa: F401,F403
from .ch11 import *  # noqa: F401,F403

_CHAPTERS = (ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11)
__all__ = [name for chapter in _CHAPTERS for name in chapter.__all__]
