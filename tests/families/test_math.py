"""Elementwise helpers of the families (mmreg.families._math).

Reference: log(1 + eˣ) in 80-bit extended precision (``np.longdouble`` on x86-64; the test
skips where longdouble is plain double), and NumPy's ``logaddexp(0, x)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmreg.families._math import log1pexp


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= 1e-16, reason="no extended precision")
def test_log1pexp_matches_extended_precision_and_logaddexp():
    x = (
        np.random.default_rng(0).normal(size=20000)
        * np.r_[0.1, 3.0, 40.0].repeat(20000 // 3 + 1)[:20000]
    )
    ref = np.log1p(np.exp(x.astype(np.longdouble)))
    got = log1pexp(x)
    rel = np.abs((got - ref) / ref).astype(float)
    assert rel.max() < 4 * np.finfo(float).eps
    np.testing.assert_allclose(got, np.logaddexp(0.0, x), rtol=4 * np.finfo(float).eps, atol=0)


def test_log1pexp_limits():
    with np.errstate(invalid="ignore"):
        got = log1pexp(np.array([-np.inf, np.inf, np.nan, 0.0, 800.0, -800.0]))
    assert got[0] == 0.0 and got[1] == np.inf and np.isnan(got[2])
    assert got[3] == pytest.approx(np.log(2.0), rel=1e-15)
    assert got[4] == 800.0 and got[5] == 0.0
