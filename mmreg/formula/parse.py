"""Parse a bml formula (0.9.0 or 1.0 grammar) into a :class:`~mmreg.formula.spec.FormulaSpec`.

The grammar is bml's (an R formula with special terms)::

    LHS ~ term + term + ...
    LHS   := Surv(time, event) | outcome column or patsy expression
    term  := 1 | 0 | -1 | mm(...) | hm(...) | fix(var, value) | offset(expr) | strata(col)
           | patsy term

``mm(id = id(mmid, gid), vars = vars(...), fn = fn(w ~ expr, c = TRUE), RE, ar)`` and
``hm(id = id(hid), vars, name, type = "RE", showFE = FALSE, ar = FALSE)`` take their arguments
by name or by position, as in R; the bml 1.0 arguments (``w =``, ``name =``, ``labels =``,
``RE = re(...)``, ``FE = fe(...)``, ``fn = fn("type")``) by name only, read by
:mod:`mmreg.formula.grammar10`.  Nothing is evaluated: patsy terms, ``vars()`` contents and
the weight expression are kept verbatim for the modules that compile them (the patsy-side
ones are checked against the allow-list of :mod:`mmreg.formula.safe` here already).
"""

from __future__ import annotations

import re

from mmreg.errors import MMSpecError
from mmreg.formula import grammar10 as g10
from mmreg.formula import rsyntax as rs
from mmreg.formula.patsydesc import check_spec
from mmreg.formula.spec import (
    FixedTerm,
    FormulaSpec,
    HMBlock,
    MMBlock,
    ResponseSpec,
)

__all__ = ["parse_formula"]

_MM_FORMALS = ("id", "vars", "fn", "RE", "ar")
_HM_FORMALS = ("id", "vars", "name", "type", "showFE", "ar")
_MM_NAMED = ("w", "name", "labels", "FE")  # bml 1.0, by name only
_HM_NAMED = ("RE", "FE", "labels")
_FIX_FORMALS = ("var", "value")
_SURV_FORMALS = ("time", "event")
_SPECIAL = frozenset(
    {"mm", "hm", "fix", "offset", "strata", "Surv", "id", "vars", "fn", "w", "re", "fe", "est"}
)
_NUMBER_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NULL = "NULL"


def _fname(name: str) -> str:
    """Drop a ``pkg::`` prefix (``bml::mm``, ``survival::Surv``)."""
    return name.rsplit("::", 1)[-1]


def _inner(value: str, fname: str) -> str | None:
    """The text inside ``fname(...)`` if ``value`` is exactly that call, else None."""
    call = rs.parse_call(value)
    return call[1] if call and _fname(call[0]) == fname and not call[2] else None


def _flag(args: dict[str, str], key: str, label: str, source: str, default: bool) -> bool:
    """Boolean argument ``key`` of ``label()``, or ``default`` when absent."""
    return rs.parse_bool(args[key], key, label, source) if key in args else default


def _at(label: str, source: str) -> str:
    """'mm() of the term '...'' -- where an error is, for messages."""
    return f"{label}() of the term {rs.shorten(source)!r}"


def _misplaced(name: str, term: str) -> MMSpecError:
    """Error for a special function used inside another term."""
    fix = {
        "Surv": "Surv(time, event) belongs on the left-hand side of '~'.",
        "fix": "Write fix(var, value) as a separate '+' term (or inside vars()).",
        "offset": "Write offset(expr) as a separate '+' term of the main formula.",
    }.get(name, f"Write {name}(...) as a separate '+' term of the formula.")
    if name in ("id", "vars", "fn"):
        fix = f"{name}() can only be used as an argument of mm() or hm()."
    return MMSpecError(f"{name}() cannot be used inside the term {rs.shorten(term)!r}. {fix}")


def _match(
    label: str, inner: str, formals: tuple[str, ...], named: tuple[str, ...], source: str
) -> dict[str, str]:
    """Match arguments; the bml 1.0 ones (``named``) are taken by name only."""
    args = rs.split_args(inner, label, source)
    if any(n is None for n, _ in args):
        rs.match_args(label, [a for a in args if a[0] not in named], formals, source)
    return rs.match_args(label, args, formals + named, source)


def _fix_term(inner: str, source: str) -> FixedTerm:
    """``fix(var, value)`` -> FixedTerm."""
    args = rs.match_args("fix", rs.split_args(inner, "fix", source), _FIX_FORMALS, source)
    var = args.get("var", "").strip()
    if not var:
        raise MMSpecError(
            f"{_at('fix', source)} names no variable. Write fix(var, value), e.g. fix(majority, 1)."
        )
    bad = rs.find_call(var, _SPECIAL)
    if bad:
        raise _misplaced(bad, source)
    if "value" not in args:
        raise MMSpecError(
            f"{_at('fix', source)} has no numeric value. Write fix({var}, value), e.g. "
            "fix(majority, 1), to fix the coefficient at that value."
        )
    return FixedTerm(var, rs.parse_number(args["value"], "The value of fix()", source))


def _offset_term(inner: str, source: str) -> FixedTerm:
    """``offset(expr)`` -> FixedTerm(expr, 1): a term with its coefficient fixed at 1."""
    args = rs.split_args(inner, "offset", source)
    if len(args) != 1 or args[0][0] is not None or not args[0][1].strip():
        raise MMSpecError(
            f"{_at('offset', source)} takes one expression, e.g. offset(log(exposure)) "
            "(its coefficient is fixed at 1; fix(expr, value) fixes it at another value)."
        )
    expr = args[0][1].strip()
    bad = rs.find_call(expr, _SPECIAL)
    if bad:
        raise _misplaced(bad, source)
    return FixedTerm(expr, 1.0, offset=True)


def _check_fixed(fixed: list[FixedTerm], free: list[tuple[str, str]], where: str) -> None:
    """A fixed term may appear once and not also as a free term."""
    seen: set[str] = set()
    free_terms = {t for _, t in free}
    for f in fixed:
        if f.term in seen:
            raise MMSpecError(
                f"fix({f.term}, ...) appears twice in {where} (as fix() or offset()). Keep "
                "one fix()/offset() per variable."
            )
        if f.term in free_terms:
            raise MMSpecError(
                f"{f.term!r} is both fixed by {f.label} and estimated in "
                f"{where}. Remove one of the two."
            )
        seen.add(f.term)


def _vars(value: str | None, label: str, source: str) -> tuple[bool, str | None, tuple]:
    """``vars(...)`` or ``NULL`` -> (given, free patsy rhs or None, fixed terms)."""
    if value is None or value.strip() == _NULL:
        return False, None, ()
    inner = _inner(value, "vars")
    if inner is None:
        raise MMSpecError(
            f"'vars = {rs.shorten(value, 30)}' in {_at(label, source)} must be written "
            "vars(x1 + x2) (or vars = NULL for none)."
        )
    free: list[tuple[str, str]] = []
    fixed: list[FixedTerm] = []
    if inner.strip():
        for _, chunk, _ in rs.split_top(inner, ","):  # vars(x1, x2) == vars(x1 + x2)
            for sign, term in rs.split_terms(chunk, _at("vars", source)):
                sub = rs.parse_call(term)
                if sub and _fname(sub[0]) == "fix" and not sub[2]:
                    if sign == "-":
                        raise MMSpecError(
                            f"'- {term}' in {_at('vars', source)}: a fix() term cannot be "
                            "subtracted. Write '+ fix(var, value)'."
                        )
                    fixed.append(_fix_term(sub[1], term))
                elif _NUMBER_RE.fullmatch(term):
                    continue  # bml ignores numeric literals (no intercept in vars())
                else:
                    bad = rs.find_call(term, _SPECIAL)
                    if bad:
                        raise _misplaced(bad, term)
                    free.append((sign, term))
    if not free and not fixed:
        raise MMSpecError(
            f"Empty vars() in {_at(label, source)}. List variables, e.g. vars(x1 + x2), or write "
            "vars = NULL for a block without covariates."
        )
    _check_fixed(fixed, free, _at("vars", source))
    return True, (rs.join_terms(free) or None), tuple(fixed)


def _id(value: str | None, label: str, ncols: int, source: str) -> tuple[str, ...]:
    """``id(a, b)`` -> column names (``ncols`` of them)."""
    example = "id(member_id, group_id), e.g. id(pid, gid)" if ncols == 2 else "id(cid)"
    if value is None:
        raise MMSpecError(f"{_at(label, source)} has no id. Add id = {example}.")
    inner = _inner(value, "id")
    if inner is None:
        raise MMSpecError(
            f"'id = {rs.shorten(value, 30)}' in {_at(label, source)} must be written id = "
            f"{example}."
        )
    args = rs.split_args(inner, "id", source)
    if len(args) != ncols:
        what = "the member id and the group id" if ncols == 2 else "the nesting-unit id"
        raise MMSpecError(
            f"id() in {_at(label, source)} has {len(args)} column(s) but {label}() needs {ncols} "
            f"({what}). Write id = {example}."
        )
    for name, _ in args:
        if name is not None:
            raise MMSpecError(
                f"id() in {_at(label, source)} takes plain column names, not '{name} = ...'. "
                f"Write id = {example}."
            )
    return tuple(rs.parse_name(v, f"A column of id() in {label}()", source) for _, v in args)


def _mm(inner: str, source: str) -> MMBlock:
    """``mm(...)`` -> MMBlock (bml 0.9 or 1.0 arguments)."""
    args = _match("mm", inner, _MM_FORMALS, _MM_NAMED, source)
    member, group = _id(args.get("id"), "mm", 2, source)
    given, free, fixed = _vars(args.get("vars"), "mm", source)
    fn, agg = g10.mm_weights(args, free, fixed, source)
    if "name" in args and "labels" in args:
        raise MMSpecError(f"{_at('mm', source)} has both name = and labels =; keep one.")
    label = args.get("name", args.get("labels"))
    name = g10.parse_block_name(label, source) if label is not None else None
    if agg is not None and agg.kind != "expr":
        given, free = True, None  # the block's one covariate is the aggregated feature
    elif agg is not None:
        given = True
    slopes: tuple[str, ...] = ()
    intercept, cor = True, False
    fe, show_fe = g10.parse_fe(args["FE"], source, "mm") if "FE" in args else (False, False)
    fe_intercept, fe_slopes = g10.parse_fe_terms(args["FE"], source, "mm") if fe else (True, ())
    if "RE" in args:
        re_, ar10 = g10.parse_re(args["RE"], "mm", source)
        intercept, slopes, cor = g10.parse_re_terms(args["RE"], "mm", source)
    else:
        re_, ar10 = not (given or fe), False
    if fe and agg is not None:
        raise MMSpecError(
            f"{_at('mm', source)} aggregates its members with fn(type) and has FE = fe(...): "
            "the block's one covariate is the aggregated feature. Put the member fixed effects "
            "in their own mm() block with the same id and weights."
        )
    if fe and fe_intercept and re_ and intercept:
        raise MMSpecError(
            f"{_at('mm', source)} has member fixed effects (FE = fe(1)) and member random "
            "intercepts (RE): together they are not identified. Keep one, or write "
            "fe(0 + x) for member slopes only."
        )
    if ar10 and "ar" in args:
        raise MMSpecError(
            f"{_at('mm', source)} sets ar twice (RE = re(1, ar = ...) and ar =); keep one."
        )
    ar = ar10 or _flag(args, "ar", "mm", source, False)
    ar_time = g10.re_ar_column(args["RE"], "mm", source) if "RE" in args else None
    if not given and not re_ and not fe:
        raise MMSpecError(
            f"{_at('mm', source)} has neither vars() nor random effects, so it has no effect. Set "
            "RE = TRUE or give vars(...)."
        )
    if ar and not re_:
        raise MMSpecError(
            f"'ar = TRUE' in {_at('mm', source)} needs member random effects to evolve. Set RE = "
            "TRUE or drop ar."
        )
    return MMBlock(
        member,
        group,
        free,
        fixed,
        fn,
        re_,
        ar,
        source,
        agg,
        name,
        re_slopes=slopes,
        re_intercept=intercept,
        re_cor=cor,
        ar_time=ar_time,
        fe=fe,
        fe_intercept=fe_intercept,
        fe_slopes=fe_slopes,
        show_fe=show_fe,
    )


def _hm(inner: str, source: str) -> HMBlock:
    """``hm(...)`` -> HMBlock."""
    args = _match("hm", inner, _HM_FORMALS, _HM_NAMED, source)
    (hid,) = _id(args.get("id"), "hm", 1, source)
    _, free, fixed = _vars(args.get("vars"), "hm", source)
    if "name" in args and "labels" in args:
        raise MMSpecError(f"{_at('hm', source)} has both name = and labels =; keep one.")
    name = args.get("name", args.get("labels"))
    if name is not None:
        name = None if name.strip() == _NULL else rs.parse_name(name, "'name' of hm()", source)
    typ = g10.hm_type(args, source)
    if len(typ) >= 2 and typ[0] == typ[-1] and typ[0] in "\"'":
        typ = typ[1:-1].strip()
    if typ.upper() not in ("RE", "FE"):
        raise MMSpecError(
            f"'type = {rs.shorten(args['type'], 20)}' in {_at('hm', source)} must be \"RE\" "
            '(random effects) or "FE" (fixed effects).'
        )
    show, ar = _flag(args, "showFE", "hm", source, False), _flag(args, "ar", "hm", source, False)
    slopes: tuple[str, ...] = ()
    intercept, cor, ar_time = True, False, None
    if "RE" in args:
        ar10 = g10.parse_re(args["RE"], "hm", source)[1]
        if ar10 and "ar" in args:
            raise MMSpecError(
                f"{_at('hm', source)} sets ar twice (RE = re(1, ar = ...) and ar =); keep one."
            )
        ar = ar or ar10
        intercept, slopes, cor = g10.parse_re_terms(args["RE"], "hm", source)
        ar_time = g10.re_ar_column(args["RE"], "hm", source)
    fe_slopes: tuple[str, ...] = ()
    fe_intercept = True
    if "FE" in args:
        show = show or g10.parse_fe(args["FE"], source)[1]
        fe_intercept, fe_slopes = g10.parse_fe_terms(args["FE"], source)
    if ar and typ.upper() == "FE":
        raise MMSpecError(
            f"'ar = TRUE' in {_at('hm', source)} needs random effects to evolve. Use "
            'type = "RE" or drop ar.'
        )
    return HMBlock(
        hid,
        free,
        fixed,
        name,
        typ.upper(),
        show,
        ar,
        source,
        re_slopes=slopes,
        re_intercept=intercept,
        re_cor=cor,
        ar_time=ar_time,
        fe_slopes=fe_slopes,
        fe_intercept=fe_intercept,
    )


def _strata(inner: str, source: str) -> str:
    """``strata(col)`` -> column name."""
    args = rs.split_args(inner, "strata", source)
    if len(args) != 1 or args[0][0] is not None:
        raise MMSpecError(
            f"{rs.shorten(source)!r} must name exactly one column: strata(choice_set_id)."
        )
    return rs.parse_name(args[0][1], "The column of strata()", source)


def _lhs(lhs: str) -> ResponseSpec:
    """Left-hand side -> ResponseSpec."""
    text = lhs.strip()
    if not text:
        raise MMSpecError(
            "The left-hand side of '~' is empty. Put the outcome before '~', e.g. 'y ~ 1 + x' or "
            "'Surv(time, event) ~ 1 + x'."
        )
    bad = rs.find_call(text, _SPECIAL - {"Surv"})
    if bad:
        raise MMSpecError(
            f"{bad}() cannot appear on the left-hand side {rs.shorten(text)!r}. Move it to the "
            "right of '~'."
        )
    call = rs.parse_call(text)
    if call and _fname(call[0]) == "Surv" and not call[2]:
        args = rs.split_args(call[1], "Surv", text)
        if len(args) != 2:
            raise MMSpecError(
                f"{rs.shorten(text)!r} has {len(args)} argument(s); Surv() needs exactly two, "
                "Surv(time, event), with right-censored data (event = 1 if observed)."
            )
        cols = rs.match_args("Surv", args, _SURV_FORMALS, text)
        names = tuple(rs.parse_name(cols[k], f"The {k} of Surv()", text) for k in _SURV_FORMALS)
        return ResponseSpec("surv", names)
    if rs.find_call(text, frozenset({"Surv"})):
        raise MMSpecError(
            f"Write the survival outcome exactly as Surv(time, event), not {rs.shorten(text)!r}."
        )
    if len(rs.split_top(text, "+")) > 1:
        raise MMSpecError(
            f"The left-hand side {rs.shorten(text)!r} has several terms; give a single outcome "
            "column (or I(...) expression)."
        )
    return ResponseSpec("plain", (text,))


def _validate(mm: list[MMBlock], hm: list[HMBlock]) -> None:
    """Checks across blocks: shared group id, one RE block per member id, distinct hm ids."""
    for b in mm[1:]:
        if b.group_id != mm[0].group_id:
            raise MMSpecError(
                f"The mm() blocks use different group ids: {mm[0].group_id!r} in "
                f"{rs.shorten(mm[0].source)!r} and {b.group_id!r} in {rs.shorten(b.source)!r}. "
                "All mm() blocks must share the group id (second column of id())."
            )
    re_ids = [b.member_id for b in mm if b.re]
    for dup in {m for m in re_ids if re_ids.count(m) > 1}:
        raise MMSpecError(
            f"Two RE blocks on one member id {dup!r}: several mm(id = id({dup}, ...)) blocks have "
            "RE = TRUE. Set RE = FALSE in all but one of them."
        )
    hm_ids = [h.id for h in hm]
    for dup in {h for h in hm_ids if hm_ids.count(h) > 1}:
        raise MMSpecError(
            f"Two hm() blocks on the same id {dup!r}: merge them into one hm(id = id({dup}), "
            "...). Several hm() blocks must have different ids (cross-classification)."
        )


_PARSERS = {"mm": _mm, "hm": _hm, "fix": _fix_term, "offset": _offset_term, "strata": _strata}


def parse_formula(formula: str) -> FormulaSpec:
    """Parse a bml 0.9.0 formula into a :class:`~mmreg.formula.spec.FormulaSpec`.

    Parameters
    ----------
    formula : str
        A bml formula, e.g. ``"Surv(dur, event) ~ 1 + majority + mm(id = id(pid, gid),
        vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid))"``.
        Whitespace, newlines and R ``#`` comments may appear anywhere.

    Returns
    -------
    FormulaSpec
        The parsed specification; patsy terms and weight expressions are kept verbatim.

    Raises
    ------
    MMSpecError
        For any malformed formula; the message names the offending term and how to fix it.

    Examples
    --------
    >>> spec = parse_formula("y ~ 0 + x + mm(id = id(pid, gid), vars = NULL)")
    >>> spec.intercept, spec.main, spec.mm[0].member_id, spec.mm[0].re
    (False, 'x', 'pid', True)
    """
    if not isinstance(formula, str):
        raise MMSpecError(
            f"The formula must be a string such as 'y ~ 1 + x', got {type(formula).__name__}."
        )
    lhs, rhs = rs.split_formula(rs.strip_comments(formula))
    response = _lhs(lhs)
    if not rhs.strip():
        raise MMSpecError(
            "The right-hand side of '~' is empty. Add terms, e.g. 'y ~ 1' for an intercept-only "
            "model."
        )
    main: list[tuple[str, str]] = []
    found: dict[str, list] = {"mm": [], "hm": [], "fix": [], "offset": [], "strata": []}
    intercept = True
    for sign, term in rs.split_terms(rhs, "the right-hand side"):
        if _NUMBER_RE.fullmatch(term):
            value = float(term)
            if value not in (0.0, 1.0):
                raise MMSpecError(
                    f"The number {term!r} is not a valid term. Use 1 (intercept) or 0 / -1 (no "
                    "intercept)."
                )
            if (value == 0.0) == (sign == "+"):
                intercept = False
            continue
        call = rs.parse_call(term)
        name = _fname(call[0]) if call else ""
        if call and name in found:
            if call[2]:
                raise MMSpecError(
                    f"{name}() must be a separate '+' term, but {rs.shorten(term)!r} continues "
                    f"after its closing ')'. Remove {rs.shorten(call[2], 20)!r}."
                )
            if sign == "-":
                raise MMSpecError(
                    f"'- {rs.shorten(term)}' cannot be subtracted. Write '+ {name}(...)' or drop "
                    "the term."
                )
            found[name].append(_PARSERS[name](call[1], term))
            continue
        bad = rs.find_call(term, _SPECIAL)
        if bad:
            raise _misplaced(bad, term)
        main.append((sign, term))
    mm, hm, strata = found["mm"], found["hm"], found["strata"]
    fixed = found["fix"] + found["offset"]
    if len(strata) > 1:
        raise MMSpecError(
            f"The formula has {len(strata)} strata() terms ({', '.join(strata)}); a conditional "
            "logit takes one. Combine them into one choice-set column."
        )
    _check_fixed(fixed, main, "the main terms")
    _validate(mm, hm)
    spec = FormulaSpec(
        formula=formula,
        response=response,
        main=rs.join_terms(main),
        intercept=intercept,
        fixed=tuple(fixed),
        mm=tuple(mm),
        hm=tuple(hm),
        strata=strata[0] if strata else None,
    )
    check_spec(spec)  # every patsy-side term against the allow-list of mmreg.formula.safe
    return spec
