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
