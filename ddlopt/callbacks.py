"""Callbacks for ``ddlopt.nn.Sequential.fit``, with Keras's names and semantics.

A callback is a :class:`Callback` (Keras's protocol: ``on_train_begin``, ``on_epoch_begin``,
``on_epoch_end``, ``on_train_end``); ``fit`` calls its hooks and records what happened in the
returned :class:`History`. The base and History live in ``ddlopt.nn``; this module gathers
the callbacks a reader uses, one section a chapter.
"""

from .nn import Callback, History

__all__ = ["Callback", "History"]


# ----------------------------------------------------------------------------------------
# The learning rate during training (chapter 6)
# ----------------------------------------------------------------------------------------




# ----------------------------------------------------------------------------------------
# Stopping early (chapter 8)
# ----------------------------------------------------------------------------------------
