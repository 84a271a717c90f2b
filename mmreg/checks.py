"""Data checks used while building the design: every failure is an MMDataError/MMSpecError
that names the column and says how to fix it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmreg.errors import MMDataError
from mmreg.formula.spec import FixedTerm
from mmreg.formula.terms import fixed_offset, r_to_patsy, term_columns


def need(data: pd.DataFrame, col: str, where: str) -> pd.Series:
    if col not in data.columns:
        raise MMDataError(
            f"column {col!r} named in {where} is not in the data; available columns: "
            f"{', '.join(map(str, data.columns))}"
        )
    return data[col]


def no_na(values: pd.Series | np.ndarray, col: str, where: str) -> None:
    na = pd.isna(values)
    if np.any(na):
        raise MMDataError(
            f"column {col!r} ({where}) has {int(np.sum(na))} missing value(s); "
            "remove or impute those rows before fitting"
        )


def constant_within(values: np.ndarray, gcode: np.ndarray, ngroups: int, name: str,
                     where: str, group_ids: np.ndarray) -> np.ndarray:
    """First value per group; MMDataError if a group has differing values.

    ``where`` says where column ``name`` is used (``"main terms"``, ``"Surv()"``, ...).
    """
    first = np.unique(gcode, return_index=True)[1]
    firstvals = values[first]
    same = (values == firstvals[gcode]) | (pd.isna(values) & pd.isna(firstvals[gcode]))
    if values.dtype.kind == "f":
        same |= np.isclose(values, firstvals[gcode], rtol=1e-12, atol=0.0)
    if not np.all(same):
        g = py(group_ids[gcode[np.flatnonzero(~same)[0]]])
        hint = (" (a member-level variable belongs in vars() of an mm() block)"
                if "main terms" in where else "")
        raise MMDataError(
            f"column {name!r} ({where}) is a group-level variable but varies within group "
            f"{g!r}; it must be constant within each group{hint}"
        )
    return firstvals


def py(value):
    """A numpy scalar as the plain Python value (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def row_ids(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Groups of a model without mm(): one per row, ordered by the (unique) index labels.

    Ordering by index labels rather than position keeps results independent of row order
    (which matters for ``hm(ar = TRUE)``); positions are used when the index is not unique
    or cannot be sorted.
    """
    if data.index.is_unique:
        try:
            return codes(data.index.to_numpy(), "index")
        except MMDataError:
            pass
    return np.arange(len(data)), np.arange(len(data))


def codes(values: np.ndarray, col: str = "") -> tuple[np.ndarray, np.ndarray]:
    try:
        uniq, codes = np.unique(values, return_inverse=True)
    except TypeError:
        raise MMDataError(
            f"column {col!r} mixes values of different types (e.g. numbers and strings) and "
            "cannot be sorted; convert it to one type"
        ) from None
    return uniq, codes.ravel()


def check_group_level(rhs: str, data: pd.DataFrame, gcode: np.ndarray, gids: np.ndarray,
                       where: str) -> list[str]:
    """Columns of a group-level right-hand side: known, without NA, constant within groups."""
    cols = term_columns(rhs, data.columns, where)
    for c in cols:
        no_na(data[c], c, where)
        constant_within(data[c].to_numpy(), gcode, len(gids), c, where, gids)
    return cols


def group_fixed(fixed: tuple[FixedTerm, ...], data: pd.DataFrame, gframe: pd.DataFrame,
                 gcode: np.ndarray, gids: np.ndarray, where: str,
                 infos: dict | None = None) -> np.ndarray:
    """Offset of group-level fix() terms (main terms, hm vars), one value per group."""
    for ft in fixed:
        check_group_level(r_to_patsy(ft.term), data, gcode, gids, f"fix() in {where}")
    return fixed_offset(fixed, gframe, where, infos)
