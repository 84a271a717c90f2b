"""Posterior predictive draws and checks (``MMResults.posterior_predictive``, ``pp_check``).

Replicated outcomes are simulated with the bound family's ``simulate`` at the linear
predictor of each posterior draw (:func:`mmreg.results.draws.joint_draws`: the kept draws
of an MCMC fit, draws from the Laplace approximation of a Laplace fit).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mmreg.errors import MMSpecError
from mmreg.results.draws import joint_draws, linear_predictor

__all__ = ["posterior_predictive", "pp_check", "STATS"]

#: statistics available by name in :func:`pp_check`
STATS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": np.mean,
    "sd": lambda v: float(np.std(v, ddof=1)),
    "median": np.median,
    "min": np.min,
    "max": np.max,
}


def posterior_predictive(res, draws: int | None = 200, seed=None) -> list[dict]:
    """One simulated outcome per posterior draw (see :meth:`MMResults.posterior_predictive`)."""
    rng = np.random.default_rng(seed)
    fam = res.model.bound_family
    out = []
    for h, z, _ in joint_draws(res, n=draws or 200, seed=rng):
        out.append(fam.simulate(linear_predictor(res.model, h, z), h.phi, rng))
    return out


def _outcome_key(res) -> str:
    """The outcome compared in checks: ``y``, or ``time`` for survival outcomes."""
    outcome = res.model.design.outcome
    return "y" if "y" in outcome else "time"


def pp_check(res, kind: str = "density", stat: str | Callable = "mean", draws: int = 50, seed=None):
    """See :meth:`MMResults.pp_check`."""
    from mmreg.results.plots.workflow import plot_pp_density, plot_pp_stat

    if kind not in ("density", "stat"):
        raise MMSpecError(f"kind must be 'density' or 'stat', not {kind!r}")
    key = _outcome_key(res)
    y = np.asarray(res.model.design.outcome[key], float)
    label = res.model.design.outcome_labels.get(key, key)
    sims = res.posterior_predictive(draws=draws, seed=seed)
    yrep = np.array([s[key] for s in sims], float)
    if kind == "density":
        return plot_pp_density(y, yrep, label=label)
    if isinstance(stat, str):
        if stat not in STATS:
            raise MMSpecError(f"stat must be one of {sorted(STATS)} or a function, not {stat!r}")
        fn, name = STATS[stat], stat
    else:
        fn, name = stat, getattr(stat, "__name__", "T")
    return plot_pp_stat(float(fn(y)), np.array([fn(r) for r in yrep]), name)
