"""Matplotlib figures for posterior draws and fitted-model tables.

Every function returns a :class:`matplotlib.figure.Figure` and never calls
``plt.show()``; figures are created with :class:`matplotlib.figure.Figure` directly, so no
pyplot state is touched and nothing leaks between calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.axes
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import gaussian_kde

from mmreg.errors import MMDataError
from mmreg.results.diagnostics import _chains, hpd_interval

__all__ = [
    "plot_posterior",
    "plot_trace",
    "plot_caterpillar",
    "plot_weights",
    "plot_var_decomp",
    "plot_coefficients",
]


def _need_columns(df: pd.DataFrame, cols: Sequence[str], func: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise MMDataError(f"{func}: expected a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise MMDataError(
            f"{func}: column(s) {missing} missing; the DataFrame needs columns {list(cols)} "
            f"(it has {list(df.columns)})."
        )
    if df.empty:
        raise MMDataError(f"{func}: the DataFrame has no rows; nothing to plot.")


def plot_posterior(
    samples: np.ndarray,
    name: str,
    prob: float = 0.9,
    ax: Sequence[matplotlib.axes.Axes] | None = None,
    trace_label: str | None = None,
    per_step: int = 1,
) -> Figure:
    """Density-and-trace plot of one parameter (bml's ``monetPlot``).

    As bml: the top panel is the pooled posterior density (``scipy.stats.gaussian_kde``)
    with the ``prob`` HPD region shaded, a solid line at zero and a dashed line at the
    median; the bottom panel is the trace of every chain, drawn sideways (value on the
    horizontal axis, shared with the density; iteration upwards) with the same two lines
    and ticks at the 5%, 50% and 95% quantiles and at zero (the zero tick is left out when
    it would overlap a quantile tick). The value axis is limited to the 0.1%--99.9%
    quantiles plus 5% padding, as bml.

    Parameters
    ----------
    samples : numpy.ndarray
        Draws of shape ``(chains, draws)``.
    name : str
        Parameter label for the title.
    prob : float
        HPD probability mass (bml: 0.9).
    ax : sequence of two matplotlib Axes, optional
        ``(density_axes, trace_axes)`` to draw into; by default a new figure.
    trace_label : str, optional
        Label of the trace's iteration axis; default ``"Scans (<chains> chains)"``.
    per_step : int
        Draws per iteration of each chain (the walkers of an ensemble run, whose draws are
        then in time order, walkers of a step side by side): the iteration axis counts
        steps, draw ``i`` at ``1 + i / per_step``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    arr = _chains(samples, what=repr(name))
    flat = arr.ravel()
    lo, hi = hpd_interval(flat, prob)
    q05, med, q95 = np.quantile(flat, [0.05, 0.5, 0.95])
    qlo, qhi = np.quantile(flat, [0.001, 0.999])
    pad = 0.05 * (qhi - qlo) if qhi > qlo else 0.5 * max(abs(qlo), 1.0)
    xlim = (qlo - pad, qhi + pad)
    if ax is None:
        fig = Figure(figsize=(6, 6))
        ax_d, ax_t = fig.subplots(2, 1, sharex=True)
    else:
        if len(ax) != 2:
            raise MMDataError("plot_posterior: ax must be a pair (density_axes, trace_axes).")
        ax_d, ax_t = ax
        fig = ax_d.figure
    grid = np.union1d(np.linspace(*xlim, 512), [lo, hi])
    if np.ptp(flat) > 0:
        dens = gaussian_kde(flat)(grid)
    else:  # degenerate: a spike at the single value
        dens = np.where(np.isclose(grid, flat[0]), 1.0, 0.0)
    ax_d.plot(grid, dens, color="black", lw=1.2, label="density")
    inside = (grid >= lo) & (grid <= hi)
    ax_d.fill_between(
        grid[inside], dens[inside], color="tab:blue", alpha=0.35, label=f"{prob:.0%} HPD"
    )
    for a in (ax_d, ax_t):
        a.axvline(0.0, color="black", lw=0.8, label="zero")
        a.axvline(med, color="black", ls="--", lw=1.0, label="median")
    ax_d.set_xlim(xlim)
    ax_d.set_ylim(bottom=0)
    ax_d.set_ylabel("Density")
    ax_d.set_title(f"Parameter: {name}", fontweight="bold")
    it = 1 + np.arange(arr.shape[1]) / _per_step(per_step)
    for c, chain in enumerate(arr):
        ax_t.plot(chain, it, lw=0.5, alpha=0.8, label=f"chain {c + 1}")
    ax_t.set_xlim(xlim)
    ax_t.set_ylabel(trace_label or f"Scans ({arr.shape[0]} chains)")
    ticks = np.array([q05, med, q95])
    labels = [f"{q05:.2f}\n(5%)", f"{med:.2f}\n(50%)", f"{q95:.2f}\n(95%)"]
    if np.min(np.abs(ticks)) > 0.08 * (xlim[1] - xlim[0]):  # a "0" tick unless it would overlap
        ticks, labels = np.append(ticks, 0.0), [*labels, "0"]
    order = np.argsort(ticks)
    ax_t.set_xticks(ticks[order], [labels[i] for i in order])
    return fig


def _per_step(per_step: object) -> int:
    if not (isinstance(per_step, int | np.integer) and per_step >= 1):
        raise MMDataError(f"per_step={per_step!r} must be a positive integer (walkers).")
    return int(per_step)


def plot_trace(draws: Mapping[str, np.ndarray], names: Sequence[str] | None = None,
               per_step: int = 1) -> Figure:
    """Per-chain densities (left) and traces (right), one row per parameter.

    Parameters
    ----------
    draws : mapping of str to numpy.ndarray
        Parameter name to draws of shape ``(chains, draws)``.
    names : sequence of str, optional
        Parameters to show, in this order; default all.
    per_step : int
        Draws per iteration of each chain (the walkers of an ensemble run, draws in time
        order): the horizontal axis then counts steps, draw ``i`` at ``1 + i / per_step``.

    Returns
    -------
    matplotlib.figure.Figure
        Axes ``fig.axes[2 * i]`` (density) and ``fig.axes[2 * i + 1]`` (trace) belong to
        the i-th parameter; every chain is one line in each.
    """
    names = list(draws) if names is None else list(names)
    unknown = [n for n in names if n not in draws]
    if unknown or not names:
        raise MMDataError(
            f"plot_trace: parameter(s) {unknown or names} not in the draws; "
            f"available: {list(draws)}."
        )
    step = _per_step(per_step)
    fig = Figure(figsize=(9, 2.2 * len(names)))
    axes = fig.subplots(len(names), 2, squeeze=False)
    for (ax_d, ax_t), name in zip(axes, names, strict=True):
        arr = _chains(draws[name], what=repr(name))
        lim = (arr.min(), arr.max())
        grid = np.linspace(*lim, 256) if lim[1] > lim[0] else np.array(lim)
        for c, chain in enumerate(arr):
            color = f"C{c % 10}"
            dens = gaussian_kde(chain)(grid) if np.ptp(chain) > 0 else np.ones_like(grid)
            ax_d.plot(grid, dens, color=color, lw=1.0, label=f"chain {c + 1}")
            ax_t.plot(1 + np.arange(chain.size) / step, chain, color=color, lw=0.5)
        ax_d.set_ylabel(name)
        ax_t.set_xlim(1, 1 + (arr.shape[1] - 1) / step)
    axes[0, 0].set_title("Density by chain")
    axes[0, 1].set_title("Trace by chain")
    axes[-1, 1].set_xlabel("Iteration" if step == 1 else f"Step ({step} walkers each)")
    fig.tight_layout()
    return fig


def plot_caterpillar(df: pd.DataFrame, title: str | None = None) -> Figure:
    """Caterpillar plot: point estimates with intervals, sorted by the estimate.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``mean``, ``lower``, ``upper``; the index gives the labels.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Points at ``y = 0, 1, ...`` in increasing order of ``mean``, labelled by the index.
    """
    _need_columns(df, ["mean", "lower", "upper"], "plot_caterpillar")
    bad = ~np.isfinite(df["mean"].to_numpy(float))
    if bad.any():  # matplotlib would silently leave the point out
        raise MMDataError(
            f"plot_caterpillar: the estimate of {df.index[bad][0]!r} is not finite "
            f"({int(bad.sum())} of {len(df)} values); every point needs a finite estimate "
            "(drop or fix those rows)")
    d = df.sort_values("mean", kind="stable")
    y = np.arange(len(d))
    fig = Figure(figsize=(6, max(2.5, 0.25 * len(d) + 1)))
    ax = fig.subplots()
    ax.hlines(y, d["lower"], d["upper"], color="grey", lw=1.2)
    ax.plot(d["mean"].to_numpy(), y, "o", color="black", ms=3)
    ax.axvline(0.0, color="black", lw=0.8, ls=":")
    ax.set_yticks(y, [str(i) for i in d.index])
    ax.set_ylim(-1, len(d))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_weights(df: pd.DataFrame, title: str | None = None) -> Figure:
    """Estimated member weights against their covariate, coloured by group size.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``x`` (covariate), ``weight`` (posterior mean), ``lower``, ``upper``
        (interval) and ``n`` (number of members in the group).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        A scatter whose colour values are ``n``, vertical interval bars and a colour bar.
    """
    _need_columns(df, ["x", "weight", "lower", "upper", "n"], "plot_weights")
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.vlines(df["x"], df["lower"], df["upper"], color="lightgrey", lw=1.0, zorder=1)
    sc = ax.scatter(df["x"], df["weight"], c=df["n"], cmap="viridis", s=18, zorder=2)
    fig.colorbar(sc, ax=ax, label="group size (n)")
    ax.set_xlabel("covariate")
    ax.set_ylabel("weight")
    if title:
        ax.set_title(title)
    return fig


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
    _need_columns(df, ["share", "lower", "upper"], "plot_var_decomp")
    share = df["share"].to_numpy(float)
    err = np.vstack([share - df["lower"].to_numpy(float), df["upper"].to_numpy(float) - share])
    if np.any(err < 0):
        raise MMDataError(
            "plot_var_decomp: every row needs lower <= share <= upper; check the columns "
            "share/lower/upper."
        )
    fig = Figure(figsize=(max(4, 1.2 * len(df) + 1), 4))
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
        _need_columns(tab, ["coef", "lower", "upper"], f"plot_coefficients[{model!r}]")
    terms = list(dict.fromkeys(t for tab in tables.values() for t in tab.index))
    row = {t: i for i, t in enumerate(terms)}
    k = len(tables)
    offsets = (np.arange(k) - (k - 1) / 2) * (0.6 / max(k, 1))
    fig = Figure(figsize=(6, max(2.5, 0.4 * len(terms) + 1)))
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
