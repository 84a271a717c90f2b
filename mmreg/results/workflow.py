"""The workflow methods of the results (:class:`WorkflowMethods`, mixed into
:class:`~mmreg.results.results.MMResults`): posterior predictive draws and checks,
conditional effects, survival curves and the ArviZ export of Laplace fits.

All of them work on the posterior protocol through :func:`mmreg.results.draws.joint_draws`,
so Laplace and MCMC fits share one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["WorkflowMethods"]


class WorkflowMethods:
    """Posterior predictive checks, effects, survival curves and export (see module)."""

    model: Any
    exact_posterior: bool

    def posterior_predictive(self, draws: int | None = 200, seed=None) -> list[dict]:
        """Posterior predictive outcomes: one simulated data set per posterior draw.

        Laplace fits draw from the Laplace approximation of the posterior (see
        :mod:`mmreg.results.draws`); MCMC fits use (evenly thinned) kept draws.

        Parameters
        ----------
        draws : int, optional
            Number of simulated data sets (default 200).
        seed : int, optional
            Random state.

        Returns
        -------
        list of dict
            In the family's outcome layout (``{"y": ...}`` or ``{"time": ..., "event":
            ...}``), groups in ``model.design.group_ids`` order.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> sims = res.posterior_predictive(draws=20, seed=0)
        >>> len(sims), sims[0]["y"].shape
        (20, (150,))
        """
        from mmreg.results.ppc import posterior_predictive

        return posterior_predictive(self, draws=draws, seed=seed)

    def pp_check(self, kind: str = "density", stat: str | Callable = "mean", draws: int = 50,
                 seed=None):
        """Posterior predictive check (brms's ``pp_check``) as a figure.

        Parameters
        ----------
        kind : {"density", "stat"}
            ``"density"``: the outcome's density (or frequencies of a discrete outcome)
            against those of ``draws`` replicated data sets; ``"stat"``: the distribution of
            a statistic over the replicates, with its observed value and the posterior
            predictive p-value.
        stat : {"mean", "sd", "median", "min", "max"} or callable
            The statistic of ``kind="stat"``.
        draws : int
            Number of replicated data sets.
        seed : int, optional
            Random state of the replicates.

        Returns
        -------
        matplotlib.figure.Figure
            Survival outcomes compare the observed (censored) times with replicated times
            censored like the data.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> fig = res.pp_check(kind="stat", stat="sd", draws=40, seed=1)
        >>> fig.axes[0].get_xlabel()
        'sd'
        """
        from mmreg.results.ppc import pp_check

        return pp_check(self, kind=kind, stat=stat, draws=draws, seed=seed)

    def to_inference_data(self, draws: int = 1000, seed=0, predictive: bool = True):
        """Export draws from the Laplace approximation as an ``arviz.InferenceData``.

        One chain of ``draws`` draws (hyperparameters from their Gaussian approximation,
        latent effects from the Gaussian approximation of ``z | y, ψ``); the groups are
        those of the MCMC export (posterior with random effects and weights as labelled
        coordinates, log_likelihood, posterior_predictive, observed_data, sample_stats).
        MCMC results override this with their kept draws.

        Parameters
        ----------
        draws : int
            Number of draws.
        seed : int, optional
            Random state of the draws and the replicated outcomes.
        predictive : bool
            Include ``posterior_predictive``.

        Returns
        -------
        arviz.InferenceData

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> idata = res.to_inference_data(draws=100)
        >>> idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
        (1, 100)
        >>> idata.log_likelihood["y"].shape
        (1, 100, 150)
        """
        from mmreg.results.draws import joint_draws
        from mmreg.results.idata import inference_data, require_arviz

        require_arviz()
        dr = joint_draws(self, n=draws, seed=seed)
        Z = np.array([z for _, z, _ in dr])[None]
        U = np.array([u for _, _, u in dr])[None]
        attrs = {"draws_from": "Laplace approximation (mmreg.results.draws)"}
        return inference_data(self, Z, U, attrs=attrs, predictive=predictive, seed=seed)
