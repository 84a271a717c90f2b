"""Progress bars: one labelled bar per chain counting draws, off when stderr is no terminal,
and the same draws with or without them."""

import numpy as np
import pytest

import mmreg


@pytest.fixture(scope="module")
def model():
    df = mmreg.datasets.simulate_coalitions(n_groups=100, n_members=40, n_countries=8, seed=2)
    return mmreg.MMModel(df.attrs["formula"], df)


def _fit(model, **kw):
    with pytest.warns(mmreg.MMWarning):
        return model.fit(method="mcmc", draws=32, tune=10, chains=2, seed=1, **kw)


@pytest.mark.parametrize("cores", [None, pytest.param(2, marks=pytest.mark.slow)])
def test_one_bar_per_chain_in_draws(model, capfd, cores):
    on = _fit(model, progress=True, cores=cores)
    err = capfd.readouterr().err.replace("\r", "\n")
    nw = on.raw.u.shape[2]
    total = (10 + on.raw.u.shape[1]) * nw  # tuning and kept steps, times walkers
    for c in (1, 2):
        assert f"chain {c}/2" in err
        assert f"{total}/{total}" in err
    off = _fit(model)  # default: stderr is not a terminal under pytest
    assert "chain 1/2" not in capfd.readouterr().err
    np.testing.assert_array_equal(on.raw.u, off.raw.u)
    np.testing.assert_array_equal(on.raw.z, off.raw.z)


def test_latent_gibbs_has_the_same_bars(capfd):
    df = mmreg.datasets.simulate_coalitions(
        n_groups=60, n_members=20, n_countries=4, family="binomial", seed=2
    )
    model = mmreg.MMModel(df.attrs["formula"], df, family="binomial")
    opts = dict(method="mcmc", latent="gibbs", draws=32, tune=10, chains=2, seed=1)
    with pytest.warns(mmreg.MMWarning):
        on = model.fit(progress=True, **opts)
    err = capfd.readouterr().err.replace("\r", "\n")
    total = (10 + on.raw.u.shape[1]) * on.raw.u.shape[2]
    for c in (1, 2):
        assert f"chain {c}/2" in err and f"{total}/{total}" in err
    with pytest.warns(mmreg.MMWarning):
        off = model.fit(**opts)
    assert "chain 1/2" not in capfd.readouterr().err
    np.testing.assert_array_equal(on.raw.u, off.raw.u)
    np.testing.assert_array_equal(on.raw.z, off.raw.z)


def test_progress_must_be_bool_or_none(model):
    with pytest.raises(mmreg.MMSpecError, match="progress"):
        model.fit(method="mcmc", draws=32, tune=10, chains=1, progress="yes")
