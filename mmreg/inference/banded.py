"""Banded Cholesky factors of a small random-effect block H_rr (LAPACK ``dpbtrf``).

A few hundred random effects — parties nested in countries, a country random slope —
have, in a reverse Cuthill–McKee order, a band of a few dozen.  LAPACK's banded Cholesky
factors such a matrix in a few hundredths of a millisecond, where SuperLU's fixed cost per
call (argument checks, supernode detection, building U to read its diagonal) is 0.1–0.3 ms;
the factorisation is a fifth to a half of a log-density evaluation on coalgov.  The band
layout is planned once (:class:`BandPlan`: where every CSC slot of H_rr goes in LAPACK's
band storage) and each factorisation is one gather and one LAPACK call.

Measured (coalgov, one thread, one factorisation of H_rr incl. the gather; ms, banded /
SuperLU with its order precomputed): parties in countries (341 effects, band 33) 0.04 /
0.15; member random slope (653, band 66) 0.36 / 0.53; bml's random walk (2,106, band 284
because the country effect touches every state of its country) 8.2 / 2.1 — there SuperLU
stays (:attr:`~mmreg.inference.pattern.SparsePattern.BAND_RATIO`).  With the ``cholmod``
extra installed, CHOLMOD's simplicial factor takes these matrices instead: with a solve of
the Schur complement's columns it is about half the band's time
(:attr:`~mmreg.inference.pattern.SparsePattern.use_cholmod`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dpbtrf, dpbtrs, dtbtrs
from scipy.sparse.csgraph import reverse_cuthill_mckee

from mmreg.inference.rrfactors import diag_by_solves

__all__ = ["BandPlan", "BandedRR"]


class BandPlan:
    """Band layout of a symmetric CSC pattern in reverse Cuthill–McKee order.

    Parameters
    ----------
    indices, indptr : numpy.ndarray
        The CSC pattern (both triangles) of H_rr in the pattern's layout.
    q : int
        Its order.

    Attributes
    ----------
    order : numpy.ndarray
        Layout positions in band order (row k of the banded matrix is ``order[k]``).
    bandwidth : int
        Largest |i − j| of an entry in band order.
    flops : float
        q · (bandwidth + 1)², the size of the banded factorisation's work.
    """

    def __init__(self, indices: np.ndarray, indptr: np.ndarray, q: int):
        pat = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(q, q))
        self.order = np.asarray(reverse_cuthill_mckee(pat, symmetric_mode=True), dtype=np.int64)
        pos = np.empty(q, dtype=np.int64)
        pos[self.order] = np.arange(q)
        cols = np.repeat(np.arange(q), np.diff(indptr))
        r, c = pos[np.asarray(indices, dtype=np.int64)], pos[cols]
        upper = r <= c
        self.bandwidth = int(np.max(c[upper] - r[upper], initial=0))
        self.q = q
        self.flops = float(q) * (self.bandwidth + 1) ** 2
        # LAPACK upper band storage, column-major: ab[bw + i − j, j] = A[i, j] for i ≤ j
        ld = self.bandwidth + 1
        self._slots = np.flatnonzero(upper)
        self._flat = c[upper] * ld + (self.bandwidth + r[upper] - c[upper])

    def factor(self, data: np.ndarray) -> BandedRR:
        """Factor of H_rr (band order) from its CSC data in the pattern's layout."""
        ld = self.bandwidth + 1
        buf = np.zeros(ld * self.q)
        buf[self._flat] = data[self._slots]
        return BandedRR(buf.reshape((ld, self.q), order="F"))


class BandedRR:
    """H_rr = Uᵀ U from LAPACK's banded Cholesky (an
    :class:`~mmreg.inference.factors.RRFactor` in band order)."""

    has_pattern_inverse = False

    def __init__(self, ab: np.ndarray):
        self.U, info = dpbtrf(ab, lower=0, overwrite_ab=1)
        if info != 0:
            raise np.linalg.LinAlgError("random-effect precision not positive definite")
        diag = self.U[-1]
        self.logdet = 2.0 * float(np.sum(np.log(diag)))
        if not np.isfinite(self.logdet):
            raise np.linalg.LinAlgError("random-effect precision not positive definite")

    def solve(self, B: np.ndarray) -> np.ndarray:
        B = np.asarray(B, dtype=float)
        x, info = dpbtrs(self.U, B.reshape(len(B), -1), lower=0)
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise np.linalg.LinAlgError(f"dpbtrs failed ({info})")
        return x.reshape(B.shape)

    def sample(self, eps: np.ndarray) -> np.ndarray:
        """U⁻¹ ε: covariance U⁻¹ U⁻ᵀ = H_rr⁻¹."""
        return self._triangular(eps, "N")

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        """U⁻ᵀ g, the transpose of :meth:`sample`."""
        return self._triangular(g, "T")

    def _triangular(self, b: np.ndarray, trans: str) -> np.ndarray:
        b = np.asarray(b, dtype=float)
        x, info = dtbtrs(self.U, b.reshape(len(b), -1), uplo="U", trans=trans)
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise np.linalg.LinAlgError(f"dtbtrs failed ({info})")
        return x.reshape(b.shape)

    def diag_inv(self) -> np.ndarray:
        return diag_by_solves(self.solve, self.U.shape[1])
