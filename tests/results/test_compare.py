"""mmreg.compare: the numbers of arviz.compare on the exported data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mmreg


@pytest.fixture(scope="module")
def fits():
    df = mmreg.datasets.simulate_coalitions(n_groups=120, n_members=50, n_countries=8, seed=4)
    full = df.attrs["formula"]
    no_hm = full.split(" + hm(")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lap = mmreg.MMModel(full, df).fit()
        lap0 = mmreg.MMModel(no_hm, df).fit()
        mc = mmreg.MMModel(full, df).fit(method="mcmc", draws=200, tune=100, chains=2, seed=1)
    return {"laplace": lap, "laplace_no_hm": lap0, "mcmc": mc}


@pytest.mark.parametrize("ic", ["loo", "waic"])
def test_compare_equals_arviz_on_export(fits, ic):
    az = pytest.importorskip("arviz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = mmreg.compare(fits, ic=ic, draws=300, seed=2)
        data = {
            n: r.to_inference_data(
                predictive=False, **({} if r.exact_posterior else {"draws": 300, "seed": 2})
            )
            for n, r in fits.items()
        }
        ref = az.compare(data, ic=ic)
    assert list(tab.index) == list(ref.index)
    for col in [f"elpd_{ic}", f"p_{ic}", "elpd_diff", "se", "dse", "weight"]:
        np.testing.assert_allclose(tab[col].astype(float), ref[col].astype(float), rtol=1e-10)


@pytest.mark.parametrize("ic", ["loo", "waic"])
def test_own_implementation_equals_arviz_for_single_chain_fits(fits, ic):
    """Without arviz the same numbers come from mmreg's PSIS (relative efficiency 1, which
    is what arviz uses for one chain: Laplace draws)."""
    az = pytest.importorskip("arviz")
    two = {k: fits[k] for k in ("laplace", "laplace_no_hm")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = mmreg.compare(two, ic=ic, draws=300, seed=3, use_arviz=False)
        ref = az.compare(
            {n: r.to_inference_data(draws=300, seed=3, predictive=False) for n, r in two.items()},
            ic=ic,
        )
    assert list(own.columns) == list(ref.columns)
    assert list(own.index) == list(ref.index)
    for col in [f"elpd_{ic}", f"p_{ic}", "elpd_diff", "se", "dse"]:
        np.testing.assert_allclose(own[col].astype(float), ref[col].astype(float), rtol=1e-8)
    np.testing.assert_allclose(own["weight"].astype(float), ref["weight"].astype(float), atol=1e-4)


def test_own_loo_of_mcmc_matches_res_loo(fits):
    res = fits["mcmc"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = mmreg.compare({"a": res, "b": fits["laplace"]}, use_arviz=False, draws=100)
    assert tab.loc["a", "elpd_loo"] == pytest.approx(-res.loo["loo"] / 2, rel=1e-12)
    assert isinstance(tab, pd.DataFrame) and tab["weight"].sum() == pytest.approx(1, abs=1e-6)


def test_compare_rejects_bad_input(fits):
    with pytest.raises(mmreg.MMSpecError):
        mmreg.compare({"a": fits["laplace"]})
    with pytest.raises(mmreg.MMSpecError):
        mmreg.compare(fits, ic="dic")


def test_export_has_all_groups_and_labelled_effects(fits):
    pytest.importorskip("arviz")
    for res in (fits["laplace"], fits["mcmc"]):
        idata = (
            res.to_inference_data(seed=0)
            if res.exact_posterior
            else res.to_inference_data(draws=50, seed=0)
        )
        assert {
            "posterior",
            "posterior_predictive",
            "log_likelihood",
            "observed_data",
            "sample_stats",
        } <= set(idata.groups())
        re = res.random_effects["hm1"]
        assert list(idata.posterior["re.hm1"].coords["hm1_id"].values) == [str(i) for i in re.index]
        assert "w.mm1" not in idata.posterior  # 1/n weights are data
        assert idata.posterior_predictive["y"].shape == idata.log_likelihood["y"].shape
        np.testing.assert_array_equal(
            idata.observed_data["y"].values, res.model.design.outcome["y"]
        )
    mc = fits["mcmc"]
    idata = mc.to_inference_data()
    assert "hm1_id" in idata.posterior["re.hm1"].dims
    np.testing.assert_allclose(
        idata.posterior["re.hm1"].mean(("chain", "draw")).values,
        mc.random_effects["hm1"]["mean"].values,
    )


def test_estimated_weights_are_exported_with_labels():
    pytest.importorskip("arviz")
    df = mmreg.datasets.simulate_coalitions(
        n_groups=60, n_members=30, n_countries=5, seed=2, weights="estimated"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mmreg.MMModel(df.attrs["formula"], df).fit(
            method="mcmc", draws=50, tune=20, chains=2, seed=1
        )
        idata = res.to_inference_data(predictive=False)
    w = idata.posterior["w.mm1"]
    tab = res.weights["mm1"]
    assert w.sizes["mm1_membership"] == len(tab)
    assert w.coords["mm1_membership"].values[0] == f"{tab.iloc[0, 0]},{tab.iloc[0, 1]}"
    np.testing.assert_allclose(w.mean(("chain", "draw")).values, tab["weight"].values)
    assert "posterior_predictive" not in idata.groups()
