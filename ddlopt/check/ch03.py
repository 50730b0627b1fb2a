"""Chapter 3 (momentum): its exercises check the heavy ball with chapter 2's
``check.optimizer_step(f, "sgd", momentum=...)``. New checkers for chapter 3 go here (see
the package docstring)."""

__all__ = []
