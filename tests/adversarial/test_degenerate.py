"""#13 class 5: degenerate and non-identified models never give a silent answer.

A constant outcome or an all-chosen conditional logit is an MMDataError naming the column;
an all-0/1 binomial outcome, linearly dependent fixed-effect columns (checked before the
fit) and parameters whose posterior is their prior (checked after it, Laplace and MCMC) are
an MMWarning naming the parameters.  Well-identified models do not warn.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mmreg
from mmreg import MMDataError, MMWarning
from mmreg.results.identification import uninformed

MM = "mm(id = id(pid, gid), vars = vars({v}), fn = fn(w ~ {fn}, c = TRUE), RE = FALSE)"


@pytest.fixture(scope="module")
def coal() -> pd.DataFrame:
    return mmreg.datasets.simulate_coalitions(n_groups=40, n_members=25, n_countries=5, seed=3)


def _group_mean(df: pd.DataFrame, col: str) -> pd.Series:
    return df.groupby("gid")[col].transform("mean")


def _mm_warnings(fn) -> list[str]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in rec if issubclass(w.category, MMWarning)]


# ------------------------------------------------------------------ constant outcomes
@pytest.mark.parametrize(
    "value, formula",
    [
        (0.0, "y ~ 1 + majority"),
        (5.0, "y ~ 1 + majority + " + MM.format(v="finance", fn="1/n")),
        (True, "y ~ 1 + majority + " + MM.format(v="finance", fn="1/n")),
        (-1e6, "y ~ 1 + " + MM.format(v="finance", fn="1/n") + " + hm(id = id(cid), type = 'RE')"),
    ],
)
def test_constant_gaussian_outcome_is_named(coal, value, formula):
    with pytest.raises(MMDataError, match=r"outcome 'y' is constant"):
        mmreg.MMModel(formula, coal.assign(y=value))


@pytest.mark.parametrize("value", [0, 1])
def test_binomial_outcome_without_variation_warns(coal, value):
    f = "event ~ 1 + majority + " + MM.format(v="finance", fn="1/n")
    with pytest.warns(MMWarning, match=rf"'event' is {value} for every group.*separation"):
        mmreg.MMModel(f, coal.assign(event=value), family="binomial")


@pytest.mark.parametrize("sets", ["every alternative chosen", "one alternative per set"])
def test_clogit_without_an_unchosen_alternative_is_an_error(coal, sets):
    df = coal.assign(chosen=1)
    strata = "opportunity" if sets == "every alternative chosen" else "gid"
    f = f"chosen ~ 0 + majority + {MM.format(v='finance', fn='1/n')} + strata({strata})"
    with pytest.raises(MMDataError, match=rf"every alternative.*'{strata}'"):
        mmreg.MMModel(f, df, family="clogit")


# ------------------------------------------------------------------ pre-fit rank check
def _cases(df: pd.DataFrame) -> dict:
    gx = _group_mean(df, "finance")
    mmf = MM.format(v="finance", fn="1/n")
    return {
        "x2 = 2 x1": (
            df.assign(x2=2 * df["majority"]),
            "y ~ 1 + majority + x2 + " + mmf,
            ["majority", "x2"],
        ),
        "x3 = x1 + x2": (
            df.assign(mwc2=df["mwc"] + df["majority"]),
            "y ~ 1 + majority + mwc + mwc2 + " + mmf,
            ["majority", "mwc", "mwc2"],
        ),
        "constant column": (df.assign(one=1.0), "y ~ 1 + one + " + mmf, ["Intercept", "one"]),
        "all-zero column": (df.assign(z=0.0), "y ~ 1 + majority + z + " + mmf, ["z"]),
        "dummy and its complement": (
            df.assign(minority=1 - df["majority"]),
            "y ~ 1 + majority + minority + " + mmf,
            ["Intercept", "majority", "minority"],
        ),
        "main term = aggregated member variable": (
            df.assign(fbar=gx),
            "y ~ 1 + fbar + " + mmf,
            ["fbar", "mm1.finance"],
        ),
        "two collinear member variables": (
            df.assign(f3=3 * df["finance"]),
            "y ~ 1 + " + MM.format(v="finance + f3", fn="1/n"),
            ["mm1.finance", "mm1.f3"],
        ),
        "hm covariate = main term": (
            df.assign(g=df["cid"] * 0.5),
            "y ~ 1 + g + " + mmf + " + hm(id = id(cid), vars = vars(cid), type = 'RE')",
            ["g", "hm1.cid"],
        ),
        "full dummy set next to country FE": (
            df,
            "y ~ 1 + C(cname) + " + mmf + " + hm(id = id(cid), type = 'FE')",
            ["C(cname)[T.C02]", "hm1[2]"],
        ),
    }


CASES = [
    "x2 = 2 x1",
    "x3 = x1 + x2",
    "constant column",
    "all-zero column",
    "dummy and its complement",
    "main term = aggregated member variable",
    "two collinear member variables",
    "hm covariate = main term",
    "full dummy set next to country FE",
]


@pytest.mark.parametrize("case", CASES)
def test_collinear_fixed_effects_warn_before_fitting(coal, case):
    df, formula, names = _cases(coal)[case]
    msgs = _mm_warnings(lambda: mmreg.MMModel(formula, df))
    msg = next((m for m in msgs if "rank deficient" in m), None)
    assert msg is not None, msgs
    for n in names:
        assert n in msg, msg


def test_cox_covariate_constant_is_absorbed_by_the_baseline(coal):
    f = "Surv(dur, event) ~ 0 + majority + one + " + MM.format(v="finance", fn="1/n")
    msgs = _mm_warnings(lambda: mmreg.MMModel(f, coal.assign(one=1.0), family="cox"))
    assert any("'one'" in m or "one is zero" in m for m in msgs), msgs


def test_clogit_covariate_constant_within_choice_sets(coal):
    df = coal.assign(setx=coal["opportunity"] * 0.1)
    f = f"chosen ~ 0 + majority + setx + {MM.format(v='finance', fn='1/n')} + strata(opportunity)"
    msgs = _mm_warnings(lambda: mmreg.MMModel(f, df, family="clogit"))
    assert any("setx is zero" in m and "absorbs" in m for m in msgs), msgs


# ------------------------------------------------------------------ post-fit check
POST = {
    "b0 cancelled by c = TRUE": ("exp(b0 + b1 * pseat)", {}, "mm1.w.b0"),
    "weight variable constant within groups": ("exp(b1 * gx)", {}, "mm1.w.b1"),
    "group size as weight variable": ("exp(b1 * n)", {}, "mm1.w.b1"),
    "narrow prior, nothing learnt": (
        "exp(b1 * gx)",
        {"mm1.w.b1": mmreg.priors.Normal(0, 0.5)},
        "mm1.w.b1",
    ),
}


@pytest.mark.parametrize("case", list(POST))
def test_uninformed_weight_parameter_warns_after_laplace(coal, case):
    fn, priors, name = POST[case]
    df = coal.assign(gx=_group_mean(coal, "pseat"))
    model = mmreg.MMModel(
        "y ~ 1 + majority + " + MM.format(v="finance", fn=fn), df, priors=priors or None
    )
    msgs = _mm_warnings(model.fit)
    assert any("do not inform" in m and name in m for m in msgs), msgs


@pytest.mark.slow
def test_uninformed_weight_parameter_warns_after_mcmc(coal):
    model = mmreg.MMModel(
        "y ~ 1 + majority + " + MM.format(v="finance", fn="exp(b0 + b1 * pseat)"), coal
    )
    msgs = _mm_warnings(lambda: model.fit(method="mcmc", draws=200, tune=100, chains=2, seed=1))
    assert any("do not inform" in m and "mm1.w.b0" in m for m in msgs), msgs


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_identified_model_does_not_warn(family):
    # 300 groups: every SD's mode is inside (at 120 groups, seed 5, the Gaussian member SD's
    # mode is at its lower bound, 3e-4 — a flat direction that rightly warns)
    df = mmreg.datasets.simulate_coalitions(
        n_groups=300, n_members=50, n_countries=8, family=family, seed=5
    )
    model = mmreg.MMModel(df.attrs["formula"], df, family=family)
    res = None

    def fit():
        nonlocal res
        res = model.fit()

    assert _mm_warnings(fit) == []
    assert res is not None and res.params.filter(like="sigma").min() > 0.1  # the premise


# ------------------------------------------------------------------ the criterion itself
@pytest.mark.parametrize(
    "scale, expected",
    [
        (1.0, {"a": 1.0, "b": 1.0}),  # posterior = prior
        (0.5, {}),  # posterior SD half the prior's: informed
    ],
)
def test_uninformed_diagonal(scale, expected):
    sds = pd.Series({"a": 2.0, "b": 100.0})
    cov = pd.DataFrame(np.diag((scale * sds) ** 2), index=sds.index, columns=sds.index)
    assert uninformed(cov, sds) == pytest.approx(expected)


def test_uninformed_direction_of_collinear_pair():
    # prior N(0, 1) each; the data fix a + b exactly and say nothing about a - b: the
    # marginal SDs are 0.71 of the prior's (not flagged alone), the a - b direction is 1.0
    sds = pd.Series({"a": 1.0, "b": 1.0, "c": 1.0})
    cov = np.zeros((3, 3))
    cov[:2, :2] = 0.5 * np.array([[1.0, -1.0], [-1.0, 1.0]])
    cov[2, 2] = 0.01
    out = uninformed(pd.DataFrame(cov, index=sds.index, columns=sds.index), sds)
    assert set(out) == {"a", "b"} and out["a"] == pytest.approx(1.0)


# ------------------------------------------------------------------ against JAGS on coalgov
def test_uninformed_b0_of_gaus_w_agrees_with_jags():
    # bml's gaus_w reference: prior N(0, 1) on the weight parameters; JAGS's posterior SD of
    # b0 is 0.993 (the data add nothing), of b1 0.825 (informed).  The Laplace check must
    # name b0 and only b0 -- the same verdict, from an independent sampler.
    from validation.reference_models import COALGOV, MODELS, SHARED, load_coalgov

    jags = SHARED / "reference" / "jags" / "gaus_w.csv"
    if not (COALGOV.exists() and jags.exists()):
        pytest.skip("../shared (coalgov and the JAGS reference) is absent")
    ref = pd.read_csv(jags).set_index("name")["sd"]
    m = MODELS["gaus_w"]
    model = mmreg.MMModel(m.formula, load_coalgov(), family="gaussian", **m.options)
    msgs = [x for x in _mm_warnings(model.fit) if "do not inform" in x]
    assert ref["mm1.w.b0"] >= 0.9 and ref["mm1.w.b1"] < 0.9  # the JAGS verdict (prior SD 1)
    assert len(msgs) == 1 and "mm1.w.b0" in msgs[0] and "mm1.w.b1" not in msgs[0], msgs
