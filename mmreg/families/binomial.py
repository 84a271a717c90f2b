"""Binomial (Bernoulli, logit link) family: ``logit P(y_i = 1) = eta_i``, no ``phi``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.special import expit

from mmreg.families._math import log1pexp
from mmreg.families.base import BoundFamily, Curvature, Family, check_binary, outcome_array

__all__ = ["BinomialFamily", "BoundBinomial"]


class BinomialFamily(Family):
    """Binary outcome with logit link (bml ``family = "Binomial"``)."""

    name = "binomial"
    bml_name = "Binomial"
    hyper_names = ()
    has_intercept = True
    constant_outcome = "separation"
    outcome_kind = "plain"
    outcome_keys = ("y",)

    def bind(
        self, outcome: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None
    ) -> BoundBinomial:
        """Validate ``outcome["y"]`` (0/1, booleans accepted) and bind it.

        Parameters
        ----------
        outcome : mapping
            ``{"y": array}``.
        labels : mapping, optional
            User-facing column names for error messages.

        Returns
        -------
        BoundBinomial
        """
        y = outcome_array(outcome, "y", self.name, labels)
        check_binary(y, "y", self.name, labels)
        return BoundBinomial(self, y)


class BoundBinomial(BoundFamily):
    """Binomial family bound to a 0/1 outcome vector.

    Parameters
    ----------
    family : BinomialFamily
    y : numpy.ndarray
    """

    def __init__(self, family: BinomialFamily, y: np.ndarray) -> None:
        self.family = family
        self.y = y
        self.n = int(y.shape[0])

    rowwise_terms = True

    def loglik_terms(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """Bernoulli log-probabilities ``y eta - log(1 + exp(eta))`` (``eta`` (n,) or one
        predictor per row, (K, n))."""
        self._phi(phi)
        eta = self._eta(eta, rows=True)
        return self.y * eta - log1pexp(eta)

    def loglik(self, eta: np.ndarray, phi: Sequence[float] = ()) -> float:
        """Sum of the Bernoulli log-probabilities."""
        return float(self.loglik_terms(self._eta(eta), phi).sum())  # (n,) only

    def derivs(self, eta: np.ndarray, phi: Sequence[float] = ()) -> tuple[np.ndarray, Curvature]:
        """Gradient ``y - p``; negative Hessian ``diag(p (1 - p))``, ``p = ilogit(eta)``."""
        self._phi(phi)
        p = expit(self._eta(eta))
        return self.y - p, Curvature(d=p * (1.0 - p))

    def dphi(self, eta: np.ndarray, phi: Sequence[float] = ()) -> None:
        """No hyperparameters: ``None``."""
        return None

    def simulate(
        self, eta: np.ndarray, phi: Sequence[float], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Draw ``y ~ Bernoulli(ilogit(eta))`` (as 0.0/1.0)."""
        self._phi(phi)
        p = expit(self._eta(eta))
        return {"y": (rng.random(self.n) < p).astype(float)}

    def mean(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """``P(y = 1) = ilogit(eta)``."""
        return expit(self._eta(eta, any_length=True))

    def residual_variance(self, phi: Sequence[float] = ()) -> float:
        """``pi^2 / 3``: variance of the standard logistic latent error (latent-scale ICC)."""
        return float(np.pi**2 / 3.0)
