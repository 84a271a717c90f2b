"""Evaluation of a weight-function syntax tree with forward-mode derivatives.

:class:`Lowering` turns a tree from :mod:`mmreg.formula.wexpr` into either a constant (every
sub-expression that does not depend on the parameters is folded once, at bind time, into a
float or an array) or a closure ``f(theta, derivative) -> (value, d)``, where ``d`` is
``None`` (identically zero) or an array of shape ``(n_params, 1)`` or ``(n_params, n_rows)``
holding the exact derivatives with respect to the parameters.  Callers run it under
``np.errstate(all="ignore")``: non-finite values propagate silently.

Conventions: comparisons and ``& | !`` give 0/1 (NaN if an operand is NaN, with R's
``FALSE & NA == FALSE`` and ``TRUE | NA == TRUE``); ``round``, ``trunc``, ``floor``,
``ceiling``, comparisons and logical operators have derivative 0; ``abs`` has derivative
``sign(x)`` (0 at 0); ``round(x, digits)`` rounds the exact binary value to nearest like R
>= 4.0 (halves to even).  Aggregates are in :mod:`mmreg.formula.wagg`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import special

from mmreg.formula import wast as wx
from mmreg.formula.wagg import AGGREGATE_FUNCS, Groups

__all__ = ["Lowering", "constant_value"]

_Fn = Callable[[np.ndarray, bool], tuple[Any, Any]]  # (theta, derivative) -> (value, d or None)
_SQRT2PI = float(np.sqrt(2.0 * np.pi))

# name -> (value, derivative given (x, value)); None = derivative 0
_FUNCS: dict[str, tuple[Callable, Callable | None]] = {
    "exp": (np.exp, lambda x, v: v),
    "log": (np.log, lambda x, v: 1.0 / x),
    "log10": (np.log10, lambda x, v: 1.0 / (x * np.log(10.0))),
    "log2": (np.log2, lambda x, v: 1.0 / (x * np.log(2.0))),
    "sqrt": (np.sqrt, lambda x, v: 0.5 / v),
    "abs": (np.abs, lambda x, v: np.sign(x)),
    "sin": (np.sin, lambda x, v: np.cos(x)),
    "cos": (np.cos, lambda x, v: -np.sin(x)),
    "tan": (np.tan, lambda x, v: 1.0 + v * v),
    "asin": (np.arcsin, lambda x, v: 1.0 / np.sqrt(1.0 - x * x)),
    "acos": (np.arccos, lambda x, v: -1.0 / np.sqrt(1.0 - x * x)),
    "atan": (np.arctan, lambda x, v: 1.0 / (1.0 + x * x)),
    "sinh": (np.sinh, lambda x, v: np.cosh(x)),
    "cosh": (np.cosh, lambda x, v: np.sinh(x)),
    "tanh": (np.tanh, lambda x, v: 1.0 - v * v),
    "logit": (special.logit, lambda x, v: 1.0 / (x * (1.0 - x))),
    "ilogit": (special.expit, lambda x, v: v * (1.0 - v)),
    "probit": (special.ndtri, lambda x, v: _SQRT2PI * np.exp(0.5 * v * v)),
    "iprobit": (special.ndtr, lambda x, v: np.exp(-0.5 * x * x) / _SQRT2PI),
    "cloglog": (lambda x: np.log(-np.log1p(-x)), lambda x, v: -1.0 / ((1.0 - x) * np.log1p(-x))),
    "icloglog": (lambda x: -np.expm1(-np.exp(x)), lambda x, v: np.exp(x - np.exp(x))),
    "round": (np.round, None),
    "trunc": (np.trunc, None),
    "floor": (np.floor, None),
    "ceiling": (np.ceil, None),
}


def _r_round(digits: int) -> Callable:
    """R's ``round(x, digits)``: nearest to the exact binary value (Python's ``round``)."""
    one = np.frompyfunc(lambda t: round(float(t), digits), 1, 1)
    return lambda x: np.asarray(one(x), dtype=float)


def _nanmask(result: Any, *operands: Any) -> Any:
    """``result`` with NaN wherever an operand is NaN (R's NA propagation)."""
    bad = np.isnan(operands[0])
    for other in operands[1:]:
        bad = bad | np.isnan(other)
    return np.where(bad, np.nan, result)


def _compare(ufunc: np.ufunc) -> Callable:
    return lambda a, b: _nanmask(ufunc(a, b).astype(float), a, b)


def _not(a):
    return _nanmask((np.asarray(a) == 0).astype(float), a)


def _and(a, b):  # R: FALSE & NA is FALSE
    return np.where((a == 0) | (b == 0), 0.0, _nanmask(1.0, a, b))


def _or(a, b):  # R: TRUE | NA is TRUE
    true = ((a != 0) & ~np.isnan(a)) | ((b != 0) & ~np.isnan(b))
    return np.where(true, 1.0, _nanmask(0.0, a, b))


def _d_add(av, ad, bv, bd, v):
    return bd if ad is None else ad if bd is None else ad + bd


def _d_sub(av, ad, bv, bd, v):
    return -bd if ad is None else ad if bd is None else ad - bd


def _d_mul(av, ad, bv, bd, v):
    if ad is None:
        return av * bd
    return ad * bv if bd is None else ad * bv + av * bd


def _d_div(av, ad, bv, bd, v):
    if bd is None:
        return ad / bv
    return -bd * (v / bv) if ad is None else (ad - bd * v) / bv


def _d_pow(av, ad, bv, bd, v):
    out = None if ad is None else ad * (bv * np.power(av, bv - 1.0))
    if bd is not None:
        term = bd * special.xlogy(v, av)  # d/db a^b = a^b log(a), 0 where a^b == 0
        out = term if out is None else out + term
    return out


# op -> (value, derivative rule or None for derivative 0)
_BINARY: dict[str, tuple[Callable, Callable | None]] = {
    "+": (np.add, _d_add),
    "-": (np.subtract, _d_sub),
    "*": (np.multiply, _d_mul),
    "/": (np.divide, _d_div),
    "^": (np.power, _d_pow),
    "==": (_compare(np.equal), None),
    "!=": (_compare(np.not_equal), None),
    "<": (_compare(np.less), None),
    "<=": (_compare(np.less_equal), None),
    ">": (_compare(np.greater), None),
    ">=": (_compare(np.greater_equal), None),
    "&": (_and, None),
    "|": (_or, None),
}


def _const_fn(value: Any) -> _Fn:
    return lambda theta, der: (value, None)


class Lowering:
    """Turn a syntax tree into a constant (folded) or a closure ``(theta, der) -> (v, d)``.

    Parameters
    ----------
    params : tuple of str
        Parameter names; ``theta[k]`` is the value of ``params[k]``.
    data : mapping of str to ndarray
        Float column arrays of the membership rows.
    n : ndarray or None
        Group size per row.
    groups : Groups or None
        Group structure (needed only for aggregates).

    Notes
    -----
    Constants are floats or arrays; closures are the only callables.
    """

    def __init__(
        self,
        params: tuple[str, ...],
        data: Mapping[str, np.ndarray],
        n: np.ndarray | None,
        groups: Groups | None,
    ) -> None:
        self.index = {p: k for k, p in enumerate(params)}
        self.n_params = len(params)
        self.data, self.n, self.groups = data, n, groups

    def lower(self, node: wx.Node) -> Any:
        """Constant value or closure of ``node``."""
        method = getattr(self, f"_{type(node).__name__.lower()}")
        return method(node)

    def _num(self, node: wx.Num) -> float:
        return node.value

    def _col(self, node: wx.Col) -> np.ndarray:
        return self.data[node.name]

    def _groupsize(self, node: wx.GroupSize) -> np.ndarray:
        assert self.n is not None  # None only for literal-only trees (constant_value)
        return self.n

    def _param(self, node: wx.Param) -> _Fn:
        k = self.index[node.name]
        unit = np.zeros((self.n_params, 1))
        unit[k] = 1.0
        return lambda theta, der: (theta[k], unit if der else None)

    def _unary(self, node: wx.Unary) -> Any:
        x = self.lower(node.arg)
        if node.op == "+":
            return x
        if node.op == "-":
            if not callable(x):
                return -x

            def neg(theta, der):
                v, d = x(theta, der)
                return -v, (None if d is None else -d)

            return neg
        if not callable(x):
            return _not(x)
        return lambda theta, der: (_not(x(theta, False)[0]), None)

    def _binary(self, node: wx.Binary) -> Any:
        value, rule = _BINARY[node.op]
        a, b = self.lower(node.left), self.lower(node.right)
        if not callable(a) and not callable(b):
            return value(a, b)
        fa = a if callable(a) else _const_fn(a)
        fb = b if callable(b) else _const_fn(b)
        if rule is None:
            return lambda theta, der: (value(fa(theta, False)[0], fb(theta, False)[0]), None)

        def binary(theta, der):
            av, ad = fa(theta, der)
            bv, bd = fb(theta, der)
            v = value(av, bv)
            if ad is None and bd is None:
                return v, None
            return v, rule(av, ad, bv, bd, v)

        return binary

    def _call(self, node: wx.Call) -> Any:
        if node.name == "ifelse":
            return self._ifelse(*node.args)
        if node.name == "log" and len(node.args) == 2:  # R: log10/log2 for those bases
            x, base = node.args
            b = self.lower(base) if wx.is_constant(base) else None
            if b in (2.0, 10.0):
                return self.lower(wx.Call(f"log{int(b)}", (x,)))
            return self.lower(wx.Binary("/", wx.Call("log", (x,)), wx.Call("log", (base,))))
        value, deriv = _FUNCS[node.name]
        if node.name == "round" and len(node.args) == 2:
            digits = int(np.clip(self.lower(node.args[1]), -400, 400))
            value = _r_round(digits) if digits else np.round
        x = self.lower(node.args[0])
        if not callable(x):
            return value(x)

        def call(theta, der):
            xv, xd = x(theta, der)
            v = value(xv)
            return v, (None if xd is None or deriv is None else xd * deriv(xv, v))

        return call

    def _ifelse(self, *args: wx.Node) -> Any:
        c, a, b = (self.lower(x) for x in args)
        if not any(map(callable, (c, a, b))):
            return _nanmask(np.where(np.asarray(c) != 0, a, b), c)
        fc, fa, fb = (x if callable(x) else _const_fn(x) for x in (c, a, b))

        def ifelse(theta, der):
            cv = fc(theta, False)[0]
            (av, ad), (bv, bd) = fa(theta, der), fb(theta, der)
            yes = cv != 0
            v = _nanmask(np.where(yes, av, bv), cv)
            if ad is None and bd is None:
                return v, None
            return v, np.where(yes, 0.0 if ad is None else ad, 0.0 if bd is None else bd)

        return ifelse

    def _agg(self, node: wx.Agg) -> Any:
        agg, gr = AGGREGATE_FUNCS[node.name], self.groups
        assert gr is not None  # None only for literal-only trees (constant_value)
        prob = None if node.prob is None else float(self.lower(node.prob))
        x = self.lower(node.arg)
        shape = (self.n_params, gr.n_rows)
        if not callable(x):
            return agg(gr, np.broadcast_to(np.asarray(x, dtype=float), shape[1:]), None, prob)[0]

        def aggregate(theta, der):
            v, d = x(theta, der)
            v = np.broadcast_to(v, shape[1:])
            return agg(gr, v, None if d is None else np.broadcast_to(d, shape), prob)

        return aggregate


def constant_value(node: wx.Node) -> float:
    """Value of a literal-only sub-expression (no data needed)."""
    with np.errstate(all="ignore"):
        return float(Lowering((), {}, None, None).lower(node))
