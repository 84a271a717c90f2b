"""LKJ(eta) prior of one correlation (a 2x2 correlation matrix), brms's ``lkj(eta)``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mmreg.priors.distributions import Prior

__all__ = ["LKJ"]


@dataclass(frozen=True)
class LKJ(Prior):
    """LKJ(eta) for the correlation ``r`` of a 2x2 correlation matrix, on ``[-1, 1]``.

    ``p(r) = (1 - r^2)^(eta - 1) / (2^(2 eta - 1) B(eta, eta))``, i.e. ``(r + 1)/2`` follows
    Beta(eta, eta); ``eta = 1`` is uniform on ``[-1, 1]``.
    """

    eta: float
    support: ClassVar[str] = "interval"
    _checks: ClassVar = (("eta", "positive"),)

    def bounds(self):
        return (-1.0, 1.0)

    def _log_norm(self) -> float:
        e = self.eta
        return (2.0 * e - 1.0) * math.log(2.0) + 2.0 * math.lgamma(e) - math.lgamma(2.0 * e)

    def _logpdf(self, x):
        return (
            (self.eta - 1.0) * np.log1p(-x * x) - self._log_norm()
            if self.eta != 1.0
            else (np.full_like(x, -math.log(2.0)))
        )

    def _dlogpdf(self, x):
        return -2.0 * (self.eta - 1.0) * x / (1.0 - x * x)

    def sample(self, rng, size=None):
        return 2.0 * np.random.default_rng(rng).beta(self.eta, self.eta, size) - 1.0
