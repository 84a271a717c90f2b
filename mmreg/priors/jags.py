"""bml's JAGS prior strings: ``"b.w.1 ~ dnorm(0, 1)"``, ``"tau.mm.1 ~ dgamma(2, 0.5)"``,
``"b.w.1[2] <- 1"``.

JAGS conventions are kept: ``dnorm``, ``dt`` and ``dlnorm`` take a *precision*
``tau = 1/sd^2``; ``dgamma(shape, rate)``; a prior on ``tau.*`` is a prior on the precision
of ``sigma.*`` and is turned into the equivalent density for the SD
(:class:`PrecisionGamma`, :class:`PrecisionScaledGamma`); ``name <- value`` fixes a value.
Arguments may be arithmetic of numbers (``dnorm(0, 1/100^2)``, ``1.0E-4``,
``pow(10, -4)``).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable

from mmreg.errors import MMSpecError
from mmreg.priors.distributions import (
    Beta,
    Fixed,
    Normal,
    Prior,
    StudentT,
    Uniform,
)
from mmreg.priors.kinds import KIND_COEF, KIND_SD, KIND_SHAPE, KIND_WEIGHT, check_prior_kind
from mmreg.priors.positive import (
    Exponential,
    Gamma,
    HalfCauchy,
    HalfNormal,
    HalfT,
    LogNormal,
    PrecisionGamma,
    PrecisionScaledGamma,
)

__all__ = [
    "parse_jags_prior",
    "split_jags_lines",
    "bml_name_kind",
    "split_bml_name",
    "evaluate_arithmetic",
]

#: JAGS distributions understood here and their number of arguments.
JAGS_DISTRIBUTIONS = {
    "dnorm": 2,
    "dt": 3,
    "dunif": 2,
    "dexp": 1,
    "dgamma": 2,
    "dlnorm": 2,
    "dbeta": 2,
    "dscaled.gamma": 2,
}

_STATEMENT = re.compile(
    r"^\s*(?P<base>[A-Za-z][A-Za-z0-9._]*?)\s*(?:\[\s*(?P<index>\d+)\s*\])?"
    r"\s*(?P<op>~|<-)\s*(?P<rhs>.*?)\s*$",
    re.S,
)
_TRUNC = re.compile(
    r"^(?P<call>.*\))\s*(?P<kw>[TI])\s*\(\s*(?P<lo>[^,()]*?)\s*,\s*(?P<hi>[^,()]*?)\s*\)\s*$",
    re.S,
)
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCS: dict[str, tuple[int, Callable[..., float]]] = {
    "pow": (2, math.pow),
    "sqrt": (1, math.sqrt),
    "exp": (1, math.exp),
    "log": (1, math.log),
}
_INDEXED = re.compile(r"^(?P<base>.+?)\[\s*(?P<index>\d+)\s*\]$")


def split_jags_lines(text: str) -> list[str]:
    """Split a block of JAGS prior statements into single statements.

    Comments (``# ...``) are dropped; statements are separated by newlines or ``;``.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of str
        The non-empty statements, stripped.
    """
    out = []
    for line in text.splitlines():
        for part in line.split("#", 1)[0].split(";"):
            if part.strip():
                out.append(part.strip())
    return out


def split_bml_name(name: str) -> tuple[str, int | None]:
    """Split a bml name into its family and 1-based index: ``"b.w.1[2]"`` -> ``("b.w.1", 2)``.

    Precision names are mapped to the SD they parametrise (``tau.mm.1`` -> ``sigma.mm.1``).

    Parameters
    ----------
    name : str

    Returns
    -------
    tuple of (str, int or None)
    """
    m = _INDEXED.match(name.strip())
    base, index = (m["base"].strip(), int(m["index"])) if m else (name.strip(), None)
    if base == "tau" or base.startswith("tau."):
        base = "sigma" + base[3:]
    return base, index


def bml_name_kind(base: str) -> str | None:
    """The parameter kind of a bml name family (``None`` if not a bml parameter name).

    Parameters
    ----------
    base : str
        A bml name without index, e.g. ``"b"``, ``"b.mm.1"``, ``"b.w.1"``, ``"sigma.hm.1"``.

    Returns
    -------
    str or None
    """
    if base == "b" or re.fullmatch(r"b\.(mm|hm)\.\d+", base):
        return KIND_COEF
    if re.fullmatch(r"b\.w\.\d+", base):
        return KIND_WEIGHT
    if base == "sigma" or base.startswith("sigma."):
        return KIND_SD
    if base == "shape":
        return KIND_SHAPE
    return None


def parse_jags_prior(text: str) -> tuple[str, Prior]:
    """Parse one bml/JAGS prior statement.

    Parameters
    ----------
    text : str
        ``"name ~ dist(args)"`` (optionally followed by ``T(0,)``) or ``"name <- value"``.
        ``name`` is a bml name, with an index for one parameter (``b.w.1[2]``) or without
        for the whole family (``b.w.1``).

    Returns
    -------
    name : str
        The bml name as written, except that a precision ``tau.*`` becomes the SD
        ``sigma.*`` it parametrises (``"tau.mm.1"`` -> ``"sigma.mm.1"``).
    prior : Prior
        ``dnorm(mu, tau)`` -> ``Normal(mu, 1/sqrt(tau))``; ``dt(mu, tau, df)`` ->
        ``StudentT(mu, 1/sqrt(tau), df)``; ``dunif`` -> ``Uniform``; ``dexp`` ->
        ``Exponential``; ``dgamma`` -> ``Gamma``; ``dlnorm(mu, tau)`` ->
        ``LogNormal(mu, 1/sqrt(tau))``; ``dbeta`` -> ``Beta``; ``dnorm(0, tau) T(0,)`` ->
        ``HalfNormal``; ``dt(0, tau, df) T(0,)`` -> ``HalfT`` (``HalfCauchy`` if ``df == 1``).
        On ``tau.*``: ``dgamma(a, r)`` -> ``PrecisionGamma(a, r)``, ``dexp(r)`` ->
        ``PrecisionGamma(1, r)``, ``dscaled.gamma(s, df)`` -> ``PrecisionScaledGamma(s, df)``,
        ``<- v`` -> ``Fixed(1/sqrt(v))``.  ``name <- v`` -> ``Fixed(v)``.

    Raises
    ------
    MMSpecError
        Unparsable statement, unknown distribution, wrong number or non-numeric arguments,
        invalid parameter values, unsupported truncation, or a prior that does not fit the
        parameter family (e.g. a prior with negative support on ``sigma.*``).  The message quotes
        ``text``.
    """
    if not isinstance(text, str):
        raise MMSpecError(f"a bml prior must be a string like 'b.w.1 ~ dnorm(0, 1)', got {text!r}.")
    lines = split_jags_lines(text)
    if len(lines) != 1:
        what = "is empty" if not lines else "holds several statements"
        raise MMSpecError(f"prior {text!r} {what}; give exactly one statement per string.")
    m = _STATEMENT.match(lines[0])
    if m is None or not m["rhs"]:
        raise MMSpecError(
            f"cannot parse prior {text!r}: expected 'name ~ distribution(arguments)' or "
            "'name <- value', e.g. 'b.w.1 ~ dnorm(0, 1)' or 'b.w.1[2] <- 1'."
        )
    base, _ = split_bml_name(m["base"])
    index = None if m["index"] is None else int(m["index"])
    precision = base != m["base"].strip()
    name = base if index is None else f"{base}[{index}]"
    if m["op"] == "<-":
        value = _evaluate(m["rhs"], text)
        if precision:
            if value <= 0:
                raise MMSpecError(f"prior {text!r}: a precision must be positive.")
            value = 1.0 / math.sqrt(value)
        prior: Prior = Fixed(value)
    else:
        prior = _distribution(m["rhs"], precision, text)
    kind = bml_name_kind(base)
    if kind is not None:
        check_prior_kind(prior, kind, name, repr(text))
    return name, prior


def _distribution(rhs: str, precision: bool, text: str) -> Prior:
    """Turn ``dist(args) [T(lo, hi)]`` into a Prior (``precision``: the node is a ``tau``)."""
    trunc = None
    t = _TRUNC.match(rhs)
    if t is not None:
        rhs = t["call"]
        lo = _evaluate(t["lo"], text) if t["lo"] else None
        hi = _evaluate(t["hi"], text) if t["hi"] else None
        trunc = (lo, hi)
    src = re.sub(r"\bdscaled\.gamma\b", "dscaled_gamma", rhs).replace("^", "**")
    try:
        node = ast.parse(src, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError):  # too deep: not a prior
        node = None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.keywords:
        raise MMSpecError(
            f"cannot parse the distribution in prior {text!r}: expected a JAGS distribution "
            f"call such as dnorm(0, 1); supported: {', '.join(JAGS_DISTRIBUTIONS)}."
        )
    dist = node.func.id.replace("dscaled_gamma", "dscaled.gamma")
    if dist not in JAGS_DISTRIBUTIONS:
        raise MMSpecError(
            f"unknown distribution {dist!r} in prior {text!r}; supported: "
            f"{', '.join(JAGS_DISTRIBUTIONS)} (a half-Cauchy(s) SD prior is "
            "'tau ~ dscaled.gamma(s, 1)' or 'sigma ~ dt(0, 1/s^2, 1) T(0,)')."
        )
    if len(node.args) != JAGS_DISTRIBUTIONS[dist]:
        raise MMSpecError(
            f"{dist} takes {JAGS_DISTRIBUTIONS[dist]} argument(s), got {len(node.args)} in "
            f"prior {text!r}."
        )
    args = [_evaluate_node(a, text) for a in node.args]
    try:
        return _build(dist, args, precision, trunc, text)
    except MMSpecError as err:
        if repr(text) in str(err):
            raise
        raise MMSpecError(f"in prior {text!r}: {err}") from None


def _build(dist: str, args: list[float], precision: bool, trunc: tuple | None, text: str) -> Prior:
    if trunc is not None and not (
        dist in ("dnorm", "dt") and trunc == (0.0, None) and args[0] == 0.0
    ):
        raise MMSpecError(
            f"unsupported truncation in prior {text!r}: only T(0,) on dnorm(0, tau) or "
            "dt(0, tau, df) (a half-normal or half-t) is supported."
        )
    if precision:
        if dist == "dgamma":
            return PrecisionGamma(args[0], args[1])
        if dist == "dexp":
            return PrecisionGamma(1.0, args[0])
        if dist == "dscaled.gamma":
            return PrecisionScaledGamma(args[0], args[1])
        raise MMSpecError(
            f"prior {text!r}: a prior on a precision tau must be dgamma(shape, rate), "
            "dexp(rate) or dscaled.gamma(scale, df); to put another prior on the standard "
            "deviation, write it for sigma (e.g. 'sigma.mm.1 ~ dunif(0, 10)')."
        )
    if dist == "dscaled.gamma":
        raise MMSpecError(
            f"prior {text!r}: dscaled.gamma is a prior for a precision; write it for tau "
            "(e.g. 'tau.mm.1 ~ dscaled.gamma(25, 1)')."
        )
    if dist in ("dnorm", "dt", "dlnorm"):
        if args[1] <= 0:
            raise MMSpecError(
                f"prior {text!r}: the second argument of {dist} is a precision "
                "(tau = 1/sd^2, JAGS convention) and must be positive."
            )
        sd = 1.0 / math.sqrt(args[1])
        if dist == "dnorm":
            return HalfNormal(sd) if trunc else Normal(args[0], sd)
        if dist == "dlnorm":
            return LogNormal(args[0], sd)
        if trunc:
            return HalfCauchy(sd) if args[2] == 1.0 else HalfT(sd, args[2])
        return StudentT(args[0], sd, args[2])
    cls = {"dunif": Uniform, "dexp": Exponential, "dgamma": Gamma, "dbeta": Beta}[dist]
    return cls(*args)


def _evaluate(src: str, text: str) -> float:
    try:
        node = ast.parse(src.replace("^", "**"), mode="eval").body
    except (SyntaxError, RecursionError, MemoryError):
        raise MMSpecError(f"cannot read the number {src!r} in prior {text!r}.") from None
    return _evaluate_node(node, text)


def _evaluate_node(node: ast.AST, text: str) -> float:
    """Evaluate numbers and arithmetic (+ - * / ^, pow, sqrt, exp, log) safely."""
    try:
        value = _eval(node)
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        value = math.nan
    except _NotNumeric:
        raise MMSpecError(
            f"cannot evaluate {ast.unparse(node)!r} in prior {text!r}: arguments must be "
            "numbers or arithmetic of numbers (+ - * / ^, pow, sqrt, exp, log)."
        ) from None
    if not math.isfinite(value):
        raise MMSpecError(
            f"{ast.unparse(node)!r} in prior {text!r} does not evaluate to a finite number."
        )
    return value


class _NotNumeric(Exception):
    pass


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)  # type: ignore[arg-type]  # int or float (checked above)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return float(_BINOPS[type(node.op)](_eval(node.left), _eval(node.right)))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCS
        and not node.keywords
        and len(node.args) == _FUNCS[node.func.id][0]
    ):
        return float(_FUNCS[node.func.id][1](*(_eval(a) for a in node.args)))
    raise _NotNumeric


def evaluate_arithmetic(node: ast.AST, text: str) -> float:
    """Evaluate a parsed argument: numbers and arithmetic (+ - * / ^, pow, sqrt, exp, log).

    Parameters
    ----------
    node : ast.AST
        A parsed expression (``^`` already written as ``**``).
    text : str
        The whole prior as written, quoted in error messages.

    Returns
    -------
    float

    Raises
    ------
    MMSpecError
        Anything else than arithmetic of numbers, or a non-finite result.
    """
    return _evaluate_node(node, text)
