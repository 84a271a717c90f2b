"""Family objects by constructor: ``mmreg.families.gaussian()``, ``bernoulli()``, ...

Each constructor returns a configured :class:`~mmreg.families.Family`, accepted wherever a
family name is (``MMModel``, ``mmreg.formula.api.mmm``, ``mmreg.bml``, ``mmreg.get_prior``):

>>> import mmreg
>>> mmreg.families.cox(intervals=10)
CoxFamily(intervals=10, a=0.001, b=0.1, grid='all')
>>> fams = mmreg.families
>>> fams.bernoulli() == fams.binomial() == fams.get_family("bernoulli")
True
"""

from __future__ import annotations

from mmreg.families.binomial import BinomialFamily
from mmreg.families.clogit import ConditionalLogitFamily
from mmreg.families.count import NegBinomialFamily, PoissonFamily
from mmreg.families.cox import CoxFamily
from mmreg.families.gaussian import GaussianFamily
from mmreg.families.weibull import WeibullFamily

__all__ = [
    "gaussian",
    "bernoulli",
    "binomial",
    "weibull",
    "cox",
    "clogit",
    "poisson",
    "negbinomial",
]


def gaussian() -> GaussianFamily:
    """Normal outcome, identity link (``family="gaussian"``).

    Returns
    -------
    GaussianFamily
    """
    return GaussianFamily()


def binomial() -> BinomialFamily:
    """0/1 outcome, logit link (``family="binomial"``).

    Returns
    -------
    BinomialFamily
    """
    return BinomialFamily()


def bernoulli() -> BinomialFamily:
    """The same family as :func:`binomial` (brms's and bml 1.0's name for a 0/1 outcome).

    Returns
    -------
    BinomialFamily
    """
    return BinomialFamily()


def weibull() -> WeibullFamily:
    """Weibull accelerated-failure-time survival model (``family="weibull"``).

    Returns
    -------
    WeibullFamily
    """
    return WeibullFamily()


def cox(
    intervals: int | None = None, a: float = 0.001, b: float = 0.1, grid: str = "all"
) -> CoxFamily:
    """Cox proportional hazards (``family="cox"``).

    Parameters
    ----------
    intervals : int, optional
        Piecewise-constant baseline on this many intervals (bml's ``cox_intervals``);
        ``None``: a baseline increment at every unique event time.
    a, b : float
        Gamma prior of the baseline increments.
    grid : {"all", "events"}

    Returns
    -------
    CoxFamily
    """
    return CoxFamily(intervals=intervals, a=a, b=b, grid=grid)


def clogit(ties: str = "exact") -> ConditionalLogitFamily:
    """Conditional logit within choice sets (``family="clogit"``, ``strata()`` in the formula).

    Parameters
    ----------
    ties : {"exact", "breslow"}

    Returns
    -------
    ConditionalLogitFamily
    """
    return ConditionalLogitFamily(ties=ties)


def poisson() -> PoissonFamily:
    """Count outcome, Poisson with log link (``family="poisson"``).

    Returns
    -------
    PoissonFamily
    """
    return PoissonFamily()


def negbinomial() -> NegBinomialFamily:
    """Overdispersed counts, negative binomial NB2 with log link (``family="negbinomial"``).

    Returns
    -------
    NegBinomialFamily
    """
    return NegBinomialFamily()
