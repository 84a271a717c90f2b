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

    def mode(self, hyper, scratch: bool = False):
        """The conditional mode, the factor of H and log p(y | ψ) (exact), as a
        :class:`~mmreg.inference.latent.Mode` whose ``eta`` is not computed (empty).

        ``scratch``: the mode's factor holds only until this thread's next ``scratch``
        mode (:meth:`SparsePattern.factor_rr <mmreg.inference.pattern.SparsePattern.
        factor_rr>`): for a caller done with it before it asks again.
        """
        from mmreg.inference.latent import Mode

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
        r = dz - m  # ẑ − prior mean
        Qr = lat.prior_apply(sd, r, cor)
        rss = yty - dz @ Aty - s2 * (dz @ Qr) if self.fixed else np.nan
        if not rss > 0.0:
            # with weight parameters A(θ) z_ref can lie far from y (weights far from their
            # estimates) and the subtraction then loses its digits (a negative rss: a
            # spurious, huge likelihood): a second pass over the rows forms the residuals
            res = self.y - linear_predictor(D, R, off, self.z_ref + dz, lat.P)
            rss = float(res @ res)
        loglik = -0.5 * self.n * (_LOG2PI + np.log(s2)) - 0.5 * rss / s2
        log_prior_z = -0.5 * r @ Qr + 0.5 * lat.logdet_Q(sd, cor) - 0.5 * lat.dim * _LOG2PI
        log_ml = loglik + log_prior_z + 0.5 * lat.dim * _LOG2PI - 0.5 * fac.logdet
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
