"""Parameter kinds, bml's default priors, and which priors each kind admits."""

from __future__ import annotations

from mmreg.errors import MMSpecError
from mmreg.priors.distributions import (
    Fixed,
    Normal,
    Prior,
    StudentT,
    Uniform,
)
from mmreg.priors.lkj import LKJ
from mmreg.priors.positive import (
    Exponential,
    HalfCauchy,
)

__all__ = [
    "KIND_COEF",
    "KIND_WEIGHT",
    "KIND_SD",
    "KIND_SHAPE",
    "KIND_FN",
    "KIND_COR",
    "KINDS",
    "default_prior",
    "check_prior_kind",
]

KIND_COEF, KIND_WEIGHT, KIND_SD, KIND_SHAPE = "coef", "weight", "sd", "shape"
#: shapes of an aggregation fn(type, kappa = est()) and free symbols of fn(~ ...): enter the
#: model through the design like weight parameters; any prior (defaults per parameter)
KIND_FN = "fn"
#: the correlation of a random intercept and slope (``re(1 + x, cor = TRUE)``), in (-1, 1)
KIND_COR = "cor"
KINDS = (KIND_COEF, KIND_WEIGHT, KIND_SD, KIND_SHAPE, KIND_FN, KIND_COR)

_KIND_LABEL = {
    KIND_COEF: "coefficient",
    KIND_WEIGHT: "weight parameter",
    KIND_SD: "standard deviation",
    KIND_SHAPE: "shape",
    KIND_FN: "aggregation parameter",
    KIND_COR: "correlation",
}


def default_prior(kind: str) -> Prior:
    """bml 0.9.0's default prior for a parameter of the given kind (SPEC §1).

    A family's parameters take the defaults the family declares
    (:attr:`mmreg.families.Family.default_priors`) before these.

    Parameters
    ----------
    kind : {"coef", "weight", "fn", "sd", "shape", "cor"}

    Returns
    -------
    Prior
        ``Normal(0, 100)`` for coefficients and weight parameters (JAGS
        ``dnorm(0, 0.0001)``); ``HalfCauchy(25)`` for every SD (JAGS
        ``dscaled.gamma(25, 1)`` on the precision); ``Exponential(0.001)`` for a shape
        (bml's Weibull shape, JAGS ``dexp(0.001)``).

    Raises
    ------
    MMSpecError
        If ``kind`` is not one of :data:`KINDS`.
    """
    if kind in (KIND_COEF, KIND_WEIGHT):
        return Normal(0.0, 100.0)
    if kind == KIND_FN:  # free symbols of fn(~ ...); named shapes have their own defaults
        return Normal(0.0, 10.0)
    if kind == KIND_SD:
        return HalfCauchy(25.0)
    if kind == KIND_SHAPE:
        return Exponential(0.001)
    if kind == KIND_COR:
        return LKJ(1.0)
    raise MMSpecError(f"unknown parameter kind {kind!r}; expected one of {', '.join(KINDS)}.")


def check_prior_kind(prior: Prior, kind: str, name: str, source: str) -> None:
    """Raise :class:`MMSpecError` if ``prior`` cannot be used for a parameter of ``kind``.

    Coefficients and weight parameters admit any prior (a coefficient with a
    :class:`Normal` prior is integrated out with the latent effects, with another prior it
    is sampled with the hyperparameters).  SDs and the Weibull shape need a prior on
    ``[0, inf)`` (a :class:`Fixed` value must be positive).

    Parameters
    ----------
    prior : Prior
    kind : {"coef", "weight", "fn", "sd", "shape", "cor"}
    name : str
        The parameter's name (for the message).
    source : str
        How the user specified the prior, quoted in the message (e.g. ``"pattern
        'sigma.*'"`` or ``"'b[2] ~ dt(0, 1, 3)'"``).

    Raises
    ------
    MMSpecError
    """
    if kind not in KINDS:
        raise MMSpecError(
            f"parameter {name!r} has unknown kind {kind!r}; expected one of {', '.join(KINDS)}."
        )
    where = f"prior {prior} from {source} for {_KIND_LABEL[kind]} {name!r}"
    if kind in (KIND_COEF, KIND_WEIGHT, KIND_FN):
        return
    if kind == KIND_COR:
        _check_correlation(prior, where)
        return
    # standard deviations and the Weibull shape: strictly positive parameters
    if isinstance(prior, Fixed):
        if prior.value <= 0:
            raise MMSpecError(f"{where}: a fixed {_KIND_LABEL[kind]} must be positive.")
        return
    lower, upper = prior.bounds()
    if lower >= 0:
        return
    if isinstance(prior, Normal) and prior.mu == 0:
        hint = f"use HalfNormal({prior.sd:g}) (JAGS: dnorm(0, tau) T(0,))"
    elif isinstance(prior, StudentT) and prior.mu == 0:
        hint = f"use HalfT({prior.sd:g}, {prior.df:g}) (JAGS: dt(0, tau, df) T(0,))"
    elif isinstance(prior, Uniform) and upper > 0:
        hint = f"use Uniform(0, {upper:g})"
    else:
        hint = (
            "use a prior on [0, inf) such as HalfNormal, HalfCauchy, HalfT, Exponential, "
            "Gamma, LogNormal or Uniform(0, upper)"
        )
    raise MMSpecError(
        f"{where}: a {_KIND_LABEL[kind]} must be positive but this prior puts mass on "
        f"negative values; {hint}."
    )


def _check_correlation(prior: Prior, where: str) -> None:
    """A correlation needs a prior inside [-1, 1]: LKJ(eta), Uniform(lo, hi) with
    -1 <= lo < hi <= 1, or a fixed value strictly between -1 and 1."""
    if isinstance(prior, Fixed):
        if not -1.0 < prior.value < 1.0:
            raise MMSpecError(f"{where}: a fixed correlation must lie strictly in (-1, 1).")
        return
    lower, upper = prior.bounds()
    if lower < -1.0 or upper > 1.0:
        raise MMSpecError(
            f"{where}: a correlation lies in [-1, 1] but this prior puts mass outside it; use "
            "lkj(eta) (mmreg.prior('lkj(2)', class_='cor')) or uniform(lo, hi) within [-1, 1]."
        )
