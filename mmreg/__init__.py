"""mmreg: Bayesian multiple-membership multilevel models with estimated weight functions."""

from __future__ import annotations

from mmreg.errors import MMDataError, MMSpecError, MMWarning

__version__ = "0.1.0.dev0"

__all__ = ["MMDataError", "MMSpecError", "MMWarning", "__version__"]
