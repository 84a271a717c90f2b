"""Priors on ``[0, inf)``: for standard deviations and the Weibull shape.

A prior written on the precision ``tau = 1/sd**2`` (JAGS ``tau ~ dgamma(...)`` or
``dscaled.gamma``) is expressed here as the equivalent density for the SD, Jacobian
included, so every prior an SD gets is a density over the SD itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from mmreg.priors.distributions import _LOG2, _LOG_SQRT_2PI, Prior, _t_logconst

__all__ = [
    "HalfNormal",
    "HalfCauchy",
    "HalfT",
    "PrecisionScaledGamma",
    "Exponential",
    "Gamma",
    "InvGamma",
    "PrecisionGamma",
    "LogNormal",
]


@dataclass(frozen=True)
class HalfNormal(Prior):
    """Half-normal: ``|N(0, sd)|`` on ``[0, inf)``."""

    sd: float
    support: ClassVar[str] = "positive"
    _checks: ClassVar = (("sd", "positive"),)

    def _logpdf(self, x):
        z = x / self.sd
        return _LOG2 - 0.5 * z * z - math.log(self.sd) - _LOG_SQRT_2PI

    def _dlogpdf(self, x):
        return -x / self.sd**2

    def sample(self, rng, size=None):
        return np.abs(np.random.default_rng(rng).normal(0.0, self.sd, size))


@dataclass(frozen=True)
class HalfCauchy(Prior):
    """Half-Cauchy(scale) on ``[0, inf)``: bml's default SD prior with ``scale = 25``."""

    scale: float
    support: ClassVar[str] = "positive"
    _checks: ClassVar = (("scale", "positive"),)

    def _logpdf(self, x):
        z = x / self.scale
        return _LOG2 - math.log(math.pi * self.scale) - np.log1p(z * z)

    def _dlogpdf(self, x):
        return -2.0 * x / (self.scale**2 + x * x)

    def sample(self, rng, size=None):
        return np.abs(self.scale * np.random.default_rng(rng).standard_cauchy(size))


@dataclass(frozen=True)
class HalfT(Prior):
    """Half-Student-t(scale, df) on ``[0, inf)``: ``|scale * t_df|``."""

    scale: float
    df: float
    support: ClassVar[str] = "positive"
    _checks: ClassVar = (("scale", "positive"), ("df", "positive"))

    def _logpdf(self, x):
        z = x / self.scale
        return (
            _LOG2
            + _t_logconst(self.df)
            - math.log(self.scale)
            - 0.5 * (self.df + 1) * np.log1p(z * z / self.df)
        )

    def _dlogpdf(self, x):
        return -(self.df + 1) * x / (self.df * self.scale**2 + x * x)

    def sample(self, rng, size=None):
        return np.abs(self.scale * np.random.default_rng(rng).standard_t(self.df, size))


@dataclass(frozen=True)
class PrecisionScaledGamma(HalfT):
    """JAGS ``tau ~ dscaled.gamma(scale, df)`` expressed as a density for the SD.

    ``1/sqrt(tau)`` then follows a half-t(scale, df) distribution, so this prior *is*
    :class:`HalfT` (``dscaled.gamma(25, 1)``, bml's default, is half-Cauchy(25)).  It is a
    separate class only so that summaries can show how the prior was specified.
    """


@dataclass(frozen=True)
class Exponential(Prior):
    """Exponential(rate) on ``[0, inf)`` (mean ``1/rate``)."""

    rate: float
    support: ClassVar[str] = "positive"
    _checks: ClassVar = (("rate", "positive"),)

    def _logpdf(self, x):
        return math.log(self.rate) - self.rate * x

    def _dlogpdf(self, x):
        return np.full_like(x, -self.rate)

    def sample(self, rng, size=None):
        return np.random.default_rng(rng).exponential(1.0 / self.rate, size)


@dataclass(frozen=True)
class Gamma(Prior):
    """Gamma(shape, rate) on ``[0, inf)`` (mean ``shape/rate``), as JAGS ``dgamma``."""

    shape: float
    rate: float
    support: ClassVar[str] = "positive"
    _checks: ClassVar = (("shape", "positive"), ("rate", "positive"))

    def _logpdf(self, x):
        return (
            self.shape * math.log(self.rate)
            - math.lgamma(self.shape)
            + special.xlogy(self.shape - 1.0, x)
            - self.rate * x
        )

    def _dlogpdf(self, x):
        return (self.shape - 1.0) / x - self.rate

    def sample(self, rng, size=None):
        return np.random.default_rng(rng).gamma(self.shape, 1.0 / self.rate, size)


@dataclass(frozen=True)
class InvGamma(Prior):
    """Inverse-gamma(shape, scale): ``1/x ~ Gamma(shape, rate=scale)``."""

    shape: float
    scale: float
    support: ClassVar[str] = "positive"
    _checks: ClassVar = (("shape", "positive"), ("scale", "positive"))

    def _inside(self, x):
        return x > 0

    def _logpdf(self, x):
        return (
            self.shape * math.log(self.scale)
            - math.lgamma(self.shape)
            - (self.shape + 1.0) * np.log(x)
            - self.scale / x
        )

    def _dlogpdf(self, x):
        return -(self.shape + 1.0) / x + self.scale / (x * x)

    def sample(self, rng, size=None):
        return self.scale / np.random.default_rng(rng).gamma(self.shape, 1.0, size)


@dataclass(frozen=True)
class PrecisionGamma(Prior):
    """JAGS ``tau ~ dgamma(shape, rate)`` on a precision, as a density for the SD ``x``.

    With ``tau = 1/x**2`` the Jacobian is ``|d tau / d x| = 2 / x**3``, so
    ``log p(x) = shape*log(rate) - lgamma(shape) + log 2 - (2*shape + 1)*log(x) - rate/x**2``
    (equivalently ``x**2 ~ InvGamma(shape, rate)``).
    """

    shape: float
    rate: float
    support: ClassVar[str] = "positive"
    _checks: ClassVar = (("shape", "positive"), ("rate", "positive"))

    def _inside(self, x):
        return x > 0

    def _logpdf(self, x):
        return (
            self.shape * math.log(self.rate)
            - math.lgamma(self.shape)
            + _LOG2
            - (2.0 * self.shape + 1.0) * np.log(x)
            - self.rate / (x * x)
        )

    def _dlogpdf(self, x):
        return -(2.0 * self.shape + 1.0) / x + 2.0 * self.rate / x**3

    def sample(self, rng, size=None):
        # log tau = log Gamma(shape + 1) + log(U) / shape (exact; no underflow of tau for
        # vague priors such as shape = 0.001).  SDs beyond the float range come out as inf.
        rng = np.random.default_rng(rng)
        log_tau = (
            np.log(rng.gamma(self.shape + 1.0, 1.0, size))
            + np.log(rng.uniform(size=size)) / self.shape
            - math.log(self.rate)
        )
        with np.errstate(over="ignore"):
            return np.exp(-0.5 * log_tau)


@dataclass(frozen=True)
class LogNormal(Prior):
    """Log-normal: ``log x ~ Normal(mu, sd)`` (JAGS ``dlnorm(mu, 1/sd**2)``)."""

    mu: float
    sd: float
    support: ClassVar[str] = "positive"
    _checks: ClassVar = (("mu", "real"), ("sd", "positive"))

    def _inside(self, x):
        return x > 0

    def _logpdf(self, x):
        lx = np.log(x)
        z = (lx - self.mu) / self.sd
        return -0.5 * z * z - lx - math.log(self.sd) - _LOG_SQRT_2PI

    def _dlogpdf(self, x):
        return -(1.0 + (np.log(x) - self.mu) / self.sd**2) / x

    def sample(self, rng, size=None):
        return np.random.default_rng(rng).lognormal(self.mu, self.sd, size)
