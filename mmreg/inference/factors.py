"""The declared interfaces of the factorisations of the latent Hessian H.

Two layers: a :class:`LatentFactor` factors the whole negative Hessian H of the latent
posterior (:class:`~mmreg.inference.linalg.DenseFactor` for small models,
:class:`~mmreg.inference.linalg.SchurFactor` with a sparse random-effect block), and a
:class:`RRFactor` factors the random-effect block H_rr inside a Schur factor
(:class:`~mmreg.inference.rrfactors.BlockRR`, :class:`~mmreg.inference.rrfactors.SuperLURR`,
:class:`~mmreg.inference.cholmod.CholmodRR`).  Capabilities that choose a computation (the
gradient's routes) are declared attributes, not probed with ``getattr``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["LatentFactor", "RRFactor"]


@runtime_checkable
class RRFactor(Protocol):
    """Factor of the random-effect block H_rr (permuted order of its sparsity pattern).

    Attributes
    ----------
    logdet : float
        log |H_rr|.
    has_pattern_inverse : bool
        H_rr⁻¹ on the sparsity pattern comes cheaply (dense blocks: ``pattern_inverse``).
    """

    logdet: float
    has_pattern_inverse: bool

    def solve(self, B: np.ndarray) -> np.ndarray:
        """H_rr⁻¹ B."""
        ...

    def sample(self, eps: np.ndarray) -> np.ndarray:
        """Map standard normals (q × k) to draws with covariance H_rr⁻¹."""
        ...

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        """Sᵀ g for the linear map S of :meth:`sample` (q × k)."""
        ...

    def diag_inv(self) -> np.ndarray:
        """diag(H_rr⁻¹)."""
        ...


@runtime_checkable
class LatentFactor(Protocol):
    """Factor of the negative Hessian H of the latent posterior (coefficients first).

    Attributes
    ----------
    logdet : float
        log |H|.
    cheap_diag : bool
        diag(H⁻¹) costs about as much as the factorisation (else many solves).
    has_pattern_inverse : bool
        Selected entries of H⁻¹ are cheap (exact traces, :mod:`mmreg.inference.seltrace`).
    """

    logdet: float
    cheap_diag: bool
    has_pattern_inverse: bool

    def solve(self, g: np.ndarray) -> np.ndarray:
        """H⁻¹ g."""
        ...

    def sample(self, eps: np.ndarray) -> np.ndarray:
        """Map standard normals (dim × k) to draws with covariance H⁻¹."""
        ...

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        """Sᵀ g for the linear map S of :meth:`sample` (S Sᵀ = H⁻¹): the gradient, with
        respect to the standard normals, of a function of the draw whose gradient is g."""
        ...

    def inverse(self) -> np.ndarray:
        """The dense H⁻¹ (small models and tests)."""
        ...

    def coef_block(self, P: int) -> np.ndarray:
        """The leading P×P block of H⁻¹ (the coefficients)."""
        ...

    def inverse_block(self, idx: np.ndarray) -> np.ndarray:
        """(H⁻¹)[idx, idx]."""
        ...

    def block_solves(self, idx: np.ndarray) -> int:
        """Solves :meth:`inverse_block` needs for ``idx`` beyond the factorisation."""
        ...

    def inverse_parts(self, P: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The leading P×P block of H⁻¹ and the diagonal of H⁻¹."""
        ...
