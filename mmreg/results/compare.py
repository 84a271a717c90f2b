"""Model comparison by PSIS-LOO or WAIC: :func:`compare`.

Each fit contributes its pointwise log-likelihood (one value per group and draw):

* MCMC fits: every kept draw, in the chains of the run (the log-likelihood group of
  :meth:`~mmreg.results.mcmc_results.MCMCResults.to_inference_data`).
* Laplace fits: ``draws`` draws from the Laplace approximation of the posterior, as one
  chain (see :mod:`mmreg.results.draws`): hyperparameters importance-resampled from their
  Gaussian approximation by the Laplace marginal posterior (a warning says when that
  approximation is poor), latent effects from the Gaussian approximation of ``z | y, ψ``
  (exact for Gaussian models).  Fine for exploration; refit the finalists by MCMC.  The
  Pareto k diagnostics flag groups where the leave-one-out weights are unreliable.

With arviz installed, the table is ``arviz.compare`` on the exported InferenceData (same
numbers by construction).  Without it, the same quantities are computed here: PSIS with
relative efficiency 1 (arviz uses the posterior's mean relative ESS for multi-chain MCMC
exports, which changes only the length of the smoothed tail), WAIC, the elpd differences
and their SE from the pointwise differences, and stacking weights (Yao et al. 2018).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, minimize
from scipy.special import logsumexp

from mmreg.errors import MMSpecError, MMWarning
from mmreg.results.ic import loo_pointwise

__all__ = ["compare", "comparison_data", "fit_rows"]


def comparison_data(res, draws: int = 500, seed=0):
    """The InferenceData a fit takes into :func:`compare` (log-likelihood and posterior only).

    Parameters
    ----------
    res : MMResults
    draws : int
        Number of draws from the approximate posterior of a Laplace fit (ignored for MCMC).
    seed : int, optional
        Random state of those draws.
    """
    return res.to_inference_data(
        predictive=False, **({} if res.exact_posterior else {"draws": draws, "seed": seed})
    )


def _pointwise(res, draws: int, seed) -> np.ndarray:
    """(samples, groups) log-likelihood matrix of a fit, in the layout of the export."""
    if res.exact_posterior:
        ll = res.pointwise_loglik()
        return ll.reshape(-1, ll.shape[-1])
    from mmreg.results.draws import joint_draws, pointwise_loglik

    return pointwise_loglik(res.model, joint_draws(res, n=draws, seed=seed))


def _own_ic(ll: np.ndarray, ic: str) -> tuple[np.ndarray, float, bool]:
    """Pointwise elpd, effective number of parameters and a warning flag."""
    S = ll.shape[0]
    lppd_i = logsumexp(ll, axis=0) - np.log(S)
    if ic == "waic":
        p_i = ll.var(axis=0)  # ddof 0, as arviz
        return lppd_i - p_i, float(p_i.sum()), bool(np.any(p_i > 0.4))
    elpd_i, k = loo_pointwise(ll)
    good_k = min(1 - 1 / np.log10(S), 0.7)
    return elpd_i, float(lppd_i.sum() - elpd_i.sum()), bool(np.any(k > good_k))


def _stacking(elpd: np.ndarray) -> np.ndarray:
    """Stacking weights from the (groups, models) pointwise elpd matrix."""
    e = np.exp(elpd)
    m = e.shape[1]
    r = minimize(
        lambda w: -np.sum(np.log(e @ w)),
        np.full(m, 1 / m),
        jac=lambda w: -np.sum(e / (e @ w)[:, None], axis=0),
        bounds=Bounds(np.zeros(m), np.ones(m)),
        constraints=LinearConstraint(np.ones(m), 1.0, 1.0),
    )
    return r.x


def _own_compare(pointwise: dict[str, np.ndarray], ic: str) -> pd.DataFrame:
    rows, elpd_i = {}, {}
    for name, ll in pointwise.items():
        e, p, warn = _own_ic(ll, ic)
        elpd_i[name] = e
        rows[name] = {
            f"elpd_{ic}": e.sum(),
            f"p_{ic}": p,
            "se": float(np.sqrt(len(e) * e.var())),
            "warning": warn,
        }
    tab = pd.DataFrame(rows).T.sort_values(f"elpd_{ic}", ascending=False)
    best = tab.index[0]
    tab["elpd_diff"] = [tab.loc[best, f"elpd_{ic}"] - tab.loc[n, f"elpd_{ic}"] for n in tab.index]
    tab["dse"] = [
        float(np.sqrt(len(elpd_i[n]) * np.var(elpd_i[best] - elpd_i[n]))) for n in tab.index
    ]
    tab["weight"] = _stacking(np.column_stack([elpd_i[n] for n in tab.index]))
    tab.insert(0, "rank", np.arange(len(tab)))
    tab["scale"] = "log"
    cols = ["rank", f"elpd_{ic}", f"p_{ic}", "elpd_diff", "weight", "se", "dse", "warning", "scale"]
    tab = tab[cols]
    for c in cols[1:-2]:
        tab[c] = tab[c].astype(float)
    tab["rank"] = tab["rank"].astype(int)
    tab["warning"] = tab["warning"].astype(bool)
    return tab


def compare(
    fits: dict, ic: str = "loo", draws: int = 500, seed=0, use_arviz: bool | None = None
) -> pd.DataFrame:
    """Compare fits of the same outcome by PSIS-LOO (or WAIC), ranked best first.

    Parameters
    ----------
    fits : dict of str to MMResults
        Named fits (Laplace and MCMC fits may be mixed) of models of the same groups.
    ic : {"loo", "waic"}
        Information criterion: PSIS-LOO (default) or WAIC, on the log scale (elpd; larger
        is better).
    draws : int
        Draws from the approximate posterior of each Laplace fit (see the module notes).
    seed : int, optional
        Random state of those draws.
    use_arviz : bool, optional
        Default: use ``arviz.compare`` when arviz is installed, else the own implementation.

    Returns
    -------
    pandas.DataFrame
        The columns of ``arviz.compare``: ``rank``, ``elpd_loo`` (or ``elpd_waic``),
        ``p_loo``, ``elpd_diff`` (to the best model), ``weight`` (stacking), ``se``,
        ``dse`` (SE of the difference), ``warning`` (True when some Pareto k exceed the
        reliability threshold, or for WAIC when a pointwise variance exceeds 0.4) and
        ``scale``.

    Examples
    --------
    Fixed equal weights against weights estimated from seat shares, on data simulated
    with estimated weights:

    >>> import mmreg, warnings
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=2, weights="estimated")
    >>> f_est = df.attrs["formula"]
    >>> f_equal = f_est.replace("fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE)",
    ...                         "fn(w ~ 1 / n, c = TRUE)")
    >>> fits = {"1/n": mmreg.MMModel(f_equal, df).fit(),
    ...         "estimated": mmreg.MMModel(f_est, df).fit()}
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     tab = mmreg.compare(fits, draws=200)
    >>> list(tab.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['rank', 'elpd_loo', 'p_loo', 'elpd_diff', 'weight', 'se', 'dse', 'warning', 'scale']
    >>> float(tab["elpd_diff"].iloc[0]), bool(abs(tab["weight"].sum() - 1) < 1e-6)
    (0.0, True)
    """
    if ic not in ("loo", "waic"):
        raise MMSpecError(f"ic must be 'loo' or 'waic', not {ic!r}")
    if len(fits) < 2:
        raise MMSpecError("compare() needs at least two fits")
    nobs = {n: r.nobs for n, r in fits.items()}
    if len(set(nobs.values())) > 1:
        raise MMSpecError(f"the fits have different numbers of groups: {nobs}")
    if use_arviz is None:
        try:
            import arviz  # noqa: F401

            use_arviz = True
        except ImportError:
            use_arviz = False
    if use_arviz:
        import arviz as az

        data = {n: comparison_data(r, draws=draws, seed=seed) for n, r in fits.items()}
        return az.compare(data, ic=ic)  # type: ignore[arg-type]
    pointwise = {n: _pointwise(r, draws, seed) for n, r in fits.items()}
    tab = _own_compare(pointwise, ic)
    if tab["warning"].any():
        warnings.warn(
            f"unreliable {ic.upper()} for {tab.index[tab['warning']].tolist()}: "
            "see the Pareto k diagnostics (res.loo) or run MCMC longer",
            MMWarning,
            stacklevel=2,
        )
    return tab


def fit_rows(results: list) -> dict[str, list[str]]:
    """Fit statistics of several fits as table rows (label to one cell per fit).

    ``N groups`` and ``Method`` always; ``Log-lik.``, ``AIC``, ``BIC`` for fits that have
    them (Laplace) and ``LOO``, ``WAIC``, ``DIC`` (deviance scale, smaller is better) for
    fits with posterior draws (MCMC); a row appears when some fit has it, blank elsewhere.
    """
    rows: dict[str, list[str]] = {
        "N groups": [str(r.nobs) for r in results],
        "Method": [r.method for r in results],
    }
    getters = {
        "Log-lik.": lambda r: r.llf,
        "AIC": lambda r: r.aic,
        "BIC": lambda r: r.bic,
        "LOO": lambda r: r.loo["loo"],
        "WAIC": lambda r: r.waic["waic"],
        "DIC": lambda r: r.dic,
    }
    attr = {
        "Log-lik.": "llf",
        "AIC": "aic",
        "BIC": "bic",
        "LOO": "loo",
        "WAIC": "waic",
        "DIC": "dic",
    }
    for label, get in getters.items():
        have = [hasattr(type(r), attr[label]) for r in results]
        if any(have):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows[label] = [
                    f"{get(r):.1f}" if h else "" for r, h in zip(results, have, strict=True)
                ]
    return rows
