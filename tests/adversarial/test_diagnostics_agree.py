"""#13 class 10: the diagnostics of an ensemble run agree with each other and with ArviZ.

Convention (docs/inference.md, "Diagnostics of an ensemble run"): a chain is one ensemble;
its draws are laid out in split-walker order; Geweke / Heidelberger-Welch use the walkers
as replicates. Checked here: mmreg's mcmc_diag against arviz on the export of a real run,
calibration of Geweke and HW on synthetic stationary ensembles, power on drifting ones,
the ESS against the closed form of AR(1) walkers, the warning after a short run and the
traces (one line per chain).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mmreg
from mmreg.errors import MMWarning
from mmreg.inference.particles import PARTICLES_MAX, ParticleChoice
from mmreg.results import diagnostics as d

az = pytest.importorskip("arviz")


def _ar1(rng, chains, steps, walkers, phi, drift=0.0):
    """Independent AR(1) walkers with unit marginal variance (plus a linear drift)."""
    x = np.empty((chains, steps, walkers))
    x[:, 0] = rng.standard_normal((chains, walkers))
    innov = np.sqrt(1 - phi**2)
    for t in range(1, steps):
        x[:, t] = phi * x[:, t - 1] + innov * rng.standard_normal((chains, walkers))
    return x + drift * np.linspace(-1, 1, steps)[None, :, None]


@pytest.fixture(scope="module")
def run():
    df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10, seed=2)
    model = mmreg.MMModel(df.attrs["formula"], df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MMWarning)
        return model.fit(method="mcmc", draws=640, tune=40, chains=2, seed=1)


@pytest.fixture(scope="module")
def exported(run):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = run.to_inference_data()
        summ = az.summary(idata, kind="diagnostics")
    return (
        idata,
        summ,
        [
            w
            for w in caught
            if "arviz" in str(w.filename).lower() and not issubclass(w.category, FutureWarning)
        ],
    )


# ----------------------------------------------------------------- mmreg vs ArviZ, real run
@pytest.mark.parametrize(
    "column, az_column, tol",
    [
        ("rhat", "r_hat", 0.005),  # ArviZ rounds to 2 decimals
        ("ess_bulk", "ess_bulk", 0.5),  # ... and ESS to integers
        ("ess_tail", "ess_tail", 0.5),
        ("mcse_mean", "mcse_mean", 0.0005),
    ],
)
def test_mcmc_diag_equals_arviz_summary_of_export(run, exported, column, az_column, tol):
    diag = run.mcmc_diag()
    summ = exported[1].loc[diag.index]
    np.testing.assert_allclose(summ[az_column], diag[column], atol=tol, rtol=0)


def test_converged_verdict_is_the_same_in_mmreg_and_arviz(run, exported):
    idata = exported[0]
    diag = run.mcmc_diag()
    az_rhat = az.rhat(idata)
    az_ess = az.ess(idata, method="bulk")
    for name in diag.index:
        assert float(az_rhat[name]) == pytest.approx(diag.loc[name, "rhat"], abs=1e-10), name
        assert float(az_ess[name]) == pytest.approx(diag.loc[name, "ess_bulk"], rel=1e-10)
    mm_ok = (diag["rhat"] <= 1.01) & (diag["ess_bulk"] >= 400)
    az_ok = np.array([float(az_rhat[n]) <= 1.01 and float(az_ess[n]) >= 400 for n in diag.index])
    assert mm_ok.tolist() == az_ok.tolist()
    assert exported[2] == []  # ArviZ raises no warning (e.g. "more chains than draws")


def test_summary_table_shows_the_same_rhat_and_ess(run):
    diag = run.mcmc_diag()
    tab = run.summary().tables[1]
    for name in diag.index:
        assert float(tab.loc[name, "R-hat"]) == pytest.approx(diag.loc[name, "rhat"], abs=5e-5)
        assert int(str(tab.loc[name, "ESS"])) == round(diag.loc[name, "ess_bulk"])


def test_export_chains_are_the_runs_chains_and_walkers_are_identifiable(run, exported):
    idata = exported[0]
    C, S, W, _ = run._vals.shape
    post = idata.posterior
    assert (post.sizes["chain"], post.sizes["draw"]) == (C, S * W)
    step = idata.sample_stats["step"].values
    walker = idata.sample_stats["walker"].values
    j = run._names.index("majority")
    np.testing.assert_array_equal(
        post["majority"].values, run._vals[np.arange(C)[:, None], step, walker, j]
    )
    assert "split-walker" in idata.attrs["draw_order"]


# ---------------------------------------------------------- calibration (stationary runs)
@pytest.mark.parametrize(
    "chains, steps, walkers, phi",
    [
        (2, 32, 16, 0.0),
        (4, 63, 16, 0.0),
        (1, 31, 32, 0.0),
        (2, 19, 16, 0.0),  # the short runs that gave Geweke z up to 17 before
        (2, 32, 16, 0.8),  # correlated walkers
        (4, 63, 16, 0.9),
    ],
)
def test_geweke_and_hw_calibrated_on_stationary_ensembles(chains, steps, walkers, phi):
    rng = np.random.default_rng(steps * 100 + walkers + int(10 * phi))
    reps = 200
    z, p = [], []
    for _ in range(reps):
        tab = d.summarize({"x": _ar1(rng, chains, steps, walkers, phi)}, lag=1)
        z.append(tab.loc["x", "geweke_z"])
        p.append(tab.loc["x", "hw_p"])
    z, p = np.array(z), np.array(p)
    assert np.isfinite(z).all() and np.isfinite(p).all()
    limit = 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / reps)  # 5% plus 2.5 binomial SDs (8.9%)
    assert np.mean(np.abs(z) > 1.96) <= limit
    assert np.mean(p < 0.05) <= limit
    # Geweke is exact (Student-t), so also not grossly conservative
    assert np.mean(np.abs(z) > 1.96) >= 0.05 - 2.5 * np.sqrt(0.05 * 0.95 / reps)


@pytest.mark.parametrize("drift", [1.0, -1.0])
def test_geweke_and_hw_detect_a_drifting_ensemble(drift):
    x = _ar1(np.random.default_rng(3), 2, 40, 16, 0.5, drift=drift)
    tab = d.summarize({"x": x}, lag=1)
    assert tab.loc["x", "geweke_z"] * -drift > 3  # early mean below late mean: z < 0
    assert tab.loc["x", "hw_p"] < 0.05


# -------------------------------------------------------- ESS and autocorrelation (AR(1))
@pytest.mark.parametrize(
    "chains, steps, walkers, phi",
    [
        (2, 64, 16, 0.5),
        (4, 63, 16, 0.8),
        (2, 125, 32, 0.9),
    ],
)
def test_ess_matches_ar1_closed_form_and_interleaving_would_not(chains, steps, walkers, phi):
    rng = np.random.default_rng(7)
    truth = chains * steps * walkers * (1 - phi) / (1 + phi)  # N / integrated autocorr. time
    ess = [d.ess_bulk(d.ensemble_order(_ar1(rng, chains, steps, walkers, phi))) for _ in range(10)]
    inter = d.ess_bulk(_ar1(rng, chains, steps, walkers, phi).reshape(chains, -1))
    assert 0.8 * truth < np.mean(ess) < 1.35 * truth  # measured: +6% to +18%
    assert inter > 2.5 * truth  # why walkers are not interleaved step by step (tau >= 3)


@pytest.mark.parametrize("lag", [1, 3, 10])
def test_autocorr_column_is_the_ar1_value_and_nan_only_beyond_the_run(lag):
    phi = 0.7
    x = _ar1(np.random.default_rng(lag), 2, 400, 16, phi)
    tab = d.summarize({"x": x}, lag=lag)
    # SD of the estimate about 0.01 (12,800 draws, tau 5.7); the ACF's bias is O(1/400)
    assert tab.loc["x", f"autocorr_lag{lag}"] == pytest.approx(phi**lag, abs=0.05)
    short = d.summarize({"x": x[:, :lag]}, lag=lag) if lag >= 3 else None
    if short is not None:
        assert np.isnan(short.loc["x", f"autocorr_lag{lag}"])
        assert f"lag < {lag}" in short.attrs["note"]


def test_rhat_flags_ensembles_that_disagree_in_mmreg_and_arviz():
    x = _ar1(np.random.default_rng(5), 2, 32, 16, 0.3)
    x[1] += 0.5  # the second ensemble sits elsewhere
    tab = d.summarize({"x": x}, lag=1)
    idata = az.from_dict(posterior={"x": d.ensemble_order(x)})
    assert tab.loc["x", "rhat"] > 1.01
    assert float(az.rhat(idata)["x"]) == pytest.approx(tab.loc["x", "rhat"], abs=1e-12)


# ------------------------------------------------------------ warning after a short run
def test_short_run_warns_with_what_to_do():
    df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10, seed=2)
    model = mmreg.MMModel(df.attrs["formula"], df)
    with pytest.warns(MMWarning, match=r"bulk ESS < 400 for \[.*'majority'") as rec:
        model.fit(method="mcmc", draws=48, tune=10, chains=2, seed=3)
    msg = str(
        [
            w.message
            for w in rec
            if issubclass(w.category, MMWarning) and "not converged" in str(w.message)
        ][0]
    )
    assert "increase draws=" in msg and "mcmc_diag()" in msg


# ----------------------------------------------------------------------------- traces
def test_trace_plots_have_one_line_per_chain(run):
    C = run.raw.n_chains
    fig = run.plot_trace(["majority", "sigma"])
    for ax in fig.axes[1::2]:
        assert len(ax.get_lines()) == C
        assert "walkers" in fig.axes[-1].get_xlabel()
    fig = run.plot_posterior("majority")
    chains = [ln for ln in fig.axes[1].get_lines() if ln.get_label().startswith("chain")]
    assert len(chains) == C
    S = run._vals.shape[1]
    assert max(ln.get_ydata().max() for ln in chains) < S + 1  # iteration axis in steps


# ------------------------------------------------------------------ bad diagnostic input
_X = np.random.default_rng(0).standard_normal((2, 12, 8))
_NAN = _X.copy()
_NAN[1, 3, 2] = np.nan


@pytest.mark.parametrize(
    "call, error, fragment",
    [
        (lambda: d.summarize({"sigma.mm1": _NAN}), mmreg.MMDataError, "'sigma.mm1'"),
        (lambda: d.summarize({"x": _X}, lag=-2), mmreg.MMSpecError, "lag=-2"),
        (lambda: d.geweke_ensemble(_X, first=0.6, last=0.5), mmreg.MMSpecError, "first=0.6"),
        (lambda: d.heidel_welch_ensemble(_X[:, :5]), mmreg.MMDataError, "at least 10"),
        (lambda: d.autocorr_ensemble(_X, lag=1.5), mmreg.MMSpecError, "lag=1.5"),
        (lambda: d.geweke_ensemble(_X[0]), mmreg.MMDataError, "(chains, steps, walkers)"),
    ],
)
def test_bad_diagnostic_input_is_a_named_error(call, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        call()


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda r: r.mcmc_diag(lag=-3), "lag=-3"),
        (lambda r: r.plot_trace(["nope"]), "nope"),
        (lambda r: r.plot_posterior("sigma.zz"), "sigma.zz"),
    ],
)
def test_bad_diagnostic_request_on_results_is_a_spec_error(run, call, fragment):
    with pytest.raises(mmreg.MMSpecError, match=fragment):
        call(run)


def test_noisy_estimator_advice_names_particles():
    """A pseudo-marginal run whose log-likelihood estimate is noisy at the Laplace mode
    (SD > 1: walkers stick) is told to raise particles= first, with the count that brings
    the SD to about 1 (SD ∝ 1/√K at best); with a precise estimate the advice is unchanged."""
    df = mmreg.datasets.simulate_coalitions(
        n_groups=150, n_members=60, n_countries=10, family="binomial", seed=2
    )
    model = mmreg.MMModel(df.attrs["formula"], df, family="binomial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(method="mcmc", draws=48, tune=10, chains=2, seed=3)
    K, sd = res.raw.particles, res.raw.log_estimate_sd
    assert K == 8 and 0 < sd < 1  # the measured SD of this small model: no advice
    msg = res.convergence_problems()
    assert msg is not None and "particles=" not in msg
    res.raw.log_estimate_sd = 2.2  # as measured for a Weibull model with 100,000 groups
    msg = res.convergence_problems()
    assert "SD 2.20" in msg and "particles=8" in msg and "at least 39" in msg  # ceil(8 · 2.2²)
    # an automatic choice that stopped at its cap says so (no count to raise to)
    tried = ((8, 3.1), (PARTICLES_MAX, 2.2))
    res.raw.particle_choice = ParticleChoice(PARTICLES_MAX, 2.2, True, tried)
    res.raw.particles = PARTICLES_MAX
    msg = res.convergence_problems()
    assert f"stopped at {PARTICLES_MAX} particles" in msg and "at least" not in msg
    assert "latent='gibbs'" in msg  # the sampler that needs no particles
    # a noisy estimate is warned about even where R-hat and ESS pass (a short run can hide
    # a sticky chain): the estimator's part of the message alone
    res.convergence_problems = lambda: None
    with pytest.warns(MMWarning, match=r"^The importance-sampling estimate .* SD 2\.20"):
        res.warn_convergence()
    res.raw.log_estimate_sd = 0.4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res.warn_convergence()  # precise estimate, diagnostics pass: silent
