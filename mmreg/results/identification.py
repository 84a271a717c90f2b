"""Is every parameter informed by the data?  One check for both fitting methods.

A Bayesian fit always returns numbers, even for a parameter the data say nothing about
(collinear covariates, a weight parameter that ``c = TRUE`` cancels, a weight variable that
is constant within every group, a full dummy set next to an intercept): its posterior is
then its prior.  Two checks make this visible as an :class:`~mmreg.MMWarning` naming the
parameters:

* before fitting, :func:`warn_collinear` looks for exact linear dependence among the
  columns of the fixed-effect design (main terms, aggregated ``vars()`` at the start weights,
  ``hm()`` covariates and fixed effects), after projecting out the intercept a family
  absorbs (Cox: a constant; conditional logit: one constant per choice set);
* after fitting, :func:`warn_uninformed` compares the posterior covariance of the parameters
  (Laplace: the curvature-based covariance; MCMC: the covariance of the draws) with the
  prior's.  In prior-standardised coordinates a direction whose posterior variance is at
  least :data:`RATIO` ² of its prior variance (posterior SD >= 90% of the prior SD; 80% for
  MCMC draws, :data:`RATIO_MCMC`, to allow for Monte Carlo error) is not informed by the
  data; the parameters that load on it are named.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mmreg.errors import MMWarning
from mmreg.priors import Fixed, Normal

__all__ = [
    "RATIO",
    "RATIO_MCMC",
    "identified",
    "prior_sd",
    "uninformed",
    "warn_collinear",
    "warn_uninformed",
]

#: posterior SD / prior SD at or above which the data are said not to inform a direction
RATIO = 0.9
#: the lowest bar for MCMC draws: a run estimates an SD with a relative Monte Carlo error
#: of about 1/sqrt(2 ESS) (5-10% for a short run) and under-explores a flat direction, so
#: the bar is RATIO lowered by two such errors, but never below this
RATIO_MCMC = 0.8
#: relative singular value below which design columns count as linearly dependent
RANK_TOL = 1e-9


def prior_sd(prior) -> float:
    """Standard deviation of a prior (NaN for a fixed value, inf when it has none).

    Parameters
    ----------
    prior : mmreg.priors.Prior

    Returns
    -------
    float
        Closed form for ``Normal``; otherwise the SD of 20,000 draws with a fixed seed (heavy
        tails give a large value, so such parameters are effectively never flagged).
    """
    if isinstance(prior, Fixed):
        return float("nan")
    if isinstance(prior, Normal):
        return float(prior.sd)
    try:
        x = np.asarray(prior.sample(np.random.default_rng(0), 20000), dtype=float)
    except (NotImplementedError, TypeError, ValueError):
        return float("inf")
    sd = float(np.std(x))
    return sd if np.isfinite(sd) else float("inf")


def uninformed(cov: pd.DataFrame, sds: pd.Series, ratio: float = RATIO) -> dict[str, float]:
    """Parameters on directions whose posterior spread is (nearly) the prior's.

    Parameters
    ----------
    cov : pandas.DataFrame
        Posterior covariance, indexed and labelled by parameter name.
    sds : pandas.Series
        Prior SD of each parameter of ``cov`` (finite, positive).
    ratio : float
        Posterior/prior SD at or above which a direction counts as uninformed.

    Returns
    -------
    dict
        Parameter name -> posterior/prior SD ratio of the least informed direction it loads
        on (loading² >= 0.1), in the order of ``cov``; empty when the data inform everything.
    """
    names = list(cov.index)
    d = sds.reindex(names).to_numpy(float)
    C = cov.to_numpy(float)
    if not names or not np.all(np.isfinite(C)):
        return {}
    S = C / np.outer(d, d)
    vals, vecs = np.linalg.eigh(0.5 * (S + S.T))
    out: dict[str, float] = {}
    for lam, v in zip(vals, vecs.T, strict=True):
        if lam >= ratio**2:
            for j in np.flatnonzero(v**2 >= 0.1):
                out[names[j]] = max(out.get(names[j], 0.0), float(np.sqrt(lam)))
    for j in np.flatnonzero(np.diag(S) >= ratio**2):
        out[names[j]] = max(out.get(names[j], 0.0), float(np.sqrt(S[j, j])))
    return {n: out[n] for n in names if n in out}


def warn_uninformed(res) -> dict[str, float]:
    """After a fit: warn (MMWarning) about parameters whose posterior is their prior.

    Parameters
    ----------
    res : LaplaceResults or MCMCResults

    Returns
    -------
    dict
        What :func:`uninformed` found (parameter -> SD ratio).
    """
    model = res.model
    names = [n for n in res.params.index if n in model.priors]
    sds = pd.Series({n: prior_sd(model.priors[n]) for n in names})
    names = [n for n in names if np.isfinite(sds[n]) and sds[n] > 0]
    if not names:
        return {}
    cov = res.posterior_cov(names)
    ratio = RATIO
    if res.exact_posterior:  # MCMC: allow for two Monte Carlo errors of the SD ratio
        ess = float(np.nanmin(res.mcmc_diag(names)["ess_bulk"].to_numpy(float)))
        ratio = max(RATIO_MCMC, RATIO - 2.0 / np.sqrt(2.0 * max(ess, 1.0)))
    found = uninformed(cov, sds[names], ratio)
    reported = set(model.collinear)
    if found and not set(found) <= reported:
        what = ", ".join(f"{n} ({r:.2f})" for n, r in found.items())
        warnings.warn(
            f"the data do not inform parameter(s) {what}: the posterior SD along them is at "
            f"least {ratio:.0%} of the prior SD (ratio in brackets), so their estimates are "
            "their priors. Typical causes: collinear covariates, a weight parameter that "
            "c = TRUE cancels (e.g. b0 in w ~ exp(b0 + b1 * x)), a weight variable constant "
            "within every group, a full set of dummies. Remove the parameter, fix it "
            "(fix() or a Fixed prior), or give it an informative prior.",
            MMWarning,
            stacklevel=4,
        )
    return found


def _absorbed(D: np.ndarray, model) -> np.ndarray:
    """Project out the intercept a family absorbs (Cox: constant; clogit: per choice set)."""
    if model.bound_family.family.has_intercept:
        return D
    strata = model.design.outcome.get("strata")
    if strata is None:
        return D - D.mean(axis=0)
    s = np.asarray(strata)
    k = int(s.max()) + 1
    cnt = np.bincount(s, minlength=k)[:, None]
    means = np.zeros((k, D.shape[1]))
    np.add.at(means, s, D)
    return D - (means / np.maximum(cnt, 1))[s]


def warn_collinear(model) -> tuple[str, ...]:
    """Before a fit: warn (MMWarning) if fixed-effect columns are linearly dependent.

    The design is evaluated at the starting values of the weight parameters.  Columns with
    a ``Fixed`` prior are left out.

    Parameters
    ----------
    model : MMModel

    Returns
    -------
    tuple of str
        The coefficients in a dependence (empty if the design has full column rank).
    """
    names = list(model.design.coef_names)
    keep = [j for j, n in enumerate(names) if not isinstance(model.priors[n], Fixed)]
    if not keep:
        return ()
    try:
        u0 = model.posterior.start_values()
        D = model.latent.assemble(model.space.hyper(u0).theta)[0][:, keep]
    except (FloatingPointError, ValueError):
        return ()
    names = [names[j] for j in keep]
    raw_norms = np.linalg.norm(np.asarray(D, float), axis=0)
    D = _absorbed(np.asarray(D, float), model)
    if D.shape[0] < D.shape[1]:  # fewer groups than coefficients: pad to see every null vector
        D = np.vstack([D, np.zeros((D.shape[1] - D.shape[0], D.shape[1]))])
    norms = np.linalg.norm(D, axis=0)
    is_zero = ~(norms > RANK_TOL * raw_norms)  # all zero, or only rounding error left
    zero = [n for n, z in zip(names, is_zero, strict=True) if z]
    scale = np.where(is_zero, 1.0, norms)
    D[:, is_zero] = 0.0
    A = D / scale
    if A.shape[0] > A.shape[1]:  # same singular values from the small triangular factor
        A = np.linalg.qr(A, mode="r")  # type: ignore[assignment]  # mode "r": R only
    s, Vt = np.linalg.svd(A)[1:]
    null = Vt[s <= RANK_TOL * max(s.max(initial=0.0), 1.0)]
    combos, flagged = [], list(zero)
    for v in null:
        v = v / scale
        v = v / np.abs(v).max()
        idx = [j for j in np.flatnonzero(np.abs(v) >= 1e-6) if names[j] not in zero]
        if len(idx) < 2:
            continue
        top = sorted(idx, key=lambda j: -abs(v[j]))
        more = " ..." if len(top) > 6 else ""
        combos.append(" ".join(f"{v[j]:+.3g}*{names[j]}" for j in sorted(top[:6])) + more + " = 0")
        flagged += [names[j] for j in idx if names[j] not in flagged]
    if not flagged:
        return ()
    shown = ", ".join(flagged[:12]) + (
        f" and {len(flagged) - 12} more" if len(flagged) > 12 else ""
    )
    absorbed = (
        ""
        if model.bound_family.family.has_intercept
        else (" (after removing the intercept that the family absorbs)")
    )
    parts = []
    if zero:
        parts.append(f"{', '.join(zero)} is zero on every group{absorbed}")
    if combos:
        parts.append(
            f"the columns are collinear{absorbed}: {'; '.join(combos[:3])}"
            + (f" (and {len(combos) - 3} more)" if len(combos) > 3 else "")
        )
    warnings.warn(
        f"the fixed-effect design is rank deficient, so the data cannot separate "
        f"{shown}: {'; '.join(parts)}. Their estimates follow the priors; drop "
        "one term of each dependence (or use a reference level for a categorical).",
        MMWarning,
        stacklevel=4,
    )
    return tuple(flagged)


def identified(res):
    """Run :func:`warn_uninformed` on a fresh fit and return the fit (the hook of ``fit()``)."""
    warn_uninformed(res)
    return res
