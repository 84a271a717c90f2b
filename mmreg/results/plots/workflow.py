"""Plots of the workflow: predictive checks, conditional effects and survival curves.

Drawing functions that take arrays or tables; the ``pp_check``, ``conditional_effects(...)
.plot()`` and ``plot_survival`` methods of the results build those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mmreg.results.plots._checks import need_columns, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_pp_density", "plot_pp_stat", "plot_band", "plot_curves"]


def plot_pp_density(y: np.ndarray, yrep: np.ndarray, label: str = "y") -> Figure:
    """Density of the observed outcome (thick line) over those of replicated data sets.

    Parameters
    ----------
    y : numpy.ndarray
        Observed outcome, one value per group.
    yrep : numpy.ndarray
        Replicated outcomes, shape (replicates, groups).
    label : str
        x-axis label (the outcome's name).

    Returns
    -------
    matplotlib.figure.Figure
        Continuous outcomes: Gaussian KDEs (lines labelled ``"y_rep"`` and ``"y"``);
        outcomes with at most 10 distinct values: relative frequencies per value (bars for
        ``y``, points for each replicate).
    """
    from scipy.stats import gaussian_kde

    y, yrep = np.asarray(y, float), np.asarray(yrep, float)
    fig = new_figure(figsize=(6, 4))
    ax = fig.add_subplot()
    values = np.unique(y)
    if len(values) <= 10:
        freq = [np.mean(y == v) for v in values]
        ax.bar(values, freq, width=0.4, color="0.75", label="y")
        for k, r in enumerate(yrep):
            ax.plot(
                values,
                [np.mean(r == v) for v in values],
                "o",
                color="C0",
                alpha=0.3,
                label="y_rep" if k == 0 else "_y_rep",
            )
        ax.set_ylabel("relative frequency")
    else:
        lo = min(y.min(), np.quantile(yrep, 0.005))
        hi = max(y.max(), np.quantile(yrep, 0.995))
        xs = np.linspace(lo, hi, 200)
        for k, r in enumerate(yrep):
            ax.plot(
                xs,
                gaussian_kde(r)(xs),
                color="C0",
                alpha=0.2,
                lw=0.8,
                label="y_rep" if k == 0 else "_y_rep",
            )
        ax.plot(xs, gaussian_kde(y)(xs), color="k", lw=2, label="y")
        ax.set_ylabel("density")
    ax.set_xlabel(label)
    ax.set_title("Posterior predictive check")
    ax.legend()
    return fig


def plot_pp_stat(observed: float, replicated: np.ndarray, stat_name: str) -> Figure:
    """Histogram of a statistic over replicated data sets, with its observed value.

    Returns
    -------
    matplotlib.figure.Figure
        The title gives the posterior predictive p-value ``P(T(y_rep) >= T(y))``.
    """
    replicated = np.asarray(replicated, float)
    fig = new_figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.hist(
        replicated,
        bins=min(30, max(5, len(replicated) // 5)),
        color="C0",
        alpha=0.6,
        label=f"{stat_name}(y_rep)",
    )
    ax.axvline(observed, color="k", lw=2, label=f"{stat_name}(y)")
    ppp = float(np.mean(replicated >= observed))
    ax.set_xlabel(stat_name)
    ax.set_ylabel("replicated data sets")
    ax.set_title(f"Posterior predictive check: {stat_name} (p = {ppp:.2f})")
    ax.legend()
    return fig


def plot_band(df: pd.DataFrame, x: str, ylabel: str, by: str | None = None) -> Figure:
    """Estimate with a band against ``x`` (columns ``estimate``, ``lower``, ``upper``),
    one line per value of ``by``."""
    need_columns(df, [x, "estimate", "lower", "upper"], "plot_band")
    fig = new_figure(figsize=(6, 4))
    ax = fig.add_subplot()
    groups = [(None, df)] if by is None else list(df.groupby(by, sort=False))
    for k, (key, part) in enumerate(groups):
        xs = part[x].to_numpy(float)
        ax.fill_between(
            xs,
            part["lower"].to_numpy(float),
            part["upper"].to_numpy(float),
            color=f"C{k}",
            alpha=0.25,
        )
        ax.plot(
            xs,
            part["estimate"].to_numpy(float),
            color=f"C{k}",
            label="estimate" if key is None else f"{by} = {key}",
        )
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def plot_curves(df: pd.DataFrame, x: str, ylabel: str, by: str) -> Figure:
    """Curves with bands per ``by`` (survival curves); see :func:`plot_band`."""
    fig = plot_band(df, x, ylabel, by=by)
    fig.axes[0].set_ylim(0, 1.02)
    return fig
