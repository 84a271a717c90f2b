"""Parameter classes (brms's ``class``/``coef``/``group``) and brms-style prior matching.

Every parameter name maps to one row ``(class, coef, group, parameter)``, from its name
alone (and whether it is a coefficient), so names added by new model parts fit without
changes here:

============================  =========  ===========  =======
parameter                     class      coef         group
============================  =========  ===========  =======
``Intercept``                 Intercept  ``""``       ``""``
``majority``                  b          majority     ``""``
``mm1.finance``, ``hm1.gdp``  b          finance      mm1
``hm1[NOR]``                  b          hm1[NOR]     hm1
``mm1.w.b1``                  w          b1           mm1
``mm1.fn.kappa``              fn         kappa        mm1
``sigma.hm1``                 sd         Intercept    hm1
``sigma.hm1.majority``        sd         majority     hm1
``cor.hm1.majority``          cor        majority     hm1
``sigma`` / ``shape``         sigma / shape  ``""``   ``""``
============================  =========  ===========  =======

A :class:`~mmreg.priors.brms.PriorSpec` matches the rows of its class whose group equals its
``group`` (if given) and whose coef or parameter name equals its ``coef`` (if given).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mmreg.errors import MMSpecError
from mmreg.priors.brms import PriorSpec
from mmreg.priors.distributions import Prior
from mmreg.priors.kinds import KIND_COEF, check_prior_kind

__all__ = ["PriorRow", "classify", "prior_rows", "apply_prior_spec"]

_BLOCK = r"(?:mm|hm)\d+"
_PATTERNS = (
    ("sd", re.compile(rf"^sigma\.(?P<group>{_BLOCK})(?:\.(?P<coef>.+))?$")),
    ("cor", re.compile(rf"^cor\.(?P<group>{_BLOCK})\.(?P<coef>.+)$")),
    ("w", re.compile(rf"^(?P<group>{_BLOCK})\.w\.(?P<coef>.+)$")),
    ("fn", re.compile(rf"^(?P<group>{_BLOCK})\.fn\.(?P<coef>.+)$")),
)
_COEF_GROUP = re.compile(rf"^(?P<group>{_BLOCK})(?P<sep>[.\[])(?P<rest>.*)$")


@dataclass(frozen=True)
class PriorRow:
    """One settable prior: the parameter and its brms-style class, coef and group."""

    class_: str
    coef: str
    group: str
    parameter: str


def classify(name: str, is_coef: bool) -> PriorRow:
    """The :class:`PriorRow` of a parameter (see the module's table).

    Parameters
    ----------
    name : str
        The mmreg parameter name.
    is_coef : bool
        Whether it is a regression coefficient (class ``Intercept`` or ``b``).

    Returns
    -------
    PriorRow
    """
    if is_coef:
        if name == "Intercept":
            return PriorRow("Intercept", "", "", name)
        m = _COEF_GROUP.match(name)
        if m is None:
            return PriorRow("b", name, "", name)
        coef = m["rest"] if m["sep"] == "." else name
        return PriorRow("b", coef, m["group"], name)
    for class_, pattern in _PATTERNS:
        m = pattern.match(name)
        if m is not None:
            coef = m["coef"] or "Intercept"
            return PriorRow(class_, coef, m["group"], name)
    return PriorRow(name, "", "", name)  # family parameters (sigma, shape): name = class


def prior_rows(names: Sequence[str], kinds: Mapping[str, str]) -> list[PriorRow]:
    """One :class:`PriorRow` per parameter, in order.

    Parameters
    ----------
    names : sequence of str
    kinds : mapping
        Parameter name -> kind (``"coef"`` marks the coefficients).

    Returns
    -------
    list of PriorRow
    """
    return [classify(n, kinds[n] == KIND_COEF) for n in names]


def matches(spec: PriorSpec, row: PriorRow) -> bool:
    """Whether ``spec`` is a prior for the parameter of ``row``."""
    if spec.class_ != row.class_:
        return False
    if spec.group is not None and spec.group != row.group:
        return False
    return spec.coef is None or spec.coef in (row.coef, row.parameter)


def apply_prior_spec(
    spec: PriorSpec, names: Sequence[str], kinds: Mapping[str, str], out: dict[str, Prior]
) -> None:
    """Set ``out[name]`` for every parameter ``spec`` matches.

    Raises
    ------
    MMSpecError
        ``spec`` matches no parameter (the message lists the settable priors), or its
        distribution does not fit a matched parameter.
    """
    rows = prior_rows(names, kinds)
    hit = [r for r in rows if matches(spec, r)]
    if not hit:
        raise MMSpecError(_no_match(spec, rows))
    for r in hit:
        p = spec.to_prior(r.class_, r.parameter)
        check_prior_kind(p, kinds[r.parameter], r.parameter, repr(spec))
        out[r.parameter] = p


def _no_match(spec: PriorSpec, rows: list[PriorRow]) -> str:
    def show(r: PriorRow) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("coef", r.coef), ("group", r.group)) if v)
        return f"class_={r.class_!r}{extra} ({r.parameter})"

    return (
        f"{spec!r} matches no parameter of this model; the settable priors are: "
        f"{'; '.join(show(r) for r in rows)} (see mmreg.get_prior)."
    )
