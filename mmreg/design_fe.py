"""Unit fixed effects of ``hm()`` (``type = "FE"``, ``FE = fe(1)``, ``FE = fe(1 + x)``) and
member fixed effects of ``mm()`` (``FE = fe(1)``, ``fe(1 + x)``).

``fe(1)`` gives every unit of the block its own intercept (no pooling): a dummy per unit,
the first unit being the reference when the model has an intercept.  ``fe(1 + x)`` adds a
slope of the group-level column ``x`` per unit, the parameterisation of R's
``y ~ x * factor(unit)``: when the main terms have a coefficient of ``x`` it is the first
unit's slope and the unit slopes ``hm1.x[B]`` are the other units' differences from it;
without one, every unit gets its own slope.  ``fe(0 + x)`` keeps the slopes without the
unit dummies.  The coefficients (``hm1[B]``, ``hm1.x[B]``) get the coefficients' vague
normal prior and are hidden from ``summary()`` unless ``showFE = TRUE``.

In ``mm()`` the member dummies d_k (and slopes d_k·x) are member-level covariates: a group
gets Σ_k w_ik d_k, its weights on each member, exactly as ``vars()`` columns are aggregated
(with estimated weights they follow θ through the same path).  They are coded by patsy as
``C(member_id)`` (levels learned from the training data, kept by the design spec): the first
member is the reference when the weights sum to the same value in every group and the model
has an intercept (the same rule as a categorical in ``vars()``: the full dummy set would
repeat the intercept), otherwise every member gets a coefficient.  A member's slope of x is
``mm1.x[B]``; when ``vars()`` has x (coefficient ``mm1.x``) the first member's slope is that
coefficient and the others' are differences from it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mmreg.checks import check_column_type, constant_within, need, no_na
from mmreg.errors import MMDataError, MMWarning
from mmreg.formula.spec import HMBlock, MMBlock
from mmreg.formula.terms import block_matrix

__all__ = ["unit_effects", "member_effects"]


def _slope_column(
    var: str, data: pd.DataFrame, gcode: np.ndarray, gids: np.ndarray, where: str
) -> np.ndarray:
    """The group-level values of the slope column ``var`` (one per group)."""
    col = need(data, var, where)
    no_na(col, var, where)
    if check_column_type(col, var, where, numeric=True):
        col = col.astype(float)
    if col.dtype.kind not in "iuf":
        raise MMDataError(
            f"column {var!r} ({where}) is not numeric ({col.dtype}); a unit-specific slope "
            "needs a numeric column"
        )
    return constant_within(col.to_numpy(dtype=float), gcode, var, where, gids)


def unit_effects(
    label: str,
    blk: HMBlock,
    data: pd.DataFrame,
    gcode: np.ndarray,
    gids: np.ndarray,
    ucode: np.ndarray,
    unit_labels: tuple[str, ...],
    has_intercept: bool,
    main_names: tuple[str, ...] = (),
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Design columns and names of the unit fixed effects of one ``hm()`` block.

    Parameters
    ----------
    label : str
        ``"hm<k>"``.
    blk : HMBlock
        Its spec (``fe_intercept``, ``fe_slopes``).
    data : pandas.DataFrame
        The (typed) data, one row per participation.
    gcode, gids : numpy.ndarray
        Group code of every row and the group ids.
    ucode : numpy.ndarray
        Unit code of every group.
    unit_labels : tuple of str
        Label of each unit (for the coefficient names).
    has_intercept : bool
        The model has an intercept: the first unit's dummy is dropped.
    main_names : tuple of str
        Coefficient names of the main terms: a slope whose column is among them drops the
        first unit's slope (it is the main coefficient).

    Returns
    -------
    columns : numpy.ndarray, shape (n_groups, f)
    names : tuple of str

    Raises
    ------
    MMDataError
        A slope column that is missing, not numeric, has missing values or varies within a
        group.
    """
    units = len(unit_labels)
    cols: list[np.ndarray] = []
    names: list[str] = []
    if blk.fe_intercept:
        levels = np.arange(1 if has_intercept else 0, units)
        cols.append((ucode[:, None] == levels[None, :]).astype(float))
        names += [f"{label}[{unit_labels[j]}]" for j in levels]
    for var in blk.fe_slopes:
        where = f"fe() of {label}, slope {var}"
        x = _slope_column(var, data, gcode, gids, where)
        levels = np.arange(1 if var in main_names else 0, units)
        cols.append((ucode[:, None] == levels[None, :]) * x[:, None])
        names += [f"{label}.{var}[{unit_labels[j]}]" for j in levels]
        flat = [unit_labels[j] for j in range(units) if np.ptp(x[ucode == j]) == 0]
        if not blk.fe_intercept:  # without unit dummies a constant x is still informative
            flat = []
        if flat:
            warnings.warn(
                f"{where}: {var!r} does not vary within unit(s) {flat[:5]} of {blk.id!r}, so "
                "their slopes are set by the prior alone (check the data, or drop the slope)",
                MMWarning,
                stacklevel=6,
            )
    if not cols:
        return np.zeros((len(ucode), 0)), ()
    return np.hstack(cols), tuple(names)


def _level(name: str, prefix: str, suffix: str) -> str:
    """The level in a patsy column name ``<prefix>[T.level]<suffix>``."""
    inner = name[len(prefix) + 1 : len(name) - len(suffix) - 1]
    return inner[2:] if inner.startswith("T.") else inner


def member_effects(
    label: str,
    blk: MMBlock,
    frame: pd.DataFrame,
    reference: bool,
    xnames: tuple[str, ...],
    infos: dict | None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Member-level columns of the fixed effects of one ``mm()`` block (``fe()``).

    Parameters
    ----------
    label : str
        ``"mm<k>"``.
    blk : MMBlock
        Its spec (``fe_intercept``, ``fe_slopes``).
    frame : pandas.DataFrame
        The membership rows in canonical order.
    reference : bool
        Drop the first member's dummy (the weights sum to a constant and the model has an
        intercept).
    xnames : tuple of str
        The block's ``vars()`` coefficients: a slope column among them (``mm1.x``) drops the
        first member's slope.
    infos : dict, optional
        Build-time memory of learned terms (the member levels, the reference choice).

    Returns
    -------
    columns : numpy.ndarray, shape (n_rows, f)
    names : tuple of str
        ``mm1[B]`` and ``mm1.x[B]``.

    Raises
    ------
    MMDataError
        A slope column that is missing, not numeric or has missing values; a member of new
        data that the training data do not have.
    """
    member = f"C(Q({blk.member_id!r}))"
    where = f"fe() of {label}"
    cols: list[np.ndarray] = []
    names: list[str] = []
    if blk.fe_intercept:
        D, dn = block_matrix(member, frame, reference=reference, where=where, infos=infos)
        cols.append(D)
        names += [f"{label}[{_level(n, member, '')}]" for n in dn]
    for var in blk.fe_slopes:
        w = f"{where}, slope {var}"
        col = need(frame, var, w)
        no_na(col, var, w)
        if check_column_type(col, var, w, numeric=True):  # boolean: read as 0/1
            frame = frame.assign(**{var: col.astype(float)})
        S, sn = block_matrix(f"{member}:Q({var!r})", frame, reference=False, where=w, infos=infos)
        first = 1 if f"{label}.{var}" in xnames else 0
        cols.append(S[:, first:])
        names += [f"{label}.{var}[{_level(n, member, f':Q({var!r})')}]" for n in sn[first:]]
    if not cols:
        return np.zeros((len(frame), 0)), ()
    return np.hstack(cols), tuple(names)
