"""mmreg: Bayesian multiple-membership multilevel models with estimated weight functions.

>>> import mmreg
>>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, seed=3)
>>> res = mmreg.MMModel.from_formula(df.attrs["formula"], df).fit()
>>> sorted(res.params.index)[:2]
['Intercept', 'majority']
"""

from __future__ import annotations

from mmreg import datasets, families, priors
from mmreg.bml_compat import bml
from mmreg.describe import get_prior
from mmreg.errors import MMDataError, MMSpecError, MMWarning
from mmreg.io import load
from mmreg.model import MMModel
from mmreg.priors.brms import prior
from mmreg.results.compare import compare
from mmreg.results.laplace_results import LaplaceResults
from mmreg.results.mcmc_results import MCMCResults
from mmreg.results.plots import coefficients_plot as plot_coefficients
from mmreg.results.results import MMResults
from mmreg.results.summary import summary_table

__version__ = "0.1.0.dev0"

__all__ = [
    "LaplaceResults",
    "MCMCResults",
    "MMDataError",
    "MMModel",
    "MMResults",
    "MMSpecError",
    "MMWarning",
    "__version__",
    "bml",
    "compare",
    "datasets",
    "families",
    "get_prior",
    "load",
    "plot_coefficients",
    "prior",
    "priors",
    "summary_table",
]
