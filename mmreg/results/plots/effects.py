"""Random effects and weights: caterpillar plots and weights against a covariate.

Each topic has the drawing function, which takes a table (``plot_caterpillar``,
``plot_weights``), and the function that builds that table from a fit (``caterpillar``,
``weights_plot``; the ``MMResults.plot_*`` methods call these).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mmreg.errors import MMDataError, MMSpecError
from mmreg.results.plots._checks import need_columns, new_figure, z_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_caterpillar", "plot_weights", "caterpillar", "weights_plot"]


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
    need_columns(df, ["mean", "lower", "upper"], "plot_caterpillar")
    bad = ~np.isfinite(df["mean"].to_numpy(float))
    if bad.any():  # matplotlib would silently leave the point out
        raise MMDataError(
            f"plot_caterpillar: the estimate of {df.index[bad][0]!r} is not finite "
            f"({int(bad.sum())} of {len(df)} values); every point needs a finite estimate "
            "(drop or fix those rows)"
        )
    d = df.sort_values("mean", kind="stable")
    y = np.arange(len(d))
    fig = new_figure(figsize=(6, max(2.5, 0.25 * len(d) + 1)))
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
    need_columns(df, ["x", "weight", "lower", "upper", "n"], "plot_weights")
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.vlines(df["x"], df["lower"], df["upper"], color="lightgrey", lw=1.0, zorder=1)
    sc = ax.scatter(df["x"], df["weight"], c=df["n"], cmap="viridis", s=18, zorder=2)
    fig.colorbar(sc, ax=ax, label="group size (n)")
    ax.set_xlabel("covariate")
    ax.set_ylabel("weight")
    if title:
        ax.set_title(title)
    return fig


def caterpillar(res, block: str | None = None, alpha: float = 0.05):
    """Random effects of one block (default: the first) with ``1 - alpha`` intervals."""
    tabs = res.random_effects
    if not tabs:
        raise MMSpecError("the model has no random effects")
    block = block or next(iter(tabs))
    if block not in tabs:
        raise MMSpecError(f"no random-effect block {block!r}; available: {list(tabs)}")
    t = tabs[block]
    z = z_of(alpha)
    # arrays, not Series: Series would be aligned on the new (string) index and every value
    # of a block with integer ids would become NaN (an empty plot)
    mean, sd = t["mean"].to_numpy(float), t["sd"].to_numpy(float)
    df = pd.DataFrame(
        {"mean": mean, "lower": mean - z * sd, "upper": mean + z * sd}, index=t.index.map(str)
    )
    return plot_caterpillar(df, title=f"{block} random effects")


def weights_plot(res, block: str = "mm1", covariate: str | None = None, alpha: float = 0.05):
    """Weights of an mm() block against a member covariate (default: first fn() column).

    ``covariate`` is a column of the weight function or of the block's ``vars()``.
    """
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
    z = z_of(alpha)
    df = pd.DataFrame(
        {
            "x": x,
            "weight": t["weight"],
            "lower": t["weight"] - z * t["sd"],
            "upper": t["weight"] + z * t["sd"],
            "n": t["n"],
        }
    )
    fig = plot_weights(df, title=f"{block}: w ~ {b.spec.fn.expr}")
    fig.axes[0].set_xlabel(covariate or "group size n")
    return fig
