"""WAIC and PSIS-LOO from a (draws × observations) matrix of pointwise log-likelihoods.

Both follow Vehtari, Gelman & Gabry (2017), "Practical Bayesian model evaluation using
leave-one-out cross-validation and WAIC", and the Pareto-smoothing of Vehtari et al. (2024),
with the generalized-Pareto fit of Zhang & Stephens (2009) — the same algorithm as the
``loo`` R package and ArviZ (optional here, so it is implemented in ~60 lines).
Values are on the deviance scale (−2 × elpd), like DIC.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

__all__ = ["waic", "psis_loo", "gpd_fit", "dic", "mc_digits"]


def waic(ll: np.ndarray) -> dict[str, float]:
    """WAIC of a (S, n) pointwise log-likelihood matrix."""
    S = ll.shape[0]
    lppd = logsumexp(ll, axis=0) - np.log(S)
    p = ll.var(axis=0, ddof=1)
    elpd = lppd - p
    return {"waic": float(-2 * elpd.sum()), "p_waic": float(p.sum()),
            "se": float(2 * np.sqrt(len(elpd) * elpd.var(ddof=1)))}


def gpd_fit(x: np.ndarray) -> tuple[float, float]:
    """Zhang–Stephens estimate (k, σ) of a generalized Pareto for sorted exceedances ``x``,
    with the weakly informative prior on k used by PSIS."""
    n = len(x)
    m = 30 + int(np.sqrt(n))
    b = 1 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))
    b = b / (3 * x[int(n / 4 + 0.5) - 1]) + 1 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    ls = n * (np.log(-(b / k)) - k - 1)
    w = 1 / np.exp(ls - ls[:, None]).sum(axis=1)
    w = np.where(w >= 10 * np.finfo(float).eps, w, 0)
    w /= w.sum()
    bp = float(np.sum(b * w))
    kp = float(np.log1p(-bp * x).mean())
    sigma = -kp / bp
    kp = (n * kp + 10 * 0.5) / (n + 10)
    return kp, sigma


def _psis_smooth(lw: np.ndarray) -> tuple[np.ndarray, float]:
    S = len(lw)
    lw = lw - lw.max()
    M = int(np.ceil(min(0.2 * S, 3 * np.sqrt(S))))
    order = np.argsort(lw)
    cutoff = lw[order[-M - 1]]
    tail = order[-M:]
    x = np.exp(lw[tail]) - np.exp(cutoff)
    if M < 5 or np.all(x <= 0):
        return lw, np.inf if M < 5 else 0.0
    with np.errstate(all="ignore"):
        k, sigma = gpd_fit(np.sort(x))
    if not (np.isfinite(k) and np.isfinite(sigma) and sigma > 0):
        # degenerate tail (e.g. repeated draws): no smoothing, flag with k = inf
        return lw, np.inf
    p = (np.arange(1, M + 1) - 0.5) / M
    q = sigma * ((1 - p) ** (-k) - 1) / k if abs(k) > 1e-12 else -sigma * np.log1p(-p)
    smoothed = np.log(q + np.exp(cutoff))
    out = lw.copy()
    out[tail] = np.minimum(smoothed, 0.0)
    return out, k


def psis_loo(ll: np.ndarray) -> dict[str, float]:
    """PSIS-LOO of a (S, n) pointwise log-likelihood matrix."""
    S, n = ll.shape
    elpd = np.empty(n)
    ks = np.empty(n)
    for i in range(n):
        lw, ks[i] = _psis_smooth(-ll[:, i])
        elpd[i] = logsumexp(lw + ll[:, i]) - logsumexp(lw)
    lppd = logsumexp(ll, axis=0) - np.log(S)
    return {"loo": float(-2 * elpd.sum()), "p_loo": float((lppd - elpd).sum()),
            "se": float(2 * np.sqrt(n * elpd.var(ddof=1))), "max_k": float(ks.max()),
            "n_bad_k": int(np.sum(ks > 0.7))}


def dic(dev: np.ndarray) -> tuple[float, float]:
    """DIC = mean(D) + var(D)/2 of deviance draws and its Monte Carlo standard error.

    Parameters
    ----------
    dev : ndarray, shape (chains, steps, walkers)
        Deviance ``-2 log p(y | θ)`` of every kept draw, in the sampler's layout.

    Returns
    -------
    dic, se : float
        ``se`` is the batch-means MC standard error of DIC.  DIC is (up to the ``ddof`` of
        the variance, O(1/draws)) the mean of ``g = D + (D - D̄)²/2``; every ensemble step
        is one draw of ``g`` averaged over the walkers (walkers of one step are not
        independent of the previous steps, so they are not counted separately), each chain
        is cut into ``⌊√steps⌋`` consecutive batches, and ``se = sd(batch means)/√batches``.
        NaN when there are fewer than 2 batches.

    Examples
    --------
    Independent draws ``D = 100 + 2Z``: ``g = D + 2Z²`` has variance 4 + 8 = 12, so the
    SE is √(12/4000) ≈ 0.055 (over 400 such data sets the SD of DIC is 0.055 and the mean
    ``se`` 0.054; with lag-1 autocorrelation 0.8-0.9 of the steps ``se`` is 10-20% low):

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> d, se = dic(100 + 2 * rng.standard_normal((2, 100, 20)))
    >>> round(d, 1), 0.035 < se < 0.075
    (102.0, True)
    """
    dev = np.asarray(dev, dtype=float)
    if dev.ndim != 3:
        raise ValueError(f"dev must have shape (chains, steps, walkers), got {dev.shape}")
    flat = dev.reshape(-1)
    value = float(flat.mean() + flat.var(ddof=1) / 2)
    g = dev + (dev - flat.mean()) ** 2 / 2
    series = g.mean(axis=2)  # (chains, steps)
    C, S = series.shape
    b = int(np.sqrt(S))
    if C * b < 2:
        return value, float("nan")
    L = S // b
    means = series[:, S - b * L:].reshape(C, b, L).mean(axis=2).reshape(-1)
    return value, float(means.std(ddof=1) / np.sqrt(len(means)))


def mc_digits(se: float, most: int = 3) -> int:
    """Decimals to print a Monte Carlo estimate with standard error ``se``: two
    significant digits of ``se`` (0 decimals for se ≥ 10, 2 for se = 0.35), at most ``most``.

    Examples
    --------
    >>> mc_digits(12.0), mc_digits(1.2), mc_digits(0.35), mc_digits(1e-9), mc_digits(float("nan"))
    (0, 1, 2, 3, 3)
    """
    if not (np.isfinite(se) and se > 0):
        return most
    return int(min(most, max(0, 1 - np.floor(np.log10(se)))))
