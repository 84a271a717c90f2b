"""The posterior protocol of the results (#14): Laplace and MCMC results provide the same
methods and differ only in how they provide the posterior; ``alpha`` reaches every interval."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mmreg
from mmreg.errors import MMWarning
from mmreg.inference.latent import Hyper
from mmreg.results.laplace_results import LaplaceResults
from mmreg.results.mcmc_results import MCMCResults
from mmreg.results.results import MMResults

PROTOCOL = [
    "hyper_draws",
    "point_hyper",
    "linear_predictors",
    "point_estimate",
    "posterior_cov",
    "param_table",
    "fit_statistics",
]


@pytest.fixture(scope="module")
def data():
    return mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10, seed=2)


@pytest.fixture(scope="module")
def fits(data):
    model = mmreg.MMModel(data.attrs["formula"], data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MMWarning)
        return {
            "laplace": model.fit(),
            "mcmc": model.fit(method="mcmc", draws=64, tune=10, chains=2, seed=1),
        }


@pytest.mark.parametrize("cls", [LaplaceResults, MCMCResults])
def test_both_result_types_implement_the_protocol(cls):
    assert issubclass(cls, MMResults)
    for name in PROTOCOL:
        assert callable(getattr(cls, name)), name
    # the abstract methods are overridden, not inherited
    for name in [
        "hyper_draws",
        "point_hyper",
        "linear_predictors",
        "point_estimate",
        "posterior_cov",
    ]:
        assert getattr(cls, name) is not getattr(MMResults, name), (cls.__name__, name)


@pytest.mark.parametrize("method", ["laplace", "mcmc"])
def test_protocol_values_have_the_declared_shapes(fits, method):
    res = fits[method]
    hypers = res.hyper_draws()
    assert hypers and all(isinstance(h, Hyper) for h in hypers)
    assert isinstance(res.point_hyper(), Hyper)
    etas = res.linear_predictors()
    assert etas and all(e.shape == (res.nobs,) for e in etas)
    assert set(res.fit_statistics()) and all(
        isinstance(v, str) for v in res.fit_statistics().values()
    )
    names = ["Intercept", "majority"]
    assert res.posterior_cov(names).shape == (2, 2)


def test_mcmc_hyper_draws_are_the_kept_draws(fits):
    res = fits["mcmc"]
    hypers = res.hyper_draws()
    assert len(hypers) == res.draws.shape[0]
    sd = np.array([h.sd for h in hypers])
    np.testing.assert_allclose(sd.mean(axis=0), res.params[["sigma.mm1", "sigma.hm1"]], rtol=1e-12)
    np.testing.assert_allclose(sd[:, 0], res.draws["sigma.mm1"], rtol=1e-12)


def test_laplace_hyper_draws_have_the_laplace_covariance(fits):
    """SDs and the residual SD are log-transformed: on the log scale the Laplace draws are
    Gaussian with mean log(MAP) and covariance cov_params / (MAP MAP')."""
    res = fits["laplace"]
    names = ["sigma.mm1", "sigma.hm1", "sigma"]
    n = 4000
    hypers = res.hyper_draws(n=n, seed=3)
    assert len(hypers) == n
    logs = np.log([[*h.sd, *h.phi] for h in hypers])
    point = res.params[names].to_numpy()
    target = res.cov_params().loc[names, names].to_numpy() / np.outer(point, point)
    sample = np.cov(logs, rowvar=False)
    d = np.sqrt(np.diag(target))
    se = np.sqrt((np.outer(d**2, d**2) + target**2) / n)  # SE of a sample covariance
    assert np.all(np.abs(sample - target) < 4 * se), (sample, target)
    assert np.all(np.abs(logs.mean(axis=0) - np.log(point)) < 4 * d / np.sqrt(n))
    # the same seed gives the same draws; the point is the MAP
    again = res.hyper_draws(n=5, seed=3)
    np.testing.assert_array_equal(again[0].sd, hypers[0].sd)
    np.testing.assert_allclose([*res.point_hyper().sd, *res.point_hyper().phi], point, rtol=1e-12)


@pytest.mark.parametrize("method", ["laplace", "mcmc"])
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_param_table_is_conf_int_at_alpha(fits, method, alpha):
    res = fits[method]
    tab = res.param_table(alpha)
    ci = res.conf_int(alpha)
    lo, hi = f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"
    np.testing.assert_array_equal(tab[lo].to_numpy(float), ci.loc[tab.index, "lower"])
    np.testing.assert_array_equal(tab[hi].to_numpy(float), ci.loc[tab.index, "upper"])
    # the summary prints this table
    assert res.summary(alpha=alpha).tables[1].equals(tab)


@pytest.mark.parametrize("method", ["laplace", "mcmc"])
def test_point_estimate_is_plug_in_or_posterior_mean(fits, method):
    res = fits[method]

    def first_sd(hyper, z):
        return hyper.sd[0]

    got = res.point_estimate(first_sd)
    if method == "laplace":
        assert got == res.params["sigma.mm1"]
    else:
        assert got == pytest.approx(res.params["sigma.mm1"], rel=1e-12)


def _errorbar_bounds(fig):
    from matplotlib.container import ErrorbarContainer

    (err,) = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    segs = err.lines[2][0].get_segments()
    return np.array([[s[0][1], s[1][1]] for s in segs])


@pytest.mark.parametrize("method", ["laplace", "mcmc"])
def test_plot_var_decomp_honours_alpha(fits, method):
    res = fits[method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MMWarning)
        out = {}
        for alpha in (0.05, 0.5):
            vd = res.var_decomp(uncertainty="ci", alpha=alpha)
            want = np.column_stack(
                [np.minimum(vd["icc_lower"], vd["icc"]), np.maximum(vd["icc_upper"], vd["icc"])]
            )
            got = _errorbar_bounds(res.plot_var_decomp(alpha=alpha))
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
            out[alpha] = got
    assert not np.allclose(out[0.05], out[0.5])
    assert (out[0.5][:, 1] - out[0.5][:, 0] <= out[0.05][:, 1] - out[0.05][:, 0] + 1e-15).all()


def test_var_decomp_alpha_gives_the_quantiles(fits):
    res = fits["mcmc"]
    vd = res.var_decomp(uncertainty="ci", alpha=0.2)
    icc = np.array([list(_components(res, h).values()) for h in res.hyper_draws()])
    icc = icc / icc.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(vd["icc_lower"], np.quantile(icc, 0.1, axis=0), rtol=1e-10)
    np.testing.assert_allclose(vd["icc_upper"], np.quantile(icc, 0.9, axis=0), rtol=1e-10)


def _components(res, hyper):
    from mmreg.results.vardecomp import components

    return components(res.model, hyper)


@pytest.mark.parametrize("method", ["laplace", "mcmc"])
def test_summary_table_honours_alpha(fits, method):
    res = fits[method]
    tabs = {a: mmreg.summary_table([res], intervals=True, alpha=a) for a in (0.05, 0.2)}
    for alpha, tab in tabs.items():
        ci = res.conf_int(alpha)
        assert tab.iloc[2, 0] == (
            f"[{ci.loc['Intercept', 'lower']:.3f}, {ci.loc['Intercept', 'upper']:.3f}]"
        )
    assert tabs[0.05].iloc[2, 0] != tabs[0.2].iloc[2, 0]
    # estimates and SEs do not depend on alpha; without intervals the table is unchanged
    assert tabs[0.05].iloc[:2, 0].tolist() == tabs[0.2].iloc[:2, 0].tolist()
    plain = mmreg.summary_table([res])
    # two rows per parameter, N groups and Method, then 3 fit statistics (Log-lik./AIC/BIC
    # or LOO/WAIC/DIC)
    assert plain.shape[0] == 2 * len(res.params) + 2 + 3


def test_summary_table_stars_follow_alpha(fits):
    res = fits["laplace"]
    p = res.pvalues["majority"]  # 0.048
    starred = mmreg.summary_table([res], stars=True, alpha=0.05).loc["majority"].iloc[0]
    strict = mmreg.summary_table([res], stars=True, alpha=p / 2).loc["majority"].iloc[0]
    assert starred.endswith("*") and not starred.endswith("**")
    assert not strict.endswith("*")
