"""Random walks ordered by a time column: ``RE = re(1, ar = <column>)``.

bml 0.9's ``ar = TRUE`` lets a unit's effect evolve over its successive participations in
participation order, with unit steps: ``u_t ~ N(u_{t-1}, σ²)``.  With ``ar = year`` the
participations of each unit are ordered by ``year`` and each step's variance is scaled by
its gap relative to the mean gap of the block,

    u_t ~ N(u_{t-1}, σ² Δt / mean(Δt)),   u_first ~ N(0, σ²),

so ``σ`` keeps its meaning (the SD of a typical step) and equal gaps give bml's walk exactly.
The mean runs over every step of the block (all units).  The time column is member-level
in ``mm()`` (a value per membership row: a member's successive groups) and group-level in
``hm()`` (a value per group: a unit's successive groups).  :func:`time_walk` returns the
previous state of every state and the scaled step variances; the latent model turns them
into the walk's precision (:mod:`mmreg.inference.randomwalk`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmreg.checks import check_column_type, constant_within, need, no_na, py
from mmreg.errors import MMDataError

__all__ = ["group_times", "member_times", "time_walk"]


def _numeric(values: pd.Series, column: str, where: str) -> np.ndarray:
    """The time column as finite floats (MMDataError naming the column otherwise)."""
    no_na(values, column, where)
    dtype = values.dtype
    if dtype.kind not in "iuf":
        if dtype.kind in "mM" or isinstance(dtype, pd.PeriodDtype):
            check_column_type(values, column, where)  # dates: says how to convert them
        example = values.iloc[0] if len(values) else None
        raise MMDataError(
            f"the time column {column!r} ({where}) is not numeric ({dtype}, e.g. "
            f"{py(example)!r}); give numbers such as years or days since a date, e.g. "
            f"pd.to_numeric(df[{column!r}])"
        )
    out = values.to_numpy(dtype=float)
    if not np.all(np.isfinite(out)):
        raise MMDataError(
            f"the time column {column!r} ({where}) has infinite values; give finite times"
        )
    return out


def member_times(frame: pd.DataFrame, column: str, label: str) -> np.ndarray:
    """Times of the membership rows of an ``mm()`` block (``frame`` in canonical order)."""
    where = f"re(ar = {column}) of {label}"
    return _numeric(need(frame, column, where), column, where)


def group_times(
    data: pd.DataFrame, column: str, label: str, gcode: np.ndarray, gids: np.ndarray
) -> np.ndarray:
    """Times of the groups of an ``hm()`` block: a group-level column, one value per group."""
    where = f"re(ar = {column}) of {label}"
    values = _numeric(need(data, column, where), column, where)
    return constant_within(values, gcode, column, where, gids)


def time_walk(
    unit: np.ndarray,
    unit_ids: np.ndarray,
    times: np.ndarray,
    column: str,
    label: str,
    id_column: str = "",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Previous state and scaled step variance of every state of a time-ordered walk.

    Parameters
    ----------
    unit : numpy.ndarray
        Unit (member) code of each state.
    unit_ids : numpy.ndarray
        Id of each unit code (for messages).
    times : numpy.ndarray
        Time of each state.
    column, label, id_column : str
        The time column, the block (``"mm1"``) and its unit-id column, for messages.

    Returns
    -------
    prev : numpy.ndarray
        Previous state of each state in its unit's time order (-1 for a unit's first).
    step : numpy.ndarray or None
        ``Δt / mean(Δt)`` for a state with a predecessor, 1 for a first state; ``None``
        when every gap is equal (the unit-step walk of ``ar = TRUE``, bit for bit) or there
        is no step.

    Raises
    ------
    MMDataError
        Two states of one unit at the same time.
    """
    order = np.lexsort((times, unit))
    same = unit[order][1:] == unit[order][:-1]
    gaps = np.diff(times[order])[same]
    if np.any(gaps == 0):
        i = order[1:][same][np.flatnonzero(gaps == 0)[0]]
        raise MMDataError(
            f"unit {py(unit_ids[unit[i]])!r} (column {id_column!r}) of {label} has two "
            f"participations at time "
            f"{py(times[i])!r} of the time column {column!r} (re(ar = {column})); times must "
            "be unique within a unit: fix the data or break the tie (e.g. add a fraction)"
        )
    prev = np.full(len(unit), -1)
    prev[order[1:][same]] = order[:-1][same]
    if gaps.size == 0 or np.all(gaps == gaps[0]):
        return prev, None
    step = np.ones(len(unit))
    step[order[1:][same]] = gaps / np.mean(gaps)
    return prev, step
