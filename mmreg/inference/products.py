"""H of a Gaussian model with a fixed design from products formed once.

With a constant likelihood curvature d₀ = 1/σ² and a design that does not depend on ψ,

    H_bb = d₀ DᵀD + diag(coefficient precisions),  H_br = d₀ DᵀR,  H_rr = d₀ RᵀR + Q_r(ψ),

so DᵀD, DᵀR and RᵀR are formed once (:class:`CachedProducts`) and every evaluation only
scales them and adds the prior's entries.  :meth:`CachedProducts.scaled` does that for one
point or for a batch of points at once (the sampler evaluates a step's walkers together,
:meth:`GaussianSums.modes <mmreg.inference.gaussian_sums.GaussianSums.modes>`), each row
of a batch the numbers of its own single call, bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CachedProducts"]


class CachedProducts:
    """DᵀD, DᵀR (columns in the pattern's order, column-major) and RᵀR's data (its lower
    triangle's only where the pattern's factor takes that) of a fixed design.

    Parameters
    ----------
    D : ndarray
        Coefficient design (n × P).
    R : sparse matrix
        Random-effect design (n × q, CSR).
    pattern : SparsePattern
        H_rr's pattern.
    parts : int
        Number of parts of the random-effect prior (multipliers in ``prec``).
    coef_prec : ndarray
        Prior precisions of the coefficients (H_bb's diagonal adds them).
    """

    def __init__(self, D: np.ndarray, R, pattern, parts: int, coef_prec: np.ndarray):
        self.pattern = pattern
        self.coef_prec = coef_prec
        self.P = D.shape[1]
        RR = pattern.fill(R.data, np.ones(D.shape[0]), np.zeros(parts))
        self.DD = D.T @ D
        # column-major, as H_br was formed before these products were cached: BLAS's same bits
        self.DR_p = np.asarray((R.T @ D).T)[:, pattern.perm]
        self.RR = pattern.triangle.lower(RR) if pattern.takes_lower else RR

    def scaled(self, d0, prec: np.ndarray):
        """H_bb, H_br and H_rr's data for the curvature ``d0`` and the prior multipliers
        ``prec``.  ``d0`` may be an array (B,) with ``prec`` (B × parts): then every result
        has a leading axis of B, row b the numbers of the call with ``d0[b]``, ``prec[b]``
        (each H_br column-major, as the single call's)."""
        pat, lower = self.pattern, self.pattern.takes_lower
        if np.ndim(d0) == 0:
            Hbb = d0 * self.DD
            Hbb[np.diag_indices(self.P)] += self.coef_prec
            return Hbb, d0 * self.DR_p, pat.triangle.add_prior(d0 * self.RR, prec, lower=lower)
        d0 = np.asarray(d0, float)
        Hbb = d0[:, None, None] * self.DD
        i = np.arange(self.P)
        Hbb[:, i, i] += self.coef_prec
        Hbr = np.empty((len(d0), self.DR_p.shape[1], self.P)).transpose(0, 2, 1)
        np.multiply(d0[:, None, None], self.DR_p, out=Hbr)
        return Hbb, Hbr, pat.triangle.add_prior(d0[:, None] * self.RR, prec, lower=lower)
