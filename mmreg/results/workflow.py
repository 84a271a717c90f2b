"""The workflow methods of the results (:class:`WorkflowMethods`, mixed into
:class:`~mmreg.results.results.MMResults`): posterior predictive draws and checks,
conditional effects, survival curves and the ArviZ export of Laplace fits.

All of them work on the posterior protocol through :func:`mmreg.results.draws.joint_draws`,
so Laplace and MCMC fits share one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

__all__ = ["WorkflowMethods"]


class WorkflowMethods:
    """Posterior predictive checks, effects, survival curves and export (see module)."""

    model: Any
    exact_posterior: bool

    if TYPE_CHECKING:  # provided by MMResults

        def predict(
            self, data: pd.DataFrame | None = None, kind: str = "response"
        ) -> pd.Series: ...

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

    def pp_check(
        self, kind: str = "density", stat: str | Callable = "mean", draws: int = 50, seed=None
    ):
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

    def to_inference_data(self, draws: int | None = 1000, seed=0, predictive: bool = True):
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
        dr = joint_draws(self, n=draws or 1000, seed=seed)
        Z = np.array([z for _, z, _ in dr])[None]
        U = np.array([u for _, _, u in dr])[None]
        attrs = {"draws_from": "Laplace approximation (mmreg.results.draws)"}
        return inference_data(self, Z, U, attrs=attrs, predictive=predictive, seed=seed)

    # ---------------------------------------------------------------- effects
    def conditional_effects(
        self,
        var: str,
        data: pd.DataFrame | None = None,
        values=None,
        at: dict | None = None,
        kind: str = "response",
        n: int | None = None,
        n_points: int = 50,
        alpha: float = 0.05,
        draws: int = 200,
        seed=0,
    ):
        """Predictions over a grid of one variable, others at their means (brms's
        ``conditional_effects``).

        Parameters
        ----------
        var : str
            A main-level column, a member-level ``vars()`` column (every member of every
            group gets the value: the effect through the aggregation) or a column of a
            weight function (the weight of a member with that value among ``n - 1``
            members with the average value; see :mod:`mmreg.results.conditional`).
        data : DataFrame, optional
            The fitted data: rebuild the rows from it (needed for categorical or
            transformed variables; the grid then comes from the data).
        values : array_like, optional
            The grid (default: the observed values of a variable with at most 10 integer
            values, else ``n_points`` points over its range).
        at : dict, optional
            Values of other design columns (without data) or data columns (with data).
        kind : {"response", "linear"}
            Scale of the prediction (as :meth:`predict`); weight variables give weights.
        n : int, optional
            Group size of weight-variable effects (default: the median).
        n_points, alpha, draws, seed
            Grid length, band level ``1 - alpha``, posterior draws used and their seed.

        Returns
        -------
        mmreg.results.conditional.ConditionalEffects
            A DataFrame with the variable, ``estimate``, ``lower``, ``upper``; ``.plot()``
            draws it (a matplotlib Figure).

        Examples
        --------
        >>> import mmreg, warnings
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> ce = res.conditional_effects("finance", kind="linear", n_points=5, draws=50)
        >>> list(ce.columns)
        ['finance', 'estimate', 'lower', 'upper']

        The slope of a linear term's prediction is its coefficient:

        >>> slope = np.diff(ce["estimate"]) / np.diff(ce["finance"])
        >>> bool(np.allclose(slope, res.params["mm1.finance"]))
        True
        >>> ce.plot().axes[0].get_xlabel()
        'finance'
        """
        from mmreg.results.conditional import conditional_effects

        return conditional_effects(
            self,
            var,
            data=data,
            values=values,
            at=at,
            kind=kind,
            n=n,
            n_points=n_points,
            alpha=alpha,
            draws=draws,
            seed=seed,
        )

    # ---------------------------------------------------------------- survival
    def predict_survival(
        self,
        data: pd.DataFrame | None = None,
        times=None,
        groups=None,
        alpha: float = 0.05,
        draws: int = 200,
        seed=0,
    ) -> pd.DataFrame:
        """Survival curves ``S(t)`` per group with bands (Weibull and Cox fits).

        Parameters
        ----------
        data : DataFrame, optional
            New data (as :meth:`predict`); default the fitted groups.
        times : array_like, optional
            Default: 50 times from 0 to the largest observed time.
        groups : list, optional
            Keep only these group ids.
        alpha, draws, seed
            Band level ``1 - alpha``, posterior draws used and their seed.

        Returns
        -------
        pandas.DataFrame
            Columns ``group``, ``time``, ``estimate``, ``lower``, ``upper`` (see
            :mod:`mmreg.results.survival` for the formulas).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         family="weibull", seed=1)
        >>> res = mmreg.MMModel(df.attrs["formula"], df, family="weibull").fit()
        >>> sv = res.predict_survival(times=[0, 100, 500], groups=[1, 2], draws=50)
        >>> sv.shape, list(sv.columns)
        ((6, 5), ['group', 'time', 'estimate', 'lower', 'upper'])
        >>> float(sv["estimate"].iloc[0])  # everyone survives at time 0
        1.0
        """
        from mmreg.results.survival import predict_survival

        return predict_survival(
            self, data=data, times=times, groups=groups, alpha=alpha, draws=draws, seed=seed
        )

    def median_survival(
        self, data: pd.DataFrame | None = None, alpha: float = 0.05, draws: int = 200, seed=0
    ) -> pd.DataFrame:
        """Median survival time per group with its band (Weibull and Cox fits; see
        :func:`mmreg.results.survival.median_survival`).

        Returns
        -------
        pandas.DataFrame
            Columns ``estimate``, ``lower``, ``upper``, indexed by group.
        """
        from mmreg.results.survival import median_survival

        return median_survival(self, data=data, alpha=alpha, draws=draws, seed=seed)

    def hazard_ratios(self, alpha: float = 0.05, draws: int = 1000, seed=0) -> pd.DataFrame:
        """Hazard ratios of the coefficients (Weibull ``exp(-shape·β)``, Cox ``exp(β)``).

        Returns
        -------
        pandas.DataFrame
            Columns ``hazard_ratio``, ``lower``, ``upper``, one row per coefficient.
        """
        from mmreg.results.survival import hazard_ratios

        return hazard_ratios(self, alpha=alpha, draws=draws, seed=seed)

    def plot_survival(
        self,
        groups=None,
        data: pd.DataFrame | None = None,
        times=None,
        alpha: float = 0.05,
        draws: int = 200,
        seed=0,
    ):
        """Survival curves with bands for some groups (a matplotlib Figure).

        Parameters
        ----------
        groups : list, optional
            Group ids; default: the groups of ``data``, or 4 fitted groups at the quartiles
            of the predicted median survival.
        data, times, alpha, draws, seed
            As :meth:`predict_survival`.

        Returns
        -------
        matplotlib.figure.Figure
            One curve and band per group; x ``time``, y ``survival probability``.
        """
        from mmreg.results.plots.workflow import plot_curves

        if groups is None and data is None:
            eta = self.predict(kind="linear").sort_values()
            groups = list(eta.index[np.linspace(0, len(eta) - 1, 4).astype(int)])
        sv = self.predict_survival(
            data=data, times=times, groups=groups, alpha=alpha, draws=draws, seed=seed
        )
        fig = plot_curves(sv, "time", "survival probability", by="group")
        fig.axes[0].set_title(f"Survival curves ({1 - alpha:.0%} bands)")
        return fig
