"""brms-style priors: ``mmreg.prior("normal(0, 1)", class_="b", coef="majority")``.

A :class:`PriorSpec` names a distribution in brms's dialect (``normal(mu, sigma)``,
``student_t(df, mu, sigma)``, ``cauchy(mu, sigma)``, ``exponential(rate)``,
``gamma(shape, rate)``, ``uniform(lo, hi)``, ``lkj(eta)``, plus ``lognormal(mu, sigma)``,
``beta(a, b)`` and ``constant(value)``), always on the SD scale (``sigma`` is a standard
deviation, never a precision), and the parameters it is for (``class_``, ``coef``,
``group``; see :mod:`mmreg.priors.classes`).  On a standard deviation, a residual ``sigma``
or a ``shape`` the location-0 ``normal``, ``student_t`` and ``cauchy`` are their half
versions (brms's convention).  The string is parsed without ``eval``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from mmreg.errors import MMSpecError
from mmreg.priors.distributions import Beta, Fixed, Normal, Prior, StudentT, Uniform
from mmreg.priors.jags import evaluate_arithmetic
from mmreg.priors.lkj import LKJ
from mmreg.priors.positive import (
    Exponential,
    Gamma,
    HalfCauchy,
    HalfNormal,
    HalfT,
    LogNormal,
)

__all__ = ["PriorSpec", "prior", "DISTRIBUTIONS", "CLASSES", "POSITIVE_CLASSES", "prior_string"]

#: brms-style distributions and their arguments.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": ("mu", "sigma"),
    "student_t": ("df", "mu", "sigma"),
    "cauchy": ("mu", "sigma"),
    "exponential": ("rate",),
    "gamma": ("shape", "rate"),
    "uniform": ("lo", "hi"),
    "lkj": ("eta",),
    "lognormal": ("mu", "sigma"),
    "beta": ("a", "b"),
    "constant": ("value",),
}
#: Parameter classes (brms's names).
CLASSES = ("Intercept", "b", "sd", "cor", "sigma", "shape", "w", "fn")
#: Classes of strictly positive parameters: normal/student_t/cauchy are half distributions.
POSITIVE_CLASSES = ("sd", "sigma", "shape")
_HALF = ("normal", "student_t", "cauchy")


@dataclass(frozen=True)
class PriorSpec:
    """A brms-style prior: a distribution and the parameters it is for.

    Build it with :func:`prior`.  A list of them is a ``priors=`` value.
    """

    dist: str
    class_: str = "b"
    coef: str | None = None
    group: str | None = None
    family: str = field(default="", compare=False)
    args: tuple[float, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.family:  # built directly rather than by prior(): parse the string now
            family, args = _parse(self.dist)
            object.__setattr__(self, "family", family)
            object.__setattr__(self, "args", args)

    def __repr__(self) -> str:
        parts = [repr(self.dist), f"class_={self.class_!r}"]
        parts += [f"{k}={v!r}" for k, v in (("coef", self.coef), ("group", self.group)) if v]
        return f"prior({', '.join(parts)})"

    def to_prior(self, class_: str, parameter: str | None = None) -> Prior:
        """The :class:`Prior` this spec puts on one parameter of class ``class_``.

        Parameters
        ----------
        class_ : str
            The parameter's class (one of :data:`CLASSES`).
        parameter : str, optional
            The parameter's name (for messages).

        Returns
        -------
        Prior

        Raises
        ------
        MMSpecError
            A distribution that does not fit the class (a location other than 0 for a half
            distribution, ``lkj`` on anything but a correlation) or invalid values.
        """
        where = repr(self) + (f" for {class_} parameter {parameter!r}" if parameter else "")
        try:
            return self._build(class_, where)
        except MMSpecError as err:
            if str(err).startswith(where):
                raise
            raise MMSpecError(f"{where}: {err}") from None

    def _build(self, class_: str, where: str) -> Prior:
        f, a = self.family, self.args
        if f == "constant":
            return Fixed(a[0])
        if f == "lkj" and class_ != "cor":
            raise MMSpecError(f"{where}: lkj(eta) is a prior for correlations (class 'cor').")
        if f == "lkj":
            return LKJ(a[0])
        if class_ in POSITIVE_CLASSES and f in _HALF:
            mu = a[1] if f == "student_t" else a[0]
            if mu != 0:
                raise MMSpecError(
                    f"{where}: on a positive parameter {f}() is the half distribution at 0 "
                    f"(brms convention); its location must be 0, got {mu:g}."
                )
            if f == "normal":
                return HalfNormal(a[1])
            if f == "cauchy" or (f == "student_t" and a[0] == 1.0):
                return HalfCauchy(a[-1])
            return HalfT(a[2], a[0])
        if f == "normal":
            return Normal(a[0], a[1])
        if f == "student_t":
            return StudentT(a[1], a[2], a[0])
        if f == "cauchy":
            return StudentT(a[0], a[1], 1.0)
        cls = {
            "exponential": Exponential,
            "gamma": Gamma,
            "uniform": Uniform,
            "lognormal": LogNormal,
            "beta": Beta,
        }[f]
        return cls(*a)


def prior(
    dist: str, class_: str | None = None, coef: str | None = None, group: str | None = None
) -> PriorSpec:
    """A brms-style prior for ``priors=``.

    Parameters
    ----------
    dist : str
        ``"normal(0, 1)"``, ``"student_t(3, 0, 2.5)"``, ``"cauchy(0, 2.5)"``,
        ``"exponential(1)"``, ``"gamma(2, 0.1)"``, ``"uniform(-1, 1)"``, ``"lkj(1)"``,
        ``"lognormal(0, 1)"``, ``"beta(2, 2)"`` or ``"constant(0.5)"`` (fixes the value).
        Scales are standard deviations; arguments may be arithmetic (``"normal(0, 10^2)"``).
    class_ : str, optional
        ``"Intercept"``, ``"b"`` (default, as in brms), ``"sd"``, ``"cor"``, ``"sigma"``,
        ``"shape"``, ``"w"`` or ``"fn"``.
    coef : str, optional
        The coefficient or parameter within the class (``"majority"``, ``"b1"``); default:
        all of the class (for ``"b"``: every coefficient except the intercept).
    group : str, optional
        The block (``"mm1"``, ``"hm1"``); default: every block.

    Returns
    -------
    PriorSpec

    Raises
    ------
    MMSpecError
        Unknown class or distribution, wrong number of arguments, arguments that are not
        numbers, or invalid values (e.g. a negative scale).

    Examples
    --------
    >>> import mmreg
    >>> mmreg.prior("normal(0, 1)", class_="b", coef="majority")
    prior('normal(0, 1)', class_='b', coef='majority')
    >>> mmreg.prior("exponential(1)", class_="sd", group="hm1").to_prior("sd", "sigma.hm1")
    Exponential(rate=1.0)
    >>> mmreg.prior("cauchy(0, 2.5)", class_="sd").to_prior("sd", "sigma.mm1")
    HalfCauchy(scale=2.5)
    """
    if not isinstance(dist, str):
        raise MMSpecError(
            f"prior(): the distribution must be a string such as 'normal(0, 1)', got {dist!r}."
        )
    class_ = "b" if class_ is None else class_
    if class_ not in CLASSES:
        raise MMSpecError(
            f"prior({dist!r}): unknown class_ {class_!r}; classes are {', '.join(CLASSES)}."
        )
    for nm, v in (("coef", coef), ("group", group)):
        if v is not None and (not isinstance(v, str) or not v):
            raise MMSpecError(f"prior({dist!r}): {nm} must be a non-empty string, got {v!r}.")
    family, args = _parse(dist)
    spec = PriorSpec(dist.strip(), class_, coef, group, family, args)
    spec.to_prior(class_)  # invalid values and misfits fail here
    return spec


def _parse(text: str) -> tuple[str, tuple[float, ...]]:
    """``"normal(0, 1)"`` -> ``("normal", (0.0, 1.0))`` (no eval: ast + arithmetic only)."""
    src = text.strip().replace("^", "**")
    try:
        node = ast.parse(src, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        node = None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.keywords:
        raise MMSpecError(
            f"cannot parse the prior {text!r}: expected a distribution call such as "
            f"'normal(0, 1)'; distributions: {_dist_list()}."
        )
    name = node.func.id
    if name not in DISTRIBUTIONS:
        hint = (
            " (JAGS's dnorm etc. go in bml strings: 'b[2] ~ dnorm(0, 1)')"
            if (name.startswith("d"))
            else ""
        )
        raise MMSpecError(
            f"unknown distribution {name!r} in prior {text!r}; distributions: {_dist_list()}{hint}."
        )
    want = DISTRIBUTIONS[name]
    if len(node.args) != len(want):
        raise MMSpecError(
            f"{name} takes {len(want)} argument(s) ({', '.join(want)}), got "
            f"{len(node.args)} in prior {text!r}."
        )
    return name, tuple(evaluate_arithmetic(a, text) for a in node.args)


def _dist_list() -> str:
    return ", ".join(f"{k}({', '.join(v)})" for k, v in DISTRIBUTIONS.items())


def prior_string(p: Prior) -> str:
    """A readable brms-style string for a prior (SD scale); ``str(p)`` if there is none.

    Parameters
    ----------
    p : Prior

    Returns
    -------
    str

    Examples
    --------
    >>> from mmreg.priors import HalfCauchy, Normal
    >>> prior_string(Normal(0, 100)), prior_string(HalfCauchy(25))
    ('normal(0, 100)', 'cauchy(0, 25)')
    """
    g = "{:.6g}".format
    if isinstance(p, Fixed):
        return f"constant({g(p.value)})"
    if isinstance(p, HalfCauchy):
        return f"cauchy(0, {g(p.scale)})"
    if isinstance(p, HalfT):
        if p.df == 1.0:
            return f"cauchy(0, {g(p.scale)})"
        return f"student_t({g(p.df)}, 0, {g(p.scale)})"
    if isinstance(p, HalfNormal):
        return f"normal(0, {g(p.sd)})"
    if isinstance(p, Normal):
        return f"normal({g(p.mu)}, {g(p.sd)})"
    if isinstance(p, StudentT):
        return f"student_t({g(p.df)}, {g(p.mu)}, {g(p.sd)})"
    simple = {
        Exponential: ("exponential", ("rate",)),
        Gamma: ("gamma", ("shape", "rate")),
        Uniform: ("uniform", ("lower", "upper")),
        LogNormal: ("lognormal", ("mu", "sd")),
        Beta: ("beta", ("a", "b")),
        LKJ: ("lkj", ("eta",)),
    }
    if type(p) in simple:
        name, attrs = simple[type(p)]
        return f"{name}({', '.join(g(getattr(p, a)) for a in attrs)})"
    return str(p)
