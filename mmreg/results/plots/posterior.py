"""Posterior draws: bml's density-and-trace plot (``monetPlot``) and trace plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import gaussian_kde

from mmreg.errors import MMDataError
from mmreg.results.diagnostics import _chains, hpd_interval
from mmreg.results.plots._checks import new_figure, per_step_of

if TYPE_CHECKING:
    import matplotlib.axes
    from matplotlib.figure import Figure

__all__ = ["plot_posterior", "plot_trace"]


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
        fig = new_figure(figsize=(6, 6))
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
    it = 1 + np.arange(arr.shape[1]) / per_step_of(per_step)
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


def plot_trace(
    draws: Mapping[str, np.ndarray], names: Sequence[str] | None = None, per_step: int = 1
) -> Figure:
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
    step = per_step_of(per_step)
    fig = new_figure(figsize=(9, 2.2 * len(names)))
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
