"""The design at given weight parameters: D(θ), R(θ) and the offset, and their derivatives.

:class:`DesignAssembly` is the part of :class:`~mmreg.inference.latent.LatentModel` that
turns the weight parameters θ into the linear predictor's design ``A(θ) = [D(θ) | R(θ)]``
(dense coefficient columns, sparse random-effect loadings) and the offset: aggregated
member covariates, aggregated features of named blocks and their products, fixed-weight
offsets, random-effect loadings ``w`` or ``w·x`` (member random slopes).  It reads the
layout that ``LatentModel.__init__`` builds (``design``, ``n``, ``P``, ``q``, the
aggregation patterns ``_agg``, the RE design ``_R`` with its value sources ``_r_src`` /
``_r_perm``, ``_mm_cols``, ``_in_products``, the caches ``_static`` and ``_rt``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mmreg.design import Design
from mmreg.design_named import block_feature
from mmreg.inference.interactions import fill_products, product_derivative

__all__ = ["DesignAssembly", "with_data"]


def with_data(template: sp.spmatrix, data: np.ndarray) -> sp.spmatrix:
    """A compressed sparse matrix with ``template``'s structure and the values ``data``.

    The structure arrays are shared and not checked again: every evaluation of a model with
    estimated weights builds its loadings on one fixed pattern, and SciPy's constructor,
    which validates the pattern, cost ~15 µs per matrix (three per evaluation: coalgov
    gaus_w spent 8% of an evaluation there).  ``data`` must be float64 of length
    ``template.nnz`` in the template's storage order.
    """
    if data.shape != template.data.shape or data.dtype != np.float64:
        raise ValueError(f"values {data.dtype}{data.shape} for a pattern of {template.nnz}")
    if hasattr(template, "has_sorted_indices"):
        # cached on the template (SciPy computes it on first use): every copy inherits it
        # instead of scanning the indices again (CHOLMOD asks; ~15 µs per matrix)
        _ = template.has_sorted_indices
    out = object.__new__(type(template))
    out.__dict__.update(template.__dict__)
    out.data = data
    return out


class DesignAssembly:
    """Assembly of D(θ), R(θ) and the offset (a part of
    :class:`~mmreg.inference.latent.LatentModel`)."""

    # set by LatentModel.__init__
    design: Design
    n: int
    P: int
    q: int
    _agg: list[sp.csr_matrix]  # membership pattern (groups × rows) of every mm block
    _R: sp.csr_matrix  # RE design pattern, data = positions in the concatenated values
    _r_src: list  # (kind, block, values) of every RE column's loadings
    _r_perm: np.ndarray
    _mm_cols: list[slice]  # columns of D of each mm block's aggregated covariates
    _in_products: frozenset[int]  # mm blocks whose features enter product columns
    _static: tuple | None  # (D, R, offset) when the weights have no parameters
    _rt: tuple | None  # (R, Rᵀ): the transpose of the last assembled R

    def weights(self, theta: tuple[np.ndarray, ...], derivative: bool = False):
        """Weights (and derivatives) of every mm block at ``theta``."""
        return [
            b.weights(t, derivative=derivative) for b, t in zip(self.design.mm, theta, strict=True)
        ]

    def assemble(self, theta: tuple[np.ndarray, ...]):
        """Dense coefficient design D (n × P), sparse RE design R and offset at ``theta``.

        Without weight parameters the design is fixed and computed once.  With them the
        last one is kept: a pseudo-marginal evaluation needs it twice (the mode search and
        the importance sampler), and with estimated weights assembling it was a quarter of
        an evaluation (coalgov weib_w: 1.27 → 1.12 ms CPU per evaluation).  The result
        must not be modified.
        """
        if self._static is not None:
            return self._static
        key = b"".join(np.asarray(t, float).tobytes() for t in theta)
        last = self.__dict__.get("_last_assembled")  # one read: safe with threads
        if last is not None and last[0] == key:
            return last[1]
        out = self.assemble_fresh(theta)
        if not any(len(b.wnames) for b in self.design.mm):
            self._static = out
        else:
            self.__dict__["_last_assembled"] = (key, out)
        return out

    def assemble_fresh(self, theta: tuple[np.ndarray, ...]):
        """:meth:`assemble` computed anew (never the cached fixed design): for derivatives
        by finite differences in ``theta``."""
        d = self.design
        ws = [w for w, _ in self.weights(theta)]
        mm_parts, off = [], d.offset.copy()
        features: dict[int, np.ndarray] = {}  # single features of blocks in products
        for i, (b, S0, w, t) in enumerate(zip(d.mm, self._agg, ws, theta, strict=True)):
            if not np.all(np.isfinite(w)):
                raise FloatingPointError(f"weights of {b.label} are not finite")
            # a new matrix on the shared pattern (thread-safe); CSR data order = row order
            S = with_data(S0, np.asarray(w, dtype=np.float64))
            if b.feature is not None:  # aggregated feature F(θ) (design_agg)
                mm_parts.append(self._feature(b, w, t)[:, None])
            elif b.X.shape[1]:
                mm_parts.append(S @ b.X)
            if i in self._in_products:
                features[i] = mm_parts[-1][:, 0]
            if b.spec.fixed:
                off = off + S @ b.fixed_offset
        p0 = d.X.shape[1]
        D = np.empty((self.n, self.P))
        D[:, :p0] = d.X
        col = p0
        for part in mm_parts:
            D[:, col : col + part.shape[1]] = part
            col += part.shape[1]
        for h in d.hm:
            k = h.Z.shape[1] + h.fe.shape[1]
            if k:
                D[:, col : col + k] = np.hstack([h.Z, h.fe])
                col += k
        fill_products(D, d.interactions, features)
        if self.q:
            vals = np.concatenate(
                [
                    x
                    if kind == "fixed"
                    else ws[i]  # type: ignore[index]
                    if x is None
                    else ws[i] * x  # type: ignore[index]
                    for kind, i, x in self._r_src
                ]
            )
            R = with_data(self._R, np.asarray(vals[self._r_perm], dtype=np.float64))
        else:
            R = self._R
        return D, R, off

    def _feature(self, b, w: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The aggregated feature of block ``b`` per observation at its parameters ``t``."""
        F, _ = b.feature(w, None, t)
        if F.shape[0] != self.n or not np.all(np.isfinite(F)):
            raise FloatingPointError(f"the aggregated feature of {b.label} is not finite")
        return F

    def exact_derivative(self, block: int) -> bool:
        """Whether :meth:`design_derivative` is used for the parameters of ``block`` (an
        aggregated feature, or a feature in product columns); else finite differences."""
        return self.design.mm[block].feature is not None or block in self._in_products

    def design_derivative(self, theta: tuple[np.ndarray, ...], block: int, j: int):
        """Exact (∂D/∂θ, ∂R.data/∂θ, ∂offset/∂θ) for parameter ``j`` of mm block ``block``
        (weights and, for an aggregated feature, dF/dθ); ∂R.data is None without REs."""
        b, t = self.design.mm[block], theta[block]
        w, dw = b.weights(t, derivative=True)
        dwj = dw[j] if dw is not None else np.zeros_like(w)
        S0 = self._agg[block]
        Sd = sp.csr_matrix((dwj, S0.indices, S0.indptr), shape=S0.shape)
        dD = np.zeros((self.n, self.P))
        if b.feature is not None:
            dF = b.feature(w, dw, t, derivative=True)[1]
            assert dF is not None  # asked for the derivative
            dD[:, self._mm_cols[block]] = dF[j][:, None]
        elif b.X.shape[1]:
            dD[:, self._mm_cols[block]] = Sd @ b.X
        if block in self._in_products:  # product columns (majority:coal): product rule
            product_derivative(
                dD,
                self.design.interactions,
                block,
                dD[:, self._mm_cols[block]][:, 0],
                lambda i: block_feature(self.design.mm[i], theta[i], self.n),
            )
        doff = Sd @ b.fixed_offset if b.spec.fixed else np.zeros(self.n)
        dR = None
        if self.q:
            parts = []
            for kind, i, x in self._r_src:  # loadings: w (mm), w·x (mm slopes), fixed
                if kind == "mm" and i == block:
                    parts.append(dwj if x is None else dwj * x)
                else:
                    rows = x if kind == "fixed" else self.design.mm[i].group  # type: ignore[index]
                    parts.append(np.zeros(len(rows)))  # type: ignore[arg-type]
            vals = np.concatenate(parts)
            dR = vals[self._r_perm]
        return dD, dR, doff

    def transpose(self, R: sp.csr_matrix):
        """Rᵀ, cached for the last ``R`` (building a transpose costs more than using it)."""
        cached = self._rt
        if cached is not None and cached[0] is R:
            return cached[1]
        if R.nnz == self._R.nnz and R.indices is self._R.indices:  # on the fixed pattern
            Rt = with_data(self._Rt_pattern(), R.data)
        else:
            Rt = R.T
        self._rt = (R, Rt)
        return Rt

    def _Rt_pattern(self) -> sp.csc_matrix:
        """``_R.T`` (CSC with ``_R``'s arrays), built once: a transpose of R on the pattern
        is this with R's values."""
        t = self.__dict__.get("_rt0")
        if t is None:
            t = self.__dict__["_rt0"] = self._R.T
        return t
