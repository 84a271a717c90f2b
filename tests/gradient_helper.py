"""The Laplace gradient of a model against central differences of its objective."""

from __future__ import annotations

import warnings

import numpy as np

from mmreg.inference.laplace import _Objective
from tests.inference.test_gradient import _numeric


def assert_gradient_matches_differences(
    model, shifts=(0.2, -0.3), rtol: float = 1e-5, atol: float = 1e-5
) -> None:
    """The analytic gradient of the Laplace objective of ``model`` equals central differences
    of the objective at the start values shifted by each of ``shifts``."""
    obj = _Objective(model.latent, model.space)
    for shift in shifts:
        u = model.posterior.start_values() + shift
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, g = obj.value_and_grad(u)
            num = _numeric(obj, u)
        np.testing.assert_allclose(g, num, rtol=rtol, atol=atol)
