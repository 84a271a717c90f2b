"""Gaussian family: ``y_i ~ N(eta_i, sigma^2)``, ``phi = (sigma,)``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from mmreg.families.base import BoundFamily, Curvature, Family, outcome_array
from mmreg.priors import HalfCauchy
from mmreg.priors.kinds import KIND_SD

__all__ = ["GaussianFamily", "BoundGaussian"]

_LOG_2PI = float(np.log(2.0 * np.pi))


class GaussianFamily(Family):
    """Normal outcome with identity link (bml ``family = "Gaussian"``).

    The hyperparameter is the residual standard deviation ``sigma``.
    """

    name = "gaussian"
    bml_name = "Gaussian"
    hyper_names = ("sigma",)
    hyper_prior_kinds = (KIND_SD,)
    default_priors = MappingProxyType({"sigma": HalfCauchy(25.0)})  # bml: dscaled.gamma(25, 1)
    has_intercept = True
    exact_gaussian = True
    default_particles = 0
    outcome_sets_scale = True
    constant_outcome = "error"
    outcome_kind = "plain"
    outcome_keys = ("y",)

    def bind(
        self, outcome: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None
    ) -> BoundGaussian:
        """Validate ``outcome["y"]`` (finite numbers) and bind it.

        Parameters
        ----------
        outcome : mapping
            ``{"y": array}``.
        labels : mapping, optional
            User-facing column names for error messages.

        Returns
        -------
        BoundGaussian
        """
        return BoundGaussian(self, outcome_array(outcome, "y", self.name, labels))


class BoundGaussian(BoundFamily):
    """Gaussian family bound to an outcome vector ``y``.

    Parameters
    ----------
    family : GaussianFamily
    y : numpy.ndarray
    """

    def __init__(self, family: GaussianFamily, y: np.ndarray) -> None:
        self.family = family
        self.y = y
        self.n = int(y.shape[0])

    def loglik_terms(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """Per-observation normal log-densities ``log N(y_i; eta_i, sigma^2)``."""
        (sigma,) = self._phi(phi)
        r = self.y - self._eta(eta)
        return -0.5 * (_LOG_2PI + 2.0 * np.log(sigma)) - 0.5 * (r / sigma) ** 2

    def loglik(self, eta: np.ndarray, phi: Sequence[float]) -> float:
        """Sum of the normal log-densities."""
        (sigma,) = self._phi(phi)
        r = self.y - self._eta(eta)
        return float(-0.5 * self.n * (_LOG_2PI + 2.0 * np.log(sigma)) - 0.5 * (r @ r) / sigma**2)

    def derivs(self, eta: np.ndarray, phi: Sequence[float]) -> tuple[np.ndarray, Curvature]:
        """Gradient ``(y - eta) / sigma^2``; negative Hessian ``I / sigma^2``."""
        (sigma,) = self._phi(phi)
        prec = 1.0 / sigma**2
        return (self.y - self._eta(eta)) * prec, Curvature(d=np.full(self.n, prec))

    def dphi(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """``d loglik / d sigma = sum(-1/sigma + r^2/sigma^3)``."""
        (sigma,) = self._phi(phi)
        r = self.y - self._eta(eta)
        return np.array([-self.n / sigma + (r @ r) / sigma**3])

    def simulate(
        self, eta: np.ndarray, phi: Sequence[float], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Draw ``y ~ N(eta, sigma^2)``."""
        (sigma,) = self._phi(phi)
        return {"y": self._eta(eta) + sigma * rng.standard_normal(self.n)}

    def mean(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """``E[y] = eta``."""
        return self._eta(eta, any_length=True).copy()

    def residual_variance(self, phi: Sequence[float]) -> float:
        """``sigma^2``: the level-1 variance for the ICCs."""
        (sigma,) = self._phi(phi)
        return float(sigma**2)

    def normal_outcome(self) -> np.ndarray:
        """``y`` (the likelihood is N(eta, sigma^2) with one sigma)."""
        return self.y

    def outcome_sd(self) -> float:
        """The SD of ``y``: the outcome's units are the model's scale."""
        return float(np.std(self.y))

    def initial_phi(self) -> tuple[float, ...]:
        """The sample standard deviation of ``y`` (1 if ``y`` is constant)."""
        sd = float(np.std(self.y))
        return (sd if sd > 0 else 1.0,)
