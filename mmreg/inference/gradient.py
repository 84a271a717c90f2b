"""Analytic gradient of the Laplace objective where it is cheap and exact.

For the Gaussian family the latent vector is integrated out exactly, and at the conditional
mode ẑ (the exact maximiser of log p(y | z) + log p(z | ψ)) the envelope theorem gives

    d/dψ log p(y | ψ) = ∂/∂ψ [log p(y | ẑ) + log p(ẑ | ψ)] − ½ tr(H⁻¹ ∂H/∂ψ),

with H = AᵀA / σ² + Q(ψ).  For an SD ``s`` of a block of ``q`` independent random effects
(Q block ``I / s²``) and for the residual SD ``σ`` this needs only the diagonal of H⁻¹:

    ∂/∂s = (‖ẑ_b‖² + tr_b H⁻¹) / s³ − q / s,
    ∂/∂σ = −n/σ + RSS/σ³ + (dim − tr(H⁻¹ Q)) / σ.

Other families (Laplace approximation, diagonal curvature W = diag(w): binomial, Weibull)
and random-walk SDs use the same envelope argument with the total derivative of the
log-determinant taken as one *directional* derivative,

    d/dψ log|H| = d/dε log|Aᵀ (W + ε ẇ) A + Q + ε Q̇|  at ε = 0,
    ẇ = ∂W/∂ψ + w′ ∘ (A dẑ/dψ),   dẑ/dψ = H⁻¹ ∂G/∂ψ,

(G the gradient of the log joint in z, w′ the third derivative of the log-likelihood),
evaluated by a central difference in ε: two factorisations and one solve instead of two
Newton solves of the mode.  w′, ∂W/∂φ and ∂g/∂φ are elementwise differences of the family's
``derivs``.  Weight parameters (which change A) and the Cox and conditional-logit families
(non-diagonal curvature) keep finite differences of the whole objective.
"""

from __future__ import annotations

import numpy as np

__all__ = ["analytic_mask", "gaussian_gradient", "laplace_gradient"]


def _diag_kind(latent) -> bool:
    """Does the family have a diagonal curvature (all but Cox and conditional logit)?"""
    return latent.family.family.name not in ("cox", "clogit")


def analytic_mask(latent, space) -> np.ndarray:
    """Which free hyperparameters (``space.free`` order) get an analytic derivative.

    Every SD and family parameter, except for the Cox and conditional-logit families;
    weight parameters never (they use differences of the whole objective).
    """
    mask = np.zeros(space.dim, dtype=bool)
    if not space.dim or not _diag_kind(latent):
        return mask
    n_w = sum(len(b) for b in space.block_names)
    for j, name in enumerate(space.free):
        mask[j] = space.names.index(name) >= n_w
    return mask


def _gaussian_mask(latent, space) -> np.ndarray:
    """Coordinates with the closed form (Gaussian, iid SDs; sigma if every SD is iid)."""
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


def laplace_gradient(latent, space, u: np.ndarray, mode) -> np.ndarray:
    """d log p̂(y | ψ) / d u for the coordinates of :func:`analytic_mask` (others NaN).

    Closed forms where they exist (:func:`gaussian_gradient`), the directional derivative of
    the log-determinant otherwise (module docstring).
    """
    out = np.full(space.dim, np.nan)
    mask = analytic_mask(latent, space)
    if not mask.any():
        return out
    closed = _gaussian_mask(latent, space)
    if closed.any():
        out[closed] = gaussian_gradient(latent, space, u, mode)[closed]
    rest = mask & ~closed
    if rest.any():
        out[rest] = _logdet_gradient(latent, space, u, mode, rest)[rest]
    return out


def _logdet_gradient(latent, space, u, mode, which: np.ndarray) -> np.ndarray:
    hyp = space.hyper(u)
    sd = np.asarray(hyp.sd, float)
    phi = tuple(hyp.phi)
    fam = latent.family
    D, R, off = latent.assemble(hyp.theta)
    P = latent.P
    eta, z = mode.eta, mode.z
    r = z - latent.prior_mean()

    def A(v):  # A v
        return D @ v[:P] + (R @ v[P:] if latent.q else 0.0)

    def At(w):  # Aᵀ w
        return np.concatenate([D.T @ w, R.T @ w]) if latent.q else D.T @ w

    g0, c0 = fam.derivs(eta, phi)
    w = c0.d
    h_eta = 1e-4 * np.maximum(1.0, np.abs(eta))
    w3 = (fam.derivs(eta + h_eta, phi)[1].d - fam.derivs(eta - h_eta, phi)[1].d) / (2 * h_eta)
    n_w = sum(len(b) for b in space.block_names)
    dnat = np.full(len(space.names), np.nan)

    def logdet_slope(wdot: np.ndarray, sd_dir: np.ndarray) -> float:
        scale = max(np.max(np.abs(wdot) / np.maximum(w, 1e-300), initial=0.0),
                    np.max(np.abs(sd_dir) / sd, initial=0.0))
        eps = 1e-5 / scale if scale > 0 else 1e-5
        vals = []
        for sgn in (1.0, -1.0):
            curv = type(c0)(d=w + sgn * eps * wdot)
            vals.append(latent.factor(D, R, curv, sd + sgn * eps * sd_dir).logdet)
        return (vals[0] - vals[1]) / (2 * eps)

    free_names = [space.free[j] for j in np.flatnonzero(which)]
    for name in free_names:
        k = space.names.index(name)
        if n_w <= k < n_w + space.n_sd:  # an SD: Q_b = K / s²
            b = k - n_w
            sl, K = latent.re_slices[b], latent._re_K[b]
            s = sd[b]
            rb = r[sl]
            quad = float(rb @ rb) if K is None else float(rb @ (K @ rb))
            explicit = quad / s**3 - (sl.stop - sl.start) / s
            dG = np.zeros(latent.dim)  # ∂G/∂s = −(∂Q/∂s) r = (2 / s³) K r_b
            dG[sl] = 2.0 * (rb if K is None else K @ rb) / s**3
            zdot = mode.factor.solve(dG)
            wdot = w3 * A(zdot)
            sd_dir = np.zeros(len(sd))
            sd_dir[b] = 1.0
            dnat[k] = explicit - 0.5 * logdet_slope(wdot, sd_dir)
        else:  # a family parameter
            i = k - n_w - space.n_sd
            h = 1e-6 * max(1.0, abs(phi[i]))
            up = tuple(p + h * (m == i) for m, p in enumerate(phi))
            dn = tuple(p - h * (m == i) for m, p in enumerate(phi))
            (g_up, c_up), (g_dn, c_dn) = fam.derivs(eta, up), fam.derivs(eta, dn)
            explicit = float(np.atleast_1d(fam.dphi(eta, phi))[i])
            zdot = mode.factor.solve(At((g_up - g_dn) / (2 * h)))
            wdot = (c_up.d - c_dn.d) / (2 * h) + w3 * A(zdot)
            dnat[k] = explicit - 0.5 * logdet_slope(wdot, np.zeros(len(sd)))
    out = np.full(space.dim, np.nan)
    nat = dnat[space._free_idx]
    out[which] = (nat * space.dnatural(u))[which]
    return out


def gaussian_gradient(latent, space, u: np.ndarray, mode) -> np.ndarray:
    """d log p(y | ψ) / d u for the free hyperparameters (Gaussian family).

    Closed form for iid SDs and ``sigma`` (entries it does not cover are NaN).

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
    mask = _gaussian_mask(latent, space)
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
