"""#13 class 1: no code execution through a formula, anywhere a formula is read.

Every attempt is a formula (or prior) that would write a sentinel file, set an environment
variable, set an attribute on numpy or overwrite the data in place if any part of it were
evaluated.  Each case asserts an :class:`~mmreg.MMSpecError` that says where the term stands
AND that none of these side effects happened.  ``test_positive_control`` shows that the same
payload does write the file when patsy evaluates it unchecked, so the side-effect probes can
fail.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import patsy
import pytest

import mmreg
from mmreg.errors import MMSpecError

DF = mmreg.datasets.simulate_coalitions(seed=3, n_groups=40, n_members=30, n_countries=5)
MM = "mm(id = id(pid, gid), RE = TRUE)"

# Python payloads; SENT is replaced by the sentinel file's path.
PAYLOADS = {
    "issue_example": "np.__builtins__['__import__']('os').system('touch SENT')",
    "dunder_import": "__import__('os').system('touch SENT')",
    "open": "open('SENT', 'w').write('x')",
    "eval": "eval(\"open('SENT', 'w')\")",
    "exec": "exec(\"open('SENT', 'w')\")",
    "compile": "eval(compile(\"open('SENT', 'w')\", 'f', 'eval'))",
    "column_method": "finance.to_pickle('SENT')",
    "column_to_csv": "majority.to_csv('SENT')",
    "np_save": "np.save('SENT', finance)",
    "np_savetxt": "np.savetxt('SENT', finance)",
    "np_attribute_chain": "np.lib.npyio.savetxt('SENT', finance)",
    "subclasses": "[c for c in ().__class__.__base__.__subclasses__() "
    "if c.__name__ == 'Popen'][0](['touch', 'SENT'])",
    "lambda": "(lambda: open('SENT', 'w'))()",
    "list_comprehension": "[open('SENT', 'w') for _ in [1]]",
    "generator": "sum(open('SENT', 'w') for _ in [1])",
    "dict_comprehension": "{k: open('SENT', 'w') for k in [1]}",
    "getattr": "getattr(np, 'save')('SENT', finance)",
    "Q_builtins": "Q('__builtins__')['open']('SENT', 'w')",
    "walrus": "(f := open('SENT', 'w'))",
    "fstring": "f\"{open('SENT', 'w')}\"",
    "starred": "I(*[open('SENT', 'w')])",
    "double_star": "I(finance, **{'x': open('SENT', 'w')})",
    "builtins_name": "__builtins__.open('SENT', 'w')",
    "np_dict": "np.__dict__['save']('SENT', finance)",
    "function_globals": "log.__globals__['__builtins__']['open']('SENT', 'w')",
    "transform_globals": "center(finance).__class__.__init__.__globals__['__builtins__']"
    "['open']('SENT', 'w')",
    "if_expression": "finance if open('SENT', 'w') else finance",
    "set_display": "{open('SENT', 'w')}",
    "subscript": "finance[open('SENT', 'w')]",
    "globals": "globals()['__builtins__']['open']('SENT', 'w')",
    "setattr_numpy": "setattr(np, 'mmreg_pwned', 1)",
    "environ": "__import__('os').environ.update(MMREG_PWNED='1')",
    "np_os_putenv": "np.os.putenv('MMREG_PWNED', '1')",
    "inplace_ufunc": "np.log(finance, finance)",
    "inplace_out_keyword": "np.exp(finance, out=finance)",
    "type_call": "type('X', (), {'f': open('SENT', 'w')})",
    "allowed_call_bad_arg": "np.where(finance, open('SENT', 'w'), 0)",
    "C_contrast_call": "C(majority, __import__('os').system('touch SENT'))",
    "C_levels_call": "C(majority, levels=open('SENT', 'w'))",
    "Treatment_call": "C(majority, Treatment(open('SENT', 'w')))",
    "Q_dunder": "Q('__class__')",
    "bitor_exec": "(1 | __import__('os').system('touch SENT'))",
}

# place -> (formula template with {p}, family, fragment the message must contain)
PLACES = {
    "main_terms": ("y ~ 1 + majority + {p} + " + MM, "gaussian", "main terms"),
    "main_I": ("y ~ 1 + I({p}) + " + MM, "gaussian", "main terms"),
    "outcome": ("I({p}) ~ 1 + majority + " + MM, "gaussian", "outcome"),
    "mm_vars": (
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(finance + {p}), RE = TRUE)",
        "gaussian",
        "vars() of mm1",
    ),
    "hm_vars": (
        "y ~ 1 + majority + hm(id = id(cid), vars = vars({p}), type = 'RE')",
        "gaussian",
        "vars() of hm1",
    ),
    "fix_main": ("y ~ 1 + fix({p}, 1) + " + MM, "gaussian", "fix()"),
    "fix_in_vars": (
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(fix({p}, 0.5) + finance), RE = TRUE)",
        "gaussian",
        "fix()",
    ),
    "fix_value": ("y ~ 1 + fix(majority, {p}) + " + MM, "gaussian", "fix()"),
    "C_argument": ("y ~ 1 + C(cid, {p}) + " + MM, "gaussian", "main terms"),
    "surv_time": ("Surv({p}, event) ~ 1 + majority + " + MM, "weibull", "Surv()"),
    "surv_event": ("Surv(dur, {p}) ~ 1 + majority + " + MM, "weibull", "Surv()"),
    "strata": ("chosen ~ 0 + majority + " + MM + " + strata({p})", "clogit", "strata()"),
    "fn_weight": ("y ~ 1 + mm(id = id(pid, gid), fn = fn(w ~ {p}), RE = TRUE)", "gaussian", "fn"),
    "hm_name": ("y ~ 1 + hm(id = id(cid), name = {p})", "gaussian", "hm()"),
    "id": ("y ~ 1 + mm(id = id({p}, gid), RE = TRUE)", "gaussian", "id()"),
}
EVERYWHERE = ("issue_example", "open", "column_method", "Q_builtins", "lambda", "function_globals")


def _cases() -> list:
    cases = [pytest.param("main_terms", name, id=f"main_terms-{name}") for name in PAYLOADS]
    cases += [
        pytest.param(place, name, id=f"{place}-{name}")
        for place in PLACES
        if place != "main_terms"
        for name in EVERYWHERE
    ]
    return cases


@pytest.fixture
def sentinel(tmp_path_factory) -> str:
    # mktemp gives a path without double underscores, so a payload is refused for what it
    # does, not for a '__' in its file name
    return str(tmp_path_factory.mktemp("inj") / "pwned")


def _assert_refused(call, sentinel: str, fragment: str) -> None:
    data_before = DF.copy(deep=True)
    env_before = dict(os.environ)
    with pytest.raises(MMSpecError) as err:
        call()
    assert fragment in str(err.value)
    assert not os.path.exists(sentinel)
    assert dict(os.environ) == env_before
    assert not hasattr(np, "mmreg_pwned")
    pd.testing.assert_frame_equal(DF, data_before)


@pytest.mark.parametrize(("place", "payload"), _cases())
def test_formula_injection_is_refused(place: str, payload: str, sentinel: str) -> None:
    template, family, fragment = PLACES[place]
    formula = template.format(p=PAYLOADS[payload].replace("SENT", sentinel))
    _assert_refused(
        lambda: mmreg.MMModel.from_formula(formula, DF, family=family), sentinel, fragment
    )


PRIOR_TEMPLATES = {
    "argument": "b.1 ~ dnorm({p}, 1)",
    "distribution": "b.1 ~ {p}",
    "truncation": "sigma ~ dnorm(0, 1) T({p}, )",
}


@pytest.mark.parametrize("template", PRIOR_TEMPLATES.values(), ids=PRIOR_TEMPLATES.keys())
@pytest.mark.parametrize("payload", ("issue_example", "open", "lambda", "getattr"))
def test_prior_injection_is_refused(template: str, payload: str, sentinel: str) -> None:
    prior = template.format(p=PAYLOADS[payload].replace("SENT", sentinel))
    _assert_refused(
        lambda: mmreg.MMModel.from_formula("y ~ 1 + majority + " + MM, DF, priors=[prior]),
        sentinel,
        "prior",
    )


@pytest.mark.parametrize("payload", ("issue_example", "column_method", "Q_builtins"))
def test_bml_entry_point_refuses_injection(payload: str, sentinel: str) -> None:
    formula = f"y ~ 1 + I({PAYLOADS[payload].replace('SENT', sentinel)}) + {MM}"
    _assert_refused(lambda: mmreg.bml(formula, data=DF, run=False), sentinel, "main terms")


@pytest.mark.parametrize("payload", ("issue_example", "open"))
def test_refused_when_parsing_alone(payload: str, sentinel: str) -> None:
    """parse_formula already refuses (no data needed), so nothing downstream can evaluate it."""
    from mmreg.formula.parse import parse_formula

    formula = f"y ~ 1 + I({PAYLOADS[payload].replace('SENT', sentinel)})"
    _assert_refused(lambda: parse_formula(formula), sentinel, "main terms")


def test_refusal_lists_the_allowed_functions() -> None:
    with pytest.raises(MMSpecError) as err:
        mmreg.MMModel.from_formula("y ~ 1 + finance.to_pickle('x') + " + MM, DF)
    msg = str(err.value)
    assert "finance.to_pickle" in msg and "main terms" in msg
    for name in ("I,", "C,", "center", "log", "np.log", "factor"):
        assert name in msg


def test_positive_control(sentinel: str) -> None:
    """Unchecked, patsy does run the payload: the probes above can see a side effect."""
    code = f"I(np.__builtins__['open']('{sentinel}', 'w').close() or majority)"
    patsy.dmatrix(code, DF, eval_env=patsy.EvalEnvironment([{"np": np}]))
    assert os.path.exists(sentinel)
