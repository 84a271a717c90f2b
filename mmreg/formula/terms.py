"""Materialise patsy terms (main level, ``vars()``, ``hm(vars=)``) with clear errors.

bml formulas are R formulas; patsy reads them almost verbatim.  The differences handled here:
``^`` means power inside ``I()`` and interaction power outside (patsy spells both ``**``), and
R's math functions (``log``, ``exp``, ``sqrt`` …) are made available by name.  Every
formula reaches patsy only through :func:`mmreg.formula.patsydesc.model_desc`, which checks each
term against an allow-list (no code execution through a formula).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy

from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula.patsydesc import model_desc
from mmreg.formula.safe import EVAL_NAMESPACE, r_syntax
from mmreg.formula.spec import FixedTerm

__all__ = [
    "r_to_patsy",
    "term_columns",
    "design_matrix",
    "column_factors",
    "fixed_offset",
    "LearnedTerms",
    "block_matrix",
]


def r_to_patsy(rhs: str) -> str:
    """Translate R formula syntax to patsy (``^`` -> ``**``, R booleans, ``factor()``)."""
    return r_syntax(rhs)


def _names_in(code: str) -> list[str]:
    """Names in a term's code (for messages; the code passed the allow-list already)."""
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        return []
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]


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


_LOGS = {"log": 0.0, "log10": 0.0, "log2": 0.0, "log1p": -1.0}


def _log_column(node: ast.AST, columns) -> tuple[str, str, float] | None:
    """``(function, column, bound)`` if ``node`` is ``log(column)`` (or ``log10``, ``log2``,
    ``log1p``, ``np.log...``) of a bare data column, else None."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    f = node.func
    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
    arg = node.args[0]
    if name in _LOGS and isinstance(arg, ast.Name) and arg.id in columns:
        return name, arg.id, _LOGS[name]
    return None


def check_log_arguments(rhs: str, data: pd.DataFrame, where: str) -> None:
    """Refuse ``log(x)`` of a column with values outside the domain of the log.

    Without this, numpy warns about a division by zero and the term gives ``-inf``/``NaN``
    (``offset(log(exposure))`` with a zero exposure).

    Raises
    ------
    MMDataError
        Naming the column, the term and a value out of the domain.
    """
    try:
        tree = ast.parse(r_to_patsy(rhs).replace("\n", " "), mode="eval")
    except SyntaxError:
        return
    for node in ast.walk(tree):
        hit = _log_column(node, data.columns)
        if hit is None:
            continue
        fname, col, bound = hit
        values = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        bad = values <= bound
        if bad.any():
            v = values[int(np.flatnonzero(bad)[0])]
            need = "positive values" if bound == 0 else "values above -1"
            raise MMDataError(
                f"column {col!r} has {int(bad.sum())} value(s) <= {bound:g} (e.g. {v:g}) but "
                f"{fname}({col}) in the {where} needs {need}: drop or correct those rows "
                "(a zero exposure contributes nothing: leave its group out)"
            )


def _dmatrix(formula: str, where: str, data: pd.DataFrame) -> pd.DataFrame:
    """patsy's design matrix of ``formula`` on ``data``, learning stateful transforms."""
    desc = model_desc(formula, where)[0]  # the allow-list check: nothing unchecked runs
    return patsy.dmatrix(
        desc,
        data,
        eval_env=patsy.EvalEnvironment([EVAL_NAMESPACE]),
        NA_action=patsy.NAAction(NA_types=[]),
        return_type="dataframe",
    )


@dataclass(frozen=True, eq=False)
class LearnedTerms:
    """What patsy learned from the training data for one set of terms, in a picklable form.

    patsy's ``DesignInfo`` (stateful transforms such as ``center`` and ``standardize``,
    categorical levels) cannot be pickled; it is a deterministic function of the formula
    and of the training values of the columns the terms use.  This record keeps those
    (``columns``: only the used columns, at the rows the terms were learned on) and
    rebuilds the ``DesignInfo`` when first needed after unpickling.

    Attributes
    ----------
    where : str
        Where the terms stand (``"main terms"``, ``"vars() of mm1"``).
    formula : str
        The patsy formula, with its ``1 +`` / ``0 +`` intercept choice.
    columns : dict of str to array
        Training values of the columns the terms use (numpy arrays, or pandas extension
        arrays such as ``Categorical`` so that their levels are kept).
    """

    where: str
    formula: str
    columns: dict = field(repr=False)
    _info: list = field(default_factory=list, repr=False)  # cache: [] or [DesignInfo]

    @classmethod
    def learned(
        cls, where: str, formula: str, data: pd.DataFrame, info: patsy.DesignInfo
    ) -> LearnedTerms:
        """The record of ``info``, learned by patsy on ``data``."""
        used = [c for c in model_desc(formula, where)[1] if c in data.columns]
        cols = {
            c: data[c].array
            if isinstance(data[c].dtype, pd.api.extensions.ExtensionDtype)
            else data[c].to_numpy()
            for c in used
        }
        return cls(where, formula, cols, [info])

    @property
    def frame(self) -> pd.DataFrame:
        """The training values as a DataFrame."""
        n = len(next(iter(self.columns.values()))) if self.columns else 0
        return pd.DataFrame(dict(self.columns), index=pd.RangeIndex(n))

    @property
    def info(self) -> patsy.DesignInfo:
        """patsy's ``DesignInfo`` learned on :attr:`frame` (rebuilt once after unpickling)."""
        if not self._info:
            self._info.append(_dmatrix(self.formula, self.where, self.frame).design_info)
        return self._info[0]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_info"] = []  # patsy objects do not pickle
        return state


_UNSEEN = re.compile(
    r"observation with value (.+?) does not match any of the expected "
    r"levels \(expected: (.*)\)$",
    re.S,
)


def _unseen_level(exc: patsy.PatsyError, data: pd.DataFrame, where: str) -> MMDataError | None:
    """An MMDataError naming the column and level of new data unseen in the fitted data."""
    m = _UNSEEN.search(exc.message)
    if m is None:
        return None
    o = exc.origin
    code = o.code[o.start : o.end] if o is not None else ""
    cols = [n for n in _names_in(code) if n in data.columns] or [code]
    return MMDataError(
        f"column {cols[0]!r} ({where}, term {code!r}) has the level {m.group(1)} in the new "
        f"data, which the fitted data do not have (fitted levels: {m.group(2)}); predictions "
        "can only use levels seen in the fit: drop these rows or refit with them"
    )


def _key(body: str, intercept: bool, where: str) -> tuple[str, str]:
    """Key of a set of terms in the memory of learned terms."""
    return where, ("1 + " if intercept else "0 + ") + body


def column_factors(rhs: str, *, intercept: bool, where: str, infos: dict) -> list[tuple[str, ...]]:
    """The factors (patsy code, e.g. ``("majority", "coal")``) of the term of every column
    of the design :func:`design_matrix` built for ``rhs`` with the same ``infos``."""
    body = rhs.strip()
    if not body:
        return [()] * int(intercept)
    info = infos[_key(body, intercept, where)].info
    out: list[tuple[str, ...]] = []
    for term, cols in info.term_slices.items():
        out += [tuple(f.name() for f in term.factors)] * (cols.stop - cols.start)
    return out


def design_matrix(
    rhs: str, data: pd.DataFrame, *, intercept: bool, where: str, infos: dict | None = None
) -> tuple[np.ndarray, list[str]]:
    """Evaluate a patsy right-hand side on ``data`` and return the matrix and column names.

    The intercept is controlled by ``intercept`` (any ``1``/``0`` in ``rhs`` is ignored).

    ``infos`` keeps what patsy learned from the data (:class:`LearnedTerms`): stateful
    transforms (``center``, ``standardize``) and the levels of categorical variables.  A
    term seen before (same ``where``, intercept and right-hand side) is built with the stored
    ``DesignInfo`` (``patsy.build_design_matrices``), so new data get the fitted data's
    means, SDs and levels; a new term is learned from ``data`` and stored.
    """
    body = rhs.strip()
    if not body:
        if intercept:
            return np.ones((len(data), 1)), ["Intercept"]
        return np.zeros((len(data), 0)), []
    key = _key(body, intercept, where)
    formula = key[1]
    check_log_arguments(body, data, where)
    try:
        if infos is not None and key in infos:
            (mat,) = patsy.build_design_matrices(
                [infos[key].info],
                data,
                NA_action=patsy.NAAction(NA_types=[]),
                return_type="dataframe",
            )
        else:
            mat = _dmatrix(formula, where, data)
            if infos is not None:
                infos[key] = LearnedTerms.learned(where, formula, data, mat.design_info)
    except patsy.PatsyError as exc:
        unseen = _unseen_level(exc, data, where) if infos is not None else None
        if unseen is not None:
            raise unseen from None
        raise MMSpecError(f"cannot build the {where} {rhs!r}: {exc.message}") from None
    except Exception as exc:  # errors raised by user functions inside terms
        raise MMSpecError(f"cannot evaluate the {where} {rhs!r}: {exc}") from None
    names = list(mat.columns)
    values = np.asarray(mat, dtype=float)
    if not np.all(np.isfinite(values)):
        bad = names[int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])]
        raise MMDataError(f"the {where} term {bad!r} gives non-finite values (NaN or inf)")
    return values, names


def fixed_offset(
    fixed: Iterable[FixedTerm], frame: pd.DataFrame, where: str, infos: dict | None = None
) -> np.ndarray:
    """Offset ``sum(value * term)`` of ``fix(term, value)`` terms, one value per row of ``frame``.

    Parameters
    ----------
    fixed : iterable of FixedTerm
        The ``fix()`` terms of one level (main terms, one ``vars()``).
    frame : pandas.DataFrame
        Rows to evaluate on (groups for the main terms and ``hm()``, memberships for ``mm()``).
    where : str
        Where the terms stand, for messages.
    infos : dict, optional
        Learned patsy designs to reuse or fill (see :func:`design_matrix`).

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
        term_columns(term, frame.columns, f"{'offset()' if ft.offset else 'fix()'} in {where}")
        kind = "offset()" if ft.offset else "fix()"
        mat, names = design_matrix(
            term, frame, intercept=False, where=f"{kind} in {where}", infos=infos
        )
        if mat.shape[1] != 1:
            raise MMSpecError(
                f"{ft.label} in {where} must name a single numeric column; "
                f"it gives {len(names)} columns ({', '.join(names)}): a categorical variable "
                "cannot have a fixed coefficient"
            )
        off += ft.value * mat[:, 0]
    return off


def block_matrix(
    rhs: str, frame: pd.DataFrame, *, reference: bool, where: str, infos: dict | None = None
) -> tuple[np.ndarray, list[str]]:
    """Covariates of a block (no intercept of their own).

    ``reference=True`` when an intercept (in the formula, or absorbed by the family) already
    spans the sum of the block's full dummy set: categoricals then get patsy's full-rank
    (reference-level) coding, as in the main terms, instead of one dummy per level.
    The choice made on the fitted data is kept in ``infos`` and reused for new data.
    """
    if infos is not None:
        reference = infos.setdefault(("reference coding", where), reference)
    if not reference:
        return design_matrix(rhs, frame, intercept=False, where=where, infos=infos)
    X, names = design_matrix(rhs, frame, intercept=True, where=where, infos=infos)
    return X[:, 1:], names[1:]
