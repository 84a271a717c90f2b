"""Staged tuning of the MCMC sampler: stage boundaries and the draws each proposal uses."""

import numpy as np
import pytest

from mmreg.inference.tuning import MIN_STAGE, TUNE_STAGES, fit_points, stage_ends


@pytest.mark.parametrize("tune", [0, 5, 19, 20, 29, 30, 31, 60, 100, 200, 1001])
def test_stages_partition_the_tuning_steps(tune):
    ends = stage_ends(tune, adapt=True)
    lens = np.diff([0, *ends])
    assert sum(lens) == tune
    if tune >= 2 * MIN_STAGE:  # adapted: 2..TUNE_STAGES stages, none shorter than MIN_STAGE
        assert 2 <= len(ends) <= TUNE_STAGES
        assert lens.min() >= MIN_STAGE
        assert lens.max() - lens.min() <= len(ends) - 1  # as equal as integers allow
    else:  # too short to adapt: one stage with the start-up moves
        assert len(ends) == (1 if tune else 0)


def test_no_stages_with_user_moves():
    assert stage_ends(100, adapt=False) == [100]


def test_proposals_are_fitted_to_the_draws_before_each_stage():
    steps, walkers = 60, 4
    # chain value = step index, so the fitted points show which steps were used
    chain = np.repeat(np.arange(steps, dtype=float), walkers).reshape(steps, walkers, 1)
    ends = stage_ends(steps, adapt=True)
    assert ends == [20, 40, 60]
    # stage 2 is fitted to the second half of the burn-in stage (its start is the Laplace fit)
    assert np.unique(fit_points(chain, ends, 20)).tolist() == list(range(10, 20))
    # stage 3 to the adapted draws of stage 2, the kept phase to those of stages 2 and 3
    assert np.unique(fit_points(chain, ends, 40)).tolist() == list(range(20, 40))
    assert np.unique(fit_points(chain, ends, 60)).tolist() == list(range(20, 60))
    assert fit_points(chain, ends, 60).shape == (40 * walkers, 1)


def test_adapted_proposals_pool_the_draws_of_every_chain(monkeypatch):
    """Each adapted stage and the kept phase fit their proposal to the tuning draws of all
    chains (3 chains × 16 walkers): the fitted points are exactly every chain's
    ``fit_points`` after the stage before, stacked in chain order."""
    import mmreg
    from mmreg.inference import chains as ch

    df = mmreg.datasets.simulate_coalitions(n_groups=100, n_members=40, n_countries=8, seed=2)
    model = mmreg.MMModel(df.attrs["formula"], df)
    fitted, seen = [], []
    orig_fit, orig_tune = ch.adapted_moves, ch.tune_job

    def adapted(pts, at_edge):  # the space's edge mask goes with the points
        assert np.array_equal(at_edge, model.space.edge_mask)
        fitted.append(pts)
        return orig_fit(pts, at_edge)

    monkeypatch.setattr(ch, "adapted_moves", adapted)

    def tune_job(job):  # remember each chain's tuning chain after every stage
        run = orig_tune(job)
        seen.append((job[2], run.c, run.tuning.get_chain().copy()))
        return run

    monkeypatch.setattr(ch, "tune_job", tune_job)
    res = model.fit(method="mcmc", draws=64, tune=30, chains=3, seed=4)
    ends = stage_ends(30, True)
    assert len(fitted) == len(ends) == 3  # stages 2 and 3, and the kept phase
    for k, upto in enumerate([ends[0], ends[1], 30]):  # after stage k
        chains_k = {c: chain for kk, c, chain in seen if kk == k}
        want = np.concatenate([fit_points(chains_k[c], ends, upto) for c in range(3)])
        np.testing.assert_array_equal(fitted[k], want)
    assert fitted[2].shape == (3 * 16 * (30 - ends[0]), res.raw.u.shape[-1])


def test_model_fit_uses_fit_mcmcs_default_tune():
    """``model.fit(method="mcmc")`` without ``tune`` runs fit_mcmc's default (40), which the
    option check must not replace by another number."""
    import inspect
    import warnings

    import mmreg
    from mmreg.inference.mcmc import fit_mcmc

    df = mmreg.datasets.simulate_coalitions(n_groups=60, n_members=30, n_countries=5, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mmreg.MMModel(df.attrs["formula"], df).fit(method="mcmc", draws=32, chains=1, seed=1)
    assert res.raw.tune == inspect.signature(fit_mcmc).parameters["tune"].default == 40
