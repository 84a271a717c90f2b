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
from mmreg.design_slopes import SlopeBlockDesign
from mmreg.inference.assembly import DesignAssembly
from mmreg.inference.correlated import CorrelatedPairs
from mmreg.inference.eta import linear_predictor
from mmreg.inference.factors import LatentFactor
from mmreg.inference.interactions import blocks_in
from mmreg.inference.linalg import DenseFactor, SchurFactor
from mmreg.inference.lowrank import LowRankFactor, low_rank_columns, use_low_rank
from mmreg.inference.pattern import SparsePattern
from mmreg.inference.products import CachedProducts
from mmreg.inference.randomwalk import rw_logdet, rw_precision
from mmreg.inference.re_prior import LatentPrior

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
    factor: LatentFactor  # factor of the negative Hessian H (Dense, Schur or LowRankFactor)
    log_marginal: float  # Laplace approximation of log p(y | ψ)
    log_prior_z: float  # log N(ẑ; m, Q⁻¹)
    converged: bool
    iterations: int


class LatentModel(DesignAssembly, LatentPrior):
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
        #: coefficients held by a pinning prior (fixed or sampled; set by the model once it
        #: has chosen the pinning precisions, ~1e18 × the data's)
        self.held = np.zeros(self.P, dtype=bool)

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
        self._products: CachedProducts | None = None  # DᵀD, DᵀR, RᵀR (constant curvature)
        self._rt = None  # (R, Rᵀ): the transpose of the last assembled R
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

    # ------------------------------------------------------------------ Newton
    def factor(
        self,
        D: np.ndarray,
        R: sp.csr_matrix,
        curv,
        sd: np.ndarray,
        cor=None,
        rhs=None,
        scratch: bool = False,
    ):
        """Factor of H = Aᵀ C A + Q (sparse Schur path when possible; a low-rank part of C,
        e.g. Cox's, as an update of it, :mod:`~mmreg.inference.lowrank`).

        ``rhs`` (dim × k, optional): on the sparse Schur path without a low-rank part, H⁻¹
        ``rhs`` is solved with the factorisation's own solves and left in the factor's
        ``extra_solved`` (else that is ``None``).  ``scratch``: the factor may be
        overwritten by the thread's next ``scratch`` factorisation
        (:meth:`SparsePattern.factor_rr`).
        """
        d = curv.d
        low = curv.U is not None and self.pattern is not None and use_low_rank(curv, self.dim)
        if self.pattern is not None and (curv.U is None or low):
            prec = self.prior_multipliers(sd, cor)
            if self._static is not None and d.size and np.all(d == d[0]):
                # fixed design and constant curvature (Gaussian): scale cached products
                Hbb, Hbr, Hrr = self.cached_products(D, R, d[0], prec)
                lower = self.pattern.takes_lower
            else:
                dD = D * d[:, None]
                Hbb = D.T @ dD
                Hbb[np.diag_indices(self.P)] += self.coef_prec
                Hbr = np.asarray((self.transpose(R) @ dD).T)[:, self.pattern.perm]
                Hrr = self.pattern.fill(R.data, d, prec)
                lower = False
            rr = self.pattern.factor_rr(Hrr, lower=lower, scratch=scratch and not low)
            if not low:
                return SchurFactor(Hbb, Hbr, rr, self.pattern, extra=rhs)
            V = low_rank_columns(D, self.transpose(R), curv)
            base = SchurFactor(Hbb, Hbr, rr, self.pattern, extra=V)
            fac = LowRankFactor.build(base, V, base.extra_solved)
            if fac is not None:
                return fac  # else H is numerically singular: the dense path's jitter
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

    @property
    def caches_products(self) -> bool:
        """Whether a constant curvature's H is formed from cached products (a fixed design
        on the sparse Schur path): :meth:`cached_products`."""
        return self._static is not None and self.pattern is not None

    def cached_products(self, D, R, d0, prec: np.ndarray):
        """H_bb, H_br (columns in the pattern's order) and H_rr's data for a constant
        curvature ``d0`` (one point, or an array of them with ``prec`` B × parts), from
        DᵀD, DᵀR and RᵀR formed once (:class:`~mmreg.inference.products.CachedProducts`)."""
        assert self.pattern is not None  # the sparse path only
        if self._products is None:
            self._products = CachedProducts(D, R, self.pattern, self.cor.n_parts, self.coef_prec)
        return self._products.scaled(d0, prec)

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

        def objective(zz):  # also Q (zz - m), which the gradient at zz reuses, and ℓ(zz)
            e = eta_of(zz)
            r = zz - m
            qr = self.prior_apply(sd, r, cor)
            ll = fam.loglik(e, phi)
            return ll - 0.5 * r @ qr, e, qr, ll

        f, eta, qr, ll = objective(z)
        at_z = True  # qr and ll belong to the current z (not after a final Newton step)
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
                at_z = False
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
                fn, en, qn, ln = objective(z + t * step)
                if np.isfinite(fn) and fn >= f - 1e-12 * abs(f):
                    break
                t *= 0.5
                if t < 1e-10:
                    at_z = False  # the last objective was at z + 2t · step
                    break
            z, f, eta, qr, ll = z + t * step, fn, en, qn, ln
            if self.quadratic:
                # Gaussian: H does not depend on z and one full Newton step is exact
                converged = t == 1.0
                break
        assert fac is not None  # the loop runs at least once
        if not laplace:
            nan = float("nan")
            return Mode(z, eta, nan, fac, nan, nan, converged, it)
        r = z - m
        if not at_z:  # (the same numbers as the last objective's when it was at z)
            qr, ll = self.prior_apply(sd, r, cor), fam.loglik(eta, phi)
        log_prior_z = -0.5 * r @ qr + 0.5 * self._logdet_Q(sd, cor) - 0.5 * self.dim * _LOG2PI
        loglik = ll
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
        return self.draw_around(mode.z, mode.factor, rng, size)

    def draw_around(self, z: np.ndarray, factor, rng: np.random.Generator, size: int):
        """Draws from N(``z``, H⁻¹), H the matrix of ``factor``."""
        eps = rng.standard_normal((self.dim, size))
        return z[:, None] + factor.sample(eps)
