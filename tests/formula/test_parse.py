"""Tests for mmreg.formula.parse: bml 0.9.0 formulas -> FormulaSpec.

The reference is bml's documented grammar and defaults (mm(): RE defaults to TRUE iff
vars = NULL, fn defaults to fn(w ~ 1/n, c = TRUE); hm(): type "RE", showFE FALSE), with the
expected specifications written out by hand.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmreg.errors import MMSpecError
from mmreg.formula.parse import parse_formula
from mmreg.formula.spec import FixedTerm, FormulaSpec, HMBlock, MMBlock, ResponseSpec, WeightSpec

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
SURV = ResponseSpec("surv", ("dur_wkb", "event_wkb"))
W_EQ = WeightSpec("1/n", True)

# ---------------------------------------------------------------------------------------------
# The formulas of shared/bml-formulas.md, copied character for character, with the expected
# specification written by hand.  Block sources are kept as separate strings so that each
# expected MMBlock/HMBlock.source is exactly the text of the block in the formula.
# ---------------------------------------------------------------------------------------------
MM1 = "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
MM2 = (
    "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1 / (1 + (n - 1) * "
    "exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE)"
)
MM3 = "mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
HM_CID = 'hm(id = id(cid), type = "RE")'
HM_YEAR = 'hm(id = id(year), type = "RE")'
MM4A = (
    "mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ cohesion == max(cohesion)), "
    "RE = FALSE)"
)
MM4B = "mm(id = id(pid, gid), vars = NULL, fn = fn(w ~ 1/n), RE = TRUE)"
MM5 = "mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1/n), RE = TRUE)"
MM6 = (
    "mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ ilogit(b0 + b1 * pseat), "
    "c = TRUE), RE = FALSE)"
)
MM7 = "mm(id = id(pid, gid), vars = vars(rile), fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)"
MM9 = (
    "mm(id = id(pid, gid), vars = vars(fix(cohesion, 1) + finance), fn = fn(w ~ 1/n, "
    "c = TRUE), RE = TRUE)"
)
HM10 = 'hm(id = id(cid), name = cname, type = "FE", showFE = TRUE)'
HM11 = 'hm(id = id(cid), vars = vars(investiture), type = "RE", ar = TRUE)'
MM12 = "mm(id = id(pid, gid), vars = NULL, fn = fn(w ~ 1/n), RE = TRUE, ar = TRUE)"
HM13 = 'hm(id = id(cid), name = cname, type = "RE", showFE = F)'
MM13 = "mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1 / n, c = TRUE))"
MM14 = "mm(id = id(pid, gid), vars = vars(finance * cohesion), fn = fn(w ~ 1/n), RE = TRUE)"
HM14 = 'hm(id = id(cid), vars = vars(I(investiture^2)), type = "RE")'
MM15 = (
    "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ b1 * min(pseat) + (1 - b1) * "
    "max(pseat)), RE = FALSE)"
)
MM16 = (
    "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1 / (1 + (n - 1) * exp(-b0)), "
    "c = FALSE), RE = FALSE)"
)
MM17 = (
    "mm(id = id(pid, gid), vars = vars(rile + I(rile^2)), fn = fn(w ~ quantile(pseat, 0.75) "
    "/ max(pseat)), RE = FALSE)"
)
MM_G = "mm(id = id(pid_g, gid), vars = vars(x1 + x2), fn = fn(w ~ 1/n), RE = TRUE)"
MM_O = "mm(id = id(pid_o, gid), vars = vars(x1 + x2), fn = fn(w ~ 1/n), RE = TRUE)"
MM_CL = "mm(id = id(pid, cabinet), vars = vars(rile), fn = fn(w ~ 1/n))"

LHS = "Surv(dur_wkb, event_wkb) ~ 1 + majority + "


def _mm(src, vars, fn=W_EQ, re=True, ar=False, fixed=(), ids=("pid", "gid")):
    return MMBlock(ids[0], ids[1], vars, fixed, fn, re, ar, src)


CASES: list[tuple[str, dict]] = [
    (LHS + MM1, dict(response=SURV, main="majority", mm=(_mm(MM1, "finance"),))),
    (
        LHS + MM2,
        dict(
            response=SURV,
            main="majority",
            mm=(_mm(MM2, "finance", WeightSpec("1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat)))")),),
        ),
    ),
    (
        LHS + MM3 + " + " + HM_CID,
        dict(
            response=SURV,
            main="majority",
            mm=(_mm(MM3, "cohesion"),),
            hm=(HMBlock("cid", source=HM_CID),),
        ),
    ),
    (
        LHS + MM4A + " + " + MM4B,
        dict(
            response=SURV,
            main="majority",
            mm=(
                _mm(MM4A, "cohesion", WeightSpec("cohesion == max(cohesion)"), re=False),
                _mm(MM4B, None),
            ),
        ),
    ),
    (LHS + MM5, dict(response=SURV, main="majority", mm=(_mm(MM5, "cohesion"),))),
    (
        LHS + MM6,
        dict(
            response=SURV,
            main="majority",
            mm=(_mm(MM6, "cohesion", WeightSpec("ilogit(b0 + b1 * pseat)"), re=False),),
        ),
    ),
    (
        "Surv(dur_wkb, event_wkb) ~ 1 + fix(majority, 1) + " + MM7,
        dict(
            response=SURV,
            main="",
            fixed=(FixedTerm("majority", 1.0),),
            mm=(_mm(MM7, "rile", re=False),),
        ),
    ),
    (
        LHS + MM5 + " + " + HM_CID + " + " + HM_YEAR,
        dict(
            response=SURV,
            main="majority",
            mm=(_mm(MM5, "cohesion"),),
            hm=(HMBlock("cid", source=HM_CID), HMBlock("year", source=HM_YEAR)),
        ),
    ),
    (
        LHS + MM9,
        dict(
            response=SURV,
            main="majority",
            mm=(_mm(MM9, "finance", fixed=(FixedTerm("cohesion", 1.0),)),),
        ),
    ),
    (
        LHS + HM10,
        dict(
            response=SURV,
            main="majority",
            hm=(HMBlock("cid", name="cname", type="FE", show_fe=True, source=HM10),),
        ),
    ),
    (
        LHS + HM11,
        dict(
            response=SURV,
            main="majority",
            hm=(HMBlock("cid", vars="investiture", ar=True, source=HM11),),
        ),
    ),
    (LHS + MM12, dict(response=SURV, main="majority", mm=(_mm(MM12, None, ar=True),))),
    (
        "event_wkb ~ 1 + majority + mwc + " + HM13 + " + " + MM13,
        dict(
            response=ResponseSpec("plain", ("event_wkb",)),
            main="majority + mwc",
            mm=(_mm(MM13, "cohesion", WeightSpec("1 / n"), re=False),),
            hm=(HMBlock("cid", name="cname", source=HM13),),
        ),
    ),
    (
        "event_wkb ~ 1 + majority * mwc + " + MM14 + " + " + HM14,
        dict(
            response=ResponseSpec("plain", ("event_wkb",)),
            main="majority * mwc",
            mm=(_mm(MM14, "finance * cohesion"),),
            hm=(HMBlock("cid", vars="I(investiture^2)", source=HM14),),
        ),
    ),
    (
        "logdur ~ 1 + majority + " + MM15,
        dict(
            response=ResponseSpec("plain", ("logdur",)),
            main="majority",
            mm=(
                _mm(
                    MM15,
                    "finance",
                    WeightSpec("b1 * min(pseat) + (1 - b1) * max(pseat)"),
                    re=False,
                ),
            ),
        ),
    ),
    (
        "logdur ~ 1 + majority + " + MM16,
        dict(
            response=ResponseSpec("plain", ("logdur",)),
            main="majority",
            mm=(_mm(MM16, "finance", WeightSpec("1 / (1 + (n - 1) * exp(-b0))", False), re=False),),
        ),
    ),
    (
        "logdur ~ 0 + majority + " + MM17,
        dict(
            response=ResponseSpec("plain", ("logdur",)),
            main="majority",
            intercept=False,
            mm=(
                _mm(
                    MM17,
                    "rile + I(rile^2)",
                    WeightSpec("quantile(pseat, 0.75) / max(pseat)"),
                    re=False,
                ),
            ),
        ),
    ),
    (
        "Surv(dur, event) ~ 1 + " + MM_G + " + " + MM_O,
        dict(
            response=ResponseSpec("surv", ("dur", "event")),
            main="",
            mm=(
                _mm(MM_G, "x1 + x2", ids=("pid_g", "gid")),
                _mm(MM_O, "x1 + x2", ids=("pid_o", "gid")),
            ),
        ),
    ),
    (
        "chosen ~ majority + mwc + " + MM_CL + " + strata(opportunity)",
        dict(
            response=ResponseSpec("plain", ("chosen",)),
            main="majority + mwc",
            mm=(_mm(MM_CL, "rile", re=False, ids=("pid", "cabinet")),),
            strata="opportunity",
        ),
    ),
]


@pytest.mark.parametrize(("formula", "fields"), CASES, ids=[f"bml{i}" for i in range(len(CASES))])
def test_bml_formulas_parse_exactly(formula, fields):
    assert parse_formula(formula) == FormulaSpec(formula=formula, **fields)


def test_case_table_matches_shared_formula_file():
    path = SHARED / "bml-formulas.md"
    if not path.exists():
        pytest.skip(f"{path} not found (../shared is absent); the hard-coded copies still run")
    text = path.read_text()
    in_file = []
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        for line in block.strip().splitlines():
            # The trailing "# Weibull" remarks are not part of the formula string.
            in_file.append(re.sub(r"\s+#.*$", "", line).strip())
    assert sorted(in_file) == sorted(f for f, _ in CASES)
    for formula in in_file:  # the whole line, comment included, parses the same
        assert parse_formula(formula).mm == parse_formula(formula + "  # remark").mm


# ---------------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------------
def test_positional_arguments_match_named():
    named = parse_formula(
        "y ~ mm(id = id(p, g), vars = vars(x), fn = fn(w ~ 1/n, c = FALSE), RE = TRUE, "
        "ar = TRUE) + hm(id = id(c), vars = vars(z), name = cn, type = 'FE', showFE = TRUE)"
    )
    positional = parse_formula(
        "y ~ mm(id(p, g), vars(x), fn(w ~ 1/n, FALSE), TRUE, TRUE) + "
        "hm(id(c), vars(z), cn, 'FE', TRUE)"
    )
    strip = [dataclasses.replace(b, source="") for b in named.mm + named.hm]
    assert strip == [dataclasses.replace(b, source="") for b in positional.mm + positional.hm]
    assert positional.mm[0] == MMBlock(
        "p",
        "g",
        "x",
        (),
        WeightSpec("1/n", False),
        True,
        True,
        "mm(id(p, g), vars(x), fn(w ~ 1/n, FALSE), TRUE, TRUE)",
    )
    assert positional.hm[0].type == "FE" and positional.hm[0].name == "cn"


def test_mixed_named_and_positional_fill_remaining_formals_in_order():
    spec = parse_formula("y ~ mm(vars = vars(x), id(p, g), fn(w ~ n), FALSE)")
    m = spec.mm[0]
    assert (m.member_id, m.group_id, m.vars, m.fn.expr, m.re) == ("p", "g", "x", "n", False)


@pytest.mark.parametrize(
    ("rhs", "intercept", "main"),
    [
        ("1 + x", True, "x"),
        ("x", True, "x"),
        ("0 + x", False, "x"),
        ("-1 + x", False, "x"),
        ("x - 1", False, "x"),
        ("x + 0", False, "x"),
        ("- 1 + x + z", False, "x + z"),
        ("1", True, ""),
        ("x - z", True, "x - z"),
    ],
)
def test_intercept_rules(rhs, intercept, main):
    spec = parse_formula(f"y ~ {rhs}")
    assert (spec.intercept, spec.main) == (intercept, main)


def test_whitespace_newlines_and_comments_do_not_matter():
    compact = parse_formula("y~1+x+mm(id=id(p,g),vars=vars(a),fn=fn(w~1/n,c=TRUE),RE=TRUE)")
    spaced = parse_formula(
        "y ~\n  1 + x +   # intercept and x\n"
        "  mm(\n    id   = id( p , g ),\n    vars = vars( a ),\n"
        "    fn   = fn( w ~ 1/n , c = TRUE ),\n    RE   = TRUE\n  )\n"
    )
    assert spaced.main == compact.main == "x"
    assert dataclasses.replace(spaced.mm[0], source="") == dataclasses.replace(
        compact.mm[0], source=""
    )
    assert spaced.mm[0].source.startswith("mm(\n    id   = id( p , g )")
    assert spaced.mm[0].source.endswith("RE   = TRUE\n  )")


@pytest.mark.parametrize(
    ("word", "value"),
    [("TRUE", True), ("T", True), ("True", True), ("true", True)]
    + [("FALSE", False), ("F", False), ("False", False), ("false", False)],
)
def test_r_and_python_booleans(word, value):
    spec = parse_formula(
        f"y ~ mm(id = id(p, g), vars = vars(x), fn = fn(w ~ 1/n, c = {word}), RE = {word}, "
        f"ar = FALSE) + hm(id = id(c), showFE = {word}, ar = {word})"
    )
    assert (spec.mm[0].fn.normalize, spec.mm[0].re) == (value, value)
    assert (spec.hm[0].show_fe, spec.hm[0].ar) == (value, value)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1.0), ("-1", -1.0), ("0.25", 0.25), ("-2.5e-3", -0.0025), ("1E2", 100.0)]
    + [(".5", 0.5), ("+3", 3.0), ("2L", 2.0), ("1/4", 0.25), ("2^-1", 0.5)],
)
def test_fix_values(text, value):
    spec = parse_formula(f"y ~ fix(x, {text}) + mm(id = id(p, g), vars = vars(fix(z, {text})))")
    assert spec.fixed == (FixedTerm("x", value),)
    assert spec.mm[0].fixed == (FixedTerm("z", value),)
    assert spec.mm[0].vars is None and spec.mm[0].re is False  # vars() given -> RE FALSE


def test_fix_named_arguments_and_hm_vars():
    spec = parse_formula("y ~ hm(id = id(c), vars = vars(g + fix(value = -2, var = h)))")
    assert spec.hm[0].vars == "g" and spec.hm[0].fixed == (FixedTerm("h", -2.0),)


def test_defaults_of_mm_and_hm():
    spec = parse_formula("y ~ mm(id = id(p, g), vars = vars(x)) + mm(id(q, g)) + hm(id(c))")
    assert spec.mm[0].fn == WeightSpec("1/n", True) and spec.mm[0].re is False
    assert spec.mm[1].vars is None and spec.mm[1].re is True and spec.mm[1].ar is False
    assert spec.hm[0] == HMBlock("c", source="hm(id(c))")


def test_fn_variants():
    empty = parse_formula("y ~ mm(id(p, g), vars(x), fn())").mm[0].fn
    only_c = parse_formula("y ~ mm(id(p, g), vars(x), fn(c = F))").mm[0].fn
    named_w = parse_formula("y ~ mm(id(p, g), vars(x), fn(w = w ~ b0 + b1 * s))").mm[0].fn
    assert (empty, only_c, named_w) == (
        WeightSpec("1/n", True),
        WeightSpec("1/n", False),
        WeightSpec("b0 + b1 * s", True),
    )


def test_hm_name_and_type_spellings():
    specs = [
        parse_formula(f"y ~ hm(id = id(c), name = {n}, type = {t})")
        for n, t in [("cname", '"RE"'), ('"cname"', "'re'"), ("'cname'", '"fe"'), ("`cname`", "FE")]
    ]
    assert [(s.hm[0].name, s.hm[0].type) for s in specs] == [
        ("cname", "RE"),
        ("cname", "RE"),
        ("cname", "FE"),
        ("cname", "FE"),
    ]
    assert parse_formula("y ~ hm(id = id(c), name = NULL, vars = NULL)").hm[0].name is None


def test_cross_classified_hm_blocks_keep_order_and_ids():
    spec = parse_formula("y ~ x + hm(id(region)) + hm(id(year), type = 'FE') + hm(id(cid))")
    assert [(h.id, h.type) for h in spec.hm] == [("region", "RE"), ("year", "FE"), ("cid", "RE")]


def test_patsy_terms_pass_through_verbatim():
    spec = parse_formula(
        "y ~ majority * mwc + a:b + I(investiture^2) + C(cid) + np.log(x) + I(a - b) + "
        "I(x + 1) + np.fix(z)"
    )
    assert spec.main == (
        "majority * mwc + a:b + I(investiture^2) + C(cid) + np.log(x) + I(a - b) + "
        "I(x + 1) + np.fix(z)"
    )
    assert spec.mm == () and spec.fixed == ()


def test_vars_commas_and_numbers_like_bml():
    spec = parse_formula("y ~ mm(id(p, g), vars(1 + x1, x2:x3))")
    assert spec.mm[0].vars == "x1 + x2:x3"


def test_responses():
    assert parse_formula("I(y^2) ~ x").response == ResponseSpec("plain", ("I(y^2)",))
    assert parse_formula("np.log(dur) ~ x").response == ResponseSpec("plain", ("np.log(dur)",))
    named = parse_formula("survival::Surv(event = e, time = t) ~ x").response
    assert named == ResponseSpec("surv", ("t", "e"))
    assert parse_formula("Surv(`t`, 'e') ~ x").response == ResponseSpec("surv", ("t", "e"))


def test_quotes_and_tilde_inside_fn_are_not_top_level():
    spec = parse_formula("y ~ x + hm(id = id(c), name = 'a ~ (b', type = \"RE\")")
    assert spec.hm[0].name == "a ~ (b"


def _squash(obj):
    """Remove all whitespace from every string field (sources and verbatim text)."""
    if isinstance(obj, str):
        return re.sub(r"\s+", "", obj)
    if isinstance(obj, tuple):
        return tuple(_squash(o) for o in obj)
    if dataclasses.is_dataclass(obj):
        return dataclasses.replace(
            obj, **{f.name: _squash(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        )
    return obj


_TOKEN_GAPS = [m.end() for m in re.finditer(r"[(),=+~]", CASES[13][0])]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(_TOKEN_GAPS), st.sampled_from([" ", "\n", "\t "]))))
def test_inserting_whitespace_between_tokens_changes_nothing(inserts):
    formula = CASES[13][0]
    for pos, ws in sorted(inserts, reverse=True):
        formula = formula[:pos] + ws + formula[pos:]
    expected = dataclasses.replace(parse_formula(CASES[13][0]), formula="")
    assert _squash(dataclasses.replace(parse_formula(formula), formula="")) == _squash(expected)


# ---------------------------------------------------------------------------------------------
# Errors: (formula, text the message must contain -- the offending term/argument -- and a
# fragment of the suggested fix)
# ---------------------------------------------------------------------------------------------
MMX = "y ~ mm(id = id(p, g), vars = vars(x)"
ERRORS = [
    ("no_tilde", "y 1 + x", ["'y 1 + x'", "no '~'", "outcome ~ terms"]),
    ("two_tildes", "y ~ x ~ z", ["2 '~'", "characters 3, 7", "fn(w ~ ...)"]),
    ("empty_lhs", " ~ x", ["left-hand side", "empty"]),
    ("empty_rhs", "y ~  ", ["right-hand side", "empty", "y ~ 1"]),
    ("unclosed_paren", "y ~ x + I(z", ["'('", "character 10", "never closed", "')'"]),
    ("extra_paren", "y ~ x) + z", ["')'", "character 6", "no matching '('"]),
    ("mismatched", "y ~ I(x]", ["'('", "']'", "character 8"]),
    ("unclosed_quote", 'y ~ hm(id(c), type = "RE)', ['"', "character 22", "never closed"]),
    ("unknown_arg", "y ~ mm(id = id(p, g), weights = vars(x))", ["'weights'", "mm()", "RE"]),
    ("case_hint", MMX + ", re = TRUE)", ["'re'", "Did you mean 'RE'"]),
    ("duplicate_arg", MMX + ", vars = vars(z))", ["'vars'", "twice", "mm(id = id(p, g)"]),
    ("too_many_pos", "y ~ hm(id(c), NULL, cn, 'RE', F, F, F)", ["Too many", "hm()", "at most 6"]),
    ("mm_id_one_col", "y ~ mm(id = id(p), vars = vars(x))", ["id()", "1 column", "needs 2"]),
    ("hm_id_two_cols", "y ~ hm(id = id(c, g))", ["id()", "hm(id = id(c, g))", "needs 1"]),
    ("missing_id", "y ~ mm(vars = vars(x), RE = TRUE)", ["mm(vars = vars(x)", "no id"]),
    ("id_not_id_call", "y ~ mm(id = pid, vars = NULL)", ["'id = pid'", "id(pid, gid)"]),
    ("fn_without_w", MMX + ", fn = fn(1/n))", ["'1/n'", "w ~ expression"]),
    ("fn_other_lhs", MMX + ", fn = fn(v ~ 1/n))", ["'v ~ 1/n'", "w ~ expression"]),
    ("fn_empty_expr", MMX + ", fn = fn(w ~ ))", ["nothing after 'w ~'", "fn(w ~ 1/n)"]),
    ("c_not_bool", MMX + ", fn = fn(w ~ 1/n, c = yes))", ["'c = yes'", "c = TRUE"]),
    ("RE_not_bool", MMX + ", RE = 1)", ["'RE = 1'", "RE = TRUE"]),
    ("ar_not_bool", MMX + ", ar = maybe)", ["'ar = maybe'", "ar = FALSE"]),
    ("showFE_not_bool", "y ~ hm(id(c), showFE = 'yes')", ["showFE = 'yes'", "showFE = TRUE"]),
    ("bad_type", 'y ~ hm(id(c), type = "mixed")', ['type = "mixed"', '"RE"', '"FE"']),
    ("fix_no_value", "y ~ x + fix(majority)", ["fix(majority)", "no numeric value"]),
    ("fix_bad_value", "y ~ fix(majority, high)", ["fix(majority, high)", "'high'"]),
    ("fix_nonfinite", "y ~ fix(majority, 1/0)", ["fix(majority, 1/0)", "finite"]),
    ("fix_and_free", "y ~ majority + fix(majority, 1)", ["'majority'", "both fixed"]),
    ("fix_twice_vars", "y ~ mm(id(p, g), vars(fix(a, 1) + fix(a, 2)))", ["fix(a, ...)", "twice"]),
    (
        "two_re_one_member",
        "y ~ mm(id(pid, gid), NULL) + mm(id(pid, gid), vars(x), RE = T)",
        ["Two RE blocks on one member id 'pid'", "RE = FALSE"],
    ),
    (
        "different_group_ids",
        "y ~ mm(id(p, gid), vars(x)) + mm(id(q, cab), vars(z))",
        ["'gid'", "'cab'", "share the group id"],
    ),
    ("same_hm_id", "y ~ hm(id(cid)) + hm(id(cid), type = 'FE')", ["'cid'", "Two hm() blocks"]),
    ("two_strata", "y ~ x + strata(a) + strata(b)", ["2 strata()", "(a, b)"]),
    ("strata_two_cols", "y ~ x + strata(a, b)", ["'strata(a, b)'", "exactly one column"]),
    ("surv_one_arg", "Surv(t) ~ x", ["'Surv(t)'", "1 argument", "Surv(time, event)"]),
    ("surv_three_args", "Surv(t1, t2, e) ~ x", ["'Surv(t1, t2, e)'", "3 argument"]),
    ("mm_on_lhs", "mm(id(p, g), NULL) ~ x", ["mm()", "left-hand side"]),
    ("hm_on_lhs", "y + hm(id(c)) ~ x", ["hm()", "left-hand side"]),
    ("empty_vars", "y ~ mm(id(p, g), vars = vars())", ["Empty vars()", "vars = NULL"]),
    ("vars_only_number", "y ~ hm(id(c), vars = vars(1))", ["Empty vars()", "hm(id(c)"]),
    ("vars_not_call", "y ~ mm(id(p, g), vars = x)", ["'vars = x'", "vars(x1 + x2)"]),
    ("mm_without_effect", "y ~ mm(id(p, g), vars = NULL, RE = FALSE)", ["no effect", "RE = TRUE"]),
    ("mm_ar_without_re", MMX + ", ar = TRUE)", ["'ar = TRUE'", "RE = TRUE"]),
    ("hm_ar_fe", "y ~ hm(id(c), type = 'FE', ar = TRUE)", ["'ar = TRUE'", 'type = "RE"']),
    ("mm_in_interaction", "y ~ x * mm(id(p, g), NULL)", ["mm()", "'x * mm(id(p, g), NULL)'"]),
    ("mm_trailing", "y ~ mm(id(p, g), NULL):x", ["mm()", "separate '+' term", "':x'"]),
    ("mm_subtracted", "y ~ x - hm(id(c))", ["'- hm(id(c))'", "subtracted"]),
    ("vars_outside", "y ~ x + vars(z)", ["vars()", "'vars(z)'", "argument of mm() or hm()"]),
    ("surv_on_rhs", "y ~ x + Surv(t, e)", ["Surv()", "left-hand side"]),
    ("empty_term", "y ~ x + + z", ["Empty term", "'x + + z'"]),
    ("trailing_plus", "y ~ x +", ["Empty term", "'x +'"]),
    ("bad_number_term", "y ~ 2 + x", ["'2'", "Use 1"]),
    ("empty_argument", "y ~ mm(id(p, g), , NULL)", ["Empty argument 2", "mm()"]),
    ("bad_id_column", "y ~ hm(id(log(c)))", ["'log(c)'", "column name"]),
    ("lhs_two_terms", "y1 + y2 ~ x", ["'y1 + y2'", "single outcome"]),
    ("fn_unknown_arg", MMX + ", fn = fn(w ~ 1/n, ar = TRUE))", ["'ar'", "fn()", "w, c"]),
]


@pytest.mark.parametrize(
    ("formula", "needles"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_the_offending_term(formula, needles):
    with pytest.raises(MMSpecError) as info:
        parse_formula(formula)
    for needle in needles:
        assert needle in str(info.value), f"{needle!r} missing from: {info.value}"


def test_non_string_formula():
    with pytest.raises(MMSpecError, match="must be a string"):
        parse_formula(42)


def test_errors_are_value_errors_for_generic_handlers():
    with pytest.raises(ValueError, match="weights"):
        parse_formula("y ~ mm(id = id(p, g), weights = vars(x))")
