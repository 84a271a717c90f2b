"""Weibull accelerated-failure-time family, exactly as bml / JAGS parametrise it.

JAGS: ``t_i ~ dweib(r, lambda_i)`` with ``lambda_i = exp(-eta_i r)``, density
``r lambda t^(r-1) exp(-lambda t^r)``, right censoring (``event = 0`` contributes the log
survivor function ``-lambda t^r``).  Equivalently ``log T = eta + sigma W`` with
``sigma = 1/r`` and ``W`` standard minimum-extreme-value; ``T / exp(eta)`` is Weibull with
shape ``r`` and scale 1 (scipy ``weibull_min(c=r, scale=exp(eta))``; lifelines
``WeibullAFTFitter`` with ``lambda = exp(eta)``, ``rho = r``).  ``phi = (shape,)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from scipy.special import gamma as gamma_fn

from mmreg.families.base import BoundFamily, Curvature, Family, survival_arrays
from mmreg.priors import Exponential
from mmreg.priors.kinds import KIND_SHAPE

__all__ = ["WeibullFamily", "BoundWeibull", "censor_like_data"]


def censor_like_data(
    new_time: np.ndarray, time: np.ndarray, event: np.ndarray
) -> dict[str, np.ndarray]:
    """Apply the data's censoring to freshly simulated event times.

    Rows censored in the data keep their observed censoring time ``c_i`` (the new outcome is
    ``min(T_i, c_i)``, with ``event = T_i <= c_i``); rows with an observed event in the data are
    never censored.  This conditions on the observed censoring times, the usual choice for
    posterior-predictive checks and simulation-based calibration.

    Parameters
    ----------
    new_time : numpy.ndarray
        Simulated latent event times.
    time, event : numpy.ndarray
        The bound data.

    Returns
    -------
    dict
        ``{"time": ..., "event": ...}`` (event as 0.0/1.0).
    """
    cens = np.where(event == 1, np.inf, time)
    ev = new_time <= cens
    return {"time": np.where(ev, new_time, cens), "event": ev.astype(float)}


class WeibullFamily(Family):
    """Weibull AFT survival outcome with right censoring (bml ``family = "Weibull"``).

    The hyperparameter is the Weibull ``shape`` r; bml reports ``sigma = 1/shape``.
    """

    name = "weibull"
    bml_name = "Weibull"
    hyper_names = ("shape",)
    hyper_prior_kinds = (KIND_SHAPE,)
    default_priors = MappingProxyType({"shape": Exponential(0.001)})  # bml: dexp(0.001)
    has_intercept = True
    derived_names = ("sigma",)
    outcome_kind = "surv"
    outcome_keys = ("time", "event")

    survival = True

    def survival_function(self, eta, phi, times, cumhaz=None):
        """``S(t | η) = exp(-(t e^{-η})^r)`` (the JAGS parametrisation)."""
        (r,) = phi
        times = np.asarray(times, dtype=float)
        return np.exp(-((times[None, :] * np.exp(-np.asarray(eta)[:, None])) ** r))

    def median_survival(self, eta, phi):
        """``e^η (log 2)^{1/r}``."""
        (r,) = phi
        return np.exp(np.asarray(eta)) * np.log(2) ** (1.0 / r)

    def hazard_ratio(self, beta, phi):
        """``exp(-r β)``: a coefficient scales time by ``e^β``, the hazard by ``e^{-r β}``."""
        return np.exp(-phi[0] * np.asarray(beta))

    def derived_params(self, phi: np.ndarray) -> np.ndarray:
        """bml's ``sigma = 1 / shape`` (the scale of the log-time error)."""
        phi = np.asarray(phi, dtype=float)
        return 1.0 / phi[..., :1]

    def derived_jacobian(self, phi: np.ndarray) -> np.ndarray:
        """``d sigma / d shape = -1 / shape^2``."""
        (shape,) = np.asarray(phi, dtype=float).reshape(-1)
        return np.array([[-1.0 / shape**2]])

    def derived_interval(self, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, ...]:
        """``sigma = 1 / shape`` decreases: ``(1 / upper, 1 / lower)``."""
        return 1.0 / np.asarray(upper, dtype=float), 1.0 / np.asarray(lower, dtype=float)

    def bml_residual_variance(self, bound: BoundFamily, phi: Sequence[float]) -> float:
        """bml's convention: ``sigma^2 = 1 / shape^2`` (not the extreme-value variance)."""
        (shape,) = np.asarray(phi, dtype=float).reshape(-1)
        return 1.0 / shape**2

    def bind(
        self, outcome: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None
    ) -> BoundWeibull:
        """Validate ``time`` (positive, finite) and ``event`` (0/1) and bind them.

        Parameters
        ----------
        outcome : mapping
            ``{"time": array, "event": array}``.
        labels : mapping, optional
            User-facing column names for error messages.

        Returns
        -------
        BoundWeibull
        """
        time, event = survival_arrays(outcome, self.name, labels)
        return BoundWeibull(self, time, event)


class BoundWeibull(BoundFamily):
    """Weibull family bound to ``(time, event)``.

    Parameters
    ----------
    family : WeibullFamily
    time, event : numpy.ndarray
    """

    def __init__(self, family: WeibullFamily, time: np.ndarray, event: np.ndarray) -> None:
        self.family = family
        self.time = time
        self.event = event
        self.n = int(time.shape[0])
        self._logt = np.log(time)
        self._n_events = float(event.sum())

    rowwise_terms = True

    def _cumhaz(
        self, eta: np.ndarray, r: float, rows: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        z = self._logt - self._eta(eta, rows=rows)  # log t - eta
        return z, np.exp(r * z)  # H = lambda t^r

    def loglik_terms(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """``event (log r + r z - log t) - exp(r z)`` with ``z = log t - eta`` (``eta`` (n,)
        or one predictor per row, (K, n))."""
        (r,) = self._phi(phi)
        z, H = self._cumhaz(eta, r, rows=True)
        return self.event * (np.log(r) + r * z - self._logt) - H

    def loglik(self, eta: np.ndarray, phi: Sequence[float]) -> float:
        """Sum of log-densities (events) and log-survivor functions (censored)."""
        return float(self.loglik_terms(self._eta(eta), phi).sum())  # (n,) only

    def derivs(self, eta: np.ndarray, phi: Sequence[float]) -> tuple[np.ndarray, Curvature]:
        """Gradient ``r (H - event)``; negative Hessian ``diag(r^2 H)``, ``H = lambda t^r``."""
        (r,) = self._phi(phi)
        _, H = self._cumhaz(eta, r)
        return r * (H - self.event), Curvature(d=(r * r) * H)

    def dphi(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """``d loglik / d r = sum(event / r + (event - H) z)``."""
        (r,) = self._phi(phi)
        z, H = self._cumhaz(eta, r)
        return np.array([self._n_events / r + (self.event - H) @ z])

    def simulate(
        self, eta: np.ndarray, phi: Sequence[float], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Draw ``T = exp(eta) * Weibull(r)`` and censor as in the data.

        Rows censored in the data are censored at their observed time when the new ``T``
        exceeds it; rows with an event in the data are never censored (see
        :func:`censor_like_data`).
        """
        (r,) = self._phi(phi)
        t_new = np.exp(self._eta(eta)) * rng.weibull(r, self.n)
        return censor_like_data(t_new, self.time, self.event)

    def mean(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """``E[T] = exp(eta) Gamma(1 + 1/r)`` (uncensored event time)."""
        (r,) = self._phi(phi)
        return np.exp(self._eta(eta, any_length=True)) * gamma_fn(1.0 + 1.0 / r)

    def residual_variance(self, phi: Sequence[float]) -> float:
        """``pi^2 / (6 r^2)``: variance of ``sigma W`` on the log-time (latent) scale."""
        (r,) = self._phi(phi)
        return float(np.pi**2 / (6.0 * r * r))

    def initial_phi(self) -> tuple[float, ...]:
        """``shape = pi / (sqrt(6) sd(log t))`` clipped to [0.2, 10] (1 if undefined)."""
        sd = float(np.std(self._logt))
        r = np.pi / (np.sqrt(6.0) * sd) if sd > 0 else 1.0
        return (float(np.clip(r, 0.2, 10.0)),)

    def start_phi(self) -> tuple[float, ...]:
        """The optimiser starts at ``shape = 1`` (exponential times); :meth:`initial_phi`
        only places the intercept's start (:meth:`initial_eta`)."""
        return (1.0,)

    def initial_eta(self) -> float:
        """Mean log time plus Euler's constant over the initial shape (E[log T] = eta −
        gamma / r), a start for the intercept on the data's time scale."""
        (r,) = self.initial_phi()
        return float(np.mean(self._logt) + np.euler_gamma / r)
