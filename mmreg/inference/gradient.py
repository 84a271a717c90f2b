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

(G the gradient of the log joint in z), evaluated by a central difference in ε of the
log-determinant of H assembled at ψ ± εe and with the likelihood curvature evaluated at
η̂ ± ε dη̂/dψ — so the third derivatives of the likelihood enter through the family's own
curvature (diagonal or not: Cox and conditional logit too).  Weight parameters also move
A(θ) and the offset: their ∂η/∂θ at fixed ẑ and ∂Aᵀ/∂θ g come from assembling the design at
θ ± h.  Per coordinate: one solve with the factor at the mode, two factorisations and (for
weights) four design assemblies — instead of two Newton solves of the mode.  When the
random effects form dense blocks and the curvature is diagonal, the derivative of log|H|
is instead the exact trace tr(H⁻¹ Ḣ) from selected entries of H⁻¹, one pass for all
hyperparameters (:mod:`mmreg.inference.seltrace`).  For the Gaussian family on the
difference route, the SD of a small block takes tr(H⁻¹ ∂Q/∂s) from that block of H⁻¹ (a few
solves, see ``SMALL_BLOCK``), and σ takes its trace from tr(H⁻¹H) = dim H.
"""

from __future__ import annotations

import warnings

import numpy as np

from mmreg.errors import MMWarning
from mmreg.inference.directions import Direction, Directions
from mmreg.inference.seltrace import SelectedTraces

__all__ = ["gaussian_gradient", "laplace_gradient", "mode_sensitivity"]


def _gaussian_mask(latent, space) -> np.ndarray:
    """Coordinates with the closed form (Gaussian, iid SDs; sigma if every SD is iid)."""
    mask = np.zeros(space.dim, dtype=bool)
    if not latent.quadratic or not space.dim or latent.cor:
        return mask  # correlated pairs: every SD by the log-determinant routes (exact)
    n_w = space.n_weights
    iid = [K is None for K in latent.re_K]
    for j, k in enumerate(space.free_index):
        kind = space.kind_of(k)
        if kind == "sd":
            mask[j] = iid[k - n_w]
        elif kind == "phi":  # the Gaussian sigma: needs tr(H⁻¹Q), diagonal Q only
            mask[j] = all(iid)
    return mask


def laplace_gradient(
    latent, space, u: np.ndarray, mode, sensitivity: np.ndarray | None = None
) -> np.ndarray:
    """d log p̂(y | ψ) / d u for every free hyperparameter (``space.free`` order).

    Closed forms where they exist and diag(H⁻¹) is cheap (:func:`gaussian_gradient`), the
    directional derivative of the log-determinant otherwise (module docstring).  A large
    sparse factor (e.g. random walks over 16,000 states in one component) makes diag(H⁻¹)
    ~100 times dearer than the two factorisations of the directional derivative.

    If ``sensitivity`` (dim_z × n_free, zeros) is given, the columns of dẑ/du that the
    log-determinant route computes anyway are written into it (used to predict the next
    mode); closed-form columns stay zero.
    """
    out = np.full(space.dim, np.nan)
    closed = _gaussian_mask(latent, space)
    if not mode.factor.cheap_diag:
        closed[:] = False
    if closed.any():
        out[closed] = gaussian_gradient(latent, space, u, mode)[closed]
    rest = ~closed
    if rest.any():
        out[rest] = _logdet_gradient(latent, space, u, mode, rest, sensitivity)[rest]
    return out


def mode_sensitivity(latent, space, u: np.ndarray, mode) -> np.ndarray:
    """dẑ/du (dim_z × n_free) at a conditional mode: H⁻¹ ∂G/∂ψ, one solve per coordinate.

    Exact where the central differences of modes it replaces were approximate, and without a
    factorisation: the factor at the mode serves every column.
    """
    if not space.dim:
        return np.zeros((latent.dim, 0))
    dirs = Directions(latent, space, u, mode)
    dnatural = space.dnatural(u)
    cols, bad = [], []
    for j in range(space.dim):
        try:
            with np.errstate(all="ignore"):
                col = dirs(j).zdot * dnatural[j]
        except (FloatingPointError, np.linalg.LinAlgError, ArithmeticError):
            col = None  # e.g. weights overflowing one difference step away from u
        if col is None or not np.all(np.isfinite(col)):
            bad.append(space.free[j])
            col = np.zeros(latent.dim)
        cols.append(col)
    if bad:
        warnings.warn(
            f"the sensitivity of the latent effects to {bad} cannot be computed at the "
            "estimate (the weights or the likelihood overflow next to it); the coefficients' "
            "standard errors leave the uncertainty of these parameters out. Rescale the "
            "covariates of the weight function or fit(method='mcmc').",
            MMWarning,
            stacklevel=3,
        )
    return np.column_stack(cols)


class _LogdetDerivative:
    """d log|H| / dψ along one :class:`Direction`, by the cheapest exact route.

    The routes available are fixed once per mode from declared properties of the model and
    the factor: the Gaussian sigma identity (quadratic likelihood, after every SD), exact
    selected traces (diagonal curvature and a factor with ``has_pattern_inverse``), the
    block of H⁻¹ of a small Gaussian SD block, else a central difference of log|H|.
    """

    def __init__(self, dirs: Directions):
        latent, mode = dirs.latent, dirs.mode
        self.dirs, self.latent, self.mode = dirs, latent, mode
        self.quadratic = latent.quadratic
        self.traces = None  # exact traces from selected entries of H⁻¹ where they are cheap
        if dirs.c0.U is None and mode.factor.has_pattern_inverse:
            self.traces = SelectedTraces(mode.factor, dirs.D, dirs.R, dirs.c0.d)
        self.dld_sd: dict[int, float] = {}  # d log|H| / ds_b of the SDs done so far

    def curvature_at(self, t, k_phi, eta_dot):
        """Likelihood curvature C(η̂ + t η̇; φ'), the family parameter k_phi moved by t."""
        ph = list(self.dirs.phi)
        if k_phi is not None:
            ph[k_phi] += t
        return self.latent.family.derivs(self.mode.eta + t * eta_dot, tuple(ph))[1]

    def shifted(self, t, d: Direction) -> float:
        """log|A(θ')ᵀ C(η̂ + t η̇; φ') A(θ') + Q(s')|, the one hyperparameter moved by t."""
        dirs, latent = self.dirs, self.latent
        th = [x.copy() for x in dirs.theta]
        if d.k_w is not None:
            th[d.k_w[0]][d.k_w[1]] += t
        Dm, Rm, _ = (
            latent.assemble_fresh(tuple(th)) if d.k_w is not None else (dirs.D, dirs.R, dirs.off)
        )
        s2 = dirs.sd.copy()
        if d.k_sd is not None:
            s2[d.k_sd] += t
        c2 = dirs.cor.copy()
        if d.k_cor is not None:
            c2[d.k_cor] += t
        curv = self.curvature_at(t, d.k_phi, d.eta_dot)
        return latent.factor(Dm, Rm, curv, s2, c2).logdet

    def __call__(self, d: Direction) -> float:
        # central difference of the log-determinant along the joint direction
        eps = 1e-5 * d.scale
        big = float(np.max(np.abs(d.eta_dot), initial=0.0))
        if big * eps > 1e-4:
            eps = 1e-4 / big
        if d.k_coef is not None and self.quadratic:
            dld = 0.0  # H does not depend on the coefficients: constant curvature
        elif d.k_phi is not None and self.quadratic and len(self.dld_sd) == self.dirs.space.n_sd:
            dld = self._sigma_identity(d)
        elif self.traces is not None:
            dld = self._selected_traces(d, eps)
        elif (
            (d.k_sd is not None or d.k_cor is not None)
            and self.quadratic
            and _small_block(self.latent, self.mode.factor, d.k_sd, d.k_cor)
        ):
            dld = self._small_block(d)
        else:
            vals = [self.shifted(sg * eps, d) for sg in (1.0, -1.0)]
            dld = (vals[0] - vals[1]) / (2 * eps)
        if d.k_sd is not None:
            self.dld_sd[d.k_sd] = dld
        return dld

    def _sigma_identity(self, d: Direction) -> float:
        """The Gaussian sigma once every SD is done: H = AᵀA/σ² + Q_β + Σ K_b/s_b², so
        tr(H⁻¹AᵀA)/σ² = dim − tr(H⁻¹Q_β) − Σ tr(H⁻¹K_b)/s_b², with
        tr(H⁻¹K_b)/s_b² = −(s_b/2) d log|H|/ds_b: no factorisation needed."""
        latent, sd = self.latent, self.dirs.sd
        tr_q = sum(-0.5 * sd[b] * v for b, v in self.dld_sd.items())
        if latent.P:
            tr_q += float(latent.coef_prec @ np.diag(self.mode.factor.coef_block(latent.P)))
        assert d.k_phi is not None  # called for a dispersion direction only
        return -2.0 * (latent.dim - tr_q) / self.dirs.phi[d.k_phi]

    def _selected_traces(self, d: Direction, eps: float) -> float:
        """tr(H⁻¹ Ḣ) exactly (module seltrace)."""
        traces = self.traces
        assert traces is not None  # called only when selected traces are available
        wdot = (
            self.curvature_at(eps, d.k_phi, d.eta_dot).d
            - self.curvature_at(-eps, d.k_phi, d.eta_dot).d
        ) / (2 * eps)
        dld = traces.curvature(wdot)
        if d.k_w is not None and d.dDR is not None:  # dDR is set for weight directions
            dld += traces.design(*d.dDR)
        if d.k_cor is not None or (d.k_sd is not None and self.latent.cor.involves(d.k_sd)):
            dm = self.latent.cor.dmultipliers(self.dirs.sd, self.dirs.cor, d.k_sd, d.k_cor)
            dld += sum(float(dm[p]) * traces.prior(int(p)) for p in np.flatnonzero(dm))
        elif d.k_sd is not None:
            dld += -2.0 / self.dirs.sd[d.k_sd] ** 3 * traces.prior(d.k_sd)
        return dld

    def _small_block(self, d: Direction) -> float:
        """Gaussian, a small RE block: tr(H⁻¹ ∂Q/∂s) from its block of H⁻¹ (few solves)."""
        pairs = self.latent.cor
        if d.k_cor is not None or pairs.involves(d.k_sd):  # both blocks of a correlated pair
            dm = pairs.dmultipliers(self.dirs.sd, self.dirs.cor, d.k_sd, d.k_cor)
            blocks = pairs.involved_blocks(d.k_sd, d.k_cor)
            return pairs.trace(self.mode.factor.inverse_block, dm, blocks, self.latent.re_K)
        sl, K = self.latent.re_slices[d.k_sd], self.latent.re_K[d.k_sd]
        Hinv = self.mode.factor.inverse_block(np.arange(sl.start, sl.stop))
        tr = float(np.trace(Hinv)) if K is None else float(np.sum(K.toarray() * Hinv))
        return float(-2.0 / self.dirs.sd[d.k_sd] ** 3 * tr)


def _logdet_gradient(
    latent, space, u, mode, which: np.ndarray, sensitivity: np.ndarray | None = None
) -> np.ndarray:
    dirs = Directions(latent, space, u, mode)
    logdet = _LogdetDerivative(dirs)
    dnat = np.full(len(space.names), np.nan)
    dnatural = space.dnatural(u)
    for j in np.flatnonzero(which):  # position among the free hyperparameters
        d = dirs(int(j))
        if sensitivity is not None:  # dẑ/dψ_k, on the u scale
            sensitivity[:, j] = d.zdot * dnatural[j]
        dnat[space.free_index[j]] = d.explicit - 0.5 * logdet(d)
    out = np.full(space.dim, np.nan)
    nat = dnat[space.free_index]
    out[which] = (nat * dnatural)[which]
    return out


#: Gaussian SDs whose block of H⁻¹ takes at most this many solves (``block_solves``: the
#: most effects of the block in one connected component of H_rr — one for country effects)
#: get tr(H⁻¹ ∂Q/∂s) from that block instead of two factorisations.  Measured: AR at 10,000
#: groups (33,206 states, CHOLMOD, one thread): one factorisation 0.22 s, 128 solves 0.24 s;
#: 100,000 groups (two threads): one factorisation 2.3 s, 100 solves 3.8 s.
SMALL_BLOCK = 64


def _small_block(latent, factor, b: int | None, c: int | None = None) -> bool:
    blocks = latent.cor.involved_blocks(b, c)
    idx = np.concatenate(
        [np.arange(sl.start, sl.stop) for sl in (latent.re_slices[k] for k in blocks)]
    )
    return factor.block_solves(idx) <= SMALL_BLOCK


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
    r = mode.z - latent.prior_mean(hyp)
    n_w = space.n_weights
    dnat = np.full(len(space.names), np.nan)
    tr_hq = float(latent.coef_prec @ diag[: latent.P])
    for b, (sl, K) in enumerate(zip(latent.re_slices, latent.re_K, strict=True)):
        if K is None:
            s = sd[b]
            tr_b = float(diag[sl].sum())
            dnat[n_w + b] = (float(r[sl] @ r[sl]) + tr_b) / s**3 - (sl.stop - sl.start) / s
            tr_hq += tr_b / s**2
    if len(hyp.phi):
        (sigma,) = hyp.phi
        explicit = float(latent.family.dphi(mode.eta, hyp.phi)[0])
        dnat[space.phi_slice.start] = explicit + (latent.dim - tr_hq) / sigma
    nat = dnat[space.free_index]
    out[mask] = (nat * space.dnatural(u))[mask]
    return out
