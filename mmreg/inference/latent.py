"""The latent Gaussian core shared by every inference method.

Given hyperparameters ψ (weight parameters, random-effect SDs, family parameters) the
latent vector ``z = [coefficients | random effects]`` has a Gaussian prior N(m, Q(ψ)⁻¹) and
enters the likelihood only through ``η = offset(θ) + A(θ) z`` with ``A = [D(θ) | R(θ)]``:
``D`` dense (coefficients, n × P), ``R`` sparse (one nonzero per membership row).

:class:`LatentModel` finds the conditional mode ẑ(ψ) by Newton's method and the Laplace
approximation of log p(y | ψ) (exact for the Gaussian family); importance-sampling
estimates of p(y | ψ) that are unbiased on the natural scale (used by the pseudo-marginal
sampler) are built on its mode and factor in :mod:`mmreg.inference.importance`.  See
``shared/DESIGN-NOTES.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from mmreg.design import Design, HMBlockDesign, MMBlockDesign
from mmreg.design_named import block_feature
from mmreg.design_slopes import SlopeBlockDesign
from mmreg.inference.correlated import CorrelatedPairs
from mmreg.inference.eta import linear_predictor
from mmreg.inference.factors import LatentFactor
from mmreg.inference.interactions import blocks_in, fill_products, product_derivative
from mmreg.inference.linalg import DenseFactor, SchurFactor
from mmreg.inference.pattern import SparsePattern
from mmreg.inference.randomwalk import rw_logdet, rw_precision

__all__ = ["Hyper", "LatentModel", "Mode"]

_LOG2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True)
class Hyper:
    """Natural-scale hyperparameters: weight parameters per mm block, SD per RE block, φ,
    and the correlation of every ``re(1 + x, cor = TRUE)`` pair (empty without), and the
    coefficients sampled with them (non-normal priors, in :attr:`LatentModel.sampled`
    order)."""

    theta: tuple[np.ndarray, ...]
    sd: np.ndarray
    phi: tuple[float, ...]
    cor: np.ndarray = field(default_factory=lambda: np.zeros(0))
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class Mode:
    """Conditional mode of z given ψ and the quantities of the Laplace approximation."""

    z: np.ndarray
    eta: np.ndarray
    loglik: float
    factor: LatentFactor  # factor of the negative Hessian H (DenseFactor or SchurFactor)
    log_marginal: float  # Laplace approximation of log p(y | ψ)
    log_prior_z: float  # log N(ẑ; m, Q⁻¹)
    converged: bool
    iterations: int


class LatentModel:
    """Latent Gaussian structure of a :class:`~mmreg.design.Design` bound to a family.

    Parameters
    ----------
    design : Design
    family : BoundFamily
        The family bound to the outcome (``derivs``, ``loglik``).
    coef_mean, coef_sd : ndarray
        Normal prior of the coefficients (in ``design.coef_names`` order).  A fixed
        coefficient is held at its value by a pinning prior (an SD far below its data
        precision).
    sampled : sequence of int, optional
        Coefficients sampled with the hyperparameters (non-normal priors): pinned like fixed
        ones, at the value ``Hyper.coef`` gives (their prior mean follows ψ, see
        :meth:`prior_mean`), so that they stay in their place in z.
    """

    SPARSE_MIN = 40  # random effects from which the sparse Schur factorisation is used

    def __init__(
        self,
        design: Design,
        family,
        coef_mean: np.ndarray,
        coef_sd: np.ndarray,
        sampled: Sequence[int] | np.ndarray = (),
    ):
        self.design = design
        self.family = family
        #: log-likelihood quadratic in eta (Gaussian): exact modes and gradients
        self.quadratic = bool(family is not None and family.quadratic)
        n = design.nobs
        self.n = n
        self.coef_names = design.coef_names
        self.P = len(self.coef_names)
        self.coef_mean = np.asarray(coef_mean, float)
        self.coef_prec = 1.0 / np.asarray(coef_sd, float) ** 2
        #: positions (in ``coef_names``) of the coefficients sampled with ψ
        self.sampled = np.asarray(sampled, dtype=np.int64).reshape(-1)

        # aggregation of member covariates: S_b (n × rows_b) with the weights as data
        self._agg = []
        for b in design.mm:
            nr = len(b.group)
            S = sp.csr_matrix((np.ones(nr), (b.group, np.arange(nr))), shape=(n, nr))
            self._agg.append(S)
        # random-effect incidence R (n × q), data refreshed from the weights
        blocks = design.re_blocks
        self.re_sizes = []
        rr: list[np.ndarray] = []
        cc: list[np.ndarray] = []
        #: loading source per block: ("mm", mm block, x or None) — the weights (times x);
        #: ("fixed", None, values) — fixed loadings (1 for hm intercepts, x for hm slopes)
        src: list[tuple[str, int | None, np.ndarray | None]] = []
        col0 = 0
        for blk in blocks:
            state = np.asarray(blk.re_state)  # set on every block of re_blocks
            size = int(state.max()) + 1
            if isinstance(blk, MMBlockDesign):  # mm block: loading w
                rr.append(blk.group)
                cc.append(col0 + state)
                src.append(("mm", design.mm.index(blk), None))
            elif isinstance(blk, HMBlockDesign):  # hm intercepts: loading 1
                rr.append(np.arange(n))
                cc.append(col0 + state)
                src.append(("fixed", None, np.ones(n)))
            else:  # a random slope: loading x (hm), w x (mm)
                if not isinstance(blk, SlopeBlockDesign):
                    raise TypeError(f"no loadings for random-effect block {type(blk).__name__}")
                rr.append(np.arange(n) if blk.re_rows is None else blk.re_rows)
                cc.append(col0 + state)
                x = np.asarray(blk.re_values, float)
                src.append(
                    ("fixed", None, x) if blk.weighted_by is None else ("mm", blk.weighted_by, x)
                )
            self.re_sizes.append(size)
            col0 += size
        self.q = col0
        self.dim = self.P + self.q
        if blocks:
            rows = np.concatenate(rr)
            cols = np.concatenate(cc)
            tag = np.arange(len(rows), dtype=float) + 1.0
            R = sp.csr_matrix((tag, (rows, cols)), shape=(n, self.q))
            R.sort_indices()
            self._r_perm = R.data.astype(np.int64) - 1  # position in concatenated order
            self._R = R
        else:
            self._r_perm = np.zeros(0, dtype=np.int64)
            self._R = sp.csr_matrix((n, 0))
        self._r_src = src
        # prior precision structure of each RE block (unit σ)
        self.re_slices = []
        #: prior structure matrix of each RE block (``None``: iid), unit SD
        self.re_K = []
        start = self.P
        for blk, size in zip(blocks, self.re_sizes, strict=True):
            self.re_slices.append(slice(start, start + size))
            self.re_K.append(
                None if blk.re_prev is None else rw_precision(blk.re_prev, blk.re_step)
            )
            start += size
        #: Σ log det of the unit-SD structure matrices (0 unless a walk has scaled steps)
        self._logdet_K = sum(rw_logdet(blk.re_prev, blk.re_step) for blk in blocks)
        #: ``re(1 + x, cor = TRUE)`` pairs (none: every block independent) and their prior
        #: multipliers (:mod:`mmreg.inference.correlated`)
        self.cor = CorrelatedPairs(design.cor_pairs, self.re_slices)
        self._static = None  # (D, R, offset) when the weights have no parameters
        self._products: tuple | None = None  # cached DᵀD, DᵀR, RᵀR for constant curvature
        self._rt: tuple | None = None  # (R, Rᵀ): the transpose of the last assembled R
        # sparse path for the random effects when there are enough of them
        local = [slice(sl.start - self.P, sl.stop - self.P) for sl in self.re_slices]
        #: sparsity pattern of the RE block of H (sparse path) or ``None`` (dense)
        cross = [(local[a], local[b]) for a, b in self.cor.pairs]
        self.pattern = (
            SparsePattern(self._R, list(zip(local, self.re_K, strict=True)), cross=cross)
            if self.q >= self.SPARSE_MIN
            else None
        )
        # column positions of each block's aggregated covariates in D
        p0 = design.X.shape[1]
        self._mm_cols = []
        for b in design.mm:
            self._mm_cols.append(slice(p0, p0 + b.X.shape[1]))
            p0 += b.X.shape[1]
        #: blocks whose feature enters main-design product columns (``majority:coal``)
        self._in_products = blocks_in(design.interactions)

    # ------------------------------------------------------------------ assembly
    def weights(self, theta: tuple[np.ndarray, ...], derivative: bool = False):
        """Weights (and derivatives) of every mm block at ``theta``."""
        return [
            b.weights(t, derivative=derivative) for b, t in zip(self.design.mm, theta, strict=True)
        ]

    def assemble(self, theta: tuple[np.ndarray, ...]):
        """Dense coefficient design D (n × P), sparse RE design R and offset at ``theta``.

        Without weight parameters the design is fixed and computed once.
        """
        if self._static is not None:
            return self._static
        out = self.assemble_fresh(theta)
        if not any(len(b.wnames) for b in self.design.mm):
            self._static = out
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
            S = sp.csr_matrix((w, S0.indices, S0.indptr), shape=S0.shape)
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
            R0 = self._R
            R = sp.csr_matrix((vals[self._r_perm], R0.indices, R0.indptr), shape=R0.shape)
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
        Rt = R.T
        self._rt = (R, Rt)
        return Rt

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

    def prior_apply(self, sd: np.ndarray, r: np.ndarray, cor: np.ndarray | None = None):
        """Q r for a vector or a (dim × k) matrix r, without forming Q."""
        out = np.empty_like(r, dtype=float)
        cp = self.coef_prec if r.ndim == 1 else self.coef_prec[:, None]
        out[: self.P] = cp * r[: self.P]
        for s, sl, K in zip(sd, self.re_slices, self.re_K, strict=True):
            out[sl] = (r[sl] if K is None else K @ r[sl]) / s**2
        if self.cor:
            self.cor.apply_pairs(out, r, self.cor.multipliers(sd, cor))
        return out

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

    # ------------------------------------------------------------------ Newton
    def factor(self, D: np.ndarray, R: sp.csr_matrix, curv, sd: np.ndarray, cor=None):
        """Factor of H = Aᵀ C A + Q (sparse Schur path when possible)."""
        d = curv.d
        if self.pattern is not None and curv.U is None:
            prec = self.prior_multipliers(sd, cor)
            if self._static is not None and d.size and np.all(d == d[0]):
                # fixed design and constant curvature (Gaussian): scale cached products
                Hbb, Hbr, Hrr = self._cached_products(D, R, d[0], prec)
            else:
                dD = D * d[:, None]
                Hbb = D.T @ dD
                Hbb[np.diag_indices(self.P)] += self.coef_prec
                Hbr = np.asarray((self.transpose(R) @ dD).T)
                Hrr = self.pattern.fill(R.data, d, prec)
            return SchurFactor(Hbb, Hbr, Hrr, self.pattern)
        dD = D * d[:, None]
        if not self.q and curv.U is None:  # coefficients only: dense products
            return DenseFactor(D.T @ dD + self.prior_precision(sd))
        A = sp.hstack([sp.csr_matrix(D), R], format="csr") if self.q else sp.csr_matrix(D)
        H = (A.T @ A.multiply(d[:, None])).toarray() + self.prior_precision(sd, cor)
        if curv.U is not None:
            AU = A.T @ curv.U
            AU = AU.toarray() if sp.issparse(AU) else np.asarray(AU)
            H -= (AU * curv.c) @ AU.T
        return DenseFactor(H)

    def _cached_products(self, D, R, d0: float, prec: np.ndarray):
        if self._products is None:
            pat = self.pattern
            assert pat is not None  # the sparse path only
            ones = np.ones(self.n)
            self._products = (
                D.T @ D,
                np.asarray((R.T @ D).T),
                pat.fill(R.data, ones, np.zeros(self.cor.n_parts)),
            )
        DD, DR, RR = self._products
        Hbb = d0 * DD
        Hbb[np.diag_indices(self.P)] += self.coef_prec
        pat = self.pattern
        assert pat is not None
        Hrr = d0 * RR + np.bincount(pat.slot_q, pat.qval * prec[pat.qblock], minlength=pat.nnz)
        return Hbb, d0 * DR, Hrr

    def mode(
        self,
        hyper: Hyper,
        z0: np.ndarray | None = None,
        tol: float = 1e-9,
        max_iter: int = 100,
        chord: bool = False,
        laplace: bool = True,
    ) -> Mode:
        """Conditional mode ẑ(ψ) and the Laplace approximation of log p(y | ψ).

        With ``chord=True`` the Hessian is factored once, at ``z0``, and reused for every
        step (chord Newton): cheaper per evaluation when ``z0`` is close to the mode, and
        the returned factor is then that of H(z0) — fine as an importance proposal (any
        proposal keeps the estimate unbiased), but ``log_marginal`` is then only
        approximately the Laplace value.  The factor is refreshed if steps stall.  With
        ``laplace=False`` the Laplace value is not computed (``loglik``, ``log_marginal``
        and ``log_prior_z`` are NaN): an importance sampler needs only ẑ, η̂ and the factor.
        """
        D, R, off = self.assemble(hyper.theta)
        P, sd, cor = self.P, hyper.sd, hyper.cor
        m = self.prior_mean(hyper)
        z = self.initial_z(hyper) if z0 is None else z0.copy()
        z[self.sampled] = m[self.sampled]  # pinned: start where their prior holds them
        fam, phi = self.family, hyper.phi

        def eta_of(zz):
            return linear_predictor(D, R, off, zz, P)

        def objective(zz):  # also Q (zz - m), which the gradient at zz reuses
            e = eta_of(zz)
            r = zz - m
            qr = self.prior_apply(sd, r, cor)
            return fam.loglik(e, phi) - 0.5 * r @ qr, e, qr

        f, eta, qr = objective(z)
        converged = False
        it = 0
        fac = None
        last_dec = np.inf
        for it in range(1, max_iter + 1):  # noqa: B007
            g, curv = fam.derivs(eta, phi)
            grad = np.concatenate([D.T @ g, self.transpose(R) @ g]) - qr  # qr: Q (z - m)
            if fac is None or not chord:
                fac = self.factor(D, R, curv, sd, cor)
            step = fac.solve(grad)
            decrement = float(grad @ step)
            if chord and decrement > 0.25 * last_dec and decrement >= tol:
                fac = self.factor(D, R, curv, sd, cor)  # chord steps stall: refresh H
                step = fac.solve(grad)
            last_dec = decrement
            decrement = float(grad @ step)
            if not np.isfinite(decrement):
                break
            if decrement < tol:
                z = z + step
                eta = eta_of(z)
                converged = True
                if not (chord or self.quadratic):
                    # refactor at the final z so that the Laplace value is a smooth function
                    # of ψ (the optimiser differentiates it numerically); importance
                    # sampling (chord) is exact with any proposal and keeps this factor
                    g, curv = fam.derivs(eta, phi)
                    fac = self.factor(D, R, curv, sd, cor)
                break
            t = 1.0
            while True:
                fn, en, qn = objective(z + t * step)
                if np.isfinite(fn) and fn >= f - 1e-12 * abs(f):
                    break
                t *= 0.5
                if t < 1e-10:
                    break
            z, f, eta, qr = z + t * step, fn, en, qn
            if self.quadratic:
                # Gaussian: H does not depend on z and one full Newton step is exact
                converged = t == 1.0
                break
        assert fac is not None  # the loop runs at least once
        if not laplace:
            nan = float("nan")
            return Mode(z, eta, nan, fac, nan, nan, converged, it)
        r = z - m
        log_prior_z = (
            -0.5 * r @ self.prior_apply(sd, r, cor)
            + 0.5 * self._logdet_Q(sd, cor)
            - 0.5 * self.dim * _LOG2PI
        )
        loglik = fam.loglik(eta, phi)
        log_ml = loglik + log_prior_z + 0.5 * self.dim * _LOG2PI - 0.5 * fac.logdet
        return Mode(
            z=z,
            eta=eta,
            loglik=float(loglik),
            factor=fac,
            log_marginal=float(log_ml),
            log_prior_z=float(log_prior_z),
            converged=converged,
            iterations=it,
        )

    # ------------------------------------------------------------------ sampling
    def draw_conditional(self, mode: Mode, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draws from the Gaussian N(ẑ, H⁻¹) (exact conditional for the Gaussian family)."""
        eps = rng.standard_normal((self.dim, size))
        return mode.z[:, None] + mode.factor.sample(eps)
