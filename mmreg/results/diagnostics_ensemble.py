"""Diagnostics of ensemble-sampler runs (emcee): one convention for every number.

Part of :mod:`mmreg.results.diagnostics` (which re-exports everything here). An ensemble
run has draws of shape ``(chains, steps, walkers)``: each *chain* is one independent
ensemble of ``walkers`` interacting walkers. The convention (see ``docs/inference.md``,
"Diagnostics of an ensemble run"):

* a **chain** is one ensemble; walkers are not chains (they interact and are far too short
  for split-R̂ on their own);
* the draws of a chain are laid out in **split-walker order** (:func:`ensemble_order`): the
  first half of the steps walker by walker, then the second half walker by walker. The
  rank-normalised split-R̂, bulk/tail ESS and MCSE of :mod:`mmreg.results.diagnostics`
  (ArviZ's formulas) applied to this layout compare the two time halves of every ensemble
  and see each walker's autocorrelation along its steps. Interleaving walkers within a
  step instead puts nearly independent walkers next to each other and overstates the ESS
  by the walkers' autocorrelation time (8-18x in the simulations of ``docs/inference.md``);
* Geweke, Heidelberger--Welch and the autocorrelation at a lag work on ensemble steps and
  use the walkers as replicates (:func:`geweke_ensemble`, :func:`heidel_welch_ensemble`,
  :func:`autocorr_ensemble`), so they are calibrated however short the walkers are.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from mmreg.errors import MMDataError, MMSpecError
from mmreg.results.diagnostics_coda import second_half, stationarity

__all__ = [
    "ensemble_order",
    "ensemble_positions",
    "geweke_ensemble",
    "heidel_welch_ensemble",
    "autocorr_ensemble",
]


def _ensemble(x: object, what: str = "x", min_steps: int = 2) -> np.ndarray:
    """Return ``x`` as a finite float array of shape (chains, steps, walkers)."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MMDataError(f"draws of {what} must be numeric; got {type(x).__name__}") from exc
    if arr.ndim != 3 or 0 in arr.shape:
        raise MMDataError(
            f"draws of {what} must have shape (chains, steps, walkers); got {arr.shape}."
        )
    if arr.shape[1] < min_steps:
        raise MMDataError(
            f"draws of {what} have {arr.shape[1]} steps; at least {min_steps} are needed — "
            "run the sampler longer (more draws=)."
        )
    if not np.all(np.isfinite(arr)):
        raise MMDataError(
            f"draws of {what} contain NaN or infinite values; the sampler failed for this "
            "parameter — check the model and starting values."
        )
    return arr


def ensemble_positions(steps: int, walkers: int) -> tuple[np.ndarray, np.ndarray]:
    """Step and walker of every draw of a chain in split-walker order.

    Parameters
    ----------
    steps, walkers : int
        Steps per chain and walkers per ensemble.

    Returns
    -------
    tuple of numpy.ndarray
        ``(step, walker)``, each of length ``steps * walkers``: the first ``steps // 2``
        steps of walker 0, of walker 1, ..., then (for an odd number of steps) the middle
        step walker by walker, then the last ``steps // 2`` steps of walker 0, 1, ...

    Examples
    --------
    >>> step, walker = ensemble_positions(4, 2)
    >>> step.tolist(), walker.tolist()
    ([0, 1, 0, 1, 2, 3, 2, 3], [0, 0, 1, 1, 0, 0, 1, 1])
    """
    half = steps // 2
    s = np.arange(steps)
    w = np.arange(walkers)
    first = (np.repeat(w, half), np.tile(s[:half], walkers))
    middle = (w, np.full(walkers, half)) if steps % 2 else (w[:0], s[:0])
    last = (np.repeat(w, half), np.tile(s[steps - half :], walkers))
    walker = np.concatenate([first[0], middle[0], last[0]])
    step = np.concatenate([first[1], middle[1], last[1]])
    return step, walker


def ensemble_order(x: np.ndarray) -> np.ndarray:
    """Lay out ensemble draws as (chains, steps × walkers) in split-walker order.

    Parameters
    ----------
    x : numpy.ndarray
        Draws of shape ``(chains, steps, walkers, ...)`` (trailing axes are kept).

    Returns
    -------
    numpy.ndarray
        Shape ``(chains, steps * walkers, ...)``; the order is :func:`ensemble_positions`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(8).reshape(1, 4, 2)  # value = 2 * step + walker
    >>> ensemble_order(x).tolist()
    [[0, 2, 1, 3, 4, 6, 5, 7]]
    """
    x = np.asarray(x)
    step, walker = ensemble_positions(x.shape[1], x.shape[2])
    return x[:, step, walker]


def geweke_ensemble(x: np.ndarray, first: float = 0.1, last: float = 0.5) -> float:
    """Geweke's comparison of early and late means, with the walkers as replicates.

    For every walker of every chain, ``d`` is the mean of its first ``first`` fraction of
    steps minus the mean of its last ``last`` fraction (coda's windows, on steps). Walkers
    are exchangeable replicates, so ``mean(d) / (sd(d) / sqrt(N))`` is Student-t with
    ``N - 1`` degrees of freedom under stationarity (``N`` walkers in all) whatever the
    autocorrelation along the walkers; it is returned as the equivalent standard-normal z
    (same two-sided p-value). coda's spectral Geweke on one short walker over-rejects badly.

    Parameters
    ----------
    x : numpy.ndarray
        Draws of one parameter, shape ``(chains, steps, walkers)``; at least 3 steps and
        2 walkers in all.
    first, last : float
        Fractions of the steps in the two windows; ``first + last <= 1``.

    Returns
    -------
    float
        z-score (N(0, 1) for a stationary run); NaN when every walker has the same ``d``.
    """
    if not (0 < first < 1 and 0 < last < 1 and first + last <= 1):
        raise MMSpecError(
            f"geweke_ensemble: first={first} and last={last} must lie in (0, 1) with "
            "first + last <= 1; use e.g. first=0.1, last=0.5."
        )
    arr = _ensemble(x, min_steps=3)
    n = arr.shape[1]
    a = arr[:, : math.ceil(1 + first * (n - 1))]
    b = arr[:, math.floor(n - last * (n - 1)) - 1 :]
    d = (a.mean(axis=1) - b.mean(axis=1)).ravel()
    if d.size < 2:
        raise MMDataError("geweke_ensemble: needs at least 2 walkers in all.")
    sd = d.std(ddof=1)
    if not sd > 0:
        return float("nan")
    t = d.mean() / (sd / math.sqrt(d.size))
    p_half = stats.t.sf(abs(t), d.size - 1)
    return float(math.copysign(stats.norm.isf(p_half), t))


def heidel_welch_ensemble(x: np.ndarray, pvalue: float = 0.05) -> dict:
    """Heidelberger--Welch stationarity test of an ensemble run.

    As coda's ``heidel.diag`` (Schruben's Cramér--von Mises test of the standardised partial
    sums, discarding the first 0%, 10%, ..., 40% of the steps until it passes), applied to
    the series of step means over all walkers of all chains. The spectral density at zero
    of that series comes from the walkers as replicates (``n * var(walker means over the
    second half) / N``) instead of an AR fit on a short series.

    Parameters
    ----------
    x : numpy.ndarray
        Draws of one parameter, shape ``(chains, steps, walkers)``; at least 10 steps.
    pvalue : float
        Level of the stationarity test.

    Returns
    -------
    dict
        ``stationarity_p`` (p-value of the last test done), ``passed_stationarity`` and
        ``start`` (first retained step, None when the test failed).
    """
    if not 0 < pvalue < 1:
        raise MMSpecError(f"heidel_welch_ensemble: pvalue={pvalue} must lie in (0, 1).")
    arr = _ensemble(x, min_steps=10)
    by_step = arr.reshape(arr.shape[0], arr.shape[1], -1)
    walkers = np.moveaxis(by_step, 1, 2).reshape(-1, arr.shape[1])  # (N, steps)
    n_walkers, n_all = walkers.shape
    m = walkers.mean(axis=0)
    second = walkers[:, second_half(n_all) :]
    s0 = second.shape[1] * second.mean(axis=1).var(ddof=1) / n_walkers if n_walkers > 1 else 0
    p, converged, start = stationarity(m, s0, pvalue)
    return dict(
        stationarity_p=p, passed_stationarity=converged, start=int(start) if converged else None
    )


def autocorr_ensemble(x: np.ndarray, lag: int) -> float:
    """Autocorrelation at ``lag`` ensemble steps, pooled over walkers and chains.

    ``sum (x[c, t, w] - m_c)(x[c, t + lag, w] - m_c) / sum (x[c, t, w] - m_c)^2`` with
    ``m_c`` the mean of chain ``c`` (R's ``acf`` for one walker; pooling keeps it defined
    and stable for short walkers).

    Parameters
    ----------
    x : numpy.ndarray
        Draws of one parameter, shape ``(chains, steps, walkers)``.
    lag : int
        Lag in steps, ``0 <= lag``.

    Returns
    -------
    float
        The autocorrelation; NaN when ``lag >= steps`` (the run is too short for that
        lag) or the parameter is constant.
    """
    if not (isinstance(lag, int | np.integer) and lag >= 0):
        raise MMSpecError(f"autocorr_ensemble: lag={lag!r} must be a non-negative integer.")
    arr = _ensemble(x, min_steps=1)
    if lag >= arr.shape[1]:
        return float("nan")
    dev = arr - arr.mean(axis=(1, 2), keepdims=True)
    den = np.sum(dev * dev)
    if not den > 0:
        return float("nan")
    return float(np.sum(dev[:, : dev.shape[1] - lag] * dev[:, lag:]) / den)
