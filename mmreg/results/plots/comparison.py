"""Comparisons: variance-decomposition bars and coefficients of several fits.

As in :mod:`mmreg.results.plots.effects`: a drawing function taking a table
(``plot_var_decomp``, ``plot_coefficients``) and one building it from fits
(``var_decomp_plot``, ``coefficients_plot``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mmreg.errors import MMDataError
from mmreg.results.plots._checks import need_columns, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_var_decomp", "plot_coefficients", "var_decomp_plot", "coefficients_plot"]


def plot_var_decomp(df: pd.DataFrame, title: str | None = None) -> Figure:
    """Variance shares of the model components as bars with interval error bars.

    Parameters
    ----------
    df : pandas.DataFrame
        Index = component names; columns ``share``, ``lower``, ``upper``.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    need_columns(df, ["share", "lower", "upper"], "plot_var_decomp")
    share = df["share"].to_numpy(float)
    err = np.vstack([share - df["lower"].to_numpy(float), df["upper"].to_numpy(float) - share])
    if np.any(err < 0):
        raise MMDataError(
            "plot_var_decomp: every row needs lower <= share <= upper; check the columns "
            "share/lower/upper."
        )
    fig = new_figure(figsize=(max(4, 1.2 * len(df) + 1), 4))
    ax = fig.subplots()
    x = np.arange(len(df))
    ax.bar(x, share, yerr=err, capsize=4, color="tab:blue", alpha=0.7, ecolor="black")
    ax.set_xticks(x, [str(i) for i in df.index])
    ax.set_ylabel("share of variance")
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_coefficients(tables: Mapping[str, pd.DataFrame], title: str | None = None) -> Figure:
    """Coefficients of several models side by side (point and interval per term).

    Terms are listed in order of first appearance across the models; each model's points
    are offset vertically within a term's row, and terms a model lacks are skipped.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Model name to a DataFrame indexed by term with columns ``coef``, ``lower``,
        ``upper``.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One point series per model, labelled with the model name in the legend.
    """
    if not tables:
        raise MMDataError("plot_coefficients: `tables` is empty; pass {model name: table}.")
    for model, tab in tables.items():
        need_columns(tab, ["coef", "lower", "upper"], f"plot_coefficients[{model!r}]")
    terms = list(dict.fromkeys(t for tab in tables.values() for t in tab.index))
    row = {t: i for i, t in enumerate(terms)}
    k = len(tables)
    offsets = (np.arange(k) - (k - 1) / 2) * (0.6 / max(k, 1))
    fig = new_figure(figsize=(6, max(2.5, 0.4 * len(terms) + 1)))
    ax = fig.subplots()
    for j, (model, tab) in enumerate(tables.items()):
        y = np.array([row[t] for t in tab.index], dtype=float) + offsets[j]
        color = f"C{j % 10}"
        ax.hlines(y, tab["lower"], tab["upper"], color=color, lw=1.2)
        ax.plot(tab["coef"].to_numpy(float), y, "o", color=color, ms=4, label=str(model))
    ax.axvline(0.0, color="black", lw=0.8, ls=":")
    ax.set_yticks(np.arange(len(terms)), [str(t) for t in terms])
    ax.set_ylim(len(terms) - 0.5, -0.5)  # first term on top
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def var_decomp_plot(res, alpha: float = 0.05):
    """ICCs as bars with ``1 - alpha`` intervals."""
    vd = res.var_decomp(uncertainty="ci", alpha=alpha)
    df = pd.DataFrame(
        {
            "share": vd["icc"],
            "lower": np.minimum(vd["icc_lower"], vd["icc"]),
            "upper": np.maximum(vd["icc_upper"], vd["icc"]),
        }
    )
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
        Coefficients to show, by mmreg or bml name or bml prefix (``"b[2]"``, ``"b.mm"``);
        default all; random-effect SDs and weight parameters are never shown.

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
    names = names or [f"Model {i}" for i in range(1, len(results) + 1)]
    tables = {}
    for nm, r in zip(names, results, strict=True):
        ci = r.conf_int(alpha)
        wanted = None if params is None else _known(r, params)
        keep = [p for p in r.model.design.coef_names if wanted is None or p in wanted]
        tables[nm] = pd.DataFrame(
            {"coef": r.params[keep], "lower": ci["lower"][keep], "upper": ci["upper"][keep]}
        )
    return plot_coefficients(tables)


def _known(res, params) -> set[str]:
    """mmreg names of those of ``params`` (mmreg/bml names, prefixes) this fit has."""
    from mmreg.errors import MMSpecError

    out: set[str] = set()
    for p in [params] if isinstance(params, str) else params:
        try:
            out.update(res.resolve_names([p]))
        except MMSpecError:
            continue  # a parameter of another model
    return out
