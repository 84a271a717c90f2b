"""Array-level MCMC convergence diagnostics.

Every function works on plain numpy arrays, so the results layer can call it on any
parameter.  ``x`` is an array of shape ``(chains, draws)`` holding the draws of one
parameter (a 1-d array is taken as a single chain) unless said otherwise.

* :func:`rhat`, :func:`ess_bulk`, :func:`ess_tail`, :func:`mcse_mean`, :func:`mcse_sd`
  follow Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization,
  folding, and localization: an improved R-hat", *Bayesian Analysis* 16(2), exactly as
  ArviZ (``arviz.rhat`` / ``ess`` / ``mcse``) and the R package *posterior* compute them:
  rank-normalised split chains, FFT autocovariance and Geyer's initial monotone sequence.
* :func:`geweke_z` and :func:`heidel_welch` follow R's *coda* (``geweke.diag``,
  ``heidel.diag``), with the spectral density at frequency zero from an AR(p) model fitted
  by Yule--Walker with AIC order selection (coda's ``spectrum0.ar``; see
  :func:`spectrum0_ar`). These live in :mod:`mmreg.results.diagnostics_coda` and are
  re-exported here.
* :func:`autocorr` is coda's ``autocorr`` (the usual biased sample autocorrelation).
* Ensemble runs (draws of shape ``(chains, steps, walkers)``) follow the convention of
  :mod:`mmreg.results.diagnostics_ensemble`: :func:`ensemble_order`,
  :func:`geweke_ensemble`, :func:`heidel_welch_ensemble`, :func:`autocorr_ensemble`.
* :func:`hpd_interval` is coda's ``HPDinterval`` (shortest interval of sorted draws).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from emcee.autocorr import function_1d
from scipy import stats

from mmreg.errors import MMDataError, MMSpecError
from mmreg.results.diagnostics_coda import (
    MIN_CODA_DRAWS,
    autocorr,
    geweke_z,
    heidel_welch,
    hpd_interval,
    pcramer,
    spectrum0_ar,
)
from mmreg.results.diagnostics_ensemble import (
    autocorr_ensemble,
    ensemble_order,
    ensemble_positions,
    geweke_ensemble,
    heidel_welch_ensemble,
)

__all__ = [
    "rhat",
    "ess_bulk",
    "ess_tail",
    "mcse_mean",
    "mcse_sd",
    "geweke_z",
    "heidel_welch",
    "spectrum0_ar",
    "pcramer",
    "autocorr",
    "hpd_interval",
    "ensemble_order",
    "ensemble_positions",
    "geweke_ensemble",
    "heidel_welch_ensemble",
    "autocorr_ensemble",
    "summarize",
]

_MIN_DRAWS = 4  # as ArviZ: fewer draws per chain give no rank diagnostics


# --------------------------------------------------------------------------- validation
def _chains(x: object, what: str = "x") -> np.ndarray:
    """Return ``x`` as a finite float array of shape (chains, draws) or raise MMDataError."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MMDataError(f"draws of {what!s} must be numeric; got {type(x).__name__}") from exc
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise MMDataError(
            f"draws of {what} must have shape (chains, draws); got shape {arr.shape}. "
            "Pass one parameter at a time."
        )
    if arr.shape[1] < _MIN_DRAWS or arr.shape[0] < 1:
        raise MMDataError(
            f"draws of {what} have shape {arr.shape}: at least {_MIN_DRAWS} draws per chain "
            "are needed; run the sampler longer."
        )
    if not np.all(np.isfinite(arr)):
        raise MMDataError(
            f"draws of {what} contain NaN or infinite values; the sampler failed for this "
            "parameter — check the model and starting values."
        )
    return arr


# ------------------------------------------------------------ rank-normalised diagnostics
def _split(arr: np.ndarray) -> np.ndarray:
    """Split each chain in two halves (the middle draw is dropped for odd lengths)."""
    half = arr.shape[1] // 2
    return np.vstack([arr[:, :half], arr[:, -half:]])


def _z_scale(arr: np.ndarray) -> np.ndarray:
    """Rank-normalise: average ranks over all draws, Blom offsets, normal quantiles."""
    rank = stats.rankdata(arr, method="average").reshape(arr.shape)
    return stats.norm.ppf((rank - 0.375) / (arr.size + 0.25))


def _autocov(arr: np.ndarray) -> np.ndarray:
    """Biased autocovariance (divisor n) of each row, by FFT; zero for constant rows."""
    out = np.zeros_like(arr)
    for i, row in enumerate(arr):
        var = row.var()
        if var > 0:
            out[i] = function_1d(row) * var
    return out


def _ess_raw(arr: np.ndarray) -> float:
    """ESS of a (chains, draws) array with Geyer's initial monotone sequence (as ArviZ)."""
    if np.ptp(arr) < np.finfo(float).resolution:
        return float(arr.size)
    n_chain, n_draw = arr.shape
    acov = _autocov(arr)
    mean_var = acov[:, 0].mean() * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus += arr.mean(axis=1).var(ddof=1)
    rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus
    rho_t = np.zeros(n_draw)
    rho_t[0], rho_t[1] = 1.0, rho[1]
    even, odd = 1.0, rho[1]
    t = 1
    while t < n_draw - 3 and even + odd > 0.0:  # initial positive sequence
        even, odd = rho[t + 1], rho[t + 2]
        if even + odd >= 0:
            rho_t[t + 1], rho_t[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0:
        rho_t[max_t + 1] = even
    t = 1
    while t <= max_t - 2:  # initial monotone sequence
        if rho_t[t + 1] + rho_t[t + 2] > rho_t[t - 1] + rho_t[t]:
            rho_t[t + 1] = rho_t[t + 2] = (rho_t[t - 1] + rho_t[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * rho_t[: max_t + 1].sum() + rho_t[max_t + 1 : max_t + 2].sum()
    tau = max(tau, 1.0 / math.log10(arr.size))
    return float(arr.size / tau)


def _rhat_raw(arr: np.ndarray) -> float:
    n = arr.shape[1]
    within = arr.var(axis=1, ddof=1).mean()
    between = n * arr.mean(axis=1).var(ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt((between / within + n - 1) / n))


def rhat(x: np.ndarray) -> float:
    """Rank-normalised split-R̂: the maximum of the bulk and the folded (tail) R̂.

    Parameters
    ----------
    x : numpy.ndarray
        Draws of one parameter, shape ``(chains, draws)``; a 1-d array is one chain (its two
        halves are then compared, as the R package *posterior* does; ArviZ returns NaN).

    Returns
    -------
    float
        R̂ (NaN for a constant parameter). Values above 1.01 indicate non-convergence.
    """
    split = _split(_chains(x))
    bulk = _rhat_raw(_z_scale(split))
    tail = _rhat_raw(_z_scale(np.abs(split - np.median(split))))
    return float(max(bulk, tail))


def ess_bulk(x: np.ndarray) -> float:
    """Bulk effective sample size (ESS of the rank-normalised split chains).

    Parameters
    ----------
    x : numpy.ndarray
        Draws of one parameter, shape ``(chains, draws)``.

    Returns
    -------
    float
        Bulk ESS; the number of draws for a constant parameter.
    """
    return _ess_raw(_z_scale(_split(_chains(x))))


def ess_tail(x: np.ndarray) -> float:
    """Tail effective sample size: minimum ESS of the 5% and 95% quantile indicators.

    Parameters
    ----------
    x : numpy.ndarray
        Draws of one parameter, shape ``(chains, draws)``.

    Returns
    -------
    float
        Tail ESS.
    """
    arr = _chains(x)
    return min(_ess_raw(_split(arr <= np.quantile(arr, p)).astype(float)) for p in (0.05, 0.95))


def mcse_mean(x: np.ndarray) -> float:
    """Monte Carlo standard error of the posterior mean: ``sd / sqrt(ESS)`` (split chains).

    Parameters
    ----------
    x : numpy.ndarray
        Draws of one parameter, shape ``(chains, draws)``.

    Returns
    -------
    float
        MCSE of the mean.
    """
    arr = _chains(x)
    return float(arr.std(ddof=1) / np.sqrt(_ess_raw(_split(arr))))


def mcse_sd(x: np.ndarray) -> float:
    """Monte Carlo standard error of the posterior SD (ArviZ >= 0.17 / *posterior*).

    Uses the delta method on the variance, with the ESS of the squared centred draws.

    Parameters
    ----------
    x : numpy.ndarray
        Draws of one parameter, shape ``(chains, draws)``.

    Returns
    -------
    float
        MCSE of the SD (NaN for a constant parameter).
    """
    arr = _chains(x)
    sq = (arr - arr.mean()) ** 2
    evar = sq.mean()
    varvar = ((sq**2).mean() - evar**2) / _ess_raw(_split(sq))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt(varvar / evar / 4))


# --------------------------------------------------------------------------- summary
def _per_chain(arr: np.ndarray, fn) -> np.ndarray:
    try:
        if arr.shape[1] < MIN_CODA_DRAWS:
            raise MMDataError("chains too short")
        return np.array([fn(chain) for chain in arr])
    except MMDataError:  # too short for coda's diagnostics: reported as NaN
        return np.full(arr.shape[0], np.nan)


def _coda_columns(arr: np.ndarray, lag: int) -> tuple[float, float, float]:
    """Geweke z, HW p and autocorrelation of (chains, draws) draws, chain by chain (coda)."""
    z = _per_chain(arr, geweke_z)
    hw = _per_chain(arr, lambda c: heidel_welch(c)["stationarity_p"])
    ac = [autocorr(c, int(lag)) for c in arr] if lag < arr.shape[1] else [np.nan]
    with np.errstate(all="ignore"):
        zmax = z[np.nanargmax(np.abs(z))] if np.isfinite(z).any() else np.nan
    return (
        float(zmax),
        float(np.nanmin(hw)) if np.isfinite(hw).any() else np.nan,
        float(np.nanmean(ac)) if np.isfinite(ac).any() else np.nan,
    )


def _ensemble_columns(x: np.ndarray, lag: int) -> tuple[float, float, float]:
    """Geweke z, HW p and autocorrelation of (chains, steps, walkers) draws."""
    steps = x.shape[1]
    z = geweke_ensemble(x) if steps >= 3 and x.shape[0] * x.shape[2] >= 2 else np.nan
    hw = heidel_welch_ensemble(x)["stationarity_p"] if steps >= MIN_CODA_DRAWS else np.nan
    return z, hw, autocorr_ensemble(x, int(lag))


def summarize(draws: dict[str, np.ndarray], lag: int = 50, alpha: float = 0.05) -> pd.DataFrame:
    """Posterior summary and convergence diagnostics, one row per parameter.

    Parameters
    ----------
    draws : dict of str to numpy.ndarray
        Parameter name to draws of shape ``(chains, draws)`` (one sampler per chain) or
        ``(chains, steps, walkers)`` (an ensemble run, see below).
    lag : int
        Lag for the autocorrelation column (in draws, or in steps of an ensemble run).
    alpha : float
        The interval is the equal-tailed ``1 - alpha`` credible interval.

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter (index name ``"parameter"``) with columns ``mean``, ``sd``,
        ``mcse_mean``, ``mcse_sd``, ``lower`` (``alpha/2`` quantile), ``median``, ``upper``
        (``1 - alpha/2`` quantile), ``rhat``, ``ess_bulk``, ``ess_tail``, ``geweke_z``,
        ``hw_p``, ``autocorr_lag{lag}``. ``df.attrs["prob"]`` holds ``1 - alpha``.

        For ``(chains, draws)`` arrays, ``geweke_z`` is computed per chain and the signed
        z of the chain with the largest ``|z|`` is reported (bml averages over chains, which
        lets opposite drifts cancel); ``hw_p`` is the smallest Heidelberger--Welch p-value
        over chains; the autocorrelation is the mean over chains (as bml). These three are
        NaN when chains are too short for them (fewer than 10 draws; Geweke needs 5 draws in
        its first window, i.e. about 41 draws), the autocorrelation also when
        ``lag >= draws``.

        For ``(chains, steps, walkers)`` arrays (``df.attrs["convention"] ==
        "ensemble"``), R-hat, ESS and MCSE are those of the split-walker layout
        (:func:`ensemble_order`, exactly what ArviZ computes on
        ``MCMCResults.to_inference_data()``), and ``geweke_z``, ``hw_p`` and the
        autocorrelation are :func:`geweke_ensemble`, :func:`heidel_welch_ensemble` (NaN
        below 10 steps) and :func:`autocorr_ensemble` (NaN when ``lag >= steps``;
        ``df.attrs["note"]`` then says so).
    """
    if not 0 < alpha < 1:
        raise MMSpecError(f"summarize: alpha={alpha} must lie in (0, 1), e.g. alpha=0.05.")
    if not (isinstance(lag, int | np.integer) and lag >= 0):
        raise MMSpecError(f"summarize: lag={lag!r} must be a non-negative integer, e.g. 50.")
    if not draws:
        raise MMDataError("summarize: `draws` is empty; pass {parameter name: draws array}.")
    rows = {}
    ensemble = False
    for name, x in draws.items():
        if np.ndim(x) == 3:
            ensemble = True
            x3 = np.asarray(x, dtype=float)
            arr = _chains(ensemble_order(x3), what=f"parameter {name!r}")
            zmax, hw, ac = _ensemble_columns(x3, lag)
        else:
            arr = _chains(x, what=f"parameter {name!r}")
            zmax, hw, ac = _coda_columns(arr, lag)
        flat = arr.ravel()
        rows[name] = {
            "mean": flat.mean(),
            "sd": flat.std(ddof=1),
            "mcse_mean": mcse_mean(arr),
            "mcse_sd": mcse_sd(arr),
            "lower": np.quantile(flat, alpha / 2),
            "median": np.median(flat),
            "upper": np.quantile(flat, 1 - alpha / 2),
            "rhat": rhat(arr),
            "ess_bulk": ess_bulk(arr),
            "ess_tail": ess_tail(arr),
            "geweke_z": zmax,
            "hw_p": hw,
            f"autocorr_lag{lag}": ac,
        }
    out = pd.DataFrame.from_dict(rows, orient="index").astype(float)
    out.index.name = "parameter"
    out.attrs["prob"] = 1 - alpha
    if ensemble:
        out.attrs["convention"] = "ensemble"
        steps = min(np.shape(x)[1] for x in draws.values() if np.ndim(x) == 3)
        if lag >= steps:
            out.attrs["note"] = (
                f"autocorr_lag{lag} is NaN: the run has {steps} steps per "
                f"chain; choose lag < {steps} or run longer."
            )
        if steps < MIN_CODA_DRAWS:
            out.attrs["note"] = (
                out.attrs.get("note", "") + f" hw_p needs at least "
                f"{MIN_CODA_DRAWS} steps per chain (the run has {steps})."
            ).strip()
    return out
