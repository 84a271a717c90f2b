"""Materialise patsy terms (main level, ``vars()``, ``hm(vars=)``) with clear errors.

bml formulas are R formulas; patsy reads them almost verbatim.  The differences handled here:
``^`` means power inside ``I()`` and interaction power outside (patsy spells both ``**``), and
R's math functions (``log``, ``exp``, ``sqrt`` …) are made available by name.  Every
formula reaches patsy only through :func:`mmreg.formula.patsydesc.model_desc`, which checks each
term against an allow-list (no code execution through a formula).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import patsy

from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula.patsydesc import model_desc
from mmreg.formula.safe import EVAL_NAMESPACE, r_syntax
from mmreg.formula.spec import FixedTerm

__all__ = ["r_to_patsy", "term_columns", "design_matrix", "fixed_offset"]


def r_to_patsy(rhs: str) -> str:
    """Translate R formula syntax to patsy (``^`` -> ``**``, R booleans, ``factor()``)."""
    return r_syntax(rhs)


def term_columns(rhs: str, columns: Iterable[str], where: str) -> list[str]:
    """Data columns a patsy right-hand side uses; unknown names raise :class:`MMDataError`.

    Every term is checked against the allow-list of :mod:`mmreg.formula.safe` first.

    Parameters
    ----------
    rhs : str
        Patsy right-hand side (already translated with :func:`r_to_patsy`).
    columns : iterable of str
        Columns of the data.
    where : str
        Where the terms stand (``"main terms"``, ``"vars() of mm1"``), for messages.
    """
    cols = set(columns)
    used = model_desc(rhs, where)[1]
    for name in used:
        if name not in cols:
            raise MMDataError(
                f"column {name!r} used in the {where} is not in the data; "
                f"available columns: {', '.join(sorted(map(str, cols)))}"
            )
    return used


def design_matrix(
    rhs: str, data: pd.DataFrame, *, intercept: bool, where: str
) -> tuple[np.ndarray, list[str]]:
    """Evaluate a patsy right-hand side on ``data`` and return the matrix and column names.

    The intercept is controlled by ``intercept`` (any ``1``/``0`` in ``rhs`` is ignored).
    """
    body = rhs.strip()
    if not body:
        if intercept:
            return np.ones((len(data), 1)), ["Intercept"]
        return np.zeros((len(data), 0)), []
    formula = ("1 + " if intercept else "0 + ") + body
    desc = model_desc(formula, where)[0]  # the allow-list check: nothing unchecked is evaluated
    try:
        mat = patsy.dmatrix(
            desc, data, eval_env=patsy.EvalEnvironment([EVAL_NAMESPACE]),
            NA_action=patsy.NAAction(NA_types=[]), return_type="dataframe",
        )
    except patsy.PatsyError as exc:
        raise MMSpecError(f"cannot build the {where} {rhs!r}: {exc.message}") from None
    except Exception as exc:  # errors raised by user functions inside terms
        raise MMSpecError(f"cannot evaluate the {where} {rhs!r}: {exc}") from None
    names = list(mat.columns)
    values = np.asarray(mat, dtype=float)
    if not np.all(np.isfinite(values)):
        bad = names[int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])]
        raise MMDataError(f"the {where} term {bad!r} gives non-finite values (NaN or inf)")
    return values, names


def fixed_offset(fixed: Iterable[FixedTerm], frame: pd.DataFrame, where: str) -> np.ndarray:
    """Offset ``sum(value * term)`` of ``fix(term, value)`` terms, one value per row of ``frame``.

    Parameters
    ----------
    fixed : iterable of FixedTerm
        The ``fix()`` terms of one level (main terms, one ``vars()``).
    frame : pandas.DataFrame
        Rows to evaluate on (groups for the main terms and ``hm()``, memberships for ``mm()``).
    where : str
        Where the terms stand, for messages.

    Returns
    -------
    numpy.ndarray, shape (len(frame),)

    Raises
    ------
    MMDataError
        A column is unknown or gives non-finite values.
    MMSpecError
        A term does not give exactly one numeric column (e.g. a categorical variable).
    """
    off = np.zeros(len(frame))
    for ft in fixed:
        term = r_to_patsy(ft.term)
        term_columns(term, frame.columns, f"fix() in {where}")
        mat, names = design_matrix(term, frame, intercept=False, where=f"fix() in {where}")
        if mat.shape[1] != 1:
            raise MMSpecError(
                f"fix({ft.term}, {ft.value:g}) in {where} must name a single numeric column; "
                f"it gives {len(names)} columns ({', '.join(names)}): a categorical variable "
                "cannot have a fixed coefficient"
            )
        off += ft.value * mat[:, 0]
    return off
