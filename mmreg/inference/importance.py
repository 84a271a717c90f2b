"""Importance-sampling estimates of p(y | ψ) for the pseudo-marginal sampler.

The proposal is the Laplace Gaussian N(ẑ + δ, H⁻¹) of z | y, ψ (the factor of H from the
conditional-mode search), moved by the skewness correction δ of the mode towards the
conditional mean, with K antithetic particles.  Any proposal that does not depend on the
particles keeps the average of the importance weights an unbiased estimate of p(y | ψ), so
the pseudo-marginal sampler targets the exact posterior whatever δ is; δ only lowers the
variance of the estimate.

The correction (first order in the skewness)

    δ = ½ H⁻¹ Aᵀ (ℓ‴(η̂) ∘ v),  v_i = Var(η_i) under the Laplace Gaussian,

needs the variances v of the linear predictor.  Until 2026-12 they were estimated afresh at
every evaluation from 16 pilot draws (a third of an evaluation's time, and noisy: each v_i
± 35%).  :class:`ImportanceSampler` holds v̂ computed once, precisely, at the Laplace mode
of ψ (:meth:`ImportanceSampler.at`): a fixed function of the model, so the estimate at ψ
still depends on ψ and the particles' normals only.  On coalgov weib_hm the log-estimate SD
at the Laplace mode and ±1.5 SD along each hyperparameter was 0.13–0.43 with the pilot and
0.17–0.39 with v̂ (benchmarks/README.md, "Cheaper importance sampling").
"""

from __future__ import annotations

import numpy as np

from mmreg.inference.eta import linear_predictor

__all__ = ["ImportanceSampler", "eta_variance", "particle_log_density"]

#: step of the central difference of the curvature that gives ℓ‴
_H = 1e-4


def particle_log_density(latent, hyper, D, R, offset, parts: np.ndarray) -> np.ndarray:
    """log p(y, z_j | ψ) + (dim/2) log 2π for every column z_j of ``parts`` (dim × K).

    The constant is left out because the proposal's log density leaves it out too.
    The family's log-likelihood of all columns comes from one call
    (:meth:`~mmreg.families.base.BoundFamily.loglik_columns`), the Gaussian prior
    N(m, Q⁻¹) from one product with Q.
    """
    eta = linear_predictor(D, R, offset, parts, latent.P)
    r = parts - latent.prior_mean(hyper)[:, None]
    out = latent.family.loglik_columns(eta, hyper.phi)
    out += -0.5 * np.einsum("ij,ij->j", r, latent.prior_apply(hyper.sd, r, hyper.cor))
    out += 0.5 * latent.logdet_Q(hyper.sd, hyper.cor)
    return out


def eta_variance(latent, factor, D, R, draws: int = 512, seed: int = 20261205) -> np.ndarray:
    """Monte Carlo estimate of Var(η_i) under N(·, H⁻¹) (``factor`` of H), from ``draws``
    draws in chunks of 64 (relative SD of each entry √(2/draws): 6% at 512)."""
    rng = np.random.default_rng(seed)
    acc = np.zeros(latent.n)
    left = draws
    while left > 0:
        k = min(64, left)
        dev = factor.sample(rng.standard_normal((latent.dim, k)))
        acc += np.sum(linear_predictor(D, R, None, dev, latent.P) ** 2, axis=1)
        left -= k
    return acc / draws


class ImportanceSampler:
    """Importance-sampling estimator of log p(y | ψ) (see the module docstring).

    Parameters
    ----------
    latent : LatentModel
    var_eta : ndarray, optional
        v̂, the variances of the linear predictor that set the mean shift δ; ``None``: no
        shift (families whose curvature is not diagonal, Cox and conditional logit, or an
        explicit choice).
    """

    def __init__(self, latent, var_eta: np.ndarray | None = None):
        self.latent = latent
        self.var_eta = None if var_eta is None else np.asarray(var_eta, float)

    @classmethod
    def at(cls, latent, hyper, z0: np.ndarray | None = None, draws: int = 512):
        """The sampler with v̂ computed at ``hyper`` (the Laplace mode of ψ), from the
        conditional mode there (Newton from ``z0``); no shift when the family's curvature
        is not diagonal or the mode search fails."""
        try:
            with np.errstate(all="ignore"):
                mode = latent.mode(hyper, z0=z0)
                _, curv = latent.family.derivs(mode.eta, hyper.phi)
                if curv.U is not None:
                    return cls(latent, None)
                D, R, _ = latent.assemble(hyper.theta)
                v = eta_variance(latent, mode.factor, D, R, draws)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return cls(latent, None)
        return cls(latent, v if np.all(np.isfinite(v)) else None)

    def shift(self, hyper, mode, D, R) -> np.ndarray:
        """δ = ½ H⁻¹ Aᵀ (ℓ‴(η̂) ∘ v̂), ℓ‴ by a central difference of the curvature (zero
        without v̂ or when not finite)."""
        lat = self.latent
        if self.var_eta is None:
            return np.zeros(lat.dim)
        fam, phi = lat.family, hyper.phi
        _, cp = fam.derivs(mode.eta + _H, phi)
        _, cm = fam.derivs(mode.eta - _H, phi)
        g = -(cp.d - cm.d) / (2 * _H) * self.var_eta  # curvature d = −ℓ″: ℓ‴ = −d′
        out = 0.5 * mode.factor.solve(np.concatenate([D.T @ g, lat.transpose(R) @ g]))
        return out if np.all(np.isfinite(out)) else np.zeros(lat.dim)

    def estimate(self, hyper, mode, rng: np.random.Generator, K: int):
        """Importance-sampling estimate of log p(y | ψ) with K antithetic particles.

        Parameters
        ----------
        hyper : Hyper
        mode : Mode
            The conditional mode search's result at ``hyper`` (its factor is the
            proposal's precision).
        rng : numpy.random.Generator
        K : int

        Returns
        -------
        estimate : float
            The log of an estimate of p(y | ψ) that is unbiased on the natural scale.
        particles : ndarray
            (dim × K).
        logw : ndarray
            Their normalised log weights.
        """
        lat = self.latent
        D, R, off = lat.assemble(hyper.theta)
        half = (K + 1) // 2
        eps = rng.standard_normal((lat.dim, half))
        dev = mode.factor.sample(eps)
        center = mode.z + self.shift(hyper, mode, D, R)
        parts = np.concatenate([center[:, None] + dev, center[:, None] - dev], axis=1)[:, :K]
        epsall = np.concatenate([eps, -eps], axis=1)[:, :K]
        log_p = particle_log_density(lat, hyper, D, R, off, parts)
        log_q = 0.5 * mode.factor.logdet - 0.5 * np.sum(epsall**2, axis=0)
        logw = log_p - log_q
        mx = np.max(logw)
        est = mx + np.log(np.mean(np.exp(logw - mx)))
        return float(est), parts, logw - mx - np.log(np.sum(np.exp(logw - mx)))
