"""The Gaussian prior of the latent vector: N(m, Q(ψ)⁻¹).

:class:`LatentPrior` is the part of :class:`~mmreg.inference.latent.LatentModel` that
writes the prior precision Q of ``z = [coefficients | random effects]`` — the coefficients'
prior precisions, ``K_b / σ_b²`` per random-effect block (K_b the identity or a random
walk's structure), the cross parts of correlated pairs — its log-determinant, products with
it, and the prior mean (sampled coefficients at their values).  It reads the layout that
``LatentModel.__init__`` builds (``dim``, ``P``, ``coef_prec``, ``coef_mean``,
``re_slices``, ``re_K``, ``re_sizes``, ``cor``, ``sampled``, ``_logdet_K``, ``family``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mmreg.inference.correlated import CorrelatedPairs

if TYPE_CHECKING:
    from mmreg.inference.latent import Hyper

__all__ = ["LatentPrior"]


class LatentPrior:
    """Prior mean and precision of the latent vector (a part of
    :class:`~mmreg.inference.latent.LatentModel`)."""

    # set by LatentModel.__init__
    dim: int
    P: int
    family: Any  # the bound family (None: structure only)
    coef_names: Sequence[str]
    coef_mean: np.ndarray
    coef_prec: np.ndarray
    sampled: np.ndarray  # positions of the coefficients sampled with ψ
    re_slices: list[slice]
    re_K: list  # structure matrix of each RE block (None: identity)
    re_sizes: list[int]
    cor: CorrelatedPairs
    _logdet_K: float  # Σ log|K_b| of the structured blocks

    def prior_multipliers(self, sd: np.ndarray, cor: np.ndarray | None = None) -> np.ndarray:
        """Multiplier of every part of the RE prior precision: 1/s² per block (then the
        cross parts of correlated pairs, :class:`~mmreg.inference.correlated.
        CorrelatedPairs`)."""
        if not self.cor:
            return 1.0 / np.asarray(sd) ** 2
        return self.cor.multipliers(sd, cor)

    def prior_precision(self, sd: np.ndarray, cor: np.ndarray | None = None) -> np.ndarray:
        """Dense prior precision Q of z for RE standard deviations ``sd`` and the
        correlations ``cor`` of ``cor = TRUE`` pairs (for tests/small)."""
        Q = np.zeros((self.dim, self.dim))
        idx = np.arange(self.P)
        Q[idx, idx] = self.coef_prec
        for s, sl, K in zip(sd, self.re_slices, self.re_K, strict=True):
            if K is None:
                i = np.arange(sl.start, sl.stop)
                Q[i, i] = 1.0 / s**2
            else:
                Q[sl, sl] = K.toarray() / s**2
        if self.cor:
            self.cor.fill_dense(Q, self.cor.multipliers(sd, cor))
        return Q

    def prior_apply(
        self, sd: np.ndarray, r: np.ndarray, cor: np.ndarray | None = None, structured=None
    ):
        """Q r for a vector or a (dim × k) matrix r, without forming Q.

        ``structured``: :meth:`structure_apply` of ``r`` when already computed (Q r for a
        fixed r at many values of ψ then costs one scaling per block).
        """
        out = np.empty_like(r, dtype=float)
        cp = self.coef_prec if r.ndim == 1 else self.coef_prec[:, None]
        out[: self.P] = cp * r[: self.P]
        parts = self.structure_apply(r) if structured is None else structured
        for s, sl, Kr in zip(sd, self.re_slices, parts, strict=True):
            out[sl] = Kr / s**2
        if self.cor:
            self.cor.apply_pairs(out, r, self.cor.multipliers(sd, cor))
        return out

    def structure_apply(self, r: np.ndarray) -> list[np.ndarray]:
        """K_b r_b of every random-effect block (r_b itself where K_b is the identity)."""
        return [
            r[sl] if K is None else K @ r[sl]
            for sl, K in zip(self.re_slices, self.re_K, strict=True)
        ]

    def initial_z(self, hyper: Hyper | None = None) -> np.ndarray:
        """Start of the conditional-mode search: the prior mean, with the intercept at the
        family's data-derived :meth:`~mmreg.families.base.BoundFamily.initial_eta` (when
        there is an intercept and the family gives one)."""
        z = self.prior_mean(hyper)
        eta0 = None if self.family is None else self.family.initial_eta()
        if eta0 is not None and np.isfinite(eta0) and "Intercept" in self.coef_names:
            i = list(self.coef_names).index("Intercept")
            if self.coef_prec[i] < 1e6:  # not a fixed intercept
                z[i] = eta0
        return z

    def prior_mean(self, hyper: Hyper | None = None) -> np.ndarray:
        """Prior mean m of z: the coefficients' prior means (sampled coefficients at their
        values in ``hyper``), zero for the random effects."""
        m = np.zeros(self.dim)
        m[: self.P] = self.coef_mean
        if self.sampled.size and hyper is not None and len(hyper.coef):
            m[self.sampled] = hyper.coef
        return m

    def logdet_Q(self, sd: np.ndarray, cor: np.ndarray | None = None) -> float:
        """log |Q| of the prior precision at RE SDs ``sd`` and correlations ``cor``."""
        return self._logdet_Q(sd, cor)

    def _logdet_Q(self, sd: np.ndarray, cor: np.ndarray | None = None) -> float:
        out = float(np.sum(np.log(self.coef_prec))) + self._logdet_K
        for s, size in zip(sd, self.re_sizes, strict=True):
            out -= 2.0 * size * np.log(s)  # Q_b = K_b / s²
        if self.cor:
            out += self.cor.logdet_correction(cor)
        return out
