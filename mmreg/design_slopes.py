"""Random slopes of ``hm()`` and ``mm()`` blocks: ``RE = re(1 + x)``.

A random slope of a group-level column ``x`` in the block ``hm<k>`` is a vector of unit
effects ``v_j ~ N(0, σ²)`` entering group ``i`` of unit ``j`` as ``x_i · v_j``: in the latent
model it is one more independent random-effect block whose incidence matrix holds ``x_i``
where a random intercept holds 1.  In an ``mm()`` block the slope of a member-level column
``x`` enters group ``i`` as ``Σ_k w_ik x_ik u_k`` (loading ``w_ik x_ik`` where the member
intercept's is ``w_ik``; the weights may have parameters).  Its SD is ``sigma.<block>.<x>``
(default half-Cauchy(0, 25), like every SD).  :func:`build_slopes` materialises the slopes of
one block; :func:`check_slope_means` warns about a slope whose mean has no fixed effect.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmreg.errors import MMSpecError, MMWarning
from mmreg.formula.spec import HMBlock, MMBlock
from mmreg.formula.terms import design_matrix, r_to_patsy

__all__ = ["SlopeBlockDesign", "build_slopes", "check_correlated", "check_slope_means"]


@dataclass(frozen=True, eq=False)
class SlopeBlockDesign:
    """The random slope of one group-level column in one ``hm()`` block.

    Attributes
    ----------
    label : str
        ``"hm1.majority"`` (its SD is ``sigma.<label>``).
    parent : str
        Label of the block (``"hm1"``, ``"mm1"``).
    variable : str
        The column (as written in ``re()``).
    re_state : numpy.ndarray
        Unit (member) code per entry: per group for ``hm()``, per membership row for
        ``mm()``.
    re_values : numpy.ndarray
        The column's value per entry (the loading, before the weights of ``mm()``).
    re_labels : tuple
        Label of each unit (as the block's random intercepts).
    spec : HMBlock or MMBlock
        The spec of the block.
    id_column : str
        Column of the unit ids (indexes the random-effect table).
    weighted_by : int or None
        Position of the ``mm()`` block whose weights multiply the loadings (``None`` for
        ``hm()``).
    re_rows : numpy.ndarray or None
        Group of each entry (``mm()``); ``None``: entry ``i`` is group ``i`` (``hm()``).
    """

    label: str
    parent: str
    variable: str
    re_state: np.ndarray
    re_values: np.ndarray
    re_labels: tuple = ()
    spec: HMBlock | MMBlock | None = None
    id_column: str = ""
    weighted_by: int | None = None
    re_rows: np.ndarray | None = None
    #: slopes are independent effects (no random-walk structure)
    re_prev: None = None
    #: ``re(1 + x, cor = TRUE)``: correlated with the block's random intercept (2×2)
    correlated: bool = False
    re_step: None = None


def build_slopes(
    label: str,
    blk: HMBlock | MMBlock,
    frame: pd.DataFrame,
    ucode: np.ndarray,
    labels: tuple,
    infos: dict | None = None,
    mm_index: int | None = None,
    rows: np.ndarray | None = None,
) -> tuple[SlopeBlockDesign, ...]:
    """The random slopes of the block ``label``.

    Parameters
    ----------
    label : str
        ``"hm<k>"`` or ``"mm<k>"``.
    blk : HMBlock or MMBlock
        Its spec (``re_slopes``; for ``hm()`` also ``re_cor``, ``type``; ``ar``).
    frame : pandas.DataFrame
        One row per entry: per group (``hm()``) or membership row (``mm()``), canonical order.
    ucode : numpy.ndarray
        Unit (member) code per entry.
    labels : tuple
        Label of each unit.
    infos : dict, optional
        Build-time memory of learned terms (stateful transforms are learned once).
    mm_index : int, optional
        Position of the ``mm()`` block (its weights multiply the loadings).
    rows : numpy.ndarray, optional
        Group of each entry (``mm()``).

    Returns
    -------
    tuple of SlopeBlockDesign

    Raises
    ------
    MMSpecError
        Slopes with fixed effects or a random walk, ``cor = TRUE`` without exactly one slope
        and the intercept (:func:`check_correlated`), a slope repeated, or a slope term that
        is not one numeric column.
    """
    where = f"re() of {label}"
    if blk.re_cor:
        check_correlated(blk, where)
    if not blk.re_slopes:
        return ()
    if (isinstance(blk, HMBlock) and blk.type == "FE") or blk.ar:
        raise MMSpecError(f"{where}: random slopes need random effects without ar")
    if len(set(blk.re_slopes)) != len(blk.re_slopes):
        raise MMSpecError(f"{where}: a slope appears twice in {blk.re_slopes}")
    id_column = blk.member_id if isinstance(blk, MMBlock) else blk.id
    out = []
    for var in blk.re_slopes:
        X, names = design_matrix(
            r_to_patsy(var), frame, intercept=False, where=f"{where}, slope {var}", infos=infos
        )
        if X.shape[1] != 1:
            raise MMSpecError(
                f"{where}: the slope {var!r} must be one numeric column, it "
                f"gives {len(names)} ({', '.join(names)})"
            )
        out.append(
            SlopeBlockDesign(
                label=f"{label}.{var}",
                parent=label,
                variable=var,
                re_state=np.asarray(ucode),
                re_values=X[:, 0].copy(),
                re_labels=tuple(labels),
                spec=blk,
                id_column=id_column,
                weighted_by=mm_index,
                re_rows=rows,
                correlated=blk.re_cor,
            )
        )
    return tuple(out)


def check_correlated(blk: HMBlock | MMBlock, where: str) -> None:
    """``re(1 + x, cor = TRUE)`` correlates the random intercept with exactly one slope.

    Raises
    ------
    MMSpecError
        Without a slope, with several slopes, without the intercept (``re(0 + x)``), with
        fixed effects (``hm(type = "FE")``) or with a random walk.
    """
    fix = "write re(1 + x, cor = TRUE) (one slope) or drop cor = TRUE"
    if not blk.re_slopes:
        raise MMSpecError(
            f"{where}: cor = TRUE correlates the random intercept with a random slope, but "
            f"there is no slope; {fix}"
        )
    if len(blk.re_slopes) > 1:
        raise MMSpecError(
            f"{where}: cor = TRUE with {len(blk.re_slopes)} slopes "
            f"({', '.join(blk.re_slopes)}): only one correlated slope (a 2x2 covariance) is "
            f"supported; {fix}, or use independent slopes (cor = FALSE)"
        )
    if not blk.re_intercept or (isinstance(blk, HMBlock) and blk.type == "FE"):
        raise MMSpecError(
            f"{where}: cor = TRUE needs the random intercept (re(0 + x) has none); {fix}"
        )
    if blk.ar:
        raise MMSpecError(f"{where}: cor = TRUE cannot be combined with a random walk (ar)")


def check_slope_means(slopes, coef_names) -> None:
    """Warn about a random slope whose variable has no fixed effect (its mean is then 0).

    Parameters
    ----------
    slopes : iterable of SlopeBlockDesign
    coef_names : sequence of str
        The model's coefficient names (main terms, ``vars()`` of ``mm()`` and ``hm()``).
    """
    for s in slopes:
        if s.variable not in coef_names and f"{s.parent}.{s.variable}" not in coef_names:
            warnings.warn(
                f"the random slope {s.label} has no fixed effect of {s.variable!r}: the "
                f"slope's mean is forced to 0 (add {s.variable} to the main terms)",
                MMWarning,
                stacklevel=4,
            )
