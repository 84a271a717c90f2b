"""log p(y | ψ) of a Gaussian model from sufficient statistics.

With y ~ N(offset + A z, σ² I), a design A = [D | R] and the prior z ~ N(m, Q⁻¹), the
conditional of z is N(ẑ, H⁻¹) with

    H = AᵀA / σ² + Q,    H ẑ = Aᵀy* / σ² + Q m    (y* = y − offset),

so ẑ is one solve with the factor of H — the factor :class:`LatentModel` builds from its
cached products — and the residual sum of squares needs no second pass over the rows:
from ẑᵀHẑ = ẑᵀ(Aᵀy*/σ² + Qm),

    |y* − Aẑ|² = y*ᵀy* − ẑᵀAᵀy* − σ² ẑᵀQ(ẑ − m).

:class:`GaussianSums` holds Aᵀy* and y*ᵀy* once for a fixed design.  With weight
parameters (A depends on ψ) it forms Aᵀy* at every evaluation and the residuals at ẑ
themselves (two passes over the rows: far from the estimates the subtraction above loses
its digits).  To keep the subtraction exact when y is far from zero, y* is taken relative
to a reference fit A z_ref (the Laplace mode): the statistics are those of y* − A z_ref
and the solve is for ẑ − z_ref, so every term is of the size of the residuals.  Where an
SD is near zero (:attr:`GaussianSums.PINNING_RATIO`) the Newton path is used instead.  The
Newton path (:meth:`LatentModel.mode`) touches the rows three times per evaluation (two
objective values and a gradient) and solves once more after the factorisation.
"""

from __future__ import annotations

import numpy as np

from mmreg.families.curvature import Curvature
from mmreg.inference.eta import linear_predictor
from mmreg.inference.latent import Mode
from mmreg.inference.linalg import SchurFactor

__all__ = ["GaussianSums"]

_LOG2PI = np.log(2.0 * np.pi)


class GaussianSums:
    """Sufficient statistics of a Gaussian model (module docstring).

    Parameters
    ----------
    latent : LatentModel
    y : ndarray
        The outcome.
    z_ref : ndarray
        Reference latent vector (the Laplace mode): the statistics are of the residuals
        ``y − offset − A z_ref``.
    """

    def __init__(self, latent, y: np.ndarray, z_ref: np.ndarray):
        self.latent = latent
        self.y = np.asarray(y, float)
        self.z_ref = np.array(z_ref, float)
        self.n = latent.n
        #: whether A is fixed (no weight parameters): the statistics are then formed once
        self.fixed = not any(len(b.wnames) for b in latent.design.mm)
        self._fixed_stats = (
            self.statistics(*latent.assemble(tuple(np.zeros(0) for _ in latent.design.mm)))
            if self.fixed
            else None
        )
        #: the prior mean relative to z_ref and its K_b products, where the prior mean does
        #: not depend on ψ (no coefficient sampled with it)
        self._fixed_mean = None
        if not latent.sampled.size:
            m = latent.prior_mean(None) - self.z_ref
            self._fixed_mean = (m, latent.structure_apply(m))
        #: whether :meth:`modes` evaluates its points together: a fixed design and prior
        #: mean whose H is formed from cached products (else one by one, as :meth:`mode`)
        self.batchable = self.fixed and self._fixed_mean is not None and latent.caches_products

    def statistics(self, D: np.ndarray, R, off: np.ndarray) -> tuple[np.ndarray, float]:
        """(Aᵀr, rᵀr) of the residuals r = y − offset − A z_ref for the design (D, R)."""
        res = self.y - linear_predictor(D, R, off, self.z_ref, self.latent.P)
        return np.concatenate([D.T @ res, self.latent.transpose(R) @ res]), float(res @ res)

    #: Largest ratio of a prior precision to the data's (1/σ²) for which this path is
    #: used; beyond it (an SD near zero) the Newton path.  The error of this path grows
    #: with the ratio: on a simulated coalition model one SD at e⁻¹⁰, e⁻¹⁵ and e⁻²⁰ (ratios
    #: ~5e8, 1e13, 2e17) gave errors of 2e-8, 1e-3 and 8 nats; below 1e8 they are under
    #: 1e-8 (tests/inference/test_gaussian_sums.py).
    PINNING_RATIO = 1e8

    def _pinning(self, sd: np.ndarray, cor, s2: float) -> bool:
        """Whether some prior precision exceeds :attr:`PINNING_RATIO` × the data's."""
        mult = self.latent.prior_multipliers(sd, cor)
        return bool(mult.size) and float(np.max(np.abs(mult))) * s2 > self.PINNING_RATIO

    @classmethod
    def of(cls, latent, z_ref: np.ndarray) -> GaussianSums | None:
        """The statistics, or ``None`` when the model does not allow them: a non-Gaussian
        family; coefficients held by a pinning prior (fixed or sampled with ψ: their prior
        precision, ~1e18 × the data's, would turn σ² ẑᵀQ(ẑ − m) into a difference of huge
        numbers)."""
        fam = latent.family
        y = None if fam is None else fam.normal_outcome()
        if y is None or latent.held.any():
            return None
        return cls(latent, y, z_ref)

    #: Most array entries (H_rr's data and H_br, per point) formed at once by :meth:`modes`
    #: (16 MB): larger batches run in groups.  coalgov gaus_ar: ~15,000 per point.
    BATCH_ENTRIES = 2_000_000

    @property
    def batch_size(self) -> int:
        """Most points :meth:`modes` forms at once (:data:`BATCH_ENTRIES`)."""
        pat = self.latent.pattern
        if pat is None:
            return 1
        per = (len(pat.triangle.slots) if pat.takes_lower else pat.nnz) + self.latent.P * pat.q
        return max(1, self.BATCH_ENTRIES // max(per, 1))

    def mode(self, hyper, scratch: bool = False):
        """The conditional mode, the factor of H and log p(y | ψ) (exact), as a
        :class:`~mmreg.inference.latent.Mode` whose ``eta`` is not computed (empty).

        ``scratch``: the mode's factor holds only until this thread's next ``scratch``
        mode (:meth:`SparsePattern.factor_rr <mmreg.inference.pattern.SparsePattern.
        factor_rr>`): for a caller done with it before it asks again.
        """
        if self.batchable:  # one point of the batched path: the same numbers
            mode, _ = self._batch([hyper], None, scratch, errors=False)[0]
            return mode
        lat = self.latent
        sd, cor = hyper.sd, hyper.cor
        s2 = lat.family.residual_variance(hyper.phi)
        if self._pinning(sd, cor, s2):
            # an SD near zero: solved relative to z_ref, ẑ carries a rounding error of
            # |z_ref| · 1e-16 that the huge precision turns into nats; Newton works at z
            return lat.mode(hyper)
        D, R, off = lat.assemble(hyper.theta)
        Aty, yty = self._fixed_stats or self.statistics(D, R, off)
        if self._fixed_mean is not None:
            m, Km = self._fixed_mean
        else:  # everything relative to z_ref
            m, Km = lat.prior_mean(hyper) - self.z_ref, None
        rhs = Aty / s2 + lat.prior_apply(sd, m, cor, structured=Km)
        # the solve for ẑ shares the factorisation's own solve where the factor allows
        curv = Curvature(d=np.full(self.n, 1.0 / s2))
        fac = lat.factor(D, R, curv, sd, cor, rhs[:, None], scratch=scratch)
        solved = getattr(fac, "extra_solved", None)
        dz = fac.solve(rhs) if solved is None else solved[:, 0]
        loglik, log_prior_z, log_ml = self._conclude(
            dz, m, sd, s2, fac.logdet, (D, R, off), (Aty, yty), cor
        )
        return Mode(
            z=self.z_ref + dz,
            eta=np.empty(0),
            loglik=float(loglik),
            factor=fac,
            log_marginal=float(log_ml),
            log_prior_z=float(log_prior_z),
            converged=True,
            iterations=1,
        )

    def modes(self, hypers: list, rngs: list | None = None) -> list[tuple]:
        """:meth:`mode` (``scratch``) at many points of a :attr:`batchable` model, with a
        draw of z from each point's conditional (``rngs``: one generator per point; none
        without).

        Returns ``(mode, z)`` per point (``z`` None without ``rngs``; ``(None, None)`` where
        H is not positive definite).  The numbers are those of :meth:`mode` and
        :meth:`LatentModel.draw_conditional <mmreg.inference.latent.LatentModel.
        draw_conditional>` point by point, bit for bit: every point's H is formed in one
        pass of array operations (each row that point's own numbers) and only its
        factorisation, solve and draw run per point.  A sampler's step evaluates its
        walkers so (:meth:`LogPosterior.batch <mmreg.inference.logpost.LogPosterior.
        batch>`), in groups of at most :attr:`batch_size` points.  Each returned mode's
        factor holds only until this thread's next ``scratch`` factorisation.
        """
        if not self.batchable:
            raise ValueError("GaussianSums.modes needs a batchable model (see .batchable)")
        out: list[tuple] = []
        size = self.batch_size
        for a in range(0, len(hypers), size):
            part = None if rngs is None else rngs[a : a + size]
            out += self._batch(hypers[a : a + size], part, True, errors=True)
        return out

    def _batch(self, hypers: list, rngs: list | None, scratch: bool, errors: bool) -> list:
        """:meth:`modes` where :attr:`batchable` (``errors``: a failed point gives
        ``(None, None)`` instead of raising)."""
        lat = self.latent
        B = len(hypers)
        if not B:
            return []
        sd = np.array([h.sd for h in hypers], dtype=float).reshape(B, -1)
        s2 = np.array([lat.family.residual_variance(h.phi) for h in hypers], dtype=float)
        # the prior's multipliers per point: 1/SD² of every block (and the parts of
        # correlated pairs, point by point)
        cors = [h.cor for h in hypers] if lat.cor else None
        if cors is None:
            prec = lat.prior_multipliers(sd)
        else:
            prec = np.array([lat.prior_multipliers(sd[b], cors[b]) for b in range(B)])
        # an SD near zero: the Newton path (see mode)
        pinned = np.max(np.abs(prec), axis=1, initial=0.0) * s2 > self.PINNING_RATIO
        design = lat.assemble(hypers[0].theta)  # fixed: the same for every point
        Hbb, Hbr, data = lat.cached_products(design[0], design[1], 1.0 / s2, prec)
        assert self._fixed_stats is not None and self._fixed_mean is not None  # batchable
        Aty, yty = self._fixed_stats
        m, Km = self._fixed_mean
        # the right-hand sides point by point: Q m with each point's SDs as scalars, the
        # arithmetic of the path that is not batched (the same draws as before batching)
        rhs = np.empty((lat.dim, B))
        for b in range(B):
            cor = None if cors is None else cors[b]
            rhs[:, b] = Aty / s2[b] + lat.prior_apply(sd[b], m, cor, structured=Km)
        pat = lat.pattern
        assert pat is not None  # batchable: the sparse Schur path
        ahead = pat.ahead(B)

        def rr_of(b: int):  # H_rr's factor of point b (an exception where it fails)
            try:
                return pat.factor_rr(data[b], pat.takes_lower, scratch, slot=b if ahead else 0)
            except _FAILED as exc:
                return exc

        # the points' H_rr factored one after the other where their factors may be held
        # at once (SparsePattern.ahead), else each just before it is used
        rrs = [None if pinned[b] else rr_of(b) for b in range(B)] if ahead else [None] * B
        modes: list = [None] * B
        draws: list = [None] * B
        dz = np.empty((B, lat.dim))
        logdet = np.empty(B)
        facs: dict = {}
        for b, hyper in enumerate(hypers):
            try:
                if pinned[b]:
                    modes[b] = lat.mode(hyper)
                    if rngs is not None:
                        draws[b] = lat.draw_conditional(modes[b], rngs[b], 1)[:, 0]
                    continue
                rr = rrs[b] if ahead else rr_of(b)
                if isinstance(rr, Exception):
                    raise rr
                fac = SchurFactor(Hbb[b], Hbr[b], rr, pat, extra=rhs[:, b : b + 1])
                assert fac.extra_solved is not None  # extra given
                dz[b] = fac.extra_solved[:, 0]
                logdet[b] = fac.logdet
                if rngs is not None:  # now: the factor of a scratch slot holds until the next
                    draws[b] = lat.draw_around(self.z_ref + dz[b], fac, rngs[b], 1)[:, 0]
                facs[b] = fac
            except _FAILED:
                if not errors:
                    raise
        if facs:
            k = np.fromiter(facs, dtype=int, count=len(facs))
            cor_k = None if cors is None else [cors[b] for b in k]
            done = self._conclude(dz[k], m, sd[k], s2[k], logdet[k], design, (Aty, yty), cor_k)
            for j, b in enumerate(k):
                modes[b] = Mode(
                    z=self.z_ref + dz[b],
                    eta=np.empty(0),
                    loglik=float(done[0][j]),
                    factor=facs[b],
                    log_marginal=float(done[2][j]),
                    log_prior_z=float(done[1][j]),
                    converged=True,
                    iterations=1,
                )
        return list(zip(modes, draws, strict=True))

    def _conclude(self, dz, m, sd, s2, logdet, design, stats, cor=None):
        """log p(y | ẑ), log N(ẑ; m, Q⁻¹) and log p(y | ψ) (Laplace, exact here) at
        ẑ = z_ref + ``dz`` (``m``: the prior mean relative to z_ref; ``sd``, ``cor``, ``s2``
        and ``logdet`` (of H): the point's; ``stats``: (Aᵀy*, y*ᵀy*) of ``design``).

        ``dz`` one vector, or rows of many points (``sd``, ``s2``, ``logdet`` and ``cor``, a
        list, then per row): row-wise arithmetic, each row's numbers independent of the
        others, so that a batch gives each point what it gives the point alone."""
        lat = self.latent
        Aty, yty = stats
        rows = dz.ndim == 2
        dot = _row_dot if rows else np.dot
        r = dz - m  # ẑ − prior mean
        if rows and cor is None:
            Qr = lat.prior_apply(sd.T, np.ascontiguousarray(r.T)).T
            logdet_q = lat.logdet_Q(sd.T)
        elif rows:  # correlated pairs: Q r point by point
            Qr = np.array([lat.prior_apply(sd[j], r[j], cor[j]) for j in range(len(r))])
            logdet_q = np.array([lat.logdet_Q(sd[j], cor[j]) for j in range(len(r))])
        else:
            Qr = lat.prior_apply(sd, r, cor)
            logdet_q = lat.logdet_Q(sd, cor)
        if self.fixed:
            rss = yty - dot(dz, Aty) - s2 * dot(dz, Qr)
        else:
            rss = np.full(len(dz), np.nan) if rows else np.nan
        # with weight parameters A(θ) z_ref can lie far from y (weights far from their
        # estimates) and the subtraction then loses its digits (a negative rss: a spurious,
        # huge likelihood): a second pass over the rows forms the residuals
        if rows:
            for j in np.flatnonzero(~(rss > 0.0)):
                rss[j] = self._rss_by_rows(design, dz[j])
        elif not rss > 0.0:
            rss = self._rss_by_rows(design, dz)
        loglik = -0.5 * self.n * (_LOG2PI + np.log(s2)) - 0.5 * rss / s2
        log_prior_z = dot(-0.5 * r, Qr) + 0.5 * logdet_q - 0.5 * lat.dim * _LOG2PI
        log_ml = loglik + log_prior_z + 0.5 * lat.dim * _LOG2PI - 0.5 * logdet
        return loglik, log_prior_z, log_ml

    def _rss_by_rows(self, design, dz: np.ndarray) -> float:
        """|y* − A ẑ|² formed row by row (ẑ = z_ref + ``dz``)."""
        D, R, off = design
        res = self.y - linear_predictor(D, R, off, self.z_ref + dz, self.latent.P)
        return float(res @ res)


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a · b of every row of ``a`` (with ``b``'s row, or ``b`` itself if 1-D): pairwise
    sums along each row, whatever the number of rows."""
    return np.sum(a * b, axis=1)


#: What a point's evaluation raises where H is not positive definite or its numbers fail.
_FAILED = (np.linalg.LinAlgError, ValueError, FloatingPointError)
