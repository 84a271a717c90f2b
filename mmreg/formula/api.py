"""statsmodels-style lowercase constructors: ``import mmreg.formula.api as mmf``."""

from __future__ import annotations

from mmreg.families import Family
from mmreg.model import MMModel

__all__ = ["mmm"]


def mmm(
    formula: str,
    data,
    family: str | Family = "gaussian",
    priors=None,
    cox_intervals: int | None = None,
) -> MMModel:
    """Build an :class:`~mmreg.MMModel` from a bml formula (same as ``MMModel.from_formula``).

    Examples
    --------
    >>> import mmreg, mmreg.formula.api as mmf
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=100, n_members=60, seed=2)
    >>> mmf.mmm(df.attrs["formula"], df).param_names[:2]
    ['Intercept', 'majority']
    """
    return MMModel.from_formula(
        formula, data, family=family, priors=priors, cox_intervals=cox_intervals
    )
