"""Materialise patsy terms (main level, ``vars()``, ``hm(vars=)``) with clear errors.

bml formulas are R formulas; patsy reads them almost verbatim.  The differences handled here:
``^`` means power inside ``I()`` and interaction power outside (patsy spells both ``**``), and
R's math functions (``log``, ``exp``, ``sqrt`` …) are made available by name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
import patsy

from mmreg.errors import MMDataError, MMSpecError

__all__ = ["r_to_patsy", "term_columns", "design_matrix"]

_R_FUNCS = {
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "log10": np.log10,
    "log2": np.log2,
    "np": np,
}


def r_to_patsy(rhs: str) -> str:
    """Translate R formula syntax to patsy (``^`` -> ``**``, R booleans)."""
    out = rhs.replace("^", "**")
    out = re.sub(r"\bTRUE\b", "True", out)
    out = re.sub(r"\bFALSE\b", "False", out)
    return out


def _names_in(code: str) -> list[str]:
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        return []
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]


def term_columns(rhs: str, columns: Iterable[str], where: str) -> list[str]:
    """Data columns a patsy right-hand side uses; unknown names raise :class:`MMDataError`.

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
    try:
        desc = patsy.ModelDesc.from_formula(rhs)
    except patsy.PatsyError as exc:
        raise MMSpecError(f"cannot read the {where} {rhs!r}: {exc.message}") from None
    used: list[str] = []
    for term in desc.rhs_termlist:
        for factor in term.factors:
            code = factor.code
            for name in _names_in(code):
                if name in cols:
                    if name not in used:
                        used.append(name)
                elif name not in _R_FUNCS and name not in {"I", "C", "Q", "True", "False"}:
                    if name in dir(__builtins__) or name in {"center", "standardize", "scale"}:
                        continue
                    raise MMDataError(
                        f"column {name!r} used in the {where} ({code}) is not in the data; "
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
    try:
        mat = patsy.dmatrix(
            formula, data, eval_env=patsy.EvalEnvironment([_R_FUNCS]),
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
