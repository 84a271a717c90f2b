"""Factorisations of the latent precision H = Aᵀ C A + Q.

Two interchangeable factor objects with the same interface (``logdet``, ``solve``,
``sample``, ``inverse``):

* :class:`DenseFactor` — LAPACK Cholesky; used for small latent vectors and when the
  likelihood curvature has a low-rank part (Cox, conditional logit).
* :class:`SchurFactor` — coefficients b (few, dense) and random effects r (many, sparse):
  a sparse LU of H_rr in symmetric mode (no pivoting, fixed fill-reducing order computed
  once), which for a symmetric positive-definite matrix is an LDLᵀ factorisation, and a
  dense Cholesky of the P×P Schur complement S = H_bb − H_br H_rr⁻¹ H_rb.

:class:`SparsePattern` precomputes the sparsity pattern of H_rr so that each evaluation only
fills values (no symbolic sparse products in the hot loop).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dtrtri
from scipy.sparse.csgraph import connected_components

from mmreg.inference import cholmod

__all__ = ["DenseFactor", "SchurFactor", "SparsePattern", "dense_cholesky"]


def dense_cholesky(H: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor, with a minimal jitter if H is numerically indefinite."""
    try:
        return sla.cholesky(H, lower=True, check_finite=False)
    except (sla.LinAlgError, ValueError):
        jitter = 1e-8 * max(1.0, float(np.max(np.abs(np.diag(H)))))
        return sla.cholesky(H + jitter * np.eye(len(H)), lower=True, check_finite=False)


class DenseFactor:
    """Cholesky factor of a dense SPD matrix."""

    cheap_diag = True

    def __init__(self, H: np.ndarray):
        self.L = dense_cholesky(H)
        self.logdet = 2.0 * float(np.sum(np.log(np.diag(self.L))))

    def solve(self, g: np.ndarray) -> np.ndarray:
        return sla.cho_solve((self.L, True), g, check_finite=False)

    def sample(self, eps: np.ndarray) -> np.ndarray:
        """Map standard normals (dim × k) to draws with covariance H⁻¹."""
        return sla.solve_triangular(self.L, eps, lower=True, trans="T", check_finite=False)

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

    def inverse_parts(self, P: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The leading P×P block of H⁻¹ (P = all when None) and the diagonal of H⁻¹."""
        inv = self.inverse()
        P = len(inv) if P is None else P
        return inv[:P, :P], np.diag(inv).copy()


class SparsePattern:
    """Value-filling plan for H_rr = Rᵀ diag(d) R + Q_r with a fixed sparsity pattern.

    Parameters
    ----------
    R : scipy.sparse.csr_matrix
        Random-effect design (n × q); only its pattern is used.
    q_blocks : list of (slice, scipy.sparse matrix or None)
        Prior precision pattern per RE block (None: identity).
    """

    def __init__(self, R: sp.csr_matrix, q_blocks):
        n, q = R.shape
        counts = np.diff(R.indptr)
        p1, p2, rows = [], [], []
        for k in np.unique(counts):
            if k == 0:
                continue
            rr = np.flatnonzero(counts == k)
            pos = R.indptr[rr][:, None] + np.arange(k)[None, :]  # (m, k) positions in data
            a = np.repeat(pos, k, axis=1)
            b = np.tile(pos, (1, k))
            p1.append(a.ravel())
            p2.append(b.ravel())
            rows.append(np.repeat(rr, k * k))
        self.p1 = np.concatenate(p1) if p1 else np.zeros(0, int)
        self.p2 = np.concatenate(p2) if p2 else np.zeros(0, int)
        self.rows = np.concatenate(rows) if rows else np.zeros(0, int)
        ti = R.indices[self.p1]
        tj = R.indices[self.p2]
        qi, qj, qblock, qval = [], [], [], []
        for b, (sl, K) in enumerate(q_blocks):
            if K is None:
                idx = np.arange(sl.start, sl.stop)
                qi.append(idx)
                qj.append(idx)
                qval.append(np.ones(len(idx)))
            else:
                K = sp.coo_matrix(K)
                qi.append(sl.start + K.row)
                qj.append(sl.start + K.col)
                qval.append(K.data)
            qblock.append(np.full(len(qi[-1]), b))
        qi, qj = np.concatenate(qi), np.concatenate(qj)
        self.qval, self.qblock = np.concatenate(qval), np.concatenate(qblock)
        pat = sp.csc_matrix((np.ones(len(ti) + len(qi)),
                             (np.concatenate([ti, qi]), np.concatenate([tj, qj]))), shape=(q, q))
        ncomp, comp = connected_components(pat, directed=False)
        self.comp = comp  # connected component of every random effect (original order)
        sizes = np.bincount(comp)
        # batched dense blocks pay off once there are many random effects; SuperLU's lower
        # overhead wins on small problems (coalgov: 0.6 vs 0.8 ms per factorisation)
        self.blocks = bool(sizes.max() <= self.BLOCK_MAX and q >= self.BLOCK_MIN_Q)
        if self.blocks:
            # independent components (e.g. parties nested in countries): batched dense blocks
            perm = np.lexsort((np.arange(q), comp))
        elif self._wants_cholmod(q):
            perm = np.arange(q)  # one large component: CHOLMOD orders it (see factor_rr)
        else:  # one large component: sparse LDLᵀ with a fill-reducing order computed once
            pat = pat + sp.eye(q, format="csc") * (abs(pat).sum(axis=1).max() + 1.0)
            lu = spla.splu(pat, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                           options={"SymmetricMode": True})
            # SuperLU factors A[:, perm_c] with perm_c[i] the position of column i; the
            # fill-reducing order itself (states in elimination order) is its inverse
            perm = np.argsort(lu.perm_c)
        inv = np.empty(q, dtype=int)
        inv[perm] = np.arange(q)
        self.perm, self.inv = perm, inv
        # pattern in permuted coordinates, CSC; map every contribution to a data slot
        allr = inv[np.concatenate([ti, qi])]
        allc = inv[np.concatenate([tj, qj])]
        key = allc.astype(np.int64) * q + allr
        uniq, slot = np.unique(key, return_inverse=True)
        self.nnz = len(uniq)
        self.indices = (uniq % q).astype(np.int32)
        cols = (uniq // q).astype(np.int64)
        self.indptr = np.searchsorted(cols, np.arange(q + 1)).astype(np.int32)
        self.slot_pairs = slot[: len(ti)]
        self.slot_q = slot[len(ti):]
        self.slot_cols = cols.astype(np.int64)  # column (permuted) of every slot
        self.q = q
        self._H = sp.csc_matrix((np.zeros(self.nnz), self.indices, self.indptr), shape=(q, q))
        #: whether H_rr is factored by CHOLMOD (worker processes must then be spawned)
        self.uses_cholmod = not self.blocks and self._wants_cholmod(q)
        self._symbolic = None
        if self.blocks:
            self._plan_buckets(comp[perm], cols.astype(np.int64))

    #: Factor one large sparse component with CHOLMOD when scikit-sparse is installed and
    #: it has at least CHOLMOD_MIN_Q states (below, SuperLU's lower overhead is as fast).
    use_cholmod = True
    CHOLMOD_MIN_Q = 20000

    BLOCK_MAX = 1500  # largest component handled as a dense block
    BLOCK_MIN_Q = 500  # fewest random effects for which dense blocks are used

    def _wants_cholmod(self, q: int) -> bool:
        return self.use_cholmod and q >= self.CHOLMOD_MIN_Q and cholmod.available()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_symbolic"] = None  # a CHOLMOD object: not picklable, rebuilt on first use
        return state

    def _plan_buckets(self, comp_p: np.ndarray, cols: np.ndarray) -> None:
        """Group components of similar size into padded dense batches."""
        q = self.q
        starts = np.flatnonzero(np.r_[True, comp_p[1:] != comp_p[:-1]])
        sizes = np.diff(np.r_[starts, q])
        # bucket capacities: sizes rounded up to a geometric grid (≤ 25% padding)
        caps = np.ceil(1.25 ** np.ceil(np.log(np.maximum(sizes, 1)) / np.log(1.25))).astype(int)
        caps = np.maximum(caps, sizes)
        self.buckets = []
        rows_of = self.indices.astype(np.int64)
        slot_bucket = np.empty(self.nnz, dtype=np.int64)
        slot_flat = np.empty(self.nnz, dtype=np.int64)
        comp_of_state = np.repeat(np.arange(len(starts)), sizes)
        local = np.arange(q) - np.repeat(starts, sizes)
        for b, cap in enumerate(np.unique(caps)):
            members = np.flatnonzero(caps == cap)
            nb = len(members)
            pos = np.full((nb, cap), q, dtype=np.int64)  # q = padding (a zero/identity slot)
            for k, c in enumerate(members):
                pos[k, : sizes[c]] = starts[c] + np.arange(sizes[c])
            which = np.empty(len(starts), dtype=np.int64)
            which[members] = np.arange(nb)
            slots = np.flatnonzero(np.isin(comp_of_state[cols], members))
            r, c = rows_of[slots], cols[slots]
            slot_bucket[slots] = b
            slot_flat[slots] = (which[comp_of_state[c]] * cap + local[r]) * cap + local[c]
            pad = pos == q
            template = np.zeros((nb, cap, cap))
            kk, ii = np.nonzero(pad)
            template[kk, ii, ii] = 1.0
            self.buckets.append({"pos": pos, "valid": ~pad, "template": template})
        self.slot_bucket, self.slot_flat = slot_bucket, slot_flat

    def factor_rr(self, data: np.ndarray):
        """Factor of H_rr (permuted) from its CSC data."""
        if not self.blocks:
            self._H.data = data
            if self.uses_cholmod:
                if self._symbolic is None:  # order + symbolic factorisation, once
                    self._symbolic = cholmod.symbolic(self._H)
                return cholmod.CholmodRR(self._symbolic, self._H)
            return _SuperLURR(self._H)
        mats = []
        for b, bk in enumerate(self.buckets):
            m = bk["template"].copy()
            sel = self.slot_bucket == b
            m.reshape(-1)[self.slot_flat[sel]] = data[sel]
            mats.append(m)
        return _BlockRR(self, mats)

    def fill(self, Rdata: np.ndarray, d: np.ndarray, prec: np.ndarray) -> np.ndarray:
        """CSC data of H_rr (permuted) for RE design values, curvature, block precisions."""
        vals = Rdata[self.p1] * Rdata[self.p2] * d[self.rows]
        data = np.bincount(self.slot_pairs, vals, minlength=self.nnz)
        data += np.bincount(self.slot_q, self.qval * prec[self.qblock], minlength=self.nnz)
        return data


class _SuperLURR:
    """H_rr⁻¹ through SuperLU in symmetric mode (LDLᵀ for an SPD matrix)."""

    def __init__(self, H: sp.csc_matrix):
        try:
            self.lu = spla.splu(H, permc_spec="NATURAL", diag_pivot_thresh=0.0,
                                options={"SymmetricMode": True})
        except RuntimeError as exc:  # SuperLU: "Factor is exactly singular"
            raise np.linalg.LinAlgError(str(exc)) from None
        self.d = self.lu.U.diagonal()
        if np.any(self.d <= 0) or not np.all(np.isfinite(self.d)):
            raise np.linalg.LinAlgError("random-effect precision not positive definite")
        self.logdet = float(np.sum(np.log(self.d)))
        self._L = None

    def solve(self, B: np.ndarray) -> np.ndarray:
        return self.lu.solve(np.ascontiguousarray(B))

    def sample(self, eps: np.ndarray) -> np.ndarray:
        if self._L is None:  # SuperLU builds a new matrix on every access to .L
            self._L = self.lu.L
        y = self._L @ (np.sqrt(self.d)[:, None] * eps)  # ~ N(0, H_rr)
        return self.solve(y)

    def diag_inv(self) -> np.ndarray:
        return diag_by_solves(self.solve, len(self.d))


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


class _BlockRR:
    """H_rr⁻¹ for block-diagonal H_rr: batched dense Cholesky of padded components.

    Solves are batched triangular solves with the Cholesky factors; the explicit inverses
    of the factors (as dear as the factorisation) are formed only for ``diag_inv``, so a
    factorisation that is only asked for its log-determinant (the directional derivatives
    of the gradient) costs one batched Cholesky.
    """

    def __init__(self, pattern: SparsePattern, mats: list[np.ndarray]):
        self.q = pattern.q
        self.buckets = pattern.buckets
        self.L = []
        logdet = 0.0
        for m in mats:
            L = np.linalg.cholesky(m)
            logdet += 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
            self.L.append(L)
        self.logdet = logdet
        self._Linv = None

    def _inverses(self) -> list[np.ndarray]:
        """L⁻¹ per bucket, formed on first use (as dear as the factorisation)."""
        if self._Linv is None:
            self._Linv = [_tri_inverse(L) for L in self.L]
        return self._Linv

    def _apply(self, B: np.ndarray, both: bool) -> np.ndarray:
        B2 = B.reshape(self.q, -1)
        padded = np.vstack([B2, np.zeros((1, B2.shape[1]))])
        out = np.empty_like(B2, dtype=float)
        for bk, L in zip(self.buckets, self.L, strict=True):
            X = padded[bk["pos"]]  # (nb, cap, k)
            if both:
                X = _batched_tri_solve(L, X, trans=False)
            X = _batched_tri_solve(L, X, trans=True)
            out[bk["pos"][bk["valid"]]] = X[bk["valid"]]
        return out.reshape(B.shape)

    def solve(self, B: np.ndarray) -> np.ndarray:
        return self._apply(B, both=True)

    def sample(self, eps: np.ndarray) -> np.ndarray:
        return self._apply(eps, both=False)

    def pattern_inverse(self, pattern: SparsePattern) -> np.ndarray:
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
        return sla.solve_triangular(L, X, lower=True, trans="T" if trans else "N",
                                    check_finite=False)
    return np.stack([sla.solve_triangular(L[k], X[k], lower=True, trans="T" if trans else "N",
                                          check_finite=False) for k in range(len(L))])


def _probe_batched_trsm() -> bool:
    """SciPy ≥ 1.15 solves batches of triangular systems in one call."""
    try:
        out = sla.solve_triangular(np.eye(2)[None].repeat(2, axis=0), np.ones((2, 2, 1)),
                                   lower=True)
    except ValueError:
        return False
    return out.shape == (2, 2, 1)


_BATCHED_TRSM = _probe_batched_trsm()


class SchurFactor:
    """Factor of H = [[H_bb, H_br], [H_rb, H_rr]]: H_rr factored by ``pattern`` (dense
    blocks, SuperLU or CHOLMOD), then the dense Schur complement S = H_bb − H_br H_rr⁻¹ H_rb."""

    def __init__(self, Hbb: np.ndarray, Hbr: np.ndarray, rr_data: np.ndarray,
                 pattern: SparsePattern):
        self.pattern = pattern
        self.P = Hbb.shape[0]
        self.rr = pattern.factor_rr(rr_data)
        self.Hbr_p = Hbr[:, pattern.perm]  # columns in permuted order
        if self.P:
            self.W = self.rr.solve(np.ascontiguousarray(self.Hbr_p.T))  # H_rr⁻¹ H_rb
            S = Hbb - self.Hbr_p @ self.W
            self.LS = dense_cholesky(0.5 * (S + S.T))
            logdet_s = 2.0 * float(np.sum(np.log(np.diag(self.LS))))
        else:
            self.W = np.zeros((pattern.q, 0))
            self.LS = np.zeros((0, 0))
            logdet_s = 0.0
        self.logdet = self.rr.logdet + logdet_s

    def solve(self, g: np.ndarray) -> np.ndarray:
        P, pat = self.P, self.pattern
        gb, gr = g[:P], g[P:][pat.perm]
        xr0 = self.rr.solve(gr)
        if P:
            xb = sla.cho_solve((self.LS, True), gb - self.Hbr_p @ xr0, check_finite=False)
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
        xb = sla.solve_triangular(self.LS, eps[:P], lower=True, trans="T",
                                  check_finite=False) if P else eps[:0]
        xr = self.rr.sample(np.ascontiguousarray(eps[P:])) - self.W @ xb
        return np.vstack([xb, xr[pat.inv]])

    @property
    def has_pattern_inverse(self) -> bool:
        """Whether H_rr⁻¹ on the pattern comes cheaply (dense blocks, see ``seltrace``)."""
        return isinstance(self.rr, _BlockRR)

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
