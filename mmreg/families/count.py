"""Count families with log link: Poisson and negative binomial (NB2).

``log E[y_i] = eta_i`` (``mu_i = exp(eta_i)``).  An exposure enters as an offset with
coefficient 1: ``fix(log_exposure, 1)`` in the main formula.

* ``poisson``: ``y_i ~ Poisson(mu_i)``, no ``phi``.
* ``negbinomial``: NB2, ``y_i ~ NegBin(mu_i, shape)`` with ``Var(y_i) = mu_i + mu_i^2 / shape``
  (a Poisson whose mean is multiplied by a Gamma(shape, shape) frailty; statsmodels'
  ``NegativeBinomial`` has ``alpha = 1 / shape``, JAGS ``dnegbin(shape / (shape + mu), shape)``,
  R ``dnbinom(size = shape, mu = mu)``).  ``phi = (shape,)``, default prior Gamma(0.01, 0.01).

Latent-scale residual variance (variance decomposition, ICCs): the lognormal approximation of
Nakagawa, Johnson & Schielzeth (2017, *J. R. Soc. Interface* 14: 20170213, Table 1):
``log(1 + 1/lambda)`` for the Poisson and ``log(1 + 1/lambda + 1/shape)`` for NB2, with
``lambda`` the mean count, estimated by the observed mean outcome.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from scipy.special import digamma, expit, gammaln

from mmreg.errors import MMDataError, MMWarning
from mmreg.families.base import BoundFamily, Curvature, Family, column_label, outcome_array
from mmreg.priors import Gamma
from mmreg.priors.kinds import KIND_SHAPE

__all__ = ["PoissonFamily", "NegBinomialFamily", "BoundPoisson", "BoundNegBinomial"]


def count_array(
    outcome: Mapping[str, np.ndarray], family: str, labels: Mapping[str, str] | None
) -> np.ndarray:
    """The validated count outcome: finite, non-negative integers (as floats).

    Raises
    ------
    MMDataError
        Negative or non-integer values (the message names the outcome column and rows).
    """
    y = outcome_array(outcome, "y", family, labels)
    bad = (y < 0) | (y != np.round(y))
    if bad.any():
        idx = np.flatnonzero(bad)
        vals = ", ".join(f"{v:g}" for v in np.unique(y[bad])[:5])
        rows = ", ".join(str(i) for i in idx[:5]) + (
            f", ... ({idx.size} rows)" if idx.size > 5 else ""
        )
        raise MMDataError(
            f"{column_label('y', labels)} must hold counts (non-negative integers) for family "
            f"'{family}'; found {vals} at rows {rows}."
        )
    if not y.any():
        warnings.warn(
            f"the outcome {column_label('y', labels)} is 0 for every group: the data cannot "
            "locate the intercept of a log-link model, so its estimate is set by its prior alone",
            MMWarning,
            stacklevel=3,
        )
    return y


class _BoundCount(BoundFamily):
    """Shared parts of the bound count families (``y``, means, starting values)."""

    rowwise_terms = True

    def __init__(self, family: Family, y: np.ndarray) -> None:
        self.family = family
        self.y = y
        self.n = int(y.shape[0])
        self._lgy1 = gammaln(y + 1.0)
        self._ybar = float(y.mean())

    def loglik(self, eta: np.ndarray, phi: Sequence[float] = ()) -> float:
        """Sum of the log-probabilities (:meth:`loglik_terms`)."""
        return float(self.loglik_terms(self._eta(eta), phi).sum())  # (n,) only

    def mean(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """``E[y] = mu = exp(eta)``."""
        return np.exp(self._eta(eta, any_length=True))

    def initial_eta(self) -> float:
        """``log`` of the mean count (at least ``1 / (2 n)``): a start for the intercept."""
        return float(np.log(max(self._ybar, 0.5 / self.n)))

    @property
    def mean_count(self) -> float:
        """The observed mean count, ``lambda`` of the latent residual variance."""
        return self._ybar


class _CountFamily(Family):
    """Shared parts of the count families: a log link, one count outcome ``y``."""

    has_intercept = True
    outcome_kind = "plain"
    outcome_keys = ("y",)
    bound_class: type[_BoundCount]

    def bind(
        self, outcome: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None
    ) -> _BoundCount:
        """Validate ``outcome["y"]`` (non-negative integer counts) and bind it.

        Parameters
        ----------
        outcome : mapping
            ``{"y": array}``.
        labels : mapping, optional
            User-facing column names for error messages.

        Returns
        -------
        BoundPoisson or BoundNegBinomial
        """
        return self.bound_class(self, count_array(outcome, self.name, labels))


class BoundPoisson(_BoundCount):
    """Poisson family bound to a count vector ``y``.

    Parameters
    ----------
    family : PoissonFamily
    y : numpy.ndarray
    """

    def loglik_terms(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """``y eta - exp(eta) - log y!`` (``eta`` (n,) or one predictor per row, (K, n))."""
        self._phi(phi)
        eta = self._eta(eta, rows=True)
        return self.y * eta - np.exp(eta) - self._lgy1

    def derivs(self, eta: np.ndarray, phi: Sequence[float] = ()) -> tuple[np.ndarray, Curvature]:
        """Gradient ``y - mu``; negative Hessian ``diag(mu)``."""
        self._phi(phi)
        mu = np.exp(self._eta(eta))
        return self.y - mu, Curvature(d=mu)

    def dphi(self, eta: np.ndarray, phi: Sequence[float] = ()) -> None:
        """No hyperparameters: ``None``."""
        return None

    def simulate(
        self, eta: np.ndarray, phi: Sequence[float], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Draw ``y ~ Poisson(exp(eta))`` (as floats)."""
        self._phi(phi)
        return {"y": rng.poisson(np.exp(self._eta(eta))).astype(float)}

    def residual_variance(self, phi: Sequence[float] = ()) -> float:
        """``log(1 + 1/lambda)``, ``lambda`` the observed mean count (lognormal approximation,
        Nakagawa, Johnson & Schielzeth 2017)."""
        return float(np.log1p(1.0 / max(self._ybar, 1e-12)))


class BoundNegBinomial(_BoundCount):
    """Negative-binomial (NB2) family bound to a count vector ``y``.

    Parameters
    ----------
    family : NegBinomialFamily
    y : numpy.ndarray
    """

    def loglik_terms(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """``lgamma(y + k) - lgamma(k) - log y! + k log k + y eta - (y + k) log(k + mu)``,
        ``k = shape`` (``eta`` (n,) or one predictor per row, (K, n))."""
        (k,) = self._phi(phi)
        eta = self._eta(eta, rows=True)
        log_k_mu = np.logaddexp(np.log(k), eta)  # log(k + mu)
        return (
            gammaln(self.y + k)
            - gammaln(k)
            - self._lgy1
            + k * np.log(k)
            + self.y * eta
            - (self.y + k) * log_k_mu
        )

    def derivs(self, eta: np.ndarray, phi: Sequence[float]) -> tuple[np.ndarray, Curvature]:
        """Gradient ``k (y - mu) / (k + mu)``; negative Hessian
        ``diag((y + k) k mu / (k + mu)^2)`` (observed, positive: log-concave in ``eta``)."""
        (k,) = self._phi(phi)
        p = expit(self._eta(eta) - np.log(k))  # mu / (k + mu)
        grad = self.y - (self.y + k) * p
        return grad, Curvature(d=(self.y + k) * p * (1.0 - p))

    def dphi(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """``d loglik / d k = sum(psi(y + k) - psi(k) + log k + 1 - log(k + mu)
        - (y + k) / (k + mu))``."""
        (k,) = self._phi(phi)
        eta = self._eta(eta)
        log_k_mu = np.logaddexp(np.log(k), eta)
        q = np.exp(np.log(k) - log_k_mu)  # k / (k + mu)
        terms = digamma(self.y + k) - digamma(k) + np.log(q) + 1.0 - (self.y + k) / k * q
        return np.array([float(terms.sum())])

    def simulate(
        self, eta: np.ndarray, phi: Sequence[float], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Draw ``y ~ Poisson(mu G)``, ``G ~ Gamma(shape, rate = shape)`` (NB2, as floats)."""
        (k,) = self._phi(phi)
        mu = np.exp(self._eta(eta))
        return {"y": rng.poisson(mu * rng.gamma(k, 1.0 / k, self.n)).astype(float)}

    def residual_variance(self, phi: Sequence[float]) -> float:
        """``log(1 + 1/lambda + 1/shape)``, ``lambda`` the observed mean count (lognormal
        approximation, Nakagawa, Johnson & Schielzeth 2017)."""
        (k,) = self._phi(phi)
        return float(np.log1p(1.0 / max(self._ybar, 1e-12) + 1.0 / k))

    def initial_phi(self) -> tuple[float, ...]:
        """Moment estimate ``mean^2 / (var - mean)`` clipped to [0.1, 100] (10 if the counts
        are not overdispersed)."""
        m, v = self._ybar, float(self.y.var())
        k = m * m / (v - m) if v > m > 0 else 10.0
        return (float(np.clip(k, 0.1, 100.0)),)


class PoissonFamily(_CountFamily):
    """Count outcome, Poisson with log link (``family = "poisson"``)."""

    name = "poisson"
    bml_name = "Poisson"
    hyper_names = ()
    bound_class = BoundPoisson


class NegBinomialFamily(_CountFamily):
    """Overdispersed counts, negative binomial NB2 with log link (``family = "negbinomial"``).

    ``Var(y) = mu + mu^2 / shape``; the hyperparameter is ``shape`` (default prior
    Gamma(0.01, 0.01)); ``shape -> inf`` is the Poisson.
    """

    name = "negbinomial"
    bml_name = "NegBinomial"
    hyper_names = ("shape",)
    hyper_prior_kinds = (KIND_SHAPE,)
    default_priors = MappingProxyType({"shape": Gamma(0.01, 0.01)})  # JAGS dgamma(0.01, 0.01)
    bound_class = BoundNegBinomial
