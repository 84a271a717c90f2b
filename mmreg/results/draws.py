"""Joint posterior draws of hyperparameters and latent effects, for Laplace and MCMC fits.

Everything that needs the posterior of a function of the linear predictor (model
comparison, predictive checks, effects with bands, survival curves) starts from
:func:`joint_draws`: a list of ``(hyper, z)`` pairs.

* MCMC fits: the kept draws (evenly thinned to at most ``n``).
* Laplace fits: hyperparameters by sampling-importance-resampling: ``POOL × n``
  proposals from a multivariate t (``T_DF`` degrees of freedom) built on the Gaussian
  approximation on the unconstrained scale (centre the mode, scale matrix ``raw.cov_u``,
  SDs of bounded parameters capped at ``MAX_LOG_SD`` on their log/logit scale), weighted
  by the Laplace marginal posterior ``p̂(ψ | y)`` (the objective of the fit, with the
  Jacobian of the unconstrained scale) over the proposal density, and ``n`` of them
  resampled by weight — this corrects the tails of the Gaussian approximation (e.g. of a
  log SD near 0), with a warning when the importance ESS is below ``n/4``.  For each, the
  latent effects are one draw from the Gaussian approximation of ``z | y, ψ`` around its
  conditional mode (exact for the Gaussian family; not corrected for other families).
  The importance weights also make the draws usable when the Hessian had to be
  regularised (``draws_usable`` False: the covariance is then only a proposal).  A
  hyperparameter draw whose conditional precision cannot be factored (an SD drawn within
  rounding of 0) is redrawn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["joint_draws", "linear_predictor", "pointwise_loglik", "POOL", "MAX_LOG_SD", "T_DF"]

#: Laplace fits: proposals per returned draw in the importance resampling of ψ
POOL = 4
#: Laplace fits: largest proposal SD of a bounded hyperparameter (an SD) on its log/logit
#: scale; a Laplace SD of 200 on log σ (σ estimated at 0) would waste every proposal
MAX_LOG_SD = 2.0
#: Laplace fits: degrees of freedom of the multivariate t proposal (heavier tails than the
#: Gaussian: importance ESS 136 instead of 44 of 400 on a 150-group Gaussian model)
T_DF = 3


def joint_draws(res, n: int = 200, seed=None) -> list[tuple]:
    """``(hyper, z)`` pairs from the posterior of a fit (see the module docstring).

    Parameters
    ----------
    res : MMResults
        A Laplace or MCMC fit.
    n : int
        Largest number of draws (MCMC: evenly thinned kept draws; Laplace: exactly ``n``).
    seed : int or numpy.random.Generator, optional
        Random state of the Laplace draws (ignored for MCMC fits).

    Returns
    -------
    list of (mmreg.inference.latent.Hyper, numpy.ndarray, numpy.ndarray)
        ``(hyper, z, u)``: the hyperparameters, the latent effects (coefficients first) and
        the unconstrained hyperparameter vector of each draw.
    """
    space = res.model.space
    if res.exact_posterior:
        us = res.raw.u.reshape(-1, space.dim)
        zs = res.raw.z.reshape(-1, res.raw.z.shape[-1])
        idx = np.linspace(0, len(zs) - 1, min(n, len(zs))).astype(int)
        return [(space.hyper(us[i]), zs[i], us[i]) for i in idx]
    rng = np.random.default_rng(seed)
    latent = res.model.latent
    u_hat = np.asarray(res.raw.u, dtype=float)
    if not space.dim:
        mode = latent.mode(space.hyper(u_hat), z0=res.raw.mode.z)
        return [(space.hyper(u_hat), z, u_hat) for z in latent.draw_conditional(mode, rng, n).T]
    cov = np.asarray(res.raw.cov_u, float)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    bounded = np.isfinite(space.lower) | np.isfinite(space.upper)
    shrink = np.where(bounded, np.minimum(1.0, MAX_LOG_SD / sd), 1.0)
    L = np.linalg.cholesky(cov * np.outer(shrink, shrink) + 1e-12 * np.eye(space.dim))
    z0 = res.raw.mode.z
    pool: list[tuple] = []
    logw: list[float] = []
    tries = 0
    while len(pool) < POOL * n:
        e = rng.standard_normal(space.dim) / np.sqrt(rng.chisquare(T_DF) / T_DF)
        u = u_hat + L @ e
        h = space.hyper(u)
        try:
            with np.errstate(all="ignore"):
                mode = latent.mode(h, z0=z0)
                lp = mode.log_marginal + space.log_prior(u, jacobian=True)
            if not np.isfinite(lp):
                raise FloatingPointError
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            tries += 1  # an SD drawn within rounding of 0: no factorisable precision
            if tries > 10 * POOL * n:
                raise
            continue
        pool.append((h, mode, u))
        # log proposal density of a multivariate t (up to a constant)
        logw.append(lp + 0.5 * (T_DF + space.dim) * np.log1p(float(e @ e) / T_DF))
    lw = np.asarray(logw) - np.max(logw)
    w = np.exp(lw) / np.exp(lw).sum()
    ess = 1.0 / np.sum(w**2)
    if ess < n / 4:
        import warnings

        from mmreg.errors import MMWarning

        warnings.warn(
            f"the Laplace approximation of the hyperparameters is poor here "
            f"(importance ESS {ess:.0f} of {len(w)} proposals): posterior draws, "
            "bands and comparisons of this fit are rough; fit by MCMC",
            MMWarning,
            stacklevel=3,
        )
    pick = rng.choice(len(pool), size=n, replace=True, p=w)
    out = []
    for i in pick:
        h, mode, u = pool[i]
        out.append((h, latent.draw_conditional(mode, rng, 1)[:, 0], u))
    return out


def linear_predictor(model, hyper, z: np.ndarray) -> np.ndarray:
    """η of every group of the fitted data at ``(hyper, z)``."""
    lat = model.latent
    D, R, off = lat.assemble(hyper.theta)
    eta = off + D @ z[: lat.P]
    return eta + R @ z[lat.P :] if lat.q else eta


def pointwise_loglik(model, draws: list[tuple]) -> np.ndarray:
    """Pointwise log-likelihood, shape (draws, groups), of :func:`joint_draws` output."""
    fam = model.bound_family
    return np.array([fam.loglik_terms(linear_predictor(model, h, z), h.phi) for h, z, _ in draws])
