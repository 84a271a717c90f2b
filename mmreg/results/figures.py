"""Plots of fitted models: the bridge from results objects to :mod:`mmreg.results.plots`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mmreg.errors import MMSpecError

__all__ = ["caterpillar", "weights_plot", "var_decomp_plot", "coefficients_plot"]


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def caterpillar(res, block: str | None = None, alpha: float = 0.05):
    """Random effects of one block (default: the first) with ``1 - alpha`` intervals."""
    from mmreg.results.plots import plot_caterpillar

    tabs = res.random_effects
    if not tabs:
        raise MMSpecError("the model has no random effects")
    block = block or next(iter(tabs))
    if block not in tabs:
        raise MMSpecError(f"no random-effect block {block!r}; available: {list(tabs)}")
    t = tabs[block]
    z = _z(alpha)
    # arrays, not Series: Series would be aligned on the new (string) index and every value
    # of a block with integer ids would become NaN (an empty plot)
    mean, sd = t["mean"].to_numpy(float), t["sd"].to_numpy(float)
    df = pd.DataFrame({"mean": mean, "lower": mean - z * sd, "upper": mean + z * sd},
                      index=t.index.map(str))
    return plot_caterpillar(df, title=f"{block} random effects")


def weights_plot(res, block: str = "mm1", covariate: str | None = None, alpha: float = 0.05):
    """Weights of an mm() block against a member covariate (default: first fn() column).

    ``covariate`` is a column of the weight function or of the block's ``vars()``.
    """
    from mmreg.results.plots import plot_weights

    design = res.model.design
    blocks = {b.label: b for b in design.mm}
    if block not in blocks:
        raise MMSpecError(f"no mm() block {block!r}; available: {list(blocks)}")
    b = blocks[block]
    if covariate is None:
        cols = b.weights.columns
        covariate = cols[0] if cols else None
    x = b.covariate(covariate) if covariate else b.n
    t = res.weights[block]
    z = _z(alpha)
    df = pd.DataFrame({"x": x, "weight": t["weight"], "lower": t["weight"] - z * t["sd"],
                       "upper": t["weight"] + z * t["sd"], "n": t["n"]})
    fig = plot_weights(df, title=f"{block}: w ~ {b.spec.fn.expr}")
    fig.axes[0].set_xlabel(covariate or "group size n")
    return fig


def var_decomp_plot(res, alpha: float = 0.05):
    """ICCs as bars with ``1 - alpha`` intervals."""
    from mmreg.results.plots import plot_var_decomp

    vd = res.var_decomp(uncertainty="ci")
    df = pd.DataFrame({"share": vd["icc"], "lower": np.minimum(vd["icc_lower"], vd["icc"]),
                       "upper": np.maximum(vd["icc_upper"], vd["icc"])})
    return plot_var_decomp(df, title="variance decomposition")


def coefficients_plot(results, names=None, alpha: float = 0.05, params=None):
    """Coefficients of several fits side by side (``names`` label the models).

    Parameters
    ----------
    results : list of MMResults
    names : list of str, optional
        Legend labels (default ``Model 1``, ``Model 2`` …).
    alpha : float
        Intervals from each fit's ``conf_int(alpha)``.
    params : list of str, optional
        Coefficients to show (default all; random-effect SDs and weight parameters are
        never shown).

    Returns
    -------
    matplotlib.figure.Figure
        One row per coefficient, one colour per model; not registered with pyplot
        (``fig.savefig`` to save it).

    Examples
    --------
    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=1)
    >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
    >>> res0 = mmreg.MMModel(df.attrs["formula"].split(" + hm(")[0], df).fit()
    >>> fig = mmreg.plot_coefficients([res0, res], names=["parties", "+ countries"])
    >>> type(fig).__name__
    'Figure'
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Intercept', 'majority', 'mm1.finance']
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['parties', '+ countries']
    """
    from mmreg.results.plots import plot_coefficients

    names = names or [f"Model {i}" for i in range(1, len(results) + 1)]
    tables = {}
    for nm, r in zip(names, results, strict=True):
        ci = r.conf_int(alpha)
        keep = [p for p in r.model.design.coef_names if params is None or p in params]
        tables[nm] = pd.DataFrame({"coef": r.params[keep], "lower": ci["lower"][keep],
                                   "upper": ci["upper"][keep]})
    return plot_coefficients(tables)
