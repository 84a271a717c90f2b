"""bml habits: bml names and prefixes wherever a parameter is named, monetPlot, varDecomp,
summary(r=), inits=."""

import numpy as np
import pytest

import mmreg
from mmreg.results.names import resolve_names

EST = (
    "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE)"
)


@pytest.fixture(scope="module")
def df():
    return mmreg.datasets.simulate_coalitions(
        n_groups=150, n_members=60, n_countries=10, seed=2, weights="estimated"
    )


@pytest.fixture(scope="module")
def res(df):
    return mmreg.MMModel(EST, df).fit()


@pytest.fixture(scope="module")
def post(df):
    with pytest.warns(mmreg.MMWarning):
        return mmreg.MMModel(EST, df).fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)


def test_resolver_mmreg_bml_and_prefix(res):
    bml = res.bml_names
    assert bml["mm1.w.b1"] == "b.w.1[2]"
    assert resolve_names(res, ["b[2]", "sigma.mm.1", "b.w.1[2]"]) == [
        "majority",
        "sigma.mm1",
        "mm1.w.b1",
    ]
    assert resolve_names(res, "majority") == ["majority"]
    coefs = ["Intercept", "majority", "mm1.finance"]
    assert resolve_names(res, "b") == coefs + ["mm1.w.b0", "mm1.w.b1"]  # b.w.1[k] too
    assert resolve_names(res, ["b[1]", "b[2]", "b.mm"]) == coefs
    assert resolve_names(res, "b.w") == ["mm1.w.b0", "mm1.w.b1"]
    assert resolve_names(res, None) == list(res.params.index)
    with pytest.raises(mmreg.MMSpecError, match="b.w.1"):
        resolve_names(res, "b.w.1[3]")


def test_names_in_t_test_and_tidy(res):
    a = res.t_test("b.w.1[2] - b[2] = 0")
    b = res.t_test("mm1.w.b1 - majority = 0")
    np.testing.assert_allclose(a.effect, b.effect)
    assert res.tidy(params=["b.w.1[2]", "sigma"])["term"].tolist() == ["mm1.w.b1", "sigma"]


def test_mcmc_diag_and_plots_take_bml_names(post):
    diag = post.mcmcDiag(parameters="b.w")
    assert list(diag.index) == ["mm1.w.b0", "mm1.w.b1"]
    assert len(post.mcmcDiag(parameters="b")) == 5
    assert list(post.mcmc_diag(["b.w.1[2]"]).index) == ["mm1.w.b1"]
    pd_a = post.mcmc_diag("sigma.mm.1")
    pd_b = post.mcmc_diag("sigma.mm1")
    assert pd_a.equals(pd_b)
    fig = post.plot_posterior("b.w.1[2]")
    assert fig.axes[0].get_title() == "Parameter: b.w.1[2]"
    line = fig.axes[0].lines
    assert line and all(np.isfinite(ln.get_xdata()).all() for ln in line)
    assert len(post.plot_trace("b.w").axes) == 4
    with pytest.raises(mmreg.MMSpecError, match="unknown parameter"):
        post.mcmc_diag("nope")


def test_monetplot_label_r_yaxis(post):
    fig = post.monetPlot("b[2]", label="Majority", r=3, yaxis=False)
    top = fig.axes[0]
    assert top.get_title() == "Majority"
    assert not top.get_yaxis().get_visible()
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels() if t.get_text()]
    assert labels and all(len(t.split(".")[-1]) == 3 for t in labels)


def test_var_decomp_bml_columns(res, post):
    for r in (res, post):
        vd = r.varDecomp()
        assert list(vd.columns) == ["Component", "sigma", "sigma_sd", "ICC", "ICC_sd"]
        mm = r.var_decomp()
        np.testing.assert_allclose(vd["ICC"], mm["icc"])
        assert np.isclose(vd["ICC"].sum(), 1)
    # Laplace: sigma is the plug-in SD of the component
    np.testing.assert_allclose(res.varDecomp()["sigma"] ** 2, res.var_decomp()["variance"])


def test_summary_r_digits(res):
    text = res.summary(r=2).as_text()
    assert f"{res.params['majority']:.2f}" in text
    assert f"{res.params['majority']:.4f}" not in text


def test_bml_inits_map_to_start(df):
    model = mmreg.bml(EST, df, run=False, inits=[{"sigma.mm.1": 0.5}])
    assert isinstance(model, mmreg.MMModel)
    with pytest.raises(mmreg.MMSpecError, match="inits"):
        mmreg.bml(EST, df, run=False, inits=3)
    with pytest.warns(mmreg.MMWarning, match="not converged"):
        fit = mmreg.bml(
            EST,
            df,
            n_iter=40,
            n_burnin=20,
            n_chains=1,
            seed=1,
            inits={"sigma.mm.1": 0.5, "b.w.1[2]": 0.0},
        )
    assert type(fit).__name__ == "MCMCResults"


def test_coefficient_plot_takes_bml_names(res):
    fig = mmreg.plot_coefficients([res], params=["b[2]", "b.mm"])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["majority", "mm1.finance"]


def test_mcmc_diag_is_computed_once_and_handed_out_as_copies(post):
    """The draws never change, so a selection is diagnosed once; each call gets its own
    copy (changing one does not change the next)."""
    first = post.mcmc_diag()
    first.loc[:, "rhat"] = -1.0
    second = post.mcmc_diag()
    assert (second["rhat"] > 0.9).all()
    assert second.equals(post.mcmc_diag())
    # the cached numbers are those of a fresh computation
    post.__dict__.pop("_diag_cache", None)
    assert post.mcmc_diag().equals(second)
