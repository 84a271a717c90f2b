"""Random slopes of an ``hm()`` block: ``RE = re(1 + x)``.

A random slope of a group-level column ``x`` in the block ``hm<k>`` is a vector of unit
effects ``v_j ~ N(0, σ²)`` entering group ``i`` of unit ``j`` as ``x_i · v_j``: in the latent
model it is one more independent random-effect block whose incidence matrix holds ``x_i``
where a random intercept holds 1.  Its SD is ``sigma.hm<k>.<x>`` (default half-Cauchy(0, 25),
like every SD).  :func:`build_slopes` materialises the slopes of one block;
:func:`check_slope_means` warns about a slope whose mean has no fixed effect.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmreg.errors import MMSpecError, MMWarning
from mmreg.formula.spec import HMBlock
from mmreg.formula.terms import design_matrix, r_to_patsy

__all__ = ["SlopeBlockDesign", "build_slopes", "check_slope_means"]


@dataclass(frozen=True, eq=False)
class SlopeBlockDesign:
    """The random slope of one group-level column in one ``hm()`` block.

    Attributes
    ----------
    label : str
        ``"hm1.majority"`` (its SD is ``sigma.<label>``).
    parent : str
        Label of the ``hm()`` block (``"hm1"``).
    variable : str
        The column (as written in ``re()``).
    re_state : numpy.ndarray
        Unit code per group (which slope effect a group loads on).
    re_values : numpy.ndarray
        The column's value per group (the loading).
    re_labels : tuple
        Label of each unit (as the block's random intercepts).
    spec : HMBlock
        The spec of the ``hm()`` block (its ``id`` names the units).
    """

    label: str
    parent: str
    variable: str
    re_state: np.ndarray
    re_values: np.ndarray
    re_labels: tuple = ()
    spec: HMBlock | None = None
    #: slopes are independent effects (no random-walk structure)
    re_prev: None = None


def build_slopes(label: str, blk: HMBlock, gframe: pd.DataFrame, ucode: np.ndarray,
                 labels: tuple, infos: dict | None = None) -> tuple[SlopeBlockDesign, ...]:
    """The random slopes of the ``hm()`` block ``label``.

    Parameters
    ----------
    label : str
        ``"hm<k>"``.
    blk : HMBlock
        Its spec (``re_slopes``, ``re_cor``, ``type``, ``ar``).
    gframe : pandas.DataFrame
        One row per group (canonical order).
    ucode : numpy.ndarray
        Unit code per group.
    labels : tuple
        Label of each unit.
    infos : dict, optional
        Build-time memory of learned terms (stateful transforms are learned once).

    Returns
    -------
    tuple of SlopeBlockDesign

    Raises
    ------
    MMSpecError
        Slopes with fixed effects, a random walk or ``cor = TRUE`` (not available yet), a
        slope repeated, or a slope term that is not one numeric column.
    """
    if not blk.re_slopes:
        return ()
    where = f"re() of {label}"
    if blk.type == "FE" or blk.ar:
        raise MMSpecError(f"{where}: random slopes need random unit effects without ar")
    if blk.re_cor:
        raise MMSpecError(f"{where}: correlated random slopes (cor = TRUE) are not available "
                          "yet (issue #15); use independent slopes (cor = FALSE)")
    if len(set(blk.re_slopes)) != len(blk.re_slopes):
        raise MMSpecError(f"{where}: a slope appears twice in {blk.re_slopes}")
    out = []
    for var in blk.re_slopes:
        X, names = design_matrix(r_to_patsy(var), gframe, intercept=False,
                                 where=f"{where}, slope {var}", infos=infos)
        if X.shape[1] != 1:
            raise MMSpecError(f"{where}: the slope {var!r} must be one numeric column, it "
                              f"gives {len(names)} ({', '.join(names)})")
        out.append(SlopeBlockDesign(label=f"{label}.{var}", parent=label, variable=var,
                                    re_state=np.asarray(ucode), re_values=X[:, 0].copy(),
                                    re_labels=tuple(labels), spec=blk))
    return tuple(out)


def check_slope_means(slopes, coef_names) -> None:
    """Warn about a random slope whose variable has no fixed effect (its mean is then 0).

    Parameters
    ----------
    slopes : iterable of SlopeBlockDesign
    coef_names : sequence of str
        The model's coefficient names (main terms and ``hm()`` covariates).
    """
    for s in slopes:
        if s.variable not in coef_names and f"{s.parent}.{s.variable}" not in coef_names:
            warnings.warn(
                f"the random slope {s.label} has no fixed effect of {s.variable!r}: the "
                f"slope's mean is forced to 0 (add {s.variable} to the main terms)",
                MMWarning, stacklevel=4)
