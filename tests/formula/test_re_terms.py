"""``RE = re(...)`` of the bml 1.0 grammar read into the random-slope fields of the spec.

The slope models themselves are tested through ``tests/slopes_helper.py`` (which sets the
fields directly); here the formula spelling must give the same spec and the same fit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import mmreg
from mmreg.errors import MMSpecError
from mmreg.formula.parse import parse_formula

MM = "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = {re})"
HM = "hm(id = id(cid), RE = {re})"


def _formula(mm_re: str = "TRUE", hm_re: str = "TRUE") -> str:
    return f"y ~ 1 + majority + {MM.format(re=mm_re)} + {HM.format(re=hm_re)}"


@pytest.mark.parametrize(
    ("re", "intercept", "slopes", "cor"),
    [
        ("TRUE", True, (), False),
        ("re(1)", True, (), False),
        ("re()", True, (), False),
        ("re(1 + majority)", True, ("majority",), False),
        ("re(~ 1 + majority)", True, ("majority",), False),
        ("re(0 + majority)", False, ("majority",), False),
        ("re(majority - 1)", False, ("majority",), False),
        ("re(1 + majority + mwc)", True, ("majority", "mwc"), False),
        ("re(1 + majority, cor = TRUE)", True, ("majority",), True),
    ],
)
def test_hm_re_terms_fill_the_slope_fields(re, intercept, slopes, cor):
    hm = parse_formula(_formula(hm_re=re)).hm[0]
    assert (hm.re_intercept, hm.re_slopes, hm.re_cor) == (intercept, slopes, cor)


@pytest.mark.parametrize("re", ["re(1 + I(x^2))", "re(0)", "re(x * z)"])
def test_bad_re_terms_are_named_errors(re):
    with pytest.raises(MMSpecError, match=r"re\("):
        parse_formula(_formula(hm_re=re))


def test_mm_correlated_effects_fill_re_cor():
    mm = parse_formula(_formula(mm_re="re(1 + finance, cor = TRUE)")).mm[0]
    assert (mm.re_intercept, mm.re_slopes, mm.re_cor) == (True, ("finance",), True)


def _helper():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "slopes_helper.py"
    spec = importlib.util.spec_from_file_location("slopes_helper", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_formula_spelling_gives_the_same_fit_as_the_spec_fields():
    h = _helper()
    df = h.simulate_slopes(n_groups=300, seed=3)
    base = _formula()
    via_spec = h.slope_model(base, df, slopes=("majority",))
    via_formula = mmreg.MMModel(_formula(hm_re="re(1 + majority)"), df)
    assert via_formula.param_names == via_spec.param_names
    assert "sigma.hm1.majority" in via_formula.param_names
    a, b = via_spec.fit(), via_formula.fit()
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())
    np.testing.assert_array_equal(a.bse.to_numpy(), b.bse.to_numpy())
    assert dataclasses.replace(via_formula.spec.hm[0], source="") == dataclasses.replace(
        via_spec.spec.hm[0], source=""
    )
