"""The one gate between a formula string and patsy's ``eval``: an allow-list of expressions.

patsy evaluates every factor of a formula (``majority``, ``I(x^2)``, ``C(region)``) with
Python's ``eval``, where builtins such as ``__import__`` and attribute chains on columns
(``finance.to_pickle(...)``) are reachable.  Every patsy-side formula of mmreg (main terms,
the outcome, ``vars()`` of ``mm()`` and ``hm()``, ``fix()``) is therefore parsed here first,
and every factor's code is checked against a fixed grammar before patsy may evaluate it:

* data columns (plain names not starting or ending with ``__``), numbers, strings,
  ``True``/``False``;
* arithmetic ``+ - * / // % **``, comparisons, ``&``, ``~``, ``not``/``and``/``or``;
* calls to the functions of :data:`ALLOWED_FUNCTIONS` (and ``np.<f>`` for ``f`` in
  :data:`ALLOWED_NUMPY`) with a fixed number of positional arguments; keywords only as
  ``C(x, levels = [...])``, ``Treatment(reference = ...)``, ``Sum(omit = ...)``, with
  literal values;
* nothing else: no other attributes, no subscripts, no lambdas, comprehensions, walrus,
  f-strings or starred arguments.

``|`` is refused with the mmreg spelling of lme4/brms's ``(1 | cid)``.  Whole formulas are
parsed (iteratively, with a bound on their size) by :mod:`mmreg.formula.patsydesc`, which
calls :func:`check_code` on every factor.
"""

from __future__ import annotations

import ast
import builtins
import re

import numpy as np

from mmreg.errors import MMSpecError

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ALLOWED_NUMPY",
    "EVAL_NAMESPACE",
    "TOO_DEEP",
    "check_code",
    "lme4_hint",
    "r_syntax",
    "unquoted",
]


def _r_log(x, base=None):
    """R's ``log(x, base)``: natural log, or log to ``base``."""
    return np.log(x) if base is None else np.log(x) / np.log(base)


# name -> (min, max) positional arguments
ALLOWED_FUNCTIONS: dict[str, tuple[int, int]] = {
    "I": (1, 1),
    "Q": (1, 1),
    "C": (1, 2),
    "center": (1, 1),
    "standardize": (1, 1),
    "scale": (1, 1),
    "log": (1, 2),
    "exp": (1, 1),
    "sqrt": (1, 1),
    "abs": (1, 1),
    "log10": (1, 1),
    "log2": (1, 1),
    "log1p": (1, 1),
    "expm1": (1, 1),
}
"""Functions a patsy-side term may call (``factor()``/``as.factor()`` are read as ``C()``)."""

ALLOWED_NUMPY: dict[str, tuple[int, int]] = {
    **{
        f: (1, 1)
        for f in (
            "log",
            "log10",
            "log2",
            "log1p",
            "exp",
            "expm1",
            "sqrt",
            "abs",
            "absolute",
            "square",
            "sin",
            "cos",
            "tan",
            "arcsin",
            "arccos",
            "arctan",
            "sinh",
            "cosh",
            "tanh",
            "floor",
            "ceil",
            "trunc",
            "fix",
            "rint",
            "sign",
            "cbrt",
            "exp2",
            "reciprocal",
            "logical_not",
        )
    },
    **{f: (2, 2) for f in ("maximum", "minimum", "power", "logical_and", "logical_or")},
    "round": (1, 2),
    "where": (3, 3),
    "clip": (3, 3),
}
"""numpy functions a term may call as ``np.<name>(...)``."""

_NUMPY_CONSTANTS = frozenset({"pi", "e"})
_CONTRASTS = {"Treatment": ("reference",), "Sum": ("omit",), "Helmert": (), "Diff": (), "Poly": ()}
_KEYWORDS = {"C": ("levels",), **_CONTRASTS}

_R_FUNCS = {
    "log": _r_log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "log10": np.log10,
    "log2": np.log2,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "np": np,
}
# Builtins shadowed in the evaluation namespace: a second line of defence behind the check.
_BLOCKED = {name: None for name in dir(builtins) if name not in ("True", "False", "None")}
_BLOCKED["__builtins__"] = None
EVAL_NAMESPACE = {**_BLOCKED, **_R_FUNCS}
"""Namespace patsy evaluates terms in (data columns are looked up first)."""

_OPS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.BitAnd,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.Invert,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Load,
)
_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Name,
    ast.Constant,
    ast.Call,
    ast.Attribute,
) + _OPS
_FACTOR_RE = re.compile(r"(?<![\w.])(?:base::)?(?:as\.)?factor\s*\(")
_QUOTED_RE = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")
TOO_DEEP = (
    "{what} is too deeply nested or too long for mmreg to read (nesting is "
    "limited to about 200 levels of parentheses inside a term); split it into "
    "fewer, flatter terms or compute the variable as a column of the data"
)


def _allowed_text() -> str:
    numpy = ", ".join(f"np.{f}" for f in ALLOWED_NUMPY)
    return (
        f"allowed: data columns, numbers, + - * / ** comparisons & ~, and the functions "
        f"{', '.join(ALLOWED_FUNCTIONS)}, factor, as.factor, {numpy}"
    )


def r_syntax(text: str) -> str:
    """Translate R syntax of a patsy-side term to Python, outside quoted strings.

    ``^`` -> ``**``, ``TRUE``/``FALSE`` -> ``True``/``False``, ``factor(x)`` and
    ``as.factor(x)`` -> ``C(x)`` (so their coefficients are named ``C(x)[T.level]``).
    """
    out, last = [], 0
    for m in _QUOTED_RE.finditer(text):
        out += [_r_plain(text[last : m.start()]), m.group(0)]
        last = m.end()
    out.append(_r_plain(text[last:]))
    return "".join(out)


def _r_plain(text: str) -> str:
    text = _FACTOR_RE.sub("C(", text.replace("^", "**"))
    return re.sub(r"\bFALSE\b", "False", re.sub(r"\bTRUE\b", "True", text))


def unquoted(text: str) -> str:
    """``text`` with the contents of quoted strings removed."""
    return _QUOTED_RE.sub('""', text)


def lme4_hint(code: str) -> str:
    """Why ``|`` is refused, with the mmreg spelling of ``(1 | unit)``."""
    right = code.rsplit("|", 1)[-1].strip().strip("()").strip()
    unit = right if re.fullmatch(r"[A-Za-z_][\w.]*", right) else "cid"
    return (
        f"'|' is not an mmreg operator: {code!r} looks like lme4/brms random-effects syntax "
        f"'(... | {unit})'. mmreg writes a random intercept per {unit} as the term "
        f'hm(id = id({unit}), type = "RE") (random slopes are not available); for a '
        "logical or inside I() use np.logical_or(a, b)"
    )


def _dunder(name: str) -> bool:
    """``__import__``, ``__builtins__``, ``__class__``: Python's internals, never a column."""
    return name.startswith("__") or name.endswith("__")


def _is_scalar(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    if not isinstance(node, ast.Constant) or not isinstance(node.value, int | float | str | bool):
        return False
    return not (isinstance(node.value, str) and _dunder(node.value))


def _is_literal(node: ast.AST) -> bool:
    """A number, string or boolean, or a flat list/tuple of them."""
    if isinstance(node, ast.List | ast.Tuple):
        return all(_is_scalar(e) for e in node.elts)
    return _is_scalar(node)


def _show(node: ast.AST) -> str:
    """Source of ``node`` for a message (short; never fails)."""
    try:
        return repr(ast.unparse(node)[:40])
    except (RecursionError, ValueError):  # pragma: no cover - pathological depth
        return f"a {type(node).__name__} expression"


def _callee(node: ast.Call) -> tuple[str, tuple[int, int]] | None:
    """Name and arity of an allowed call target, or None."""
    f = node.func
    if isinstance(f, ast.Name) and f.id in ALLOWED_FUNCTIONS:
        return f.id, ALLOWED_FUNCTIONS[f.id]
    if (
        isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name)
        and f.value.id == "np"
        and f.attr in ALLOWED_NUMPY
    ):
        return f"np.{f.attr}", ALLOWED_NUMPY[f.attr]
    return None


def _contrast(node: ast.AST) -> bool:
    """``Treatment``, ``Sum(omit = 1)``, ``Treatment("a")``: a contrast with literal args."""
    if isinstance(node, ast.Name):
        return node.id in _CONTRASTS
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _CONTRASTS
        and len(node.args) <= 1
        and all(_is_literal(a) for a in node.args)
        and all(k.arg in _CONTRASTS[node.func.id] and _is_literal(k.value) for k in node.keywords)
    )


def check_code(code: str, where: str) -> list[str]:
    """Check one factor's code against the allow-list; return the data columns it reads.

    Parameters
    ----------
    code : str
        Python code of one patsy factor, e.g. ``"I(x ** 2)"``.
    where : str
        Where the term stands (``"main terms"``, ``"vars() of mm1"``), for messages.

    Returns
    -------
    list of str
        Names the code reads as data columns (bare names and ``Q("...")`` strings), in the
        order they appear.

    Raises
    ------
    MMSpecError
        The code uses anything outside the allow-list; the message names the term.
    """

    def bad(what: str) -> MMSpecError:
        return MMSpecError(
            f"{what} is not allowed in the term {code!r} of the {where}; {_allowed_text()}."
        )

    if "|" in unquoted(code):
        raise MMSpecError(f"in the {where}: {lme4_hint(code)}.")
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError as exc:
        if "too many nested" not in str(exc):
            raise MMSpecError(
                f"the term {code!r} of the {where} is not a valid expression; {_allowed_text()}."
            ) from None
        raise MMSpecError(TOO_DEEP.format(what=f"the term {code[:60]!r} of the {where}")) from None
    except (RecursionError, MemoryError):
        raise MMSpecError(TOO_DEEP.format(what=f"the term {code[:60]!r} of the {where}")) from None
    columns: dict[str, tuple[int, int]] = {}
    stack: list[ast.AST] = [tree]
    while stack:  # iterative: a deep expression cannot overflow the check itself
        node = stack.pop()
        if not isinstance(node, _NODES):
            raise bad(
                f"{type(node).__name__} syntax ({_show(node)})"
                if isinstance(node, ast.expr)
                else f"the operator {type(node).__name__}"
            )
        if isinstance(node, ast.Name):
            if _dunder(node.id):
                raise bad(f"the name {node.id!r}")
            columns.setdefault(node.id, (node.lineno, node.col_offset))
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float | str | bool) or (
                isinstance(node.value, str) and _dunder(node.value)
            ):
                raise bad(f"the constant {str(node.value)[:40]!r}")
        elif isinstance(node, ast.Attribute):
            if not (
                isinstance(node.value, ast.Name)
                and node.value.id == "np"
                and node.attr in _NUMPY_CONSTANTS
            ):
                dotted = ast.unparse(node) if isinstance(node.value, ast.Name) else ""
                hint = f" (a column named {dotted!r} is written Q({dotted!r}))" if dotted else ""
                raise bad(f"the attribute {_show(node)}{hint}")
            continue
        elif isinstance(node, ast.Call):
            stack.extend(_call_children(node, bad, columns))
            continue
        elif isinstance(node, ast.BinOp):
            _check_arithmetic(node, bad)
        stack.extend(ast.iter_child_nodes(node))
    return sorted(columns, key=columns.__getitem__)


def _constant_only(node: ast.AST) -> bool:
    return not any(isinstance(n, ast.Name | ast.Call | ast.Attribute) for n in ast.walk(node))


def _has_power(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node))


def _check_arithmetic(node: ast.BinOp, bad) -> None:
    """No arithmetic on strings (``'x' * 10**9``), no huge constant powers (``9**9**9``):
    Python computes those exactly, without bound, before numpy ever sees a column."""
    if any(
        isinstance(o, ast.Constant) and isinstance(o.value, str) for o in (node.left, node.right)
    ):
        raise bad(f"arithmetic on a string ({_show(node)})")
    if not isinstance(node.op, ast.Pow) or not _constant_only(node.right):
        return
    exponent = node.right.operand if isinstance(node.right, ast.UnaryOp) else node.right
    small = (
        isinstance(exponent, ast.Constant)
        and isinstance(exponent.value, int | float)
        and abs(exponent.value) <= 1024
    )
    constant_base = _constant_only(node.left)
    if _has_power(node.right) or (constant_base and (not small or _has_power(node.left))):
        raise bad(
            f"the constant power {_show(node)} (a power of numbers only needs a plain "
            "exponent of at most 1024 in absolute value and no power inside; compute "
            "the constant yourself)"
        )


def _call_children(node: ast.Call, bad, columns: dict[str, tuple[int, int]]) -> list:
    """Check one call; return the sub-expressions still to check."""
    callee = _callee(node)
    if callee is None:
        raise bad(f"the call {_show(node.func)}(...)")
    name, (lo, hi) = callee
    if not lo <= len(node.args) <= hi or any(isinstance(a, ast.Starred) for a in node.args):
        raise bad(
            f"{name}() with {len(node.args)} argument(s) (it takes {lo}"
            + (f" to {hi})" if hi > lo else ")")
        )
    for k in node.keywords:
        if k.arg not in _KEYWORDS.get(name, ()) or not _is_literal(k.value):
            raise bad(f"the keyword argument {k.arg or '**'!r} of {name}()")
    if name == "Q":
        arg = node.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise bad("Q() of anything but a quoted column name")
        if _dunder(arg.value):
            raise bad(f"the name {arg.value!r}")
        columns.setdefault(arg.value, (arg.lineno, arg.col_offset))
        return []
    if name == "C" and len(node.args) == 2:
        if not _contrast(node.args[1]):
            raise bad(
                f"the contrast {_show(node.args[1])} of C() (use "
                "Treatment, Treatment(reference = level), Sum, Helmert, Diff or Poly)"
            )
        return [node.args[0]]
    return list(node.args)
