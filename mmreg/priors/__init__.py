"""Priors: distributions, bml's defaults, and resolution of the user's ``priors=`` argument.

>>> from mmreg.priors import HalfNormal, Normal, resolve_priors
>>> priors = {"sigma.mm1": HalfNormal(1), "mm1.w.*": Normal(0, 1)}

or bml's JAGS strings, ``["b.w.1 ~ dnorm(0, 1)", "tau.mm.1 ~ dgamma(2, 0.5)",
"b.w.1[2] <- 1"]``.  Every density is on the natural scale of its parameter (an SD prior is a
density for the SD, whatever scale it was written on).
"""

from __future__ import annotations

from mmreg.priors.distributions import (
    Beta,
    Fixed,
    Normal,
    Prior,
    StudentT,
    Uniform,
)
from mmreg.priors.jags import JAGS_DISTRIBUTIONS, parse_jags_prior
from mmreg.priors.kinds import (
    KIND_COEF,
    KIND_COR,
    KIND_FN,
    KIND_SD,
    KIND_SHAPE,
    KIND_WEIGHT,
    KINDS,
    check_prior_kind,
    default_prior,
)
from mmreg.priors.positive import (
    Exponential,
    Gamma,
    HalfCauchy,
    HalfNormal,
    HalfT,
    InvGamma,
    LogNormal,
    PrecisionGamma,
    PrecisionScaledGamma,
)
from mmreg.priors.resolve import resolve_priors

__all__ = [
    "Prior",
    "Normal",
    "StudentT",
    "HalfNormal",
    "HalfCauchy",
    "HalfT",
    "Exponential",
    "Uniform",
    "Gamma",
    "InvGamma",
    "LogNormal",
    "Beta",
    "PrecisionGamma",
    "PrecisionScaledGamma",
    "Fixed",
    "KIND_COEF",
    "KIND_COR",
    "KIND_WEIGHT",
    "KIND_FN",
    "KIND_SD",
    "KIND_SHAPE",
    "KINDS",
    "JAGS_DISTRIBUTIONS",
    "default_prior",
    "check_prior_kind",
    "parse_jags_prior",
    "resolve_priors",
]
