"""Factorisations of the latent precision H = Aᵀ C A + Q.

Two interchangeable factor objects with the same interface (``logdet``, ``solve``,
``sample``, ``inverse``):

* :class:`DenseFactor` — LAPACK Cholesky; used for small latent vectors and when the
  likelihood curvature has a low-rank part (Cox, conditional logit).
* :class:`SchurFactor` — coefficients b (few, dense) and random effects r (many, sparse):
  a sparse LU of H_rr in symmetric mode (no pivoting, fixed fill-reducing order computed
  once), which for a symmetric positive-definite matrix is an LDLᵀ factorisation, and a
  dense Cholesky of the P×P Schur complement S = H_bb − H_br H_rr⁻¹ H_rb.

H_rr is filled by :class:`~mmreg.inference.pattern.SparsePattern` (pattern analysed once)
and factored by :mod:`~mmreg.inference.rrfactors` or :mod:`~mmreg.inference.cholmod`.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from scipy.linalg.lapack import dpotrf, dpotrs, dtrtrs

from mmreg.inference.pattern import SparsePattern

__all__ = ["DenseFactor", "SchurFactor", "SparsePattern", "dense_cholesky"]


def dense_cholesky(H: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor, with a minimal jitter if H is numerically indefinite.

    LAPACK's ``dpotrf`` directly (what ``scipy.linalg.cholesky`` calls, the same result
    bit for bit, without its ~6 µs of argument handling: the coefficient blocks here are a
    few rows and every log-density evaluation factors one).
    """
    L, info = dpotrf(H, lower=1, clean=1)
    if info == 0:
        return L
    jitter = 1e-8 * max(1.0, float(np.max(np.abs(np.diag(H)))))
    L, info = dpotrf(H + jitter * np.eye(len(H)), lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("matrix not positive definite")
    return L


def cho_solve_lower(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(L Lᵀ)⁻¹ b by LAPACK's ``dpotrs`` (= ``scipy.linalg.cho_solve((L, True), b)``)."""
    x, info = dpotrs(L, b, lower=1)
    if info != 0:  # pragma: no cover - LAPACK argument error
        raise np.linalg.LinAlgError(f"dpotrs failed ({info})")
    return x


def solve_lower(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L⁻¹ b by LAPACK's ``dtrtrs`` (= ``solve_triangular(L, b, lower=True)``)."""
    x, info = dtrtrs(L, b, lower=1, trans=0)
    if info != 0:  # pragma: no cover - LAPACK argument error
        raise np.linalg.LinAlgError(f"dtrtrs failed ({info})")
    return x


def solve_lower_t(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L⁻ᵀ b by LAPACK's ``dtrtrs`` (= ``solve_triangular(L, b, lower=True, trans="T")``)."""
    x, info = dtrtrs(L, b, lower=1, trans=1)
    if info != 0:  # pragma: no cover - LAPACK argument error
        raise np.linalg.LinAlgError(f"dtrtrs failed ({info})")
    return x


class DenseFactor:
    """Cholesky factor of a dense SPD matrix (a :class:`~mmreg.inference.factors.
    LatentFactor`)."""

    cheap_diag = True
    has_pattern_inverse = False

    def __init__(self, H: np.ndarray):
        self.L = dense_cholesky(H)
        self.logdet = 2.0 * float(np.sum(np.log(np.diag(self.L))))

    def solve(self, g: np.ndarray) -> np.ndarray:
        return cho_solve_lower(self.L, g)

    def sample(self, eps: np.ndarray) -> np.ndarray:
        """Map standard normals (dim × k) to draws with covariance H⁻¹."""
        return solve_lower_t(self.L, eps)

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        """L⁻¹ g, the transpose of :meth:`sample`."""
        return solve_lower(self.L, g)

    def inverse(self) -> np.ndarray:
        return self.solve(np.eye(len(self.L)))

    def coef_block(self, P: int) -> np.ndarray:
        """The leading P×P block of H⁻¹ (the coefficients)."""
        E = np.zeros((len(self.L), P))
        E[np.arange(P), np.arange(P)] = 1.0
        return self.solve(E)[:P]

    def inverse_block(self, idx: np.ndarray) -> np.ndarray:
        """(H⁻¹)[idx, idx] for latent positions ``idx``."""
        return self.inverse()[np.ix_(idx, idx)]

    def block_solves(self, idx: np.ndarray) -> int:
        """Solves :meth:`inverse_block` needs beyond the factorisation: none (small H)."""
        return 0

    def inverse_parts(self, P: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The leading P×P block of H⁻¹ (P = all when None) and the diagonal of H⁻¹."""
        inv = self.inverse()
        P = len(inv) if P is None else P
        return inv[:P, :P], np.diag(inv).copy()


class SchurFactor:
    """Factor of H = [[H_bb, H_br], [H_rb, H_rr]] from H_rr's factor (dense blocks, SuperLU
    or CHOLMOD, made by the pattern), then the dense Schur complement S = H_bb − H_br H_rr⁻¹ H_rb
    (a :class:`~mmreg.inference.factors.LatentFactor`)."""

    def __init__(
        self,
        Hbb: np.ndarray,
        Hbr_p: np.ndarray,
        rr,
        pattern: SparsePattern,
        extra: np.ndarray | None = None,
    ):
        """``Hbr_p``: H_br with its columns in the pattern's order (``Hbr[:, pattern.perm]``);
        ``rr``: H_rr's factor (:meth:`SparsePattern.factor_rr`)."""
        self.pattern = pattern
        P = self.P = Hbb.shape[0]
        self.rr = rr
        self.Hbr_p = Hbr_p
        #: H⁻¹ ``extra`` (dim × k) when ``extra`` columns are given: their H_rr solves share
        #: the call that forms W (one pass over the factor instead of two)
        self.extra_solved: np.ndarray | None = None
        if extra is not None:
            extra = extra.reshape(len(extra), -1)
            # column-major, as the sparse solvers take their right-hand sides (no copy)
            rhs = np.empty((pattern.q, P + extra.shape[1]), order="F")
            rhs[:, :P] = Hbr_p.T
            rhs[:, P:] = extra[P:][pattern.perm]
            Y = self.rr.solve(rhs)
            self.W, Yx = Y[:, :P], Y[:, P:]
        elif self.P:
            self.W = self.rr.solve(np.ascontiguousarray(self.Hbr_p.T))  # H_rr⁻¹ H_rb
        if self.P:
            S = Hbb - self.Hbr_p @ self.W
            self.LS = dense_cholesky(0.5 * (S + S.T))
            logdet_s = 2.0 * float(np.sum(np.log(np.diag(self.LS))))
        else:
            self.W = np.zeros((pattern.q, 0))
            self.LS = np.zeros((0, 0))
            logdet_s = 0.0
        self.logdet = self.rr.logdet + logdet_s
        if extra is not None:
            self.extra_solved = self._finish(extra, Yx)

    def solve(self, g: np.ndarray) -> np.ndarray:
        return self._finish(g, self.rr.solve(g[self.P :][self.pattern.perm]))

    def _finish(self, g: np.ndarray, xr0: np.ndarray) -> np.ndarray:
        """H⁻¹ g given xr0 = H_rr⁻¹ g_r (permuted order): the Schur complement's part."""
        P, pat = self.P, self.pattern
        gb = g[:P]
        if P:
            xb = cho_solve_lower(self.LS, gb - self.Hbr_p @ xr0)
            xr = xr0 - self.W @ xb
        else:
            xb, xr = gb[:0], xr0
        out = np.empty_like(g, dtype=float)
        out[:P] = xb
        out[P:] = xr[pat.inv]
        return out

    def sample(self, eps: np.ndarray) -> np.ndarray:
        """Map standard normals (dim × k) to draws with covariance H⁻¹.

        x_b ~ N(0, S⁻¹) and x_r | x_b ~ N(−H_rr⁻¹ H_rb x_b, H_rr⁻¹).
        """
        P, pat = self.P, self.pattern
        eps = np.atleast_2d(eps.T).T
        xb = solve_lower_t(self.LS, eps[:P]) if P else eps[:0]
        xr = self.rr.sample(np.ascontiguousarray(eps[P:])) - self.W @ xb
        return np.vstack([xb, xr[pat.inv]])

    def sample_t(self, g: np.ndarray) -> np.ndarray:
        """The transpose of :meth:`sample`: with h = g_r in the pattern's order,
        ε_r = S_rrᵀ h and ε_b = L_S⁻¹ (g_b − Wᵀ h)."""
        P, pat = self.P, self.pattern
        g = np.atleast_2d(np.asarray(g, dtype=float).T).T
        h = np.ascontiguousarray(g[P:][pat.perm])
        er = self.rr.sample_t(h)
        eb = solve_lower(self.LS, g[:P] - self.W.T @ h) if P else g[:0]
        return np.vstack([eb, er])

    @property
    def has_pattern_inverse(self) -> bool:
        """Whether H_rr⁻¹ on the pattern comes cheaply (dense blocks, see ``seltrace``)."""
        return self.rr.has_pattern_inverse

    @property
    def cheap_diag(self) -> bool:
        """Whether diag(H⁻¹) costs about as much as the factorisation (dense blocks or a
        small sparse factor); otherwise it takes q/512 solves with 512 right-hand sides."""
        return self.has_pattern_inverse or self.pattern.q <= 4000

    def coef_block(self, P: int) -> np.ndarray:
        """S⁻¹, the coefficient block of H⁻¹ (``P`` as in :meth:`inverse_parts`)."""
        if P != self.P:
            raise ValueError(f"this factor has {self.P} coefficients, not {P}")
        return sla.cho_solve((self.LS, True), np.eye(P)) if P else np.zeros((0, 0))

    def inverse_parts(self, P: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """S⁻¹ (the coefficient block of H⁻¹) and the diagonal of H⁻¹, in O(q) memory.

        diag(H⁻¹)_r = diag(H_rr⁻¹) + rowsums((W S⁻¹) ∘ W).  ``P`` must be the coefficient
        count the factor was built with (accepted for a common interface).
        """
        if P is not None and P != self.P:
            raise ValueError(f"this factor has {self.P} coefficients, not {P}")
        P, pat = self.P, self.pattern
        Sinv = self.coef_block(P)
        dr = self.rr.diag_inv() + np.einsum("ij,ij->i", self.W @ Sinv, self.W)
        return Sinv, np.concatenate([np.diag(Sinv), dr[pat.inv]])

    def _colours(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Components of the random effects ``idx`` (≥ P) and a colouring that gives
        effects of one component different colours (their rank within the component)."""
        comp = self.pattern.comp[np.asarray(idx) - self.P]
        order = np.argsort(comp, kind="stable")
        first = np.r_[True, comp[order][1:] != comp[order][:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        colour = np.empty(len(order), dtype=int)
        colour[order] = np.arange(len(order)) - start
        return comp, colour

    def block_solves(self, idx: np.ndarray) -> int:
        """Solves :meth:`inverse_block` needs for ``idx``: the most of them in one component."""
        return int(self._colours(idx)[1].max(initial=-1)) + 1

    def inverse_block(self, idx: np.ndarray, chunk: int = 32) -> np.ndarray:
        """(H⁻¹)[idx, idx] for random-effect positions ``idx`` (all ≥ P).

        (H⁻¹)[idx, idx] = (H_rr⁻¹)[idx, idx] + W_idx S⁻¹ W_idxᵀ, and H_rr⁻¹ is zero between
        connected components of H_rr: one solve per colour of :meth:`_colours`, whose right
        -hand side has a one at every effect of that colour — e.g. a single solve for the
        country effects when countries are separate components.
        """
        P, pat = self.P, self.pattern
        pos = pat.inv[np.asarray(idx) - P]  # positions in the permuted order of H_rr
        comp, colour = self._colours(idx)
        n_col = int(colour.max(initial=-1)) + 1
        X = np.empty((len(pos), n_col))
        for a in range(0, n_col, chunk):  # q × chunk right-hand sides at a time
            b = min(n_col, a + chunk)
            sel = (colour >= a) & (colour < b)
            E = np.zeros((pat.q, b - a))
            E[pos[sel], colour[sel] - a] = 1.0
            X[:, a:b] = self.rr.solve(E)[pos]
        out = X[:, colour] * (comp[:, None] == comp[None, :])
        if P:
            Wi = self.W[pos]
            out = out + Wi @ sla.cho_solve((self.LS, True), Wi.T, check_finite=False)
        return 0.5 * (out + out.T)

    def inverse(self) -> np.ndarray:
        """The dense H⁻¹ (small models and tests only)."""
        P, pat = self.P, self.pattern
        q = pat.q
        Sinv = self.coef_block(P)
        Rinv = self.rr.solve(np.eye(q))
        out = np.empty((P + q, P + q))
        out[:P, :P] = Sinv
        WS = self.W @ Sinv
        out[P:, :P] = -WS[pat.inv]
        out[:P, P:] = out[P:, :P].T
        out[P:, P:] = (Rinv + WS @ self.W.T)[np.ix_(pat.inv, pat.inv)]
        return out
