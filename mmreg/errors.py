"""Public exception types.

Every malformed formula raises :class:`MMSpecError`; every problem with the data raises
:class:`MMDataError`.  Both subclass :class:`ValueError`, so ``except ValueError`` keeps
working for code that does not care about the distinction.
"""

from __future__ import annotations

__all__ = ["MMSpecError", "MMDataError", "MMWarning"]


class MMSpecError(ValueError):
    """The model specification (formula, family, priors, options) is invalid."""


class MMDataError(ValueError):
    """The data do not fit the model specification (missing, non-constant, bad values)."""


class MMWarning(UserWarning):
    """A numerical or statistical problem that did not stop the fit."""
