"""Factor of a latent Hessian with a low-rank likelihood part: H = H₀ − V Vᵀ.

Families whose curvature in η is ``diag(d) − U diag(c) Uᵀ`` (Cox: the risk-set coupling
of the baseline pieces, one column of U per piece) give

    H = Aᵀ diag(d) A + Q − V Vᵀ,   V = Aᵀ U diag(√c)   (dim × k),

a sparse part H₀ — the Hessian the diagonal families have, factored by
:class:`~mmreg.inference.linalg.SchurFactor` (the random-effect block by the sparse
pattern) — minus a rank-k update.  With W = H₀⁻¹ V and the k × k capacitance matrix
M = I − Vᵀ H₀⁻¹ V (positive definite exactly when H is):

* log|H| = log|H₀| + log|M|  (matrix determinant lemma);
* H⁻¹ = H₀⁻¹ + W M⁻¹ Wᵀ  (Woodbury), so solves, diag(H⁻¹), the coefficient block and
  blocks of H⁻¹ are H₀'s plus a rank-k correction;
* draws: x₀ = H₀'s draw of ε (covariance H₀⁻¹) and x = x₀ + W F Vᵀ x₀ with F = f(Vᵀ W),
  f(λ) = 1 / (√(1−λ) (1 + √(1−λ))): then Cov(x) = H₀⁻¹ + W (2F + F B F) Wᵀ with B = VᵀW
  and 2f + f²λ = 1/(1−λ), i.e. Cov(x) = H⁻¹.  The map ε ↦ x is linear with
  TᵀHT = I, so the importance sampler's log q (½ log|H| − ½|ε|²) is unchanged; the
  particles differ from the dense Cholesky factor's (another square root of H⁻¹).

Cost: one sparse factorisation, k + P solves and O(dim k²), against the dense path's
O(dim³) Cholesky and dense assembly.  :func:`use_low_rank` decides by size alone.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["LOW_RANK_RATIO", "LowRankFactor", "low_rank_columns", "use_low_rank"]

#: The low-rank path is taken when ``k * LOW_RANK_RATIO <= dim`` (k columns of U, dim
#: latent effects): the k solves with H₀'s factor then cost at most dim³/8 flops even when
#: that factor is dense, against dim³/3 for the dense Cholesky (plus its dense assembly).
LOW_RANK_RATIO = 8

#: Smallest eigenvalue of the capacitance matrix M (relative to 1, its value without the
#: update) accepted; below it H is numerically singular and the dense path (with its
#: jitter) is used instead.
MIN_CAPACITANCE = 1e-12


def use_low_rank(curv, dim: int) -> bool:
    """Whether H with curvature ``curv`` is factored as sparse part plus low-rank update.

    Parameters
    ----------
    curv : Curvature
        Likelihood curvature ``diag(d) − U diag(c) Uᵀ`` (``U`` not None).
    dim : int
        Number of latent effects.

    Returns
    -------
    bool
        True when U has at most ``dim / LOW_RANK_RATIO`` columns and the update is a
        down-date (every ``c ≥ 0``) of a positive semi-definite diagonal (every ``d ≥ 0``);
        the conditional logit's exact ties (signed ``c``) stay on the dense path.
    """
    if curv.U is None:
        return False
    k = int(curv.U.shape[1])
    return k * LOW_RANK_RATIO <= dim and bool(np.all(curv.c >= 0.0)) and bool(np.all(curv.d >= 0.0))


def low_rank_columns(D: np.ndarray, Rt, curv) -> np.ndarray:
    """V = Aᵀ U diag(√c) (dim × k) for A = [D | R], given ``Rt`` = Rᵀ (sparse, q × n)."""
    U = curv.U
    Us = (U.toarray() if sp.issparse(U) else np.asarray(U, dtype=float)) * np.sqrt(curv.c)
    top = D.T @ Us  # P × k
    low = np.asarray(Rt @ Us)  # q × k (sparse times dense)
    return np.vstack([top, low])


class LowRankFactor:
    """Factor of H = H₀ − V Vᵀ from a factor of H₀ and the k columns V (module docstring).

    A :class:`~mmreg.inference.factors.LatentFactor`.  Build it with :meth:`build`, which
    returns None when H is numerically not positive definite.

    Parameters
    ----------
    base : LatentFactor
        Factor of the sparse part H₀ (a :class:`~mmreg.inference.linalg.SchurFactor`).
    V : numpy.ndarray
        The update's columns (dim × k), latent order.
    W : numpy.ndarray
        H₀⁻¹ V.
    evals, evecs : numpy.ndarray
        Eigen-decomposition of the capacitance matrix M = I − Vᵀ W.
    """

    #: selected entries of H⁻¹ on the sparse pattern are not provided (the exact-trace
    #: route of :mod:`mmreg.inference.seltrace` is for diagonal curvature only)
    has_pattern_inverse = False

    def __init__(
        self,
        base,
        V: np.ndarray,
        W: np.ndarray,
        evals: np.ndarray,
        evecs: np.ndarray,
    ):
        self.base = base
        self.V = V
        self.W = W
        self.logdet = float(base.logdet) + float(np.sum(np.log(evals)))
        self.Minv = (evecs / evals) @ evecs.T  # M⁻¹
        root = np.sqrt(evals)
        self.F = (evecs / (root * (1.0 + root))) @ evecs.T  # f(B), B = I − M
        self.WMinv = W @ self.Minv

    @classmethod
    def build(cls, base, V: np.ndarray, W: np.ndarray | None = None) -> LowRankFactor | None:
        """The factor of H₀ − V Vᵀ given the factor ``base`` of H₀ (and H₀⁻¹ V if it was
        solved with it), or None when the capacitance matrix is not numerically positive
        definite."""
        if W is None:
            W = base.solve(np.ascontiguousarray(V))
        M = np.eye(V.shape[1]) - V.T @ W
        evals, evecs = np.linalg.eigh(0.5 * (M + M.T))
        if not (np.all(np.isfinite(evals)) and evals.min(initial=1.0) > MIN_CAPACITANCE):
            return None
        return cls(base, V, W, evals, evecs)

    @property
    def cheap_diag(self) -> bool:
        """diag(H⁻¹) costs about as much as H₀'s (the correction is O(dim k))."""
        return bool(self.base.cheap_diag)

    def solve(self, g: np.ndarray) -> np.ndarray:
        """H⁻¹ g = H₀⁻¹ g + W M⁻¹ Vᵀ H₀⁻¹ g (a vector or dim × m)."""
        x = self.base.solve(g)
        return x + self.WMinv @ (self.V.T @ x)

    def sample(self, eps: np.ndarray) -> np.ndarray:
        """Map standard normals (dim × k) to draws with covariance H⁻¹."""
        x0 = self.base.sample(eps)
        return x0 + self.W @ (self.F @ (self.V.T @ x0))

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        """S₀ᵀ (g + V F Wᵀ g), the transpose of :meth:`sample` (F is symmetric)."""
        return self.base.sample_t(g + self.V @ (self.F @ (self.W.T @ g)))

    def _correction(self, rows: np.ndarray | slice) -> np.ndarray:
        """(W M⁻¹ Wᵀ)[rows, rows]."""
        return self.WMinv[rows] @ self.W[rows].T

    def inverse(self) -> np.ndarray:
        """The dense H⁻¹ (small models and tests only)."""
        return self.base.inverse() + self.WMinv @ self.W.T

    def coef_block(self, P: int) -> np.ndarray:
        """The leading P×P block of H⁻¹ (the coefficients)."""
        return self.base.coef_block(P) + self._correction(slice(0, P))

    def inverse_block(self, idx: np.ndarray) -> np.ndarray:
        """(H⁻¹)[idx, idx] for random-effect positions ``idx`` (as H₀'s factor takes them)."""
        out = self.base.inverse_block(idx) + self._correction(np.asarray(idx))
        return 0.5 * (out + out.T)

    def block_solves(self, idx: np.ndarray) -> int:
        """Solves :meth:`inverse_block` needs for ``idx``: H₀'s (W is already there)."""
        return int(self.base.block_solves(idx))

    def inverse_parts(self, P: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The leading P×P block of H⁻¹ and the diagonal of H⁻¹ (H₀'s plus the correction
        rowsums((W M⁻¹) ∘ W))."""
        Cb, diag = self.base.inverse_parts(P)
        P = Cb.shape[0]
        Cb = Cb + self._correction(slice(0, P))
        return Cb, diag + np.einsum("ij,ij->i", self.WMinv, self.W)
