"""Prior distributions for the hyperparameters and coefficients of an mmreg model.

Every prior is a small frozen dataclass with a closed-form, normalised log density on the
natural scale of its parameter (an SD is a density over the SD, not over its logarithm or
precision), its derivative, a sampler and its support.  Closed forms (rather than
``scipy.stats`` frozen distributions) keep one evaluation in the microsecond range, which
matters inside an MCMC loop; the tests check every density against ``scipy.stats``.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
from scipy import special

from mmreg.errors import MMSpecError

__all__ = [
    "Prior",
    "Normal",
    "StudentT",
    "Uniform",
    "Beta",
    "Fixed",
]

_LOG2 = math.log(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_INF = math.inf


def _out(value: np.ndarray) -> float | np.ndarray:
    """Return a Python float for 0-d results, the array otherwise."""
    return float(value) if value.ndim == 0 else value


def _t_logconst(df: float) -> float:
    """Log normalising constant of the standard Student-t density with ``df`` d.o.f."""
    return math.lgamma(0.5 * (df + 1.0)) - math.lgamma(0.5 * df) - 0.5 * math.log(df * math.pi)


class Prior(ABC):
    """Base class of all priors.

    Subclasses are frozen dataclasses whose fields are the distribution's parameters (all
    converted to ``float`` and validated on construction: a bad value raises
    :class:`~mmreg.MMSpecError`).

    Attributes
    ----------
    support : {"real", "positive", "interval"}
        ``"real"``: the whole line; ``"positive"``: ``[0, inf)``; ``"interval"``: the
        finite interval :meth:`bounds`.  :class:`Fixed` reports ``"interval"`` with
        ``lower == upper``; samplers must treat it as a constant (check
        ``isinstance(prior, Fixed)``).
    """

    support: ClassVar[str] = "real"
    #: on a coefficient: integrated out with the latent Gaussian vector (Normal) rather than
    #: sampled with the hyperparameters (every other prior)
    gaussian_latent: ClassVar[bool] = False
    # (field name, requirement) pairs checked in __post_init__: "real", "positive".
    _checks: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise MMSpecError(
                    f"{type(self).__name__}: parameter {f.name!r} must be a number, got {value!r}."
                )
            object.__setattr__(self, f.name, float(value))
        for name, rule in self._checks:
            value = getattr(self, name)
            if not math.isfinite(value) or (rule == "positive" and value <= 0):
                need = "a finite positive number" if rule == "positive" else "a finite number"
                raise MMSpecError(
                    f"{type(self).__name__}: parameter {name!r} must be {need}, got {value!r}."
                )

    # -- public API ------------------------------------------------------------------------
    def logpdf(self, x: float | np.ndarray) -> float | np.ndarray:
        """Normalised log density at ``x`` (natural scale); ``-inf`` outside the support.

        Parameters
        ----------
        x : float or array_like

        Returns
        -------
        float or numpy.ndarray
            A float for scalar input, an array of the same shape otherwise.
        """
        if isinstance(x, float):  # one value (the sampler's log prior): no array round trip
            with np.errstate(all="ignore"):
                return self.logpdf_float(x)
        xa = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            val = np.where(self._inside(xa), self._logpdf(xa), -np.inf)
        val = np.where(np.isnan(xa), np.nan, val)
        return _out(val)

    def dlogpdf(self, x: float | np.ndarray) -> float | np.ndarray:
        """Derivative of :meth:`logpdf` with respect to ``x``.

        0 outside the support; at an end of the support where the density is 0 or infinite
        (e.g. ``Gamma(2, 1)`` at 0) the one-sided value ``-inf`` or ``inf``.

        Parameters
        ----------
        x : float or array_like

        Returns
        -------
        float or numpy.ndarray
        """
        xa = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            val = np.where(self._inside(xa), self._dlogpdf(xa), 0.0)
        val = np.where(np.isnan(xa), np.nan, val)
        return _out(val)

    @abstractmethod
    def sample(
        self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None
    ) -> float | np.ndarray:
        """Draw from the prior.

        Parameters
        ----------
        rng : numpy.random.Generator
        size : int or tuple of int, optional
            ``None`` (default) returns a single float.

        Returns
        -------
        float or numpy.ndarray
        """

    def bounds(self) -> tuple[float, float]:
        """Closed support ``(lower, upper)`` (infinite ends for unbounded supports).

        Returns
        -------
        tuple of float
        """
        return (-_INF, _INF) if self.support == "real" else (0.0, _INF)

    def __str__(self) -> str:
        args = ", ".join(f"{getattr(self, f.name):.6g}" for f in fields(self))  # type: ignore[arg-type]
        return f"{type(self).__name__}({args})"

    def logpdf_float(self, x: float) -> float:
        """:meth:`logpdf` of one float, in the caller's NumPy error state.

        The sampler's log prior evaluates every prior of ψ inside one ``np.errstate``
        (entering one per prior cost a fifth of it).

        Parameters
        ----------
        x : float

        Returns
        -------
        float
        """
        if x != x:
            return math.nan
        # as NumPy's float, whatever the caller passes: the arithmetic of the array path
        # (inf or NaN where Python's float would raise ZeroDivisionError or ValueError)
        return float(self._logpdf(np.float64(x))) if self._inside(x) else -math.inf

    # -- for subclasses --------------------------------------------------------------------
    def _inside(self, x: np.ndarray | float) -> np.ndarray | bool:
        lo, hi = self.bounds()
        return (x >= lo) & (x <= hi)

    @abstractmethod
    def _logpdf(self, x: np.ndarray | float) -> np.ndarray | float: ...

    @abstractmethod
    def _dlogpdf(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Normal(Prior):
    """Normal(mu, sd) (``sd`` is the standard deviation, not the JAGS precision)."""

    mu: float = 0.0
    sd: float = 1.0
    gaussian_latent: ClassVar[bool] = True
    _checks: ClassVar = (("mu", "real"), ("sd", "positive"))

    def _logpdf(self, x):
        z = (x - self.mu) / self.sd
        return -0.5 * z * z - math.log(self.sd) - _LOG_SQRT_2PI

    def _dlogpdf(self, x):
        return -(x - self.mu) / self.sd**2

    def sample(self, rng, size=None):
        return np.random.default_rng(rng).normal(self.mu, self.sd, size)


@dataclass(frozen=True)
class StudentT(Prior):
    """Location-scale Student-t(mu, sd, df); ``sd`` is the scale of the t, not its SD."""

    mu: float
    sd: float
    df: float
    _checks: ClassVar = (("mu", "real"), ("sd", "positive"), ("df", "positive"))

    def _logpdf(self, x):
        z = (x - self.mu) / self.sd
        return (
            _t_logconst(self.df)
            - math.log(self.sd)
            - 0.5 * (self.df + 1) * np.log1p(z * z / self.df)
        )

    def _dlogpdf(self, x):
        d = x - self.mu
        return -(self.df + 1) * d / (self.df * self.sd**2 + d * d)

    def sample(self, rng, size=None):
        return self.mu + self.sd * np.random.default_rng(rng).standard_t(self.df, size)


@dataclass(frozen=True)
class Uniform(Prior):
    """Uniform(lower, upper) on the closed interval ``[lower, upper]``."""

    lower: float
    upper: float
    support: ClassVar[str] = "interval"
    _checks: ClassVar = (("lower", "real"), ("upper", "real"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.lower < self.upper:
            raise MMSpecError(
                f"Uniform: lower ({self.lower:g}) must be smaller than upper ({self.upper:g})."
            )

    def bounds(self):
        return (self.lower, self.upper)

    def _logpdf(self, x):
        return np.full_like(x, -math.log(self.upper - self.lower))

    def _dlogpdf(self, x):
        return np.zeros_like(x)

    def sample(self, rng, size=None):
        return np.random.default_rng(rng).uniform(self.lower, self.upper, size)


@dataclass(frozen=True)
class Beta(Prior):
    """Beta(a, b) on ``[0, 1]`` (e.g. for a mixing weight parameter)."""

    a: float
    b: float
    support: ClassVar[str] = "interval"
    _checks: ClassVar = (("a", "positive"), ("b", "positive"))

    def bounds(self):
        return (0.0, 1.0)

    def _logpdf(self, x):
        return (
            special.xlogy(self.a - 1.0, x)
            + special.xlog1py(self.b - 1.0, -x)
            - special.betaln(self.a, self.b)
        )

    def _dlogpdf(self, x):
        return (self.a - 1.0) / x - (self.b - 1.0) / (1.0 - x)

    def sample(self, rng, size=None):
        return np.random.default_rng(rng).beta(self.a, self.b, size)


@dataclass(frozen=True)
class Fixed(Prior):
    """A parameter fixed at ``value`` (bml's ``name <- value``).

    As a "density" it is a point mass: :meth:`logpdf` is 0 at ``value`` and ``-inf``
    elsewhere.  Model code removes fixed parameters from the sampled vector.
    """

    value: float
    support: ClassVar[str] = "interval"
    _checks: ClassVar = (("value", "real"),)

    def bounds(self):
        return (self.value, self.value)

    def _logpdf(self, x):
        return np.zeros_like(x)

    def _dlogpdf(self, x):
        return np.zeros_like(x)

    def sample(self, rng, size=None):
        return self.value if size is None else np.full(size, self.value)
