"""statsmodels habits: fittedvalues, resid, t_test/wald_test, get_prediction, tidy, glance."""

import pickle

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import mmreg

NO_RE = (
    "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)"
)
FLAT = ["b[1] ~ dnorm(0, 1e-12)", "b[2] ~ dnorm(0, 1e-12)", "b.mm.1 ~ dnorm(0, 1e-12)"]


@pytest.fixture(scope="module")
def df():
    return mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10, seed=2)


@pytest.fixture(scope="module")
def res(df):
    return mmreg.MMModel(df.attrs["formula"], df).fit()


@pytest.fixture(scope="module")
def post(df):
    with pytest.warns(mmreg.MMWarning):
        return mmreg.MMModel(df.attrs["formula"], df).fit(
            method="mcmc", draws=50, tune=20, chains=2, seed=1
        )


def _observed(df):
    return df.groupby("gid")["y"].first()


@pytest.mark.parametrize("which", ["res", "post"])
def test_fitted_plus_resid_is_observed(request, df, which):
    r = request.getfixturevalue(which)
    fitted, resid = r.fittedvalues, r.resid
    assert fitted.index.equals(resid.index)
    np.testing.assert_allclose(fitted + resid, _observed(df).loc[fitted.index], rtol=1e-12)
    assert np.allclose(fitted, r.predict())


def test_gaussian_pearson_and_deviance_residuals(res):
    expected = res.resid / res.params["sigma"]
    np.testing.assert_allclose(res.resid_pearson, expected, rtol=1e-10)
    np.testing.assert_allclose(res.resid_deviance, expected, rtol=1e-6, atol=1e-8)


def test_binomial_residuals_match_statsmodels_formulas():
    df = mmreg.datasets.simulate_coalitions(
        n_groups=150, n_members=60, n_countries=10, family="binomial", seed=3
    )
    r = mmreg.MMModel(df.attrs["formula"], df, family="binomial").fit()
    y = df.groupby("gid")[df.attrs["formula"].split("~")[0].strip()].first().to_numpy()
    p = r.fittedvalues.to_numpy()
    np.testing.assert_allclose(r.resid_pearson, (y - p) / np.sqrt(p * (1 - p)), rtol=1e-10)
    dev = np.sign(y - p) * np.sqrt(-2 * (y * np.log(p) + (1 - y) * np.log(1 - p)))
    np.testing.assert_allclose(r.resid_deviance, dev, rtol=1e-6)


def test_survival_residuals_raise():
    df = mmreg.datasets.simulate_coalitions(
        n_groups=80, n_members=40, n_countries=8, family="weibull", seed=1
    )
    r = mmreg.MMModel(df.attrs["formula"], df, family="weibull").fit()
    assert np.isfinite(r.fittedvalues).all()
    with pytest.raises(mmreg.MMSpecError, match="survival"):
        r.resid  # noqa: B018


def test_t_test_equals_statsmodels_ols(df):
    """No random effects, flat priors: the Laplace fit is OLS; its t_test equals statsmodels'
    on the same covariance (the z test uses the MAP sigma, OLS's t test the unbiased one)."""
    r = mmreg.MMModel(NO_RE, df, priors=FLAT).fit()
    g = df.groupby("gid")
    X = np.column_stack([np.ones(g.ngroups), g["majority"].first(), g["finance"].mean()])
    ols = sm.OLS(_observed(df).to_numpy(), X).fit()
    np.testing.assert_allclose(r.params.iloc[:3], ols.params, rtol=1e-6)
    R = np.array([[0.0, 1.0, -1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    mine = r.t_test(R)
    theirs = ols.t_test(R[:, :3], cov_p=r.cov_params().iloc[:3, :3].to_numpy())
    np.testing.assert_allclose(mine.effect, theirs.effect, rtol=1e-6)
    np.testing.assert_allclose(mine.sd, np.ravel(theirs.sd), rtol=1e-6)
    # and OLS's own standard errors agree to the residual-variance convention
    np.testing.assert_allclose(np.ravel(mine.sd)[1], ols.bse[0], rtol=2e-2)
    # the string form and bml names give the same test
    by_name = r.t_test(["majority - mm1.finance = 0", "b[1] = 0"])
    np.testing.assert_allclose(by_name.effect, mine.effect, rtol=1e-12)
    np.testing.assert_allclose(by_name.pvalue, mine.pvalue, rtol=1e-12)
    w = r.wald_test("majority = 0, mm1.finance = 0")
    wo = ols.wald_test(
        np.eye(3)[1:], cov_p=r.cov_params().iloc[:3, :3].to_numpy(), use_f=False, scalar=True
    )
    np.testing.assert_allclose(w.statistic, wo.statistic, rtol=1e-6)
    np.testing.assert_allclose(w.pvalue, wo.pvalue, rtol=1e-6)


def test_t_test_mcmc_is_posterior_summary(post):
    tab = post.t_test("majority - mm1.finance = 0", alpha=0.1)
    d = post.draws["majority"] - post.draws["mm1.finance"]
    assert tab.loc["c0", "mean"] == pytest.approx(d.mean())
    assert tab.loc["c0", "sd"] == pytest.approx(d.std())
    assert tab.loc["c0", "P(>0)"] == pytest.approx((d > 0).mean())
    assert list(tab.columns) == ["mean", "sd", "[0.05", "0.95]", "P(>0)"]


@pytest.mark.parametrize("which", ["res", "post"])
def test_summary_frame_intervals(request, df, which):
    r = request.getfixturevalue(which)
    sf = r.get_prediction().summary_frame(alpha=0.1)
    assert list(sf.columns) == ["mean", "mean_se", "mean_ci_lower", "mean_ci_upper"]
    assert sf.index.equals(r.fittedvalues.index)
    assert np.allclose(sf["mean"], r.fittedvalues)
    assert (sf["mean_se"] > 0).all()
    assert (sf["mean_ci_lower"] < sf["mean_ci_upper"]).all()
    wide = r.get_prediction().summary_frame(alpha=0.01)
    assert (
        wide["mean_ci_upper"] - wide["mean_ci_lower"] > sf["mean_ci_upper"] - sf["mean_ci_lower"]
    ).all()
    new = df[df["gid"] <= 3].drop(columns="y")
    sf_new = r.get_prediction(new).summary_frame()
    assert np.allclose(sf_new["mean"], sf["mean"].loc[[1, 2, 3]])


def test_get_prediction_after_pickle(res):
    back = pickle.loads(pickle.dumps(res))
    a = back.get_prediction(seed=4).summary_frame()
    b = res.get_prediction(seed=4).summary_frame()
    pd.testing.assert_frame_equal(a, b, rtol=1e-8)


@pytest.mark.parametrize("which", ["res", "post"])
def test_tidy_and_glance(request, which):
    r = request.getfixturevalue(which)
    t = r.tidy(alpha=0.1)
    assert list(t.columns[:6]) == [
        "term",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "bml_name",
    ]
    assert t["term"].tolist() == list(r.params.index)
    np.testing.assert_allclose(t["conf_low"], r.conf_int(0.1)["lower"])
    assert r.tidy(params="b")["term"].tolist() == ["Intercept", "majority", "mm1.finance"]
    g = r.glance()
    assert len(g) == 1 and g.loc[0, "nobs"] == 150 and g.loc[0, "method"] == r.method
    keys = ["llf", "aic", "bic"] if r.method == "laplace" else ["dic", "waic", "loo"]
    assert np.isfinite(g.loc[0, keys].astype(float)).all()


def test_summary_digits_and_html(res):
    assert "5.648" in res.summary(r=3).as_text()
    assert "5.6484" not in res.summary(r=3).as_text()
    assert "5.6484" in res.summary().as_text()
    assert "<table" in res._repr_html_()
    assert "<table" in res.summary()._repr_html_()
    assert "<table" in mmreg.summary_table([res])._repr_html_()
