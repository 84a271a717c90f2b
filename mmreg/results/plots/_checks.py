"""Checks and helpers shared by the plotting modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mmreg.errors import MMDataError

__all__ = ["need_columns", "new_figure", "per_step_of", "z_of"]


def new_figure(**kwargs):
    """A new :class:`matplotlib.figure.Figure` (not registered with pyplot).

    matplotlib is imported here, on the first plot, so that ``import mmreg`` does not
    import it.
    """
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def need_columns(df: pd.DataFrame, cols: Sequence[str], func: str) -> None:
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


def per_step_of(per_step: object) -> int:
    if not (isinstance(per_step, int | np.integer) and per_step >= 1):
        raise MMDataError(f"per_step={per_step!r} must be a positive integer (walkers).")
    return int(per_step)


def z_of(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))
