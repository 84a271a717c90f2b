"""Joint posterior draws of hyperparameters and latent effects, for Laplace and MCMC fits.

Everything that needs the posterior of a function of the linear predictor (model
comparison, predictive checks, effects with bands, survival curves) starts from
:func:`joint_draws`: a list of ``(hyper, z)`` pairs.

* MCMC fits: the kept draws (evenly thinned to at most ``n``).
* Laplace fits: ``hyper`` from the Gaussian approximation of the hyperparameters
  (:meth:`~mmreg.results.protocol.PosteriorProtocol.hyper_draws`), and for each a draw of
  the latent effects from the Gaussian approximation of ``z | y, hyper`` around its
  conditional mode (exact for the Gaussian family).  No importance correction is applied:
  the draws represent the approximate (Laplace) posterior, which is what the fit reports.
  When the Hessian had to be regularised (``draws_usable`` False) all draws are the
  estimates (with a warning).  A hyperparameter draw whose conditional precision cannot be
  factored (an SD drawn within rounding of 0) is redrawn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["joint_draws", "linear_predictor", "pointwise_loglik"]


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
    if not res.draws_usable:
        import warnings

        from mmreg.errors import MMWarning

        warnings.warn("the Laplace Hessian had to be regularised (a flat direction, e.g. an SD "
                      "estimated at 0): posterior draws are replaced by the estimates, so "
                      "bands and predictive draws ignore parameter uncertainty; fit by MCMC",
                      MMWarning, stacklevel=3)
        return [(space.hyper(u_hat), res.raw.mode.z, u_hat)] * n
    L = np.linalg.cholesky(res.raw.cov_u + 1e-12 * np.eye(space.dim)) if space.dim else None
    z0 = res.raw.mode.z
    out: list[tuple] = []
    tries = 0
    while len(out) < n:
        u = u_hat + (L @ rng.standard_normal(space.dim) if L is not None else 0.0)
        h = space.hyper(u)
        try:
            with np.errstate(all="ignore"):
                mode = latent.mode(h, z0=z0)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            tries += 1  # an SD drawn within rounding of 0: no factorisable precision
            if tries > 10 * n:
                raise
            continue
        out.append((h, latent.draw_conditional(mode, rng, 1)[:, 0], u))
    return out


def linear_predictor(model, hyper, z: np.ndarray) -> np.ndarray:
    """η of every group of the fitted data at ``(hyper, z)``."""
    lat = model.latent
    D, R, off = lat.assemble(hyper.theta)
    eta = off + D @ z[: lat.P]
    return eta + R @ z[lat.P:] if lat.q else eta


def pointwise_loglik(model, draws: list[tuple]) -> np.ndarray:
    """Pointwise log-likelihood, shape (draws, groups), of :func:`joint_draws` output."""
    fam = model.bound_family
    return np.array([fam.loglik_terms(linear_predictor(model, h, z), h.phi)
                     for h, z, _ in draws])
