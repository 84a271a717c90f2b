"""Aggregation functions ``fn(type, ...)`` and ``fn(~ E(...))`` of the bml 1.0 grammar.

An aggregation reduces the weighted member records of each group to one group-level
feature.  Every named type is compiled to an expression of the small DSL of ``fn(~ ...)``
(``E(e)`` = Σ w̃·e over the group's members, w̃ the weights normalised to sum to one)::

    sum        E(x)                      hhi      E(w)
    var        E((x - E(x))^m)           effn     1 / E(w)
    cov        E((x - E(x)) * (z - E(z)))   entropy  -E(log(w))
    threshold  E(ilogit(kappa * (x - c)))
    smax       log(E(exp(kappa * x))) / kappa
    gmean      E(x^p)^(1 / p)

:func:`compile_aggregation` checks the expression against the data columns and returns an
:class:`Aggregation`: a frozen, picklable object whose :meth:`Aggregation.evaluate` gives
the feature of every group and its exact derivative with respect to each member's (raw,
unnormalised) weight (forward mode over the members of a group).
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula.aggeval import Evaluator

__all__ = [
    "AGG_TYPES",
    "Aggregation",
    "check_values",
    "compile_aggregation",
    "named_expression",
    "near_miss",
]

log = logging.getLogger("mmreg")

# type -> (number of variables, required shapes, default shapes)
AGG_TYPES: dict[str, tuple[int, tuple[str, ...], dict[str, float]]] = {
    "sum": (1, (), {}),
    "var": (1, (), {"moment": 2.0}),
    "hhi": (0, (), {}),
    "effn": (0, (), {}),
    "entropy": (0, (), {}),
    "threshold": (1, ("c",), {"kappa": 10.0}),
    "smax": (1, ("kappa",), {}),
    "gmean": (1, ("p",), {}),
    "cov": (2, (), {}),
}
_FUNCS = {"E": 1, "exp": 1, "log": 1, "ilogit": 1, "pow": 2}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}


def named_expression(kind: str, variables: tuple[str, ...], shapes: Mapping[str, float]) -> str:
    """The DSL expression of a named aggregation type (see the module docstring)."""
    x = variables[0] if variables else ""
    forms = {
        "sum": f"E({x})",
        "var": f"E(({x} - E({x}))^{shapes.get('moment', 2.0):.17g})",
        "hhi": "E(w)",
        "effn": "1 / E(w)",
        "entropy": "-E(log(w))",
        "threshold": f"E(ilogit(kappa * ({x} - c)))",
        "smax": f"log(E(exp(kappa * {x}))) / kappa",
        "gmean": f"E({x}^p)^(1 / p)",
        "cov": (f"E(({x} - E({x})) * ({variables[-1]} - E({variables[-1]})))" if variables else ""),
    }
    return forms[kind]


def near_miss(name: str, columns: Collection[str]) -> str | None:
    """A column one edit (insert, delete, substitute, swap) away from ``name``, if any.

    Names shorter than three characters are never typos (``g`` is not a misspelt ``y``).
    """
    if len(name) < 3:
        return None
    for col in sorted(columns):
        if col == name or abs(len(col) - len(name)) > 1 or len(col) < 3:
            continue
        a, b = (name, col) if len(name) <= len(col) else (col, name)
        i = 0
        while i < len(a) and a[i] == b[i]:
            i += 1
        rest_a, rest_b = a[i:], b[i:]
        if len(a) == len(b):
            if rest_a[1:] == rest_b[1:] or (
                len(rest_a) >= 2
                and rest_a[0] == rest_b[1]
                and rest_a[1] == rest_b[0]
                and rest_a[2:] == rest_b[2:]
            ):
                return col
        elif rest_a == rest_b[1:]:
            return col
    return None


def _caret(text: str, pos: int) -> str:
    return f"\n    {text}\n    {' ' * pos}^"


def _to_python(text: str) -> tuple[str, list[int]]:
    """R text -> Python text (``^`` -> ``**``) and the map of Python to R offsets."""
    out, back = [], []
    for i, ch in enumerate(text):
        if ch == "^":
            out.append("**")
            back += [i, i]
        else:
            out.append(ch)
            back.append(i)
    back.append(len(text))
    return "".join(out), back


class _Compiler:
    """Python ``ast`` of the DSL -> nested tuples, with the checks of the grammar."""

    def __init__(
        self, text: str, where: str, columns: Collection[str] | None, values: Mapping[str, float]
    ):
        self.text, self.where = text, where
        self.columns, self.values = columns, values
        self.used: dict[str, None] = {}
        self.free: dict[str, None] = {}
        self.has_e = False
        self.py, self.back = _to_python(text)

    def fail(self, msg: str, node: ast.AST) -> MMSpecError:
        pos = self.back[min(getattr(node, "col_offset", 0), len(self.back) - 1)]
        return MMSpecError(f"{self.where}: {msg}{_caret(self.text, pos)}")

    def compile(self) -> tuple:
        try:
            tree = ast.parse(self.py.strip() and self.py, mode="eval").body
        except SyntaxError as exc:
            pos = self.back[min(max((exc.offset or 1) - 1, 0), len(self.back) - 1)]
            raise MMSpecError(
                f"{self.where}: syntax error in the fn() expression{_caret(self.text, pos)}"
            ) from None
        out, level = self.node(tree, inside=False)
        if not self.has_e:
            raise MMSpecError(
                f"{self.where}: the fn() expression {self.text!r} has no E(...); "
                "the top level must be a group-level scalar such as E(x)."
            )
        return out

    def node(self, nd: ast.AST, inside: bool) -> tuple[tuple, str]:
        """(tuple node, level) with level 'group' or 'member'."""
        if (
            isinstance(nd, ast.Constant)
            and isinstance(nd.value, (int, float))
            and not isinstance(nd.value, bool)
        ):
            return ("num", float(nd.value)), "group"
        if isinstance(nd, ast.Name):
            return self.symbol(nd, inside)
        if isinstance(nd, ast.UnaryOp) and isinstance(nd.op, (ast.USub, ast.UAdd)):
            sub, lev = self.node(nd.operand, inside)
            return (("neg", sub) if isinstance(nd.op, ast.USub) else sub), lev
        if isinstance(nd, ast.BinOp) and type(nd.op) in _BINOPS:
            a, la = self.node(nd.left, inside)
            b, lb = self.node(nd.right, inside)
            return (_BINOPS[type(nd.op)], a, b), ("member" if "member" in (la, lb) else "group")
        if isinstance(nd, ast.Call) and isinstance(nd.func, ast.Name):
            name = nd.func.id
            if name not in _FUNCS:
                raise self.fail(
                    f"{name}() is not allowed in fn(~ ...); use + - * / ^ and "
                    "E, exp, log, ilogit, pow",
                    nd,
                )
            if nd.keywords or len(nd.args) != _FUNCS[name]:
                raise self.fail(f"{name}() takes {_FUNCS[name]} argument(s)", nd)
            if name == "E":
                self.has_e = True
                sub, _ = self.node(nd.args[0], inside=True)
                return ("E", sub), "group"
            args = [self.node(a, inside) for a in nd.args]
            lev = "member" if any(lv == "member" for _, lv in args) else "group"
            return (name, *[a for a, _ in args]), lev
        raise self.fail(
            "this is not allowed in fn(~ ...); use numbers, columns, + - * / ^ "
            "and E, exp, log, ilogit, pow",
            nd,
        )

    def symbol(self, nd: ast.Name, inside: bool) -> tuple[tuple, str]:
        name = nd.id
        member = name == "w" or (self.columns is not None and name in self.columns)
        if member:
            if not inside:
                raise self.fail(
                    f"the member-level {name!r} appears outside E(); the top level "
                    f"must be a group-level scalar: write E({name})",
                    nd,
                )
            if name == "w":
                return ("w",), "member"
            self.used[name] = None
            return ("var", name), "member"
        if name in self.values:
            return ("num", float(self.values[name])), "group"
        if self.columns is not None:
            close = near_miss(name, self.columns)
            if close:
                raise self.fail(
                    f"{name!r} is not a column; did you mean {close}? (a symbol "
                    "that is not a column is an estimated parameter)",
                    nd,
                )
        self.free[name] = None
        return ("par", name), "group"


@dataclass(frozen=True)
class Aggregation:
    """A compiled aggregation of one ``mm()`` block.

    Attributes
    ----------
    kind : str
        The named type (``"var"``, ...) or ``"expr"`` for ``fn(~ ...)``.
    coef : str
        The feature's coefficient name, e.g. ``"mm1.var(x)"`` or ``"mm1.fn"``.
    expr : str
        The DSL expression evaluated (fixed shapes substituted).
    variables : tuple of str
        The member-level data columns used.
    tree : tuple
        The compiled expression (nested tuples).
    params : tuple of str
        Estimated shapes / free DSL symbols (``"kappa"``, ...), named ``<block>.fn.<name>``
        in the model; their values are given to :meth:`evaluate` as ``params``.
    """

    kind: str
    coef: str
    expr: str
    variables: tuple[str, ...]
    tree: tuple
    params: tuple[str, ...] = ()

    def evaluate(
        self,
        w: np.ndarray,
        data: Mapping[str, np.ndarray],
        group: np.ndarray,
        n_groups: int,
        derivative: bool = False,
        params: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The feature of every group and (optionally) its derivative w.r.t. the weights.

        Parameters
        ----------
        w : ndarray, shape (n_rows,)
            The weights of the membership rows (normalised here within groups).
        data : mapping of str to ndarray, shape (n_rows,)
            The member-level columns :attr:`variables`.
        group : ndarray of int, shape (n_rows,)
            Group code of each row, non-decreasing.
        n_groups : int
        derivative : bool
        params : ndarray, shape (len(params),), optional
            Values of :attr:`params` (required when there are any).

        Returns
        -------
        F : ndarray, shape (n_groups,)
            The feature (0 for a group without members).
        dF : ndarray, shape (n_rows,) or None
            ``dF[r] = d F[group[r]] / d w[r]``.
        """
        val, dw, _ = self.evaluate_all(w, data, group, n_groups, params, derivative)
        return val, dw

    def evaluate_all(
        self,
        w: np.ndarray,
        data: Mapping[str, np.ndarray],
        group: np.ndarray,
        n_groups: int,
        params: np.ndarray | None = None,
        derivative: bool = True,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """:meth:`evaluate` plus the exact derivative w.r.t. :attr:`params`.

        Returns
        -------
        F : ndarray, shape (n_groups,)
        dF_dw : ndarray, shape (n_rows,) or None
        dF_dparams : ndarray, shape (len(params), n_groups) or None
        """
        par = np.asarray(params if params is not None else [], float).reshape(-1)
        if par.size != len(self.params):
            raise MMSpecError(
                f"{self.coef}: expected values of {list(self.params)}, got {par.size}"
            )
        ev = Evaluator(
            np.asarray(w, float),
            data,
            np.asarray(group),
            n_groups,
            dict(zip(self.params, par, strict=True)),
            tangent=derivative,
        )
        with np.errstate(all="ignore"):
            val, dval = ev.run(self.tree)
        if not derivative:
            return val, None, None
        # chain rule through the normalisation w~ = w / S
        d_norm = dval[ev.group, ev.pos]  # dF/dw~_r
        inner = np.bincount(ev.group, ev.wn * d_norm, minlength=n_groups)
        return val, (d_norm - inner[ev.group]) / ev.total[ev.group], dval[:, ev.m :].T.copy()


def compile_aggregation(
    kind: str,
    *,
    block: str,
    variables: tuple[str, ...] = (),
    shapes: Mapping[str, object] | None = None,
    expr: str | None = None,
    columns: Collection[str] | None = None,
    estimate: bool = False,
) -> Aggregation:
    """Compile ``fn(kind, ...)`` or ``fn(~ expr)`` of one block.

    Parameters
    ----------
    kind : str
        A key of :data:`AGG_TYPES`, or ``"expr"`` for the DSL (then ``expr`` is required).
    block : str
        ``"mm1"`` etc., for names and messages.
    variables : tuple of str
        The block's ``vars()`` columns (named types).
    shapes : mapping of str to float or Est
        Fixed shape values (``c``, ``kappa``, ``p``, ``moment``) or values of DSL symbols;
        a value that is not a number (``est()``) leaves the symbol free.
    expr : str, optional
        The DSL expression (``kind = "expr"``).
    columns : collection of str, optional
        The data columns; a DSL symbol that is none of them (nor ``w``) is a parameter.
    estimate : bool
        Free symbols are estimated parameters (:attr:`Aggregation.params`); if False they
        are an error.

    Returns
    -------
    Aggregation

    Raises
    ------
    MMSpecError
        Syntax errors (with a caret), a member-level symbol outside ``E()``, a typo of a
        column, or free parameters without a value when ``estimate`` is False.
    """
    given = dict(shapes or {}) if kind == "expr" else {**AGG_TYPES[kind][2], **(shapes or {})}
    values: dict[str, float] = {
        k: float(v)
        for k, v in given.items()
        if isinstance(v, (int, float, np.floating, np.integer))
    }
    where = f"fn() of {block}"
    if kind == "expr":
        text, coef = (expr or "").strip(), f"{block}.fn"
    else:
        text = named_expression(kind, variables, values)
        coef = (
            f"{block}.{variables[0]}"
            if kind == "sum"
            else f"{block}.{kind}({', '.join(variables)})"
        )
        columns = set(variables)  # c, kappa, p are shapes even if the data has such columns
    comp = _Compiler(text, where, columns, values)
    tree = comp.compile()
    if comp.free:
        names = ", ".join(f"{block}.fn.{p}" for p in comp.free)
        log.info("%s: free parameters detected in fn(~ %s): %s", where, text, names)
        if estimate:
            return Aggregation(kind, coef, text, tuple(comp.used), tree, tuple(comp.free))
        raise MMSpecError(
            f"{where}: the fn() expression {text!r} has free parameter(s) {names} but no "
            "values were given and estimation was not asked for (estimate=False). Give them "
            f"values, e.g. fn(~ ..., {next(iter(comp.free))} = 1), or est()."
        )
    return Aggregation(kind, coef, text, tuple(comp.used), tree)


def check_values(agg: Aggregation, data: Mapping[str, np.ndarray], block: str) -> None:
    """Data checks of the named types (``gmean`` needs x > 0)."""
    if agg.kind == "gmean":
        x = np.asarray(data[agg.variables[0]], float)
        if (x <= 0).any() or not np.isfinite(x).all():
            raise MMDataError(
                f'fn("gmean") of {block}: {agg.variables[0]!r} must be positive (found '
                f"{x.min():g}); transform it (e.g. shift it) or use another fn type."
            )
