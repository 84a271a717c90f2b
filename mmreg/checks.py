"""Data checks used while building the design: every failure is an MMDataError/MMSpecError
that names the column and says how to fix it."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd

from mmreg.errors import MMDataError, MMWarning
from mmreg.formula.spec import FixedTerm, FormulaSpec
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


def constant_within(
    values: np.ndarray, gcode: np.ndarray, name: str, where: str, group_ids: np.ndarray
) -> np.ndarray:
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
        hint = (
            " (a member-level variable belongs in vars() of an mm() block)"
            if "main terms" in where
            else ""
        )
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


def check_group_level(
    rhs: str, data: pd.DataFrame, gcode: np.ndarray, gids: np.ndarray, where: str
) -> list[str]:
    """Columns of a group-level right-hand side: known, without NA, constant within groups."""
    cols = term_columns(rhs, data.columns, where)
    for c in cols:
        no_na(data[c], c, where)
        constant_within(data[c].to_numpy(), gcode, c, where, gids)
    return cols


def group_fixed(
    fixed: tuple[FixedTerm, ...],
    data: pd.DataFrame,
    gframe: pd.DataFrame,
    gcode: np.ndarray,
    gids: np.ndarray,
    where: str,
    infos: dict | None = None,
) -> np.ndarray:
    """Offset of group-level fix() terms (main terms, hm vars), one value per group."""
    for ft in fixed:
        kind = "offset()" if ft.offset else "fix()"
        check_group_level(r_to_patsy(ft.term), data, gcode, gids, f"{kind} in {where}")
    return fixed_offset(fixed, gframe, where, infos)


# --------------------------------------------------------------------------- column types
#: a categorical with more distinct levels than this share of its rows (or groups) warns
MAX_LEVEL_SHARE = 0.5


def _example(values: pd.Series, mask: np.ndarray) -> str:
    v = values.iloc[int(np.flatnonzero(mask)[0])]
    timelike = isinstance(v, (pd.Timedelta, pd.Period)) or hasattr(v, "isoformat")
    return repr(str(v) if timelike else py(v))


def _value_kinds(values: pd.Series) -> np.ndarray:
    """Kind of every value of an object column: "n"umber, "b"ool, "s"tring, "t"ime, "o"ther."""

    def kind(v) -> str:
        if isinstance(v, (bool, np.bool_)):
            return "b"
        if isinstance(v, (int, float, np.number)) and not isinstance(v, np.timedelta64):
            return "n"
        if isinstance(v, str):
            return "s"
        if isinstance(v, (pd.Timestamp, pd.Timedelta, np.datetime64, np.timedelta64)) or (
            hasattr(v, "isoformat") and hasattr(v, "year")
        ):
            return "t"
        return "n" if isinstance(v, numbers.Number) else "o"

    return np.array([kind(v) for v in values.to_numpy()], dtype="<U1")


def check_column_type(
    values: pd.Series,
    col: str,
    where: str,
    *,
    numeric: bool = False,
    n_units: int | None = None,
    categorical: bool = False,
) -> bool:
    """Refuse column types that a formula would silently misread; True for a boolean column.

    One mechanism for every column a formula term uses (SPEC §6): dates, times and durations,
    object columns mixing numbers with strings (or other objects), numbers stored as strings
    or as Python objects, and complex numbers raise :class:`MMDataError` naming the column
    and one offending value.  Booleans are accepted and meant to be read as 0/1 (the caller
    converts them).  Strings and ``category`` columns are categorical; with more distinct
    levels than :data:`MAX_LEVEL_SHARE` of ``n_units`` an :class:`MMWarning` is issued.

    Parameters
    ----------
    values : pandas.Series
        The column (missing values are ignored here; :func:`no_na` reports them).
    col : str
        Its name, for messages.
    where : str
        Where it is used (``"main terms"``, ``"vars() of mm1"``, ...), for messages.
    numeric : bool
        The place needs numbers (``fn()``): categorical columns are refused too.
    n_units : int, optional
        Number of rows (or groups) the column describes; ``None`` skips the level count.
    categorical : bool
        The formula declares the column categorical (``C(col)``): numbers stored as text or
        as Python objects are then accepted as category codes.

    Returns
    -------
    bool
        True if the column is boolean (to be converted to 0/1).

    Raises
    ------
    MMDataError
        For the types above.
    """
    dtype = values.dtype
    fix_num = f"convert it with pd.to_numeric(df[{col!r}])"
    fix_cat = f"df[{col!r}].astype('category') (or C({col}) on a string column)"
    if dtype.kind in "mM" or isinstance(dtype, pd.PeriodDtype):
        ok = ~pd.isna(values.to_numpy())
        ex = _example(values, ok) if ok.any() else "NaT"
        raise MMDataError(
            f"column {col!r} ({where}) holds dates/times ({dtype}), e.g. {ex}; a formula needs "
            f"numbers or categories: convert it, e.g. df[{col!r}].dt.year, or elapsed days "
            f"(df[{col!r}] - df[{col!r}].min()).dt.days"
        )
    if dtype.kind == "c":
        raise MMDataError(f"column {col!r} ({where}) holds complex numbers; use real numbers")
    if dtype.kind == "b":
        return True
    if dtype.kind in "iuf":
        return False
    present = ~pd.isna(values.to_numpy())
    # the distinct values decide (fast on large columns); strings need no per-value look
    vals = pd.Series(pd.unique(values[present].to_numpy()), dtype=object)
    if isinstance(dtype, pd.CategoricalDtype):
        kinds = np.full(len(vals), "c")
    elif isinstance(dtype, pd.StringDtype) or pd.api.types.infer_dtype(vals) == "string":
        kinds = np.full(len(vals), "s")
    else:
        kinds = _value_kinds(vals)
    found = set(kinds.tolist())
    if "t" in found:
        raise MMDataError(
            f"column {col!r} ({where}) holds dates/times, e.g. {_example(vals, kinds == 't')}; "
            f"convert it to numbers (e.g. pd.to_datetime(df[{col!r}]).dt.year) first"
        )
    if found and found <= {"b"}:
        return True
    if "o" in found:
        ex = vals[kinds == "o"].iloc[0]
        raise MMDataError(
            f"column {col!r} ({where}) holds values of type {type(ex).__name__} (e.g. "
            f"{str(ex)!r}) that a formula cannot use; convert the column to numbers, or to "
            f"strings / df[{col!r}].astype('category') if it is categorical"
        )
    if len(found - {"c"}) > 1:
        rare = min(found, key=lambda k: (kinds == k).sum())
        raise MMDataError(
            f"column {col!r} ({where}) mixes values of different types, e.g. "
            f"{_example(vals, kinds == rare)} among {_example(vals, kinds != rare)}; a formula "
            f"would read every value as a category. If it is numeric, {fix_num} (with "
            f"errors='coerce' to find the bad values); if it is categorical, use {fix_cat} "
            "after df[col].astype(str)"
        )
    if found == {"n"} and not categorical:
        raise MMDataError(
            f"column {col!r} ({where}) holds numbers stored as Python objects (dtype object), "
            f"e.g. {_example(vals, kinds == 'n')}; a formula would read every value as a "
            f"category: {fix_num}, or use {fix_cat} if it is categorical"
        )
    if found == {"s"} and not categorical:
        as_num = pd.to_numeric(vals, errors="coerce")
        if len(vals) and not pd.isna(as_num).any():
            raise MMDataError(
                f"column {col!r} ({where}) holds numbers stored as strings, e.g. "
                f"{_example(vals, np.ones(len(vals), bool))}; a formula would read every value "
                f"as a category: {fix_num}, or use {fix_cat} if the codes are categories"
            )
    if numeric:
        raise MMDataError(
            f"column {col!r} used in {where} is not numeric ({dtype}); "
            "a weight function needs numbers"
        )
    levels = len(vals)
    if n_units is not None and levels >= 3 and levels > MAX_LEVEL_SHARE * n_units:
        warnings.warn(
            f"categorical column {col!r} ({where}) has {levels} distinct levels for "
            f"{n_units} rows/groups: one coefficient per level is barely informed by the "
            "data. Is it an id (then use it in id()/hm()) or a number stored as text?",
            MMWarning,
            stacklevel=5,
        )
    return False


# --------------------------------------------------------------------------- column types
def term_sources(spec: FormulaSpec, outcome: bool) -> list[tuple[str, str, bool | str]]:
    """Every patsy right-hand side: (rhs, where, True for group level or the member id)."""
    out: list[tuple[str, str, bool | str]] = []
    if outcome and spec.response.kind != "surv":
        out.append((spec.response.columns[0], "outcome", True))
    out.append((spec.main, "main terms", True))
    out += [
        (ft.term, f"{'offset()' if ft.offset else 'fix()'} in the main terms", True)
        for ft in spec.fixed
    ]
    for k, b in enumerate(spec.mm, 1):
        out += [(b.vars or "", f"vars() of mm{k}", b.member_id)]
        out += [(ft.term, f"fix() in vars() of mm{k}", b.member_id) for ft in b.fixed]
    for k, h in enumerate(spec.hm, 1):
        out += [(h.vars or "", f"vars() of hm{k}", True)]
        out += [(ft.term, f"fix() in vars() of hm{k}", True) for ft in h.fixed]
    return out


def _categorical_only(rhs: str, col: str) -> bool:
    """True if every use of ``col`` in ``rhs`` is as ``C(col, ...)`` (declared categorical)."""
    import ast

    from mmreg.formula.patsydesc import model_desc

    seen = False
    for term in model_desc(rhs, "terms")[0].rhs_termlist:
        for factor in term.factors:
            try:
                tree = ast.parse(factor.code, mode="eval")
            except SyntaxError:
                return False
            wrapped = {
                id(call.args[0])
                for call in ast.walk(tree)
                if isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id in ("C", "factor")
                and call.args
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and node.id == col:
                    if id(node) not in wrapped:
                        return False
                    seen = True
    return seen


def typed_data(spec: FormulaSpec, data: pd.DataFrame, n_groups: int, outcome: bool) -> pd.DataFrame:
    """Check the type of every column a formula term uses; booleans become 0.0/1.0.

    Returns ``data`` itself, or a shallow copy with the boolean term columns as floats (so
    ``x`` is one 0/1 covariate named ``x``, never a dummy per value).  Id columns keep their
    values.  Type errors: see :func:`mmreg.checks.check_column_type`.
    """
    ids = (
        {b.member_id for b in spec.mm}
        | {b.group_id for b in spec.mm}
        | {h.id for h in spec.hm}
        | {spec.strata}
    )
    to_float: list[str] = []
    for rhs, where, level in term_sources(spec, outcome):
        if not rhs.strip():
            continue
        for c in term_columns(r_to_patsy(rhs), data.columns, where):
            # levels are counted against the units the column describes: groups, or the
            # members of an mm() block (a level per member is a member id); not for new data
            units = None
            if outcome and where != "outcome":
                units = n_groups if level is True else min(len(data), data[level].nunique())
            cat = _categorical_only(r_to_patsy(rhs), c)
            if check_column_type(data[c], c, where, n_units=units, categorical=cat) and (
                c not in ids
            ):
                to_float.append(c)
    if not to_float:
        return data
    data = data.copy(deep=False)
    for c in dict.fromkeys(to_float):
        data[c] = data[c].astype(float)  # NA stays NaN and is reported by no_na
    return data


def degenerate_outcome(y: np.ndarray, col: str, family: str) -> None:
    """A constant outcome: nothing to explain (Gaussian: error) or separation (binomial).

    What it means is the family's :attr:`~mmreg.families.Family.constant_outcome`.
    """
    if len(y) < 2 or np.ptp(y) != 0:
        return
    from mmreg.families import get_family

    meaning = get_family(family).constant_outcome
    if meaning == "error":
        raise MMDataError(
            f"the outcome {col!r} is constant (every value is {y[0]:g}): a Gaussian model has "
            "nothing to explain and its residual SD would be 0; check that the right column is "
            "the outcome"
        )
    if meaning == "separation":
        warnings.warn(
            f"the outcome {col!r} is {y[0]:g} for every group (complete separation): the data "
            "cannot locate the intercept, so its estimate (and those of terms collinear with "
            "it) are set by the priors alone",
            MMWarning,
            stacklevel=5,
        )
