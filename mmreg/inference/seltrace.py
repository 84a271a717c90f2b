"""Traces tr(H⁻¹ Ḣ) from selected entries of H⁻¹ (block-diagonal random effects).

The directional derivatives of log|H| in :mod:`mmreg.inference.gradient` cost two
factorisations per hyperparameter when taken as differences.  When H_rr is block diagonal
(:class:`~mmreg.inference.linalg.SchurFactor` with dense blocks) and the likelihood
curvature is diagonal, the derivative is the exact trace

    d log|H| = tr(H⁻¹ Ḣ),   Ḣ = Ȧᵀ C A + Aᵀ C Ȧ + Aᵀ diag(ẇ) A + Q̇,

which needs H⁻¹ only where Ḣ can be non-zero: the pattern of H_rr (pairs of random effects
in one row of the design, and the prior precision) plus the coefficient block.  With
H⁻¹ = [[S⁻¹, −S⁻¹Wᵀ], [−WS⁻¹, H_rr⁻¹ + WS⁻¹Wᵀ]] and Ã = D − R W,

    xᵀ H⁻¹ y = (x_b − x_r W) S⁻¹ (y_b − y_r W)ᵀ + x_r H_rr⁻¹ y_rᵀ,

so one pass over the blocks (H_rr⁻¹ from the Cholesky factors) serves every
hyperparameter: about two factorisations in all instead of two per hyperparameter.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SelectedTraces"]


class SelectedTraces:
    """Selected entries of H⁻¹ at a conditional mode and the traces built from them.

    Parameters
    ----------
    factor : SchurFactor
        Factor of H with block-diagonal H_rr (``factor.rr`` supports ``pattern_inverse``).
    D, R : design at the mode (dense coefficient part, sparse random-effect part).
    d : numpy.ndarray
        Diagonal likelihood curvature at the mode.
    """

    def __init__(self, factor, D: np.ndarray, R, d: np.ndarray):
        pat = factor.pattern
        self.pat, self.R, self.d = pat, R, d
        self.Z = factor.rr.pattern_inverse(pat)  # H_rr⁻¹ on the pattern slots
        self.Sinv = factor.coef_block(factor.P)
        self.Wp = factor.W  # H_rr⁻¹ H_rb, rows in the permuted order of the pattern
        self.W = factor.W[pat.inv]  # the same in the original order of the effects
        self.At = D - R @ self.W  # Ã = D − R W  (n × P)
        self.AS = self.At @ self.Sinv
        self.lev = self._rows(R.data, self.At)  # leverages h_i = a_i H⁻¹ a_iᵀ

    def _rows(self, Rdata1: np.ndarray, At1: np.ndarray) -> np.ndarray:
        """Per row i: x_i H⁻¹ a_iᵀ for x = (D1, R1) given as Ã1 = D1 − R1 W and R1's data."""
        pat = self.pat
        pairs = Rdata1[pat.p1] * self.R.data[pat.p2] * self.Z[pat.slot_pairs]
        rr = np.bincount(pat.rows, pairs, minlength=len(self.d))
        return rr + np.einsum("ij,ij->i", At1, self.AS)

    def curvature(self, wdot: np.ndarray) -> float:
        """tr(H⁻¹ Aᵀ diag(ẇ) A) = Σ ẇ_i h_i."""
        return float(wdot @ self.lev)

    def design(self, Ddot: np.ndarray, Rdot_data: np.ndarray) -> float:
        """tr(H⁻¹ (Ȧᵀ C A + Aᵀ C Ȧ)) = 2 Σ d_i ȧ_i H⁻¹ a_iᵀ for Ȧ = (Ḋ, Ṙ)."""
        Rdot = self.R.copy()
        Rdot.data = Rdot_data
        return 2.0 * float(self.d @ self._rows(Rdot_data, Ddot - Rdot @ self.W))

    def prior(self, block: int) -> float:
        """tr(H⁻¹_rr-block K_b) for the prior structure K_b of random-effect block ``b``."""
        pat = self.pat
        sel = pat.qblock == block
        slots = pat.slot_q[sel]
        i = pat.indices[slots]
        j = pat.slot_cols[slots]
        coef = np.einsum("ij,ij->i", self.Wp[i] @ self.Sinv, self.Wp[j])
        return float(pat.qval[sel] @ (self.Z[slots] + coef))
