"""Random slopes in hm() (issue #15): recovery with known truth, MCMC, results, pickling."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from tests.slopes_helper import simulate_slopes, slope_model


@pytest.mark.slow
def test_laplace_recovers_the_slope_sd_and_coefficients():
    # 3000 governments in 100 countries: the country slope SD is estimated to ~10%
    z = []
    for seed in (1, 2, 3):
        df = simulate_slopes(n_groups=3000, n_countries=100, seed=seed, sd_slope=0.4)
        truth = df.attrs["truth"]
        res = slope_model(df.attrs["formula"], df).fit()
        for name in ("majority", "sigma.hm1", "sigma.hm1.majority", "sigma"):
            z.append((res.params[name] - truth[name]) / res.bse[name])
    z = np.array(z)
    assert np.all(np.abs(z) < 3.5), z


@pytest.mark.slow
def test_mcmc_summary_var_decomp_and_pickling():
    df = simulate_slopes(n_groups=150, n_countries=10, seed=3, sd_slope=0.4)
    model = slope_model(df.attrs["formula"], df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lap = model.fit()
        res = model.fit(method="mcmc", draws=60, tune=20, chains=2, seed=1)
    for r in (lap, res):
        assert "sigma.hm1.majority" in r.params.index
        assert "sigma.hm1.majority" in str(r.summary())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 10 countries: a flat Laplace direction
            vd = r.var_decomp()
        assert "hm1.majority" in vd.index
    assert all(h.sd[-1] > 0 for h in res.hyper_draws()[:20])
    for r in (lap, res):
        back = pickle.loads(pickle.dumps(r))
        np.testing.assert_array_equal(back.params.to_numpy(), r.params.to_numpy())
    again = pickle.loads(pickle.dumps(model))
    assert again.design.sd_names == model.design.sd_names
    # random effects: one intercept and one slope per country
    re = lap.random_effects
    assert list(re) == ["mm1", "hm1", "hm1.majority"]
    assert re["hm1.majority"].index.equals(re["hm1"].index)


def test_predictions_on_new_data_carry_each_countrys_slope():
    df = simulate_slopes(n_groups=200, n_countries=8, seed=5, sd_slope=0.5)
    res = slope_model(df.attrs["formula"], df).fit()
    full = res.predict(df, kind="linear").to_numpy()
    np.testing.assert_allclose(full, res.predict(kind="linear").to_numpy(), rtol=1e-10)
    # switching majority on or off changes eta by the fixed effect + the country's slope
    gov = df.groupby("gid").first()
    b, re = res.params, res.random_effects
    flip = df.copy()
    flip["majority"] = 1 - flip["majority"]
    d = res.predict(flip, kind="linear").to_numpy() - full
    sign = np.where(gov["majority"].to_numpy() == 1, -1.0, 1.0)
    want = sign * (b["majority"] + re["hm1.majority"]["mean"].reindex(gov["cid"]).to_numpy())
    np.testing.assert_allclose(d, want, rtol=1e-8, atol=1e-10)
