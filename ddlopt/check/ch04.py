"""Chapter 4 (Adagrad and RMSprop): their update rules, for ``check.optimizer_step(f,
"adagrad", ...)`` and ``check.optimizer_step(f, "rmsprop", ...)``."""

from .. import optim as _optim
from .ch02 import add_update_rule

__all__ = []

add_update_rule("adagrad", _optim.adagrad_update)
add_update_rule("rmsprop", _optim.rmsprop_update)
