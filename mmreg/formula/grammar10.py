"""Block arguments of the bml 1.0 grammar (bml's development line after 0.9.0), and the
weights/aggregation and hm() effect arguments of both grammars.

Used by :mod:`mmreg.formula.parse`, block by block, next to the 0.9 spelling:

=============================================  ==============================================
bml 1.0                                        bml 0.9.0
=============================================  ==============================================
``w = w(~ expr, scale = TRUE)``                ``fn = fn(w ~ expr, c = TRUE)``
``fn = fn("var", ...)``, ``fn = fn(~ E(x))``   (weighted sum only)
``RE = re(1)``, ``RE = re(1, ar = TRUE)``      ``RE = TRUE``, ``ar = TRUE``
``hm(..., RE = TRUE)``, ``FE = fe(1)``         ``type = "RE"``, ``type = "FE"``
``mm(..., name = "coal")`` (or ``labels =``)   (blocks have no names)
=============================================  ==============================================

Nothing is evaluated; aggregations are compiled against the data later
(:mod:`mmreg.formula.aggregate`).
"""

from __future__ import annotations

import difflib

from mmreg.errors import MMSpecError
from mmreg.formula import rsyntax as rs
from mmreg.formula.aggregate import AGG_TYPES
from mmreg.formula.spec import AggSpec, Est, WeightSpec

__all__ = [
    "hm_type",
    "is_fn09",
    "mm_weights",
    "parse_agg",
    "parse_block_name",
    "parse_fe",
    "parse_fe_terms",
    "parse_fn09",
    "parse_re",
    "parse_re_terms",
    "parse_w",
    "re_ar_column",
]

_NULL = "NULL"
_FN_FORMALS = ("w", "c")

_SHAPES = {"var": ("moment",), "threshold": ("c", "kappa"), "smax": ("kappa",), "gmean": ("p",)}


def _fname(name: str) -> str:
    return name.rsplit("::", 1)[-1]


def _at(label: str, source: str) -> str:
    """'mm() of the term '...'' -- where an error is, for messages."""
    return f"{label}() of the term {rs.shorten(source)!r}"


def _call(value: str, fname: str) -> str | None:
    call = rs.parse_call(value)
    return call[1] if call and _fname(call[0]) == fname and not call[2] else None


def _string(value: str) -> str | None:
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return None


def is_fn09(value: str) -> bool:
    """True unless ``fn()`` starts with a type string or a one-sided formula (bml 1.0)."""
    inner = _call(value, "fn")
    if inner is None or not inner.strip():
        return True  # malformed or empty: the 0.9 parser handles it
    name, first = rs.split_args(inner, "fn", value)[0]
    first = first.strip()
    return not (name in (None, "type") and (_string(first) is not None or first.startswith("~")))


def parse_w(value: str, source: str) -> WeightSpec:
    """``w(~ expr, scale = TRUE)`` -> WeightSpec (free symbols are parameters)."""
    inner = _call(value, "w")
    if inner is None:
        raise MMSpecError(
            f"'w = {rs.shorten(value, 30)}' in mm() of the term {rs.shorten(source)!r} must be "
            "written w = w(~ expression, scale = TRUE), e.g. w(~ 1/n)."
        )
    args = rs.match_args("w", rs.split_args(inner, "w", source), ("expr", "scale"), source)
    scale = rs.parse_bool(args["scale"], "scale", "w", source) if "scale" in args else True
    text = args.get("expr", "~ 1/n").strip()
    sides = rs.split_top(text, "~")
    if len(sides) != 2 or sides[0][1].strip() or not sides[1][1].strip():
        raise MMSpecError(
            f"The weight function {rs.shorten(text, 40)!r} in w() of the term "
            f"{rs.shorten(source)!r} must be a one-sided formula '~ expression', e.g. "
            "w(~ 1/n) or w(~ exp(gamma * pseat))."
        )
    return WeightSpec(sides[1][1].strip(), scale, free=True)


def _shape(value: str, name: str, where: str, source: str) -> float | Est:
    """A shape value: a number or ``est(lower, upper)``."""
    inner = _call(value, "est")
    if inner is None:
        return rs.parse_number(value, f"'{name}' of {where}", source)
    args = rs.match_args(
        "est",
        rs.split_args(inner, "est", source) if inner.strip() else [],
        ("lower", "upper"),
        source,
    )
    bounds = {
        k: (None if v.strip() == "NULL" else rs.parse_number(v, f"est({k})", source))
        for k, v in args.items()
    }
    est = Est(bounds.get("lower"), bounds.get("upper"))
    if est.lower is not None and est.upper is not None and est.lower >= est.upper:
        raise MMSpecError(
            f"est(lower = {est.lower:g}, upper = {est.upper:g}) for '{name}' in {where} of the "
            f"term {rs.shorten(source)!r}: lower must be below upper. Swap or widen the bounds."
        )
    return est


def _variables(vars_: str | None, fixed: tuple, kind: str, where: str) -> tuple[str, ...]:
    """The plain column names of vars() that a named aggregation reads (checks the arity)."""
    if fixed:
        raise MMSpecError(f"fix() inside vars() cannot be combined with {where}; drop fix().")
    names: list[str] = []
    for sign, term in rs.split_terms(vars_, where) if vars_ else []:
        names.append(rs.parse_name(term, f"A variable of {where}", term))
        if sign == "-":
            raise MMSpecError(f"'- {term}' in vars() of {where}: list the variables with '+'.")
    arity = AGG_TYPES[kind][0]
    if len(names) != arity:
        need = {
            0: "no variables (vars = NULL)",
            1: "exactly one variable, vars(x)",
            2: "exactly two variables, vars(x + z)",
        }[arity]
        raise MMSpecError(
            f'{where} has {len(names)} variable(s) in vars() but fn("{kind}") takes {need}.'
        )
    return tuple(names)


def parse_agg(
    value: str, vars_: str | None, fixed: tuple, label: str, source: str
) -> AggSpec | None:
    """``fn("type", ...)`` or ``fn(~ E(...), sym = value)`` -> AggSpec (None for "sum")."""
    inner = _call(value, "fn") or ""
    args = rs.split_args(inner, "fn", source)
    (name0, first), rest = args[0], args[1:]
    if name0 not in (None, "type"):
        raise MMSpecError(
            f"fn() of {label} in {rs.shorten(source)!r}: give the type first, "
            'e.g. fn("var") or fn(~ E(x)).'
        )
    where = f"fn() of {label} ({rs.shorten(source, 50)!r})"
    named: dict[str, str] = {}
    for k, v in rest:
        if k is None:
            raise MMSpecError(f"{where}: arguments after the type must be named, e.g. c = 0.5.")
        if k in named:
            raise MMSpecError(f"{where}: argument {k!r} is given twice.")
        named[k] = v
    first = first.strip()
    if first.startswith("~"):
        shapes = tuple((k, _shape(v, k, where, source)) for k, v in named.items())
        return AggSpec("expr", (), shapes, first[1:].strip())
    kind = _string(first)
    if kind is None or kind not in AGG_TYPES:
        close = difflib.get_close_matches(kind or first, list(AGG_TYPES), n=1)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        raise MMSpecError(
            f"{where}: unknown aggregation type {first}. Use one of "
            f"{', '.join(map(repr, AGG_TYPES))}, or a formula fn(~ E(...)).{hint}"
        )
    allowed = _SHAPES.get(kind, ())
    for k in named:
        if k not in allowed:
            raise MMSpecError(
                f'{where}: fn("{kind}") has no argument {k!r}'
                + (f"; it takes {', '.join(allowed)}." if allowed else ".")
            )
    shape_map = {k: _shape(v, k, where, source) for k, v in named.items()}
    _check_shapes(kind, shape_map, where)
    if kind == "sum":
        return None
    variables = _variables(vars_, fixed, kind, where)
    return AggSpec(kind, variables, tuple(shape_map.items()))


def _check_shapes(kind: str, shapes: dict, where: str) -> None:
    """Required and valid shapes of the named types."""
    required = {"threshold": "c", "smax": "kappa", "gmean": "p"}.get(kind)
    if required and required not in shapes:
        raise MMSpecError(
            f'{where}: fn("{kind}") needs {required} = <number> or {required} = est().'
        )
    m = shapes.get("moment", 2.0)
    if isinstance(m, Est) or m < 2 or m != int(m):
        raise MMSpecError(
            f"{where}: 'moment' of fn(\"var\") must be a whole number >= 2 "
            "(2 = variance, 3 = skewness-type), not estimated."
        )
    if kind == "smax" and shapes["kappa"] == 0:
        raise MMSpecError(
            f'{where}: kappa of fn("smax") must be nonzero (kappa -> 0 is the '
            'weighted mean: use fn("sum")).'
        )
    if kind == "gmean" and shapes["p"] == 0:
        raise MMSpecError(
            f'{where}: p of fn("gmean") must be nonzero (p -> 0 is the '
            "geometric mean: use fn(~ exp(E(log(x)))))."
        )


_BOOLS = ("TRUE", "FALSE", "T", "F", "True", "False", "true", "false")


def _re_args(value: str, source: str) -> dict[str, str] | None:
    """The matched arguments of ``re(x, cor, ar)`` (None when ``value`` is not ``re()``)."""
    inner = _call(value, "re")
    if inner is None:
        return None
    return rs.match_args(
        "re",
        rs.split_args(inner, "re", source) if inner.strip() else [],
        ("x", "cor", "ar"),
        source,
    )


def re_ar_column(value: str, label: str, source: str) -> str | None:
    """The time column of ``re(1, ar = <column>)`` (None for ``ar = TRUE/FALSE`` or no ar).

    ``ar = year`` and ``ar = "year"`` both name the column ``year``.
    """
    args = _re_args(value, source)
    if args is None or "ar" not in args or args["ar"].strip() in _BOOLS:
        return None
    text = args["ar"].strip()
    name = _string(text)
    name = text if name is None else name.strip()
    if not name.isidentifier():
        raise MMSpecError(
            f"re(..., ar = {rs.shorten(text, 20)}) in {label}() of the term "
            f"{rs.shorten(source)!r}: ar must be TRUE/FALSE (participation order) or the name "
            "of a numeric time column, e.g. re(1, ar = year)."
        )
    return name


def parse_re(value: str, label: str, source: str) -> tuple[bool, bool]:
    """``RE = TRUE/FALSE`` or ``re(...)`` / ``re(1, ar = TRUE)`` -> (random effects, ar).

    ``re(1, ar = year)`` is a random walk too (ar True; :func:`re_ar_column` gives the
    column).  The terms of ``re()`` (random slopes, ``cor``) are read by
    :func:`parse_re_terms`.
    """
    args = _re_args(value, source)
    if args is None:
        return rs.parse_bool(value, "RE", label, source), False
    ar = args.get("ar", "FALSE").strip()
    intercept, slopes, _ = parse_re_terms(value, label, source)
    if ar not in _BOOLS:
        re_ar_column(value, label, source)  # checks the column name
        return bool(intercept or slopes), True
    return bool(intercept or slopes), rs.parse_bool(ar, "ar", "re", source)


def _terms(text: str, call: str, label: str, source: str) -> tuple[bool, tuple[str, ...]]:
    """``1 + x + z``, ``0 + x``, ``x - 1`` of ``re()`` / ``fe()`` -> (intercept, columns)."""
    fname = call.split("(", 1)[0]
    intercept, slopes = True, []
    for k, term in enumerate(text.replace("-", "+-").split("+")):
        if term in ("", "1") and (term or k == 0):
            continue
        if term in ("0", "-1"):
            intercept = False
        elif term.isidentifier() and term not in slopes:
            slopes.append(term)
        else:
            raise MMSpecError(
                f"{call} in {label}() of the term {rs.shorten(source)!r}: {term!r} is not a "
                f"column name; write {fname}(1 + x) (intercept and slope of the column x), "
                f"{fname}(0 + x) (slope only) or {fname}(1)."
            )
    if not intercept and not slopes:
        raise MMSpecError(
            f"{call} in {label}() of the term {rs.shorten(source)!r} has no "
            f"{'random' if fname == 're' else 'fixed'} effect; write {fname}(1) or "
            f"{fname}(1 + x)."
        )
    return intercept, tuple(slopes)


def parse_re_terms(value: str, label: str, source: str) -> tuple[bool, tuple[str, ...], bool]:
    """Terms of ``re(1 + x + z, cor = FALSE)`` -> (intercept, slope columns, cor).

    ``re(0 + x)`` and ``re(x - 1)`` drop the intercept; ``RE = TRUE`` is ``re(1)``.
    """
    args = _re_args(value, source)
    if args is None:
        return True, (), False
    text = "".join(args.get("x", "1").split()).lstrip("~")
    cor = rs.parse_bool(args["cor"], "cor", "re", source) if "cor" in args else False
    inner = _call(value, "re") or ""
    intercept, slopes = _terms(text, f"re({rs.shorten(inner, 30)})", label, source)
    return intercept, slopes, cor


def _fe_args(value: str, source: str) -> dict[str, str] | None:
    inner = _call(value, "fe")
    if inner is None:
        return None
    return rs.match_args(
        "fe", rs.split_args(inner, "fe", source) if inner.strip() else [], ("x", "showFE"), source
    )


def parse_fe(value: str, source: str, label: str = "hm") -> tuple[bool, bool]:
    """``FE = fe(1)`` / ``fe(1 + x, showFE = TRUE)`` / ``FE = TRUE`` -> (fixed effects,
    showFE) of an ``hm()`` or ``mm()`` (``label``) block.  The terms of ``fe()``
    (unit-specific slopes) are read by :func:`parse_fe_terms`."""
    args = _fe_args(value, source)
    if args is None:
        return rs.parse_bool(value, "FE", label, source), False
    parse_fe_terms(value, source, label)  # checks the terms
    show = rs.parse_bool(args["showFE"], "showFE", "fe", source) if "showFE" in args else False
    return True, show


def parse_fe_terms(value: str, source: str, label: str = "hm") -> tuple[bool, tuple[str, ...]]:
    """Terms of ``fe(1 + x + z)`` -> (unit dummies, columns with unit-specific slopes) of an
    ``hm()`` or ``mm()`` (``label``) block.

    ``FE = TRUE`` is ``fe(1)``; ``fe(0 + x)`` keeps the slopes without unit dummies.
    """
    args = _fe_args(value, source)
    if args is None:
        return True, ()
    text = "".join(args.get("x", "1").split()).lstrip("~")
    inner = _call(value, "fe") or ""
    return _terms(text, f"fe({rs.shorten(inner, 30)})", label, source)


def parse_block_name(value: str, source: str) -> str:
    """``name = "coal"`` of an mm() block."""
    name = _string(value) or value.strip()
    if not name.isidentifier():
        raise MMSpecError(
            f"name = {value.strip()} in mm() of the term {rs.shorten(source)!r} "
            'must be a simple name such as "coal".'
        )
    return name


def parse_fn09(value: str, source: str) -> WeightSpec:
    """``fn(w ~ expr, c = TRUE)`` (bml 0.9) -> WeightSpec."""
    inner = _call(value, "fn")
    if inner is None:
        raise MMSpecError(
            f"'fn = {rs.shorten(value, 30)}' in {_at('mm', source)} must be written fn = fn(w ~ "
            "expression, c = TRUE), e.g. fn(w ~ 1/n)."
        )
    args = rs.match_args("fn", rs.split_args(inner, "fn", source), _FN_FORMALS, source)
    normalize = rs.parse_bool(args["c"], "c", "fn", source) if "c" in args else True
    if "w" not in args:
        return WeightSpec("1/n", normalize)
    sides = rs.split_top(args["w"], "~")
    lhs = sides[0][1].strip()
    if len(sides) != 2 or lhs != "w":
        raise MMSpecError(
            f"The weight function {rs.shorten(args['w'], 40)!r} in {_at('fn', source)} must be a "
            "formula 'w ~ expression'. Write e.g. fn(w ~ 1/n) or fn(w ~ ilogit(b0 + b1 * x))."
        )
    expr = sides[1][1].strip()
    if not expr:
        raise MMSpecError(
            f"The weight function in {_at('fn', source)} has nothing after 'w ~'. Write e.g. fn(w "
            "~ 1/n)."
        )
    return WeightSpec(expr, normalize)


def mm_weights(
    args: dict[str, str], vars_: str | None, fixed: tuple, source: str
) -> tuple[WeightSpec, AggSpec | None]:
    """Weights and aggregation of an mm() block, in the 0.9 or the 1.0 spelling."""
    if args.get("fn", "").strip() == _NULL:
        raise MMSpecError(
            f"'fn = NULL' in {_at('mm', source)}: omit fn for equal weights fn(w ~ 1/n, c = "
            "TRUE), or give fn(w ~ expression)."
        )
    if "fn" in args and is_fn09(args["fn"]):
        if "w" in args:
            raise MMSpecError(
                f"{_at('mm', source)} mixes the bml 0.9 weights fn(w ~ ..., c = ...) with the "
                "bml 1.0 weights w = w(~ ..., scale = ...). Use one spelling: either "
                "fn = fn(w ~ expr, c = TRUE), or w = w(~ expr, scale = TRUE) with "
                'fn = fn("sum") (or another aggregation).'
            )
        return parse_fn09(args["fn"], source), None
    weights = parse_w(args["w"], source) if "w" in args else WeightSpec("1/n", True)
    agg = parse_agg(args["fn"], vars_, fixed, "mm", source) if "fn" in args else None
    return weights, agg


def hm_type(args: dict[str, str], source: str) -> str:
    """``type = "RE"/"FE"`` (0.9) or ``RE = re(1)`` / ``FE = fe(1)`` (1.0) -> type text."""
    re_ = parse_re(args["RE"], "hm", source)[0] if "RE" in args else None
    fe = parse_fe(args["FE"], source)[0] if "FE" in args else None
    if re_ is None and fe is None:
        return args.get("type", '"RE"').strip()
    if "type" in args:
        raise MMSpecError(
            f"{_at('hm', source)} mixes type = (bml 0.9) with RE = / FE = (bml 1.0). Use one "
            'spelling: type = "RE" or RE = TRUE; type = "FE" or FE = fe(1).'
        )
    if bool(re_) == bool(fe):
        raise MMSpecError(
            f"{_at('hm', source)} needs exactly one of random effects (RE = TRUE or re(1)) and "
            "fixed effects (FE = fe(1))."
        )
    return "RE" if re_ else "FE"
