"""Survival curves, median survival and hazard ratios of Weibull and Cox fits.

* Weibull (bml/JAGS parametrisation, :mod:`mmreg.families.weibull`):
  ``S(t | η) = exp(-(t e^{-η})^r)``, median ``e^η (log 2)^{1/r}``; a coefficient ``β``
  multiplies the hazard by ``exp(-r β)`` (and the time scale by ``exp(β)``).
* Cox: ``S(t | η) = exp(-H₀(t) e^η)`` with the cumulative baseline hazard ``H₀`` from the
  Gamma posterior of the baseline increments given η
  (:meth:`~mmreg.results.results.MMResults.baseline_hazard`; one Gamma draw per posterior
  draw); the hazard ratio of ``β`` is ``exp(β)``.

Curves are computed at each posterior draw (:func:`mmreg.results.draws.joint_draws`);
bands are their equal-tailed quantiles, the estimate the fit's point estimate (Laplace: at
the estimates, with the baseline at its posterior mean; MCMC: the mean over the draws).
The family-specific parts are the family's ``survival_function``, ``median_survival`` and
``hazard_ratio`` (:class:`mmreg.families.Family`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmreg.errors import MMSpecError
from mmreg.results.draws import joint_draws
from mmreg.results.predict import linear_predictor_at, new_data_latent

__all__ = [
    "survival_function",
    "survival_draws",
    "predict_survival",
    "median_survival",
    "hazard_ratios",
    "default_times",
]


def _family(model):
    return model.bound_family.family


def _check(model) -> None:
    if not _family(model).survival:
        raise MMSpecError(
            f"survival predictions need a survival family (weibull, cox), not {model.family!r}"
        )


def _cox_cumhaz(model, eta: np.ndarray, times: np.ndarray, rng) -> np.ndarray:
    """H₀ at ``times`` given the fitted η (increments drawn from their Gamma posterior, or
    their means when ``rng`` is None)."""
    tab = model.bound_family.baseline_posterior(eta)
    inc = (
        tab["mean"].to_numpy()
        if rng is None
        else rng.gamma(tab["shape"].to_numpy(), 1.0 / tab["rate"].to_numpy())
    )
    if "time" in tab.columns:
        t_k = tab["time"].to_numpy()
        return np.array([inc[t_k <= t].sum() for t in times])
    start, end = tab["start"].to_numpy(), tab["end"].to_numpy()
    overlap = np.clip(np.minimum(times[:, None], end) - start, 0, None)
    return overlap @ inc


def survival_function(
    model, hyper, eta: np.ndarray, times: np.ndarray, fitted_eta=None, rng=None
) -> np.ndarray:
    """S(t) of every group (rows) at ``times`` (columns) for linear predictors ``eta``.

    ``fitted_eta`` (Cox): η of the fitted groups at the same draw, for the baseline.
    """
    times = np.asarray(times, float)
    fam = _family(model)
    H0 = (
        _cox_cumhaz(model, eta if fitted_eta is None else fitted_eta, times, rng)
        if fam.has_baseline
        else None
    )
    return fam.survival_function(eta, hyper.phi, times, H0)


def default_times(model, n: int = 50) -> np.ndarray:
    """``n`` times from 0 to the largest observed time."""
    return np.linspace(0, float(np.max(model.design.outcome["time"])), n)


def survival_draws(
    res, times, data: pd.DataFrame | None = None, draws: int = 200, seed=0
) -> tuple[np.ndarray, np.ndarray, object]:
    """S(t) at each posterior draw: array (draws, groups, times), the times, and a function
    ``curve(hyper, z)`` giving the (groups × times) curves at one draw (baseline means)."""
    model = res.model
    _check(model)
    times = default_times(model) if times is None else np.asarray(times, float)
    new = None if data is None else new_data_latent(model, data)
    rng = np.random.default_rng(seed)

    def curves(hyper, z, rng_=None):
        eta = linear_predictor_at(model, hyper, z, new)
        fitted = eta if new is None else linear_predictor_at(model, hyper, z)
        return survival_function(model, hyper, eta, times, fitted_eta=fitted, rng=rng_)

    out = np.array([curves(h, z, rng) for h, z, _ in joint_draws(res, n=draws, seed=rng)])
    return out, times, curves


def _group_index(model, data) -> np.ndarray:
    if data is None:
        return np.asarray(model.design.group_ids)
    return np.asarray(new_data_latent(model, data).design.group_ids)


def predict_survival(
    res, data=None, times=None, groups=None, alpha: float = 0.05, draws: int = 200, seed=0
) -> pd.DataFrame:
    """See :meth:`mmreg.results.results.MMResults.predict_survival`."""
    S, times, curve = survival_draws(res, times, data, draws, seed)
    gids = _group_index(res.model, data)
    est = np.asarray(res.point_estimate(curve, per_draw=pd.DataFrame(S.reshape(len(S), -1))), float)
    est = est.reshape(len(gids), len(times))
    lo = np.quantile(S, alpha / 2, axis=0)
    hi = np.quantile(S, 1 - alpha / 2, axis=0)
    out = pd.DataFrame(
        {
            "group": np.repeat(gids, len(times)),
            "time": np.tile(times, len(gids)),
            "estimate": est.ravel(),
            "lower": lo.ravel(),
            "upper": hi.ravel(),
        }
    )
    if groups is not None:
        out = out[out["group"].isin(list(groups))].reset_index(drop=True)
    out.attrs.update(alpha=alpha)
    return out


def median_survival(res, data=None, alpha: float = 0.05, draws: int = 200, seed=0) -> pd.DataFrame:
    """Median survival time of every group with its band (Weibull: closed form; Cox: the
    first time the curve drops to 1/2 on a grid of 400 times, NaN if it never does)."""
    model = res.model
    _check(model)
    new = None if data is None else new_data_latent(model, data)
    gids = _group_index(model, data)
    times = default_times(model, 400)

    def med(hyper, z):
        eta = linear_predictor_at(model, hyper, z, new)
        closed = _family(model).median_survival(eta, hyper.phi)
        if closed is not None:
            return closed
        S = survival_function(
            model, hyper, eta, times, fitted_eta=linear_predictor_at(model, hyper, z)
        )
        below = S <= 0.5
        return np.where(below.any(axis=1), times[np.argmax(below, axis=1)], np.nan)

    per = np.array([med(h, z) for h, z, _ in joint_draws(res, n=draws, seed=seed)])
    est = np.asarray(res.point_estimate(med, per_draw=pd.DataFrame(per)), float)
    return pd.DataFrame(
        {
            "estimate": est,
            "lower": np.nanquantile(per, alpha / 2, axis=0),
            "upper": np.nanquantile(per, 1 - alpha / 2, axis=0),
        },
        index=pd.Index(gids, name="group"),
    )


def hazard_ratios(res, alpha: float = 0.05, draws: int = 1000, seed=0) -> pd.DataFrame:
    """Hazard ratio of a unit change of every coefficient (Weibull ``exp(-r β)``, Cox
    ``exp(β)``) with its band."""
    model = res.model
    _check(model)
    names = list(model.design.coef_names)
    P = len(names)

    def hr(hyper, z):
        b = z[:P]
        return _family(model).hazard_ratio(b, hyper.phi)

    per = np.array([hr(h, z) for h, z, _ in joint_draws(res, n=draws, seed=seed)])
    est = np.asarray(res.point_estimate(hr, per_draw=pd.DataFrame(per)), float)
    out = pd.DataFrame(
        {
            "hazard_ratio": est,
            "lower": np.quantile(per, alpha / 2, axis=0),
            "upper": np.quantile(per, 1 - alpha / 2, axis=0),
        },
        index=pd.Index(names, name="parameter"),
    )
    return out.drop(
        index=[n for n in names if n in res.hidden_params or n == "Intercept"], errors="ignore"
    )
