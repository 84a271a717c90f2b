"""coda-style diagnostics for one chain: spectral density at zero, Geweke, Heidelberger--Welch.

Part of :mod:`mmreg.results.diagnostics` (which re-exports everything here); split off to
keep modules short. The functions follow R's *coda* 0.19-4 and were checked against it
number for number (see ``tests/results/test_diagnostics.py``):

* :func:`spectrum0_ar` is coda's ``spectrum0.ar`` (AR(p) by Yule--Walker, AIC order);
* :func:`geweke_z` is ``geweke.diag``; :func:`heidel_welch` is ``heidel.diag``, with the
  one deliberate difference documented in :func:`pcramer`;
* :func:`autocorr` is ``autocorr`` (R's ``acf``); :func:`hpd_interval` is ``HPDinterval``.
"""

from __future__ import annotations

import math

import numpy as np
from emcee.autocorr import function_1d
from scipy import special
from statsmodels.tsa.stattools import levinson_durbin

from mmreg.errors import MMDataError, MMSpecError

__all__ = [
    "second_half",
    "stationarity",
    "spectrum0_ar",
    "geweke_z",
    "pcramer",
    "heidel_welch",
    "autocorr",
    "hpd_interval",
]

MIN_CODA_DRAWS = 10  # geweke / heidel-welch need windows long enough for an AR fit


def _series(x: object, what: str = "x", min_len: int = MIN_CODA_DRAWS) -> np.ndarray:
    """Return ``x`` as a finite 1-d float array of at least ``min_len`` values."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise MMDataError(
            f"{what} must be one chain (a 1-d array); got shape {arr.shape}. "
            "Call the function once per chain."
        )
    if arr.size < min_len:
        raise MMDataError(f"{what} has {arr.size} draws; at least {min_len} are needed.")
    if not np.all(np.isfinite(arr)):
        raise MMDataError(f"{what} contains NaN or infinite values; drop or fix those draws.")
    return arr


def _spectrum0_ar(y: np.ndarray) -> tuple[float, int]:
    """coda's spectrum0.ar for one series: (spectral density at 0, selected AR order)."""
    n = y.size
    t = np.arange(1.0, n + 1)
    resid = y - np.polynomial.polynomial.Polynomial.fit(t, y, 1)(t)
    if resid.std(ddof=1) <= 1.5e-8:  # R: all.equal(sd(residuals), 0)
        return 0.0, 0
    if np.ptp(y) <= 4 * np.finfo(float).eps * np.abs(y).max():
        # constant up to rounding (e.g. a stuck walker at 1e8, whose fitted-line residuals
        # are rounding noise above coda's absolute 1.5e-8): no variability to estimate
        return 0.0, 0
    order_max = max(1, min(n - 2, int(math.floor(10 * math.log10(n)))))  # R: n - 1
    acov = function_1d(y)[: order_max + 1] * y.var()
    res = levinson_durbin(acov, nlags=order_max, isacov=True)
    var_pred = np.concatenate([[acov[0]], res.sigma[1:]])
    with np.errstate(divide="ignore", invalid="ignore"):
        aic = n * np.log(var_pred) + 2.0 * np.arange(order_max + 1)
    if not np.any(np.isfinite(aic)):
        return float("nan"), 0
    order = int(np.nanargmin(aic))
    coefs = res.phi[1 : order + 1, order]
    sigma2 = var_pred[order] * n / (n - (order + 1))
    return float(sigma2 / (1.0 - coefs.sum()) ** 2), order


def spectrum0_ar(x_1d: np.ndarray) -> float:
    """Spectral density at frequency zero from an AR fit (coda's ``spectrum0.ar``).

    As R's ``ar(x, aic=TRUE)``: Yule--Walker fit (Levinson--Durbin on the biased
    autocovariances, via statsmodels) of every order up to ``min(n - 1, 10 log10 n)``, the
    order chosen by AIC, innovation variance scaled by ``n / (n - order - 1)``; the result is
    ``sigma^2 / (1 - sum(phi))^2`` so that ``spectrum0_ar(x) / n`` estimates
    ``Var(mean(x))``. A series that is exactly linear in time gets 0, as in coda.

    Parameters
    ----------
    x_1d : numpy.ndarray
        One chain (at least 10 draws).

    Returns
    -------
    float
        Estimated spectral density at zero.
    """
    return _spectrum0_ar(_series(x_1d, "x_1d"))[0]


def geweke_z(x_1d: np.ndarray, first: float = 0.1, last: float = 0.5) -> float:
    """Geweke's convergence z-score (coda's ``geweke.diag``) for one chain.

    Compares the mean of the first ``first`` and the last ``last`` fraction of the chain,
    with variances from :func:`spectrum0_ar`. Windows are coda's: iterations
    ``1 .. ceil(1 + first (n - 1))`` and ``floor(n - last (n - 1)) .. n``.

    Parameters
    ----------
    x_1d : numpy.ndarray
        One chain (at least 10 draws).
    first, last : float
        Fractions of the chain in the first and last window; ``first + last <= 1``.

    Returns
    -------
    float
        The z-score; approximately N(0, 1) for a stationary chain. NaN for a constant chain.

    Notes
    -----
    With short chains the AR variance of the short first window is biased low and the
    test is anti-conservative (about 8% of iid chains of 500 draws have ``|z| > 1.96``;
    about 5% at 5000 draws), as in coda.
    """
    if not (0 < first < 1 and 0 < last < 1 and first + last <= 1):
        raise MMSpecError(
            f"geweke_z: first={first} and last={last} must lie in (0, 1) with first + last "
            "<= 1 (the windows may not overlap); use e.g. first=0.1, last=0.5."
        )
    y = _series(x_1d, "x_1d")
    n = y.size
    a = y[: math.ceil(1 + first * (n - 1))]
    b = y[math.floor(n - last * (n - 1)) - 1 :]
    if min(a.size, b.size) < 5:
        raise MMDataError(
            f"geweke_z: a chain of {n} draws leaves {min(a.size, b.size)} draws in a window "
            f"(first={first}, last={last}); at least 5 are needed — run longer chains."
        )
    var = _spectrum0_ar(a)[0] / a.size + _spectrum0_ar(b)[0] / b.size
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((a.mean() - b.mean()) / np.sqrt(var))


def pcramer(q: float | np.ndarray) -> np.ndarray:
    """Asymptotic distribution function of the Cramér--von Mises statistic.

    Anderson & Darling's (1952) series
    ``sum_k Gamma(k + 1/2) sqrt(4k + 1) / (Gamma(k + 1) pi^(3/2) sqrt(q))
    exp(-u_k) K_{1/4}(u_k)``, ``u_k = (4k + 1)^2 / (16 q)``, summed until the terms are
    below 1e-12. coda's ``pcramer`` keeps only the first four terms: that agrees with this
    to better than 1e-6 for ``q <= 3`` (every p-value above 1e-5), but coda's truncated sum
    is not monotone and falls back below 0.95 for ``q > ~30``, so coda's ``heidel.diag``
    *passes* grossly non-stationary chains; the converged series used here does not.
    scipy.stats has no public asymptotic CvM distribution (``scipy.stats.cramervonmises``
    uses the finite-sample one), so the series is coded here.

    Parameters
    ----------
    q : float or numpy.ndarray
        Quantiles.

    Returns
    -------
    numpy.ndarray
        ``P(W^2 <= q)`` (0 for ``q <= 0``).
    """
    q = np.asarray(q, dtype=float)
    qpos = np.where(q > 0, q, 1.0)
    total = np.zeros_like(qpos)
    for k in range(1000):
        u = (4 * k + 1) ** 2 / (16 * qpos)
        coef = np.exp(special.gammaln(k + 0.5) - special.gammaln(k + 1.0))
        term = coef * np.sqrt(4 * k + 1) / (np.pi**1.5 * np.sqrt(qpos))
        term = term * special.kve(0.25, u) * np.exp(-2 * u)  # exp(-u) K(u)
        total = total + term
        if k >= 3 and np.all(np.abs(term) < 1e-12):
            break
    return np.where(q > 0, np.clip(total, 0.0, 1.0), 0.0)


def second_half(n_all: int) -> int:
    """Index of the first draw of the second half of ``n_all`` draws (coda's rule)."""
    return math.ceil(n_all / 2 - 1e-5) - 1


def stationarity(y: np.ndarray, s0: float, pvalue: float) -> tuple[float, bool, int]:
    """Schruben's Cramér--von Mises test of ``heidel.diag``, after discarding the first 0%,
    10%, ..., 40% of ``y`` until it passes.

    Parameters
    ----------
    y : numpy.ndarray
        The series tested.
    s0 : float
        Its spectral density at frequency 0 (how it is estimated is the caller's choice).
    pvalue : float
        Level of the test.

    Returns
    -------
    (float, bool, int)
        p-value of the last test done, whether it passed, and the first retained index.
    """
    n_all = y.size
    n_steps = math.floor((n_all / 2 - 1) / (n_all / 10) + 1e-10)
    converged, stat, start = False, np.nan, 0
    for k in range(n_steps + 1):
        start = math.ceil(1 + k * n_all / 10 - 1e-5) - 1
        kept = y[start:]
        n = kept.size
        b = np.cumsum(kept) - kept.mean() * np.arange(1, n + 1)
        stat = np.sum(b * b) / (n * s0) / n if s0 > 0 else np.nan
        converged = bool(np.isfinite(stat) and pcramer(stat) < 1 - pvalue)
        if converged:
            break
    p = float(1 - pcramer(stat)) if np.isfinite(stat) else np.nan
    return p, converged, start


def heidel_welch(x_1d: np.ndarray, eps: float = 0.1, pvalue: float = 0.05) -> dict:
    """Heidelberger--Welch stationarity and half-width test (coda's ``heidel.diag``).

    Schruben's Cramér--von Mises test on the standardised partial sums (spectral density
    from :func:`spectrum0_ar` of the second half), applied after discarding the first 0%,
    10%, ..., 40% of the chain until it passes; then the half-width test of the mean on the
    retained part. The p-value uses :func:`pcramer`.

    Parameters
    ----------
    x_1d : numpy.ndarray
        One chain (at least 10 draws).
    eps : float
        Target relative half-width (``1.96 sqrt(S0 / n) / |mean| <= eps``).
    pvalue : float
        Level of the stationarity test.

    Returns
    -------
    dict
        ``stationarity_p`` (p-value of the last test done), ``passed_stationarity`` (bool),
        ``start`` (0-based index of the first retained draw — coda's start iteration
        minus 1 — or None when the test failed), ``halfwidth_passed`` (bool, or None when
        stationarity failed), ``mean`` and ``halfwidth`` of the retained draws (NaN when
        stationarity failed), as coda.
    """
    if not (0 < pvalue < 1) or eps <= 0:
        raise MMSpecError(
            f"heidel_welch: pvalue={pvalue} must lie in (0, 1) and eps={eps} must be > 0."
        )
    y = _series(x_1d, "x_1d")
    s0 = _spectrum0_ar(y[second_half(y.size) :])[0]
    p, converged, start = stationarity(y, s0, pvalue)
    kept = y[start:]
    if not converged:
        return dict(
            stationarity_p=p,
            passed_stationarity=False,
            start=None,
            halfwidth_passed=None,
            mean=np.nan,
            halfwidth=np.nan,
        )
    mean = float(kept.mean())
    halfwidth = 1.96 * math.sqrt(_spectrum0_ar(kept)[0] / kept.size)
    return dict(
        stationarity_p=p,
        passed_stationarity=True,
        start=int(start),
        halfwidth_passed=bool(abs(halfwidth / mean) <= eps) if mean != 0 else False,
        mean=mean,
        halfwidth=halfwidth,
    )


def autocorr(x_1d: np.ndarray, lag: int) -> float:
    """Sample autocorrelation of one chain at ``lag`` (coda's ``autocorr``, R's ``acf``).

    Parameters
    ----------
    x_1d : numpy.ndarray
        One chain.
    lag : int
        Lag, ``0 <= lag < len(x_1d)``.

    Returns
    -------
    float
        ``sum_t (x_t - m)(x_{t+lag} - m) / sum_t (x_t - m)^2``; NaN for a constant chain.
    """
    y = _series(x_1d, "x_1d", min_len=2)
    if not (isinstance(lag, int | np.integer) and 0 <= lag < y.size):
        raise MMSpecError(
            f"autocorr: lag={lag!r} must be an integer in [0, {y.size - 1}] for a chain of "
            f"{y.size} draws; choose a smaller lag."
        )
    if np.ptp(y) == 0:
        return float("nan")
    return float(function_1d(y)[lag])


def hpd_interval(samples_1d: np.ndarray, prob: float = 0.9) -> tuple[float, float]:
    """Highest posterior density interval: the shortest interval holding ``prob`` of the draws.

    coda's ``HPDinterval``: among the sorted draws, the pair ``(v[i], v[i + g])`` with
    ``g = round(n * prob)`` of smallest width.

    Parameters
    ----------
    samples_1d : numpy.ndarray
        Draws (any shape; flattened, so chains are pooled).
    prob : float
        Probability mass, in (0, 1).

    Returns
    -------
    tuple of float
        ``(lower, upper)``.
    """
    if not 0 < prob < 1:
        raise MMSpecError(f"hpd_interval: prob={prob} must lie in (0, 1), e.g. prob=0.9.")
    vals = np.sort(_series(np.ravel(samples_1d), "samples_1d", min_len=2))
    n = vals.size
    gap = max(1, min(n - 1, int(np.round(n * prob))))
    i = int(np.argmin(vals[gap:] - vals[: n - gap]))
    return float(vals[i]), float(vals[i + gap])
