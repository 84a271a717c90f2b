"""Data-derived scales of the hyperparameters and the edges of the Laplace search region.

Issue #13 (class 2): the optimiser's search region used fixed limits (log-SD in [−15, 8],
weight parameters in ±30), so an SD above e^8 ≈ 2981 in the outcome's units came back as
2981.  The limits are now centred on a scale measured from the data (:func:`data_scales`,
used by :meth:`~mmreg.inference.hyper.HyperSpace.search_box`), and an estimate on an edge
that is not a boundary of the parameter's support makes the fit widen the region and
optimise again (:func:`internal_edge`, :func:`widen`); still on an edge after
:data:`WIDEN` widenings, the fit warns naming the parameter.
"""

from __future__ import annotations

import numpy as np

from mmreg.inference.eta import linear_predictor
from mmreg.inference.hyper import HyperSpace
from mmreg.inference.latent import LatentModel

__all__ = [
    "UNIT_RANGE",
    "WIDEN",
    "data_scales",
    "internal_edge",
    "outcome_scale",
    "sampled_starts",
    "widen",
]


#: a data scale inside this range counts as O(1): the defaults (search box, starting SDs,
#: difference steps) are kept as they were tuned; outside it they follow the data's scale
UNIT_RANGE = (1e-2, 1e2)


def _snap(s: float) -> float:
    """``s`` if it is a usable scale outside :data:`UNIT_RANGE`, else 1."""
    s = float(s)
    if not np.isfinite(s) or s <= 0 or UNIT_RANGE[0] <= s <= UNIT_RANGE[1]:
        return 1.0
    return s


def outcome_scale(bound) -> float:
    """Scale of the outcome on the linear predictor's units (1 unless Gaussian).

    Parameters
    ----------
    bound : BoundFamily
        The family bound to the outcome (:meth:`~mmreg.families.BoundFamily.outcome_sd`).

    Returns
    -------
    float
        The SD of an outcome whose units set the model's scale (Gaussian) when it lies
        outside :data:`UNIT_RANGE`, else 1 (logit, log-time and Cox scales are O(1) whatever
        the units of the data).
    """
    with np.errstate(all="ignore"):
        sd = bound.outcome_sd()
    return 1.0 if sd is None else _snap(sd)


def data_scales(latent: LatentModel, space: HyperSpace, u0: np.ndarray) -> np.ndarray:
    """Natural scale of every free hyperparameter, from the data.

    SDs and the Gaussian ``sigma`` take the outcome's scale (:func:`outcome_scale`); a weight
    parameter ``b`` takes ``1 / rms(d log w / d b)`` at the starting values (``b1`` in
    ``exp(b1 * x)`` gets ``1 / sd(x)``); a coefficient sampled with ψ the outcome's scale
    over the SD of its column (at least its starting value); all snapped to 1 inside
    :data:`UNIT_RANGE`.

    Parameters
    ----------
    latent : LatentModel
    space : HyperSpace
    u0 : ndarray
        Unconstrained starting values (the weight parameters' scales are measured there).

    Returns
    -------
    ndarray
        One positive scale per free coordinate (``space.free`` order).
    """
    c_y = outcome_scale(latent.family)
    phi_on_data_scale = latent.family.family.outcome_sets_scale
    out = np.ones(space.dim)
    blocks = [(bi, i) for bi, b in enumerate(space.block_names) for i in range(len(b))]
    theta = space.hyper(u0).theta
    cache: dict[int, tuple] = {}
    x0 = space.natural_free(u0)
    for j, k in enumerate(space.free_index):
        kind = space.kind_of(k)
        if kind == "coef":  # a sampled coefficient: c_y / sd(its column), its start
            col = latent.assemble(theta)[0][:, latent.sampled[k - space.coef_slice.start]]
            sd = float(np.std(col))
            base = c_y / sd if sd > 0 else c_y * max(1.0, float(np.max(np.abs(col))))
            out[j] = _snap(max(base, abs(float(x0[j]))))
        elif kind == "weight":
            bi, i = blocks[k]
            if bi not in cache:
                with np.errstate(all="ignore"):
                    cache[bi] = latent.design.mm[bi].weights(theta[bi], derivative=True)
            w, dw = cache[bi]
            if dw is None:
                continue
            with np.errstate(all="ignore"):
                rel = dw[i][w > 0] / w[w > 0]
                rel = rel[np.isfinite(rel)]
                rms = float(np.sqrt(np.mean(rel**2))) if rel.size else 0.0
            # below 1e-12 the weights do not move (b0 under c = TRUE at b1 = 0: rounding)
            out[j] = _snap(1.0 / rms) if rms > 1e-12 else 1.0
        elif kind == "cor":  # a correlation: its own unit scale
            continue
        elif kind == "sd" or phi_on_data_scale:
            out[j] = c_y
    return out


#: how often the search region is widened when an estimate sits on its edge
WIDEN = 3


def internal_edge(u: np.ndarray, lo: np.ndarray, hi: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Coordinates at an edge of the search region that is not a boundary of the
    parameter's support.  The lower edge of a log/logit coordinate (an SD of e^-15 of the
    data's scale: zero) and both edges of a logit one (the limits of a bounded prior) are
    boundaries; the upper edge of a log one and both edges of a real one are not."""
    tol = 1e-6 * np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))
    at_hi = (u >= hi - tol) & (kind != 2)
    at_lo = (u <= lo + tol) & (kind == 0)
    return at_hi | at_lo


def widen(
    lo: np.ndarray, hi: np.ndarray, edge: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Widen the search region of the coordinates flagged in ``edge``: ten times for a real
    coordinate (both sides), ``e^8`` times higher for a log one."""
    lo, hi = lo.copy(), hi.copy()
    for j in np.flatnonzero(edge):
        if kind[j] == 0:
            lo[j], hi[j] = 10.0 * lo[j], 10.0 * hi[j]
        else:
            hi[j] += 8.0
    return lo, hi


def pinning_sd(
    latent: LatentModel, theta: tuple, beta: np.ndarray, phi: tuple, ratio: float = 1e14
) -> np.ndarray:
    """Prior SDs that pin coefficients at ``beta`` whatever the units of the data.

    A coefficient is held at a value by a Normal prior whose precision is ``ratio`` times
    its data precision ``sum_i c_i D_ij²`` (``c`` the likelihood curvature at ``eta = D
    beta``), at least ``ratio``: a fixed SD of 1e-7 does not pin a coefficient whose
    covariate is on a 1e4 scale, or whose outcome is on a 1e-8 scale.

    Parameters
    ----------
    latent : LatentModel
    theta : tuple of ndarray
        Weight parameters per mm block (the design depends on them).
    beta : ndarray
        The coefficient values.
    phi : tuple of float
        Family parameters.
    ratio : float
        Prior precision over data precision.

    Returns
    -------
    ndarray
        One SD per coefficient.
    """
    D, R, off = latent.assemble(theta)
    with np.errstate(all="ignore"):
        eta = linear_predictor(D, R, off, beta, latent.P)
        curv = np.broadcast_to(
            np.asarray(latent.family.derivs(eta, phi)[1].d, float), (D.shape[0],)
        )
        prec = np.abs(curv) @ (np.asarray(D, float) ** 2)
    prec = np.where(np.isfinite(prec), prec, 1.0)
    return 1.0 / np.sqrt(ratio * np.maximum(prec, 1.0))


#: a prior whose typical value is this many times below the outcome's scale is flagged
PRIOR_CONFLICT = 100.0


def prior_scale_conflicts(latent: LatentModel, space: HyperSpace) -> list[str]:
    """Parameters whose prior sits far below the scale of a Gaussian outcome.

    bml's default priors (N(0, 100²) on coefficients, half-Cauchy(25) on SDs) assume an
    outcome of moderate size; for an outcome in dollars (SD 5,000) they pull the country SD
    to 0 and the intercept to 0 — a prior, not a bound, but just as silent.  A free SD or
    ``sigma`` is flagged when the median of its prior is more than :data:`PRIOR_CONFLICT`
    times below the outcome's SD; a coefficient when the size the data suggest (``|mean
    y| + sd y`` for the intercept, ``sd y / sd x_j`` for a covariate) is more than
    :data:`PRIOR_CONFLICT` times its prior SD.

    Parameters
    ----------
    latent : LatentModel
    space : HyperSpace

    Returns
    -------
    list of str
        ``"name (prior)"`` descriptions of the flagged parameters (empty unless Gaussian).
    """
    if not latent.family.family.outcome_sets_scale or "y" not in latent.design.outcome:
        return []
    y = np.asarray(latent.design.outcome["y"], float)
    s_y = float(np.std(y))
    if not np.isfinite(s_y) or s_y <= 0:
        return []
    out = []
    n_w = space.n_weights
    rng = np.random.default_rng(0)
    for k in space.free_index:
        name = space.names[k]
        if k < n_w or space.is_cor(k) or k >= space.n_listed:  # SDs and family parameters
            continue
        prior = space.priors[name]
        with np.errstate(all="ignore"):
            med = float(np.median(np.abs(prior.sample(rng, 4001))))
        if np.isfinite(med) and med * PRIOR_CONFLICT < s_y:
            out.append(f"{name} ({prior})")
    X = np.asarray(latent.design.X, float)
    sd_prior = 1.0 / np.sqrt(latent.coef_prec)
    mean_prior = latent.coef_mean.copy()
    label: dict[int, str] = {}
    for c in latent.sampled.tolist():  # sampled with ψ: the spread (median |x - median|)
        prior = space.priors[latent.coef_names[c]]
        with np.errstate(all="ignore"):
            draws = np.asarray(prior.sample(rng, 4001), float)
        mean_prior[c] = float(np.median(draws))
        sd_prior[c] = float(np.median(np.abs(draws - mean_prior[c])))
        label[c] = str(prior)
    for j, name in enumerate(latent.coef_names):
        if j >= X.shape[1] or not sd_prior[j] >= 1e-6:  # aggregated member columns; fixed ones
            continue
        sd_x = float(np.std(X[:, j]))
        size = abs(float(np.mean(y)) - mean_prior[j]) + s_y if sd_x == 0 else s_y / sd_x
        if size > PRIOR_CONFLICT * sd_prior[j]:
            out.append(f"{name} ({label.get(j) or f'Normal({mean_prior[j]:g}, {sd_prior[j]:g}²)'})")
    return out


def sampled_starts(latent: LatentModel, priors: dict) -> dict[str, float]:
    """Starting values of the coefficients sampled with ψ: the family's data-derived
    intercept (:meth:`~mmreg.families.base.BoundFamily.initial_eta`) for the intercept,
    else the location of the prior (0 if it has none); a bounded prior starts at its
    midpoint (:func:`~mmreg.inference.laplace.start_values`)."""
    out = {}
    eta0 = None if latent.family is None else latent.family.initial_eta()
    for c in latent.sampled:
        name = latent.coef_names[c]
        if name == "Intercept" and eta0 is not None and np.isfinite(eta0):
            out[name] = float(eta0)
        else:
            out[name] = float(getattr(priors[name], "mu", 0.0))
    return out
