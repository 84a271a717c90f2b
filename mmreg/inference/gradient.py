"""Analytic gradient of the Laplace objective where it is cheap and exact.

For the Gaussian family the latent vector is integrated out exactly, and at the conditional
mode ẑ (the exact maximiser of log p(y | z) + log p(z | ψ)) the envelope theorem gives

    d/dψ log p(y | ψ) = ∂/∂ψ [log p(y | ẑ) + log p(ẑ | ψ)] − ½ tr(H⁻¹ ∂H/∂ψ),

with H = AᵀA / σ² + Q(ψ).  For an SD ``s`` of a block of ``q`` independent random effects
(Q block ``I / s²``) and for the residual SD ``σ`` this needs only the diagonal of H⁻¹:

    ∂/∂s = (‖ẑ_b‖² + tr_b H⁻¹) / s³ − q / s,
    ∂/∂σ = −n/σ + RSS/σ³ + (dim − tr(H⁻¹ Q)) / σ.

Weight parameters (which change A), SDs of random walks (whose Q block is not diagonal) and
the hyperparameters of other families keep finite differences: their exact gradients need
off-diagonal elements of H⁻¹ (a selected inverse) or third derivatives of the likelihood.
"""

from __future__ import annotations

import numpy as np

__all__ = ["analytic_mask", "gaussian_gradient"]


def analytic_mask(latent, space) -> np.ndarray:
    """Which free hyperparameters (``space.free`` order) get an analytic derivative."""
    mask = np.zeros(space.dim, dtype=bool)
    if not getattr(latent, "quadratic", False) or not space.dim:
        return mask
    n_w = sum(len(b) for b in space.block_names)
    iid = [K is None for K in latent._re_K]
    for j, name in enumerate(space.free):
        k = space.names.index(name)
        if n_w <= k < n_w + space.n_sd:
            mask[j] = iid[k - n_w]
        elif k >= n_w + space.n_sd:  # the Gaussian sigma: needs tr(H⁻¹Q), diagonal Q only
            mask[j] = all(iid)
    return mask


def gaussian_gradient(latent, space, u: np.ndarray, mode) -> np.ndarray:
    """d log p(y | ψ) / d u for the free hyperparameters (Gaussian family).

    Entries outside :func:`analytic_mask` are NaN.

    Parameters
    ----------
    latent : LatentModel
    space : HyperSpace
    u : numpy.ndarray
        Unconstrained free hyperparameters.
    mode : Mode
        The conditional mode at ``u`` (``latent.mode(space.hyper(u))``).

    Returns
    -------
    numpy.ndarray
        Gradient with respect to ``u`` (chain rule through the natural-scale transform).
    """
    mask = analytic_mask(latent, space)
    out = np.full(space.dim, np.nan)
    if not mask.any():
        return out
    hyp = space.hyper(u)
    sd = np.asarray(hyp.sd, float)
    _, diag = mode.factor.inverse_parts(latent.P)
    r = mode.z - latent.prior_mean()
    n_w = sum(len(b) for b in space.block_names)
    dnat = np.full(len(space.names), np.nan)
    tr_hq = float(latent.coef_prec @ diag[: latent.P])
    for b, (sl, K) in enumerate(zip(latent.re_slices, latent._re_K, strict=True)):
        if K is None:
            s = sd[b]
            tr_b = float(diag[sl].sum())
            dnat[n_w + b] = (float(r[sl] @ r[sl]) + tr_b) / s**3 - (sl.stop - sl.start) / s
            tr_hq += tr_b / s**2
    if len(hyp.phi):
        (sigma,) = hyp.phi
        explicit = float(latent.family.dphi(mode.eta, hyp.phi)[0])
        dnat[n_w + space.n_sd] = explicit + (latent.dim - tr_hq) / sigma
    nat = dnat[space._free_idx]
    out[mask] = (nat * space.dnatural(u))[mask]
    return out
