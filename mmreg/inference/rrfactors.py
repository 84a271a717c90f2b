"""Factors of the random-effect block H_rr (the CHOLMOD one is in :mod:`~mmreg.inference.cholmod`).

All share ``logdet``, ``solve``, ``sample`` and ``diag_inv``:

* :class:`SuperLURR` — SciPy's SuperLU in symmetric mode (no pivoting, the fill-reducing
  order of the pattern), an LDLᵀ factorisation for a symmetric positive-definite matrix;
* :class:`ReorderedRR` — a factor of H_rr in another order (SuperLU in its fill-reducing
  order for block-diagonal H_rr whose components stay sparse, e.g. random walks), which
  builds the dense blocks only when H_rr⁻¹ on the pattern is asked for;
* :class:`BlockRR` — block-diagonal H_rr (random effects nested in countries, random walks
  within countries): batched dense Cholesky factors of padded components, which also give
  H_rr⁻¹ on the pattern (``pattern_inverse``, for :mod:`~mmreg.inference.seltrace`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dtrtri

__all__ = ["BlockRR", "ReorderedRR", "SuperLURR", "diag_by_solves"]


class SuperLURR:
    """H_rr⁻¹ through SuperLU in symmetric mode (LDLᵀ for an SPD matrix); an
    :class:`~mmreg.inference.factors.RRFactor`."""

    has_pattern_inverse = False

    #: SuperLU's supernode settings for H_rr made of components of at most
    #: :attr:`~mmreg.inference.pattern.SparsePattern.BLOCK_MAX` states (``small=True``):
    #: panels of one column and relaxed supernodes of up to 20.  One factorisation (one
    #: thread): coalgov random walk (2,106 states, nnz(L) 12,712) 0.85 ms instead of
    #: 1.2–1.4 ms; simulated random walks with 3,000 groups (9,875 states) 10.9 instead of
    #: 16.0 ms.  For one large component (10,000 groups, 33,206 states) SuperLU's defaults
    #: stay: 221–230 against 249 ms.
    SMALL_OPTIONS = {"panel_size": 1, "relax": 20}

    def __init__(self, H: sp.csc_matrix, small: bool = False):
        try:
            self.lu = spla.splu(
                H,
                permc_spec="NATURAL",
                diag_pivot_thresh=0.0,
                options={"SymmetricMode": True},
                **(self.SMALL_OPTIONS if small else {}),
            )
        except RuntimeError as exc:  # SuperLU: "Factor is exactly singular"
            raise np.linalg.LinAlgError(str(exc)) from None
        self.d = self.lu.U.diagonal()
        if np.any(self.d <= 0) or not np.all(np.isfinite(self.d)):
            raise np.linalg.LinAlgError("random-effect precision not positive definite")
        self.logdet = float(np.sum(np.log(self.d)))
        self._L = None

    def solve(self, B: np.ndarray) -> np.ndarray:
        return self.lu.solve(np.ascontiguousarray(B))

    def _lower(self):
        """The unit lower factor L (SuperLU builds a new matrix on every access to .L)."""
        if self._L is None:
            self._L = self.lu.L
        return self._L

    def sample(self, eps: np.ndarray) -> np.ndarray:
        y = self._lower() @ (np.sqrt(self.d)[:, None] * eps)  # ~ N(0, H_rr)
        return self.solve(y)

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        """√D Lᵀ H_rr⁻¹ g, the transpose of :meth:`sample` (H_rr⁻¹ L √D)."""
        g = np.asarray(g, dtype=float)
        x = self._lower().T @ self.solve(g.reshape(len(g), -1))
        return (np.sqrt(self.d)[:, None] * x).reshape(g.shape)

    def diag_inv(self) -> np.ndarray:
        return diag_by_solves(self.solve, len(self.d))


class ReorderedRR:
    """A factor of H_rr taken in another order, seen in the pattern's order.

    ``inner`` factors P H_rr Pᵀ where row k is row ``order[k]`` of H_rr (SuperLU in its
    fill-reducing order, a band in reverse Cuthill–McKee order), or H_rr itself where
    ``order`` is ``None`` (CHOLMOD, which orders internally).  ``dense``, where the
    pattern is block-diagonal, builds the :class:`BlockRR` of the same matrix — only when
    H_rr⁻¹ on the pattern or its diagonal is asked for (the Laplace gradient's traces),
    which the dense blocks give cheaply.
    """

    def __init__(self, inner, order: np.ndarray | None, dense=None):
        self.inner = inner
        self.order = order
        self.logdet = inner.logdet
        self._dense = dense
        self._blocks: BlockRR | None = None
        self.has_pattern_inverse = dense is not None

    def _back(self, X: np.ndarray) -> np.ndarray:
        if self.order is None:
            return X
        out = np.empty_like(X)
        out[self.order] = X
        return out

    def solve(self, B: np.ndarray) -> np.ndarray:
        B = np.asarray(B)
        return self._back(self.inner.solve(B if self.order is None else B[self.order]))

    def sample(self, eps: np.ndarray) -> np.ndarray:
        return self._back(self.inner.sample(eps))

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        g = np.asarray(g)
        return self.inner.sample_t(g if self.order is None else g[self.order])

    def blocks(self) -> BlockRR:
        """The dense-block factor of the same matrix (built on first use)."""
        if self._dense is None:
            raise ValueError("H_rr is not block-diagonal with small blocks")
        if self._blocks is None:
            self._blocks = self._dense()
        return self._blocks

    def pattern_inverse(self, pattern) -> np.ndarray:
        return self.blocks().pattern_inverse(pattern)

    def diag_inv(self) -> np.ndarray:
        if self._dense is not None:
            return self.blocks().diag_inv()
        return self._back(self.inner.diag_inv())


def diag_by_solves(solve, q: int, chunk: int = 512) -> np.ndarray:
    """diag(A⁻¹) of a q × q matrix from ``solve`` (A⁻¹ B) with ``chunk`` unit vectors."""
    out = np.empty(q)
    for a in range(0, q, chunk):
        b = min(q, a + chunk)
        E = np.zeros((q, b - a))
        E[np.arange(a, b), np.arange(b - a)] = 1.0
        out[a:b] = solve(E)[np.arange(a, b), np.arange(b - a)]
    return out


def _tri_inverse(L: np.ndarray) -> np.ndarray:
    """Inverses of a batch of lower-triangular matrices (LAPACK dtrtri for large blocks)."""
    if L.shape[-1] <= 32:  # small blocks: one batched call beats a Python loop
        return np.linalg.inv(L)
    out = np.empty_like(L)
    for k in range(L.shape[0]):
        inv, info = dtrtri(L[k], lower=1)
        if info != 0:
            raise np.linalg.LinAlgError("singular random-effect block")
        out[k] = inv
    return out


class BlockRR:
    """H_rr⁻¹ for block-diagonal H_rr: batched dense Cholesky of padded components.

    Solves are batched triangular solves with the Cholesky factors; the explicit inverses
    of the factors (as dear as the factorisation) are formed only for ``diag_inv``, so a
    factorisation that is only asked for its log-determinant (the directional derivatives
    of the gradient) costs one batched Cholesky.  An
    :class:`~mmreg.inference.factors.RRFactor` with ``pattern_inverse``.
    """

    has_pattern_inverse = True

    def __init__(self, pattern, mats: list[np.ndarray]):
        self.q = pattern.q
        self.buckets = pattern.buckets
        self.L = []
        logdet = 0.0
        for m in mats:
            L = np.linalg.cholesky(m)
            logdet += 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
            self.L.append(L)
        self.logdet = logdet
        self._Linv: list[np.ndarray] | None = None

    def _inverses(self) -> list[np.ndarray]:
        """L⁻¹ per bucket, formed on first use (as dear as the factorisation)."""
        if self._Linv is None:
            self._Linv = [_tri_inverse(L) for L in self.L]
        return self._Linv

    def _apply(self, B: np.ndarray, both: bool, last: bool = True) -> np.ndarray:
        """L⁻ᵀ L⁻¹ B (``both``), L⁻ᵀ B, or L⁻¹ B (``last=False``) per block."""
        B2 = B.reshape(self.q, -1)
        padded = np.vstack([B2, np.zeros((1, B2.shape[1]))])
        out = np.empty_like(B2, dtype=float)
        for bk, L in zip(self.buckets, self.L, strict=True):
            X = padded[bk["pos"]]  # (nb, cap, k)
            if both:
                X = _batched_tri_solve(L, X, trans=False)
            X = _batched_tri_solve(L, X, trans=last)
            out[bk["pos"][bk["valid"]]] = X[bk["valid"]]
        return out.reshape(B.shape)

    def solve(self, B: np.ndarray) -> np.ndarray:
        return self._apply(B, both=True)

    def sample(self, eps: np.ndarray) -> np.ndarray:
        return self._apply(eps, both=False)

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        return self._apply(np.asarray(g, dtype=float), both=False, last=False)

    def pattern_inverse(self, pattern) -> np.ndarray:
        """H_rr⁻¹ at the pattern's slots (CSC data order): (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹ per block."""
        out = np.empty(pattern.nnz)
        for b, Li in enumerate(self._inverses()):
            sel = pattern.slot_bucket == b
            out[sel] = (np.swapaxes(Li, 1, 2) @ Li).reshape(-1)[pattern.slot_flat[sel]]
        return out

    def diag_inv(self) -> np.ndarray:
        out = np.empty(self.q)
        for bk, Li in zip(self.buckets, self._inverses(), strict=True):
            d = np.sum(Li**2, axis=1)  # column sums of Linv² = diag(Linvᵀ Linv)
            out[bk["pos"][bk["valid"]]] = d[bk["valid"]]
        return out


def _batched_tri_solve(L: np.ndarray, X: np.ndarray, trans: bool) -> np.ndarray:
    """L⁻¹ X (or L⁻ᵀ X) for a batch of lower-triangular L (nb × cap × cap)."""
    if _BATCHED_TRSM:
        return sla.solve_triangular(
            L, X, lower=True, trans="T" if trans else "N", check_finite=False
        )
    return np.stack(
        [
            sla.solve_triangular(
                L[k], X[k], lower=True, trans="T" if trans else "N", check_finite=False
            )
            for k in range(len(L))
        ]
    )


def _probe_batched_trsm() -> bool:
    """SciPy ≥ 1.15 solves batches of triangular systems in one call."""
    try:
        out = sla.solve_triangular(
            np.eye(2)[None].repeat(2, axis=0), np.ones((2, 2, 1)), lower=True
        )
    except ValueError:
        return False
    return out.shape == (2, 2, 1)


_BATCHED_TRSM = _probe_batched_trsm()
