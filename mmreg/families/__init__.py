"""Outcome families: log-likelihood, gradient and structured curvature in ``eta``.

Use :func:`get_family` to build one by name (bml's capitalised names are accepted), then
``family.bind(outcome)`` to validate the outcome and get the object the inference engine
calls (:class:`BoundFamily`).
"""

from __future__ import annotations

from mmreg.errors import MMSpecError
from mmreg.families.base import BoundFamily, Curvature, Family
from mmreg.families.binomial import BinomialFamily
from mmreg.families.clogit import ConditionalLogitFamily
from mmreg.families.constructors import (
    bernoulli,
    binomial,
    clogit,
    cox,
    gaussian,
    negbinomial,
    poisson,
    weibull,
)
from mmreg.families.count import NegBinomialFamily, PoissonFamily
from mmreg.families.cox import CoxFamily
from mmreg.families.gaussian import GaussianFamily
from mmreg.families.weibull import WeibullFamily

__all__ = [
    "BinomialFamily",
    "BoundFamily",
    "ConditionalLogitFamily",
    "CoxFamily",
    "Curvature",
    "Family",
    "GaussianFamily",
    "NegBinomialFamily",
    "PoissonFamily",
    "WeibullFamily",
    "FAMILY_NAMES",
    "get_family",
    "gaussian",
    "bernoulli",
    "binomial",
    "weibull",
    "cox",
    "clogit",
    "poisson",
    "negbinomial",
]

_CLASSES: dict[str, type[Family]] = {
    "gaussian": GaussianFamily,
    "binomial": BinomialFamily,
    "weibull": WeibullFamily,
    "cox": CoxFamily,
    "clogit": ConditionalLogitFamily,
    "poisson": PoissonFamily,
    "negbinomial": NegBinomialFamily,
}
_ALIASES = {
    "condlogit": "clogit",
    "conditionallogit": "clogit",
    "bernoulli": "binomial",
    "negbin": "negbinomial",
    "nb": "negbinomial",
}

#: Canonical family names.
FAMILY_NAMES: tuple[str, ...] = tuple(_CLASSES)


def get_family(name: str | Family, **options: object) -> Family:
    """Build a family from its name.

    Parameters
    ----------
    name : str or Family
        Case-insensitive: ``"gaussian"``, ``"binomial"`` (alias ``"bernoulli"``),
        ``"weibull"``, ``"cox"``, ``"clogit"`` (also ``"CondLogit"``, ``"conditional_logit"``),
        ``"poisson"``, ``"negbinomial"`` (also ``"negbin"``, ``"nb"``); bml's ``"Gaussian"``,
        ``"Binomial"``, ``"Weibull"``, ``"Cox"``.  A :class:`Family` instance is returned as is.
    **options
        ``cox``: ``intervals`` (alias ``cox_intervals``) ``None`` or a positive int, ``a``,
        ``b`` (Gamma prior of the baseline increments), ``grid`` (``"all"``/``"events"``).
        ``clogit``: ``ties`` (``"exact"``/``"breslow"``).  ``intervals=None`` is accepted
        (and ignored) for every family.

    Returns
    -------
    Family

    Raises
    ------
    MMSpecError
        Unknown family name (the message lists the valid ones) or an option the family does
        not take.
    """
    opts = dict(options)
    if "cox_intervals" in opts:
        if "intervals" in opts:
            raise MMSpecError("give either intervals= or cox_intervals=, not both.")
        opts["intervals"] = opts.pop("cox_intervals")
    if isinstance(name, Family):
        if any(v is not None for v in opts.values()):
            raise MMSpecError(f"options {sorted(opts)} cannot be applied to a Family instance.")
        return name
    if not isinstance(name, str):
        raise MMSpecError(f"family must be a string such as 'gaussian', got {name!r}.")
    key = name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
    key = _ALIASES.get(key, key)
    if key not in _CLASSES:
        raise MMSpecError(
            f"unknown family {name!r}; valid families are 'gaussian', 'binomial' ('bernoulli'), "
            "'weibull', 'cox', 'clogit', 'poisson' and 'negbinomial' (case-insensitive; bml's "
            "'Gaussian', 'Binomial', 'Weibull', 'Cox' and 'CondLogit'/'conditional_logit' are "
            "accepted too)."
        )
    if key != "cox":
        if opts.get("intervals", None) is not None:
            raise MMSpecError(
                f"cox_intervals={opts['intervals']!r} only applies to family='cox', not "
                f"{key!r}; remove it."
            )
        opts.pop("intervals", None)
    try:
        return _CLASSES[key](**opts)
    except TypeError:
        raise MMSpecError(
            f"family {key!r} does not take the option(s) {sorted(opts)}; see "
            "mmreg.families.get_family for the valid options."
        ) from None
