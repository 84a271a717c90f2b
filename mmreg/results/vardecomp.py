"""Variance decomposition and intra-class correlations (bml's ``varDecomp``).

For each level the variance it contributes to the linear predictor of a group:
an mm() block with member REs contributes σ²_mm · mean_i Σ_k w_ik² (the weights of that
draw; with ``c = TRUE`` and equal weights this is σ²_mm · mean(1/n_i)), an hm() block σ²_hm,
and the outcome level the family's residual variance on the latent scale (Gaussian σ²,
binomial and clogit π²/3, Weibull π²/(6·shape²), Cox none).  ICC = component / total.

Random slopes are averaged over the groups of the data: an hm() slope of x adds
σ²_x · mean_i x_i², an mm() slope σ²_x · mean_i Σ_k w_ik² x_ik².  A correlated intercept and
slope (``re(1 + x, cor = TRUE)``) add the covariance term as a component of its own,
``cov.<block>.<x>`` = 2 ρ σ_a σ_x · mean_i x_i (hm) or 2 ρ σ_a σ_x · mean_i Σ_k w_ik² x_ik
(mm), so that the three rows add up to the variance of the unit's contribution
σ_a² + 2ρσ_aσ_x x + σ_x² x² averaged over the groups as observed (not at x = 0 nor at the
mean of x).  That term is negative when ρ < 0 (its "ICC" then too); a centred x makes it
vanish on average.

``convention="bml"`` reproduces bml 0.9.0, which plugs in the posterior-mean weights
instead of each draw's weights (biased when weights are estimated) and, for the Weibull
family, uses its ``sigma = 1/shape`` squared as the residual variance (bml's ``varDecomp``
takes the residual ``sigma`` "directly"), not the variance π²/(6·shape²) of the
extreme-value error on the log-time scale.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mmreg.errors import MMSpecError, MMWarning

__all__ = ["var_decomp", "components"]


def components(model, hyper, weights=None, convention: str = "mmreg") -> dict[str, float]:
    """Variance components at one hyperparameter value (optionally given mm weights).

    ``convention="bml"``: the Weibull residual variance is ``1/shape²`` (bml's sigma²).
    """
    d = model.design
    out: dict[str, float] = {}
    sd = dict(zip(d.sd_names, hyper.sd, strict=True))
    cor = dict(zip(d.cor_names, np.asarray(hyper.cor), strict=True))

    def cov(parent: str, sl, mean_x: float) -> None:  # the covariance term of a cor pair
        if sl.correlated:
            rho = cor[f"cor.{sl.label}"]
            s_ab = sd[f"sigma.{parent}"] * sd[f"sigma.{sl.label}"]
            out[f"cov.{sl.label}"] = 2.0 * rho * s_ab * mean_x

    for k, b in enumerate(d.mm):
        if not b.random_blocks:
            continue
        w = weights[k] if weights is not None else b.weights(hyper.theta[k], derivative=False)[0]
        ssq = np.bincount(b.group, weights=w**2, minlength=d.nobs)
        present = np.bincount(b.group, minlength=d.nobs) > 0
        if b.re_state is not None:
            out[b.label] = sd[f"sigma.{b.label}"] ** 2 * float(np.mean(ssq[present]))
        for sl in b.slopes:  # Σ_k w² x² per group: the variance the member slopes add
            sx = np.bincount(b.group, weights=(w * sl.re_values) ** 2, minlength=d.nobs)
            out[sl.label] = sd[f"sigma.{sl.label}"] ** 2 * float(np.mean(sx[present]))
            sw = np.bincount(b.group, weights=w**2 * sl.re_values, minlength=d.nobs)
            cov(b.label, sl, float(np.mean(sw[present])))
    for h in d.hm:
        if h.re_state is not None:
            out[h.label] = sd[f"sigma.{h.label}"] ** 2
        for sl in h.slopes:  # a random slope adds σ² x² to group i's variance
            out[sl.label] = sd[f"sigma.{sl.label}"] ** 2 * float(np.mean(sl.re_values**2))
            cov(h.label, sl, float(np.mean(sl.re_values)))
    if convention == "bml":
        resid = model.bound_family.family.bml_residual_variance(model.bound_family, hyper.phi)
    else:
        resid = model.bound_family.residual_variance(hyper.phi)
    if resid is not None:
        out["residual"] = float(resid)
    return out


def var_decomp(
    res,
    uncertainty: str = "sd",
    convention: str = "mmreg",
    alpha: float = 0.05,
    style: str = "mmreg",
) -> pd.DataFrame:
    """Variance components and ICCs with their uncertainty.

    Parameters
    ----------
    res : MMResults
    uncertainty : {"sd", "mad", "ci"}
        Spread reported next to each estimate: standard deviation, median absolute
        deviation (scaled to be consistent for the SD of a normal), or an equal-tailed
        ``1 - alpha`` interval.  For a Laplace fit the spread comes from draws of the
        hyperparameters from their approximate (Gaussian) posterior.
    convention : {"mmreg", "bml"}
        ``"mmreg"`` uses each draw's weights; ``"bml"`` the posterior-mean weights and,
        for the Weibull family, ``sigma² = 1/shape²`` as the residual variance.
    alpha : float
    style : {"mmreg", "bml"}
        ``"bml"``: the columns of bml's ``varDecomp()``: ``Component``, ``sigma`` (the
        component's SD, ``sqrt(variance)``, averaged over the draws for MCMC), ``sigma_sd``,
        ``ICC`` and ``ICC_sd`` (spreads are SDs whatever ``uncertainty``).

    Returns
    -------
    pandas.DataFrame
        Index: components; columns ``variance``, ``icc`` and their spread (``style="bml"``:
        bml's columns).
    """
    if style not in ("mmreg", "bml"):
        raise MMSpecError(f"style must be 'mmreg' or 'bml', not {style!r}")
    if uncertainty not in ("sd", "mad", "ci"):
        raise MMSpecError(f"uncertainty must be 'sd', 'mad' or 'ci', not {uncertainty!r}")
    if convention not in ("mmreg", "bml"):
        raise MMSpecError(f"convention must be 'mmreg' or 'bml', not {convention!r}")
    model = res.model
    hypers = res.hyper_draws()
    fixed_w = None
    if convention == "bml":
        fixed_w = [tab["weight"].to_numpy() for tab in res.weights.values()]
    with np.errstate(over="ignore", invalid="ignore"):
        rows = [components(model, h, fixed_w, convention) for h in hypers]
    var = pd.DataFrame(rows)
    if var.empty or var.shape[1] == 0:
        raise MMSpecError("the model has no random effects or residual variance to decompose")
    icc = var.div(var.sum(axis=1), axis=0)

    def point_components(hyper, z):
        return pd.Series(components(model, hyper, fixed_w, convention))

    def point_shares(hyper, z):
        v = point_components(hyper, z)
        return v / v.sum()

    point_v = res.point_estimate(point_components, per_draw=var)
    point_i = res.point_estimate(point_shares, per_draw=icc)
    out = pd.DataFrame({"variance": point_v, "icc": point_i})
    # Laplace draws along a flat direction of the hyperparameters are meaningless (the
    # covariance was regularised there) and overflow (an SD of e^±300)
    bad = [c for c in var.columns if not np.isfinite(var[c]).all()]
    finite = not bad and res.draws_usable
    if not finite:
        where = f" (the {', '.join(bad)} draws overflow)" if bad else ""
        warnings.warn(
            "var_decomp: the Laplace posterior of the hyperparameters is flat in some "
            f"direction{where}, so the spread of every component and ICC is undefined and "
            "reported as NaN; the point estimates are unaffected. Use fit(method='mcmc') for "
            "their uncertainty.",
            MMWarning,
            stacklevel=3,
        )
    if style == "bml":
        sd_draws = np.sqrt(var)
        sig = res.point_estimate(lambda h, z: np.sqrt(point_components(h, z)), per_draw=sd_draws)
        spread = (lambda f: f.std(ddof=1)) if finite else (lambda f: f.std() * np.nan)
        return pd.DataFrame(
            {
                "Component": list(var.columns),
                "sigma": sig,
                "sigma_sd": spread(sd_draws),
                "ICC": point_i,
                "ICC_sd": spread(icc),
            },
            index=var.columns,
        )
    for name, frame in (("variance", var), ("icc", icc)):
        if not finite:
            frame = frame * np.nan
        if uncertainty == "sd":
            out[f"{name}_sd"] = frame.std(ddof=1)
        elif uncertainty == "mad":
            med = frame.median()
            out[f"{name}_mad"] = 1.4826 * (frame - med).abs().median()
        else:
            out[f"{name}_lower"] = frame.quantile(alpha / 2)
            out[f"{name}_upper"] = frame.quantile(1 - alpha / 2)
    return out
