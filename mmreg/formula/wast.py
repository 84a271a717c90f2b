"""Syntax tree of the weight-function language and its function signatures.

The parser (:mod:`mmreg.formula.wexpr`) produces an immutable tree of :class:`Num`,
:class:`Col`, :class:`GroupSize`, :class:`Param`, :class:`Unary`, :class:`Binary`,
:class:`Call` and :class:`Agg` nodes, with R's aliases already resolved (``pow(x, y)`` is
``x ^ y``, ``range(x)`` is ``max(x) - min(x)``, ``median(x)`` is ``quantile(x, 0.5)``,
``inv.logit``/``plogis`` are ``ilogit``, ``qnorm`` is ``probit``, ``pnorm`` is
``iprobit``); :mod:`mmreg.formula.weval` evaluates it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Num", "Col", "GroupSize", "Param", "Unary", "Binary", "Call", "Agg", "Node",
    "ELEMENTWISE", "AGGREGATES", "Signature", "children", "is_constant", "depth",
]  # fmt: skip


@dataclass(frozen=True)
class Num:
    """A numeric literal (``TRUE``/``T`` are 1, ``FALSE``/``F`` are 0)."""

    value: float


@dataclass(frozen=True)
class Col:
    """A data column of the membership rows."""

    name: str


@dataclass(frozen=True)
class GroupSize:
    """``n``: the size of the member's group in this block (supplied by the caller)."""


@dataclass(frozen=True)
class Param:
    """A weight parameter ``b<number>``."""

    name: str
    number: int


@dataclass(frozen=True)
class Unary:
    """``-x``, ``+x`` or ``!x``."""

    op: str
    arg: Node


@dataclass(frozen=True)
class Binary:
    """``left op right``; ``op`` is one of ``+ - * / ^ == != < <= > >= & |``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """An elementwise function (canonical name) or ``ifelse``."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Agg:
    """A group aggregate; ``prob`` is the (constant) probability of ``quantile``."""

    name: str
    arg: Node
    prob: Node | None = None


Node = Num | Col | GroupSize | Param | Unary | Binary | Call | Agg


# name -> (canonical name, positional formals, number required, keyword-only formals)
Signature = tuple[str, tuple[str, ...], int, frozenset[str]]
_NONE: frozenset[str] = frozenset()
_UNARY = ["exp", "log10", "log2", "sqrt", "abs", "sin", "cos", "tan", "asin", "acos", "atan",
          "sinh", "cosh", "tanh", "logit", "ilogit", "probit", "iprobit", "cloglog", "icloglog",
          "trunc", "floor", "ceiling"]  # fmt: skip
ELEMENTWISE: dict[str, Signature] = {name: (name, ("x",), 1, _NONE) for name in _UNARY}
ELEMENTWISE.update(
    {
        "log": ("log", ("x", "base"), 1, _NONE),
        "round": ("round", ("x", "digits"), 1, _NONE),
        "pow": ("pow", ("x", "y"), 2, _NONE),
        "ifelse": ("ifelse", ("test", "yes", "no"), 3, _NONE),
        "inv.logit": ("ilogit", ("x",), 1, _NONE),
        "plogis": ("ilogit", ("q",), 1, _NONE),
        "qnorm": ("probit", ("p",), 1, _NONE),
        "pnorm": ("iprobit", ("q",), 1, _NONE),
    }
)
_NARM = frozenset({"na.rm"})
AGGREGATES: dict[str, Signature] = {
    name: (name, ("x",), 1, _NONE if name in ("mode", "first", "last") else _NARM)
    for name in ("min", "max", "mean", "sum", "median", "mode", "sd", "var", "range", "first",
                 "last")
}  # fmt: skip
AGGREGATES["quantile"] = ("quantile", ("x", "probs"), 2, frozenset({"na.rm", "type"}))


def is_constant(node: Node) -> bool:
    """Whether ``node`` involves only literals (no data, ``n``, parameter or aggregate)."""
    if isinstance(node, Num):
        return True
    if isinstance(node, Unary | Binary | Call):
        return all(is_constant(c) for c in children(node))
    return False


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``."""
    if isinstance(node, Unary):
        return (node.arg,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Agg):
        return (node.arg,) if node.prob is None else (node.arg, node.prob)
    return ()


def depth(tree: Node) -> int:
    """Number of levels of the tree (iterative, safe for any depth)."""
    best, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(node))
    return best
