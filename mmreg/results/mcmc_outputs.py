"""What an MCMC fit reports beyond its estimates: diagnostics, plots, posterior predictive
draws, information criteria and the ArviZ export (the :class:`MCMCOutputs` part of
:class:`~mmreg.results.mcmc_results.MCMCResults`).

Everything here works on the draws as :class:`~mmreg.results.mcmc_results.MCMCResults`
stores them: ``_vals`` (chains, steps, walkers, parameters), ``raw.z``, ``raw.u`` and the
log-likelihood of every draw ``raw.loglik_total``; the pointwise log-likelihood is computed
from ``raw.u`` and ``raw.z`` when asked (:meth:`MCMCOutputs.pointwise_loglik`).
"""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmreg._threads import pin_public_methods
from mmreg.inference.particles import SD_TARGET
from mmreg.results import diagnostics

__all__ = ["MCMCOutputs", "POINTWISE_CACHE_BYTES"]

#: Largest pointwise log-likelihood (bytes) that :meth:`MCMCOutputs.pointwise_loglik` keeps
#: for later calls (WAIC, LOO, the ArviZ export); a larger one is recomputed on each call.
POINTWISE_CACHE_BYTES = 512 * 2**20


@pin_public_methods
class MCMCOutputs:
    """Diagnostics, plots, posterior predictive draws, DIC/WAIC/LOO and export of an MCMC
    fit; mixed into :class:`~mmreg.results.mcmc_results.MCMCResults`."""

    _vals: np.ndarray
    _names: list[str]
    raw: Any
    model: Any

    if TYPE_CHECKING:  # provided by MCMCResults

        def _select(self, params) -> list[str]: ...

        def _steps_of(self, name: str) -> np.ndarray: ...

        def _ensembles_of(self, name: str) -> np.ndarray: ...

        def linear_predictors(self, most: int = 200) -> list[np.ndarray]: ...

    def convergence_problems(self, rhat_max: float = 1.01, ess_min: float = 400) -> str | None:
        """Describe the parameters whose R-hat or bulk ESS fails the usual targets.

        Parameters
        ----------
        rhat_max, ess_min : float
            Targets: R-hat at most ``rhat_max`` and bulk ESS at least ``ess_min``
            (Vehtari et al. 2021).

        Returns
        -------
        str or None
            A message naming the parameters and what to do, or None when all pass.
        """
        diag = self.mcmc_diag()
        bad_r = diag.index[~(diag["rhat"] <= rhat_max)].tolist()
        bad_e = diag.index[~(diag["ess_bulk"] >= ess_min)].tolist()
        if not bad_r and not bad_e:
            return None
        parts = []
        if bad_r:
            parts.append(f"R-hat > {rhat_max} for {bad_r} (max {diag['rhat'].max():.3f})")
        if bad_e:
            parts.append(f"bulk ESS < {ess_min:g} for {bad_e} (min {diag['ess_bulk'].min():.0f})")
        C, S, W, _ = self._vals.shape
        more = " and chains= to at least 2 to compare ensembles" if C < 2 else ""
        msg = (
            "MCMC run not converged: " + "; ".join(parts) + f". The run kept {S} steps "
            f"x {W} walkers in each of {C} chain(s): increase draws= (and tune= if "
            f"R-hat is high){more}, then check res.mcmc_diag()."
        )
        # a noisy pseudo-marginal estimate makes walkers stick whatever the run length
        noisy = self.estimator_problem()
        return msg if noisy is None else f"{msg} {noisy}"

    def estimator_problem(self) -> str | None:
        """Describe a pseudo-marginal run whose log-likelihood estimate is too noisy.

        Returns
        -------
        str or None
            What to do when the SD of the importance-sampling estimate at the Laplace mode
            (``raw.log_estimate_sd``) is above :data:`~mmreg.inference.particles.SD_TARGET`
            (pseudo-marginal chains stick beyond ~1; Doucet et al. 2015), else None.
        """
        K = int(getattr(self.raw, "particles", 0) or 0)
        sd = float(getattr(self.raw, "log_estimate_sd", 0.0) or 0.0)
        if not K or sd <= SD_TARGET:
            return None
        msg = (
            f"The importance-sampling estimate of the log-likelihood has SD {sd:.2f} at "
            f"the Laplace mode with particles={K} (above ~1 the chains stick)"
        )
        choice = getattr(self.raw, "particle_choice", None)
        if choice is not None and choice.capped:
            return msg + (
                f": the automatic choice stopped at {K} particles (its cap, or more "
                "did not lower the SD enough to pay: it falls more slowly than "
                "1/sqrt(particles) for data this large); sample the latent vector instead "
                "with fit(method='mcmc', latent='gibbs'), give particles= above it, or use "
                "the Laplace fit."
            )
        return msg + (
            f": first raise particles= to at least {int(np.ceil(K * sd**2))} (more "
            "if the SD falls more slowly than 1/sqrt(particles)), leave particles "
            "unset to have them chosen from the measured SD, or sample the latent vector "
            "with latent='gibbs'."
        )

    def warn_convergence(self) -> None:
        """Warn (MMWarning) when :meth:`convergence_problems` finds any, or when the run's
        log-likelihood estimate is too noisy (:meth:`estimator_problem`) even though the
        diagnostics pass (a sticky chain can hide from R-hat in a short run)."""
        import os
        import sys
        import warnings

        from mmreg.errors import MMWarning

        msg = self.convergence_problems() or self.estimator_problem()
        if msg:  # point the warning at the first caller outside mmreg
            pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
            frame: FrameType | None = sys._getframe(1)
            level = 2
            while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(pkg):
                level, frame = level + 1, frame.f_back
            warnings.warn(msg, MMWarning, stacklevel=level)

    def mcmc_diag(self, params=None, lag: int = 50) -> pd.DataFrame:
        """Convergence diagnostics per parameter.

        Columns as :func:`mmreg.results.diagnostics.summarize` for an ensemble run: a chain
        is one ensemble. R-hat (rank-normalised, split), bulk/tail ESS and MCSE are
        computed on the split-walker layout of every chain (the layout of
        :meth:`to_inference_data`, so ``arviz.summary`` gives the same numbers); Geweke z
        and Heidelberger–Welch p use the walkers as replicates and are calibrated (about 5%
        of stationary runs reject at 5%); the autocorrelation is at ``lag`` ensemble steps,
        pooled over walkers (NaN when the run has ``lag`` steps or fewer; see
        ``attrs["note"]``).

        Parameters
        ----------
        params : str or list of str, optional
            Parameters to diagnose; default all estimated ones.
        lag : int
            Lag of the autocorrelation column.

        Returns
        -------
        pandas.DataFrame
            One row per parameter (index name ``"parameter"``).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> diag = res.mcmc_diag()
        >>> list(diag.columns)  # doctest: +NORMALIZE_WHITESPACE
        ['mean', 'sd', 'mcse_mean', 'mcse_sd', 'lower', 'median', 'upper', 'rhat',
         'ess_bulk', 'ess_tail', 'geweke_z', 'hw_p', 'autocorr_lag50']

        R-hat near 1 (below 1.01 is the usual target for a final run) says the chains
        agree:

        >>> bool((diag["rhat"] < 1.1).all())
        True

        Chains of 4 ensemble steps are too short for Heidelberger-Welch and a lag of 50
        steps (NaN, with a note); diagnose a single parameter with ``params``:

        >>> res.mcmc_diag("majority", lag=1)[["hw_p", "autocorr_lag1"]].isna().to_numpy().tolist()
        [[True, False]]
        """
        names = self._select(params)
        # the draws never change: each selection is diagnosed once (fit() itself asks twice,
        # for the convergence and the identification warnings); a copy is returned
        cache = self.__dict__.setdefault("_diag_cache", {})
        key = (tuple(names), lag)
        if key not in cache:
            cache[key] = diagnostics.summarize({n: self._steps_of(n) for n in names}, lag=lag)
        return cache[key].copy()

    mcmcDiag = mcmc_diag  # noqa: N815  (bml's name)

    # ---------------------------------------------------------------- plots
    def plot_posterior(self, param: str, prob: float = 0.9):
        """bml's monetPlot: density with the ``prob`` HPD region, median, zero, trace.

        Parameters
        ----------
        param : str
            Parameter name (one of ``params.index``).
        prob : float
            Probability mass of the shaded highest-posterior-density region.

        Returns
        -------
        matplotlib.figure.Figure
            Density on top, trace below; not registered with pyplot (``fig.savefig``).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> fig = res.plot_posterior("majority", prob=0.95)
        >>> type(fig).__name__, len(fig.axes), fig.axes[0].get_title()
        ('Figure', 2, 'Parameter: majority')
        """
        from mmreg.results.plots import plot_posterior

        self._select(param)
        C, S, W, _ = self._vals.shape
        return plot_posterior(
            self._ensembles_of(param),
            param,
            prob=prob,
            trace_label=f"Step ({C} chains x {W} walkers)",
            per_step=W,
        )

    monetPlot = plot_posterior  # noqa: N815

    def plot_trace(self, params=None):
        """Trace plots of several parameters.

        Parameters
        ----------
        params : str or list of str, optional
            Default: all estimated parameters.

        Returns
        -------
        matplotlib.figure.Figure
            One row per parameter: density by chain (left), trace by chain (right). A chain
            is one ensemble: its line runs through the walkers of each step in turn,
            plotted against the step.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> fig = res.plot_trace(["majority", "sigma"])
        >>> type(fig).__name__, len(fig.axes)
        ('Figure', 4)
        >>> [ax.get_ylabel() for ax in fig.axes[::2]]
        ['majority', 'sigma']
        """
        from mmreg.results.plots import plot_trace

        names = self._select(params)
        return plot_trace({n: self._ensembles_of(n) for n in names}, per_step=self._vals.shape[2])

    def posterior_predictive(self, draws: int | None = 200, seed=None) -> list[dict]:
        """Posterior predictive outcomes: one simulated data set per (thinned) draw.

        Returns a list of dicts in the family's outcome layout (``{"y": ...}`` or
        ``{"time": ..., "event": ...}``), groups in ``model.design.group_ids`` order.

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> sims = res.posterior_predictive(draws=20, seed=0)
        >>> len(sims), list(sims[0]), sims[0]["y"].shape
        (20, ['y'], (150,))

        A posterior predictive check: how often is the simulated spread of the outcome
        larger than the observed one?  Values near 0 or 1 would flag misfit.

        >>> y = df.groupby("gid")["y"].first().to_numpy()
        >>> ppp = np.mean([s["y"].std() > y.std() for s in sims])
        >>> bool(0.05 < ppp < 0.95)
        True
        """
        rng = np.random.default_rng(seed)
        us = self.raw.u.reshape(-1, self.raw.u.shape[-1])
        idx = np.linspace(0, len(us) - 1, min(draws or len(us), len(us))).astype(int)
        etas = self.linear_predictors(most=len(us))
        fam = self.model.bound_family
        return [fam.simulate(etas[i], self.model.space.hyper(us[i]).phi, rng) for i in idx]

    # ---------------------------------------------------------------- latent summaries
    # ---------------------------------------------------------------- model comparison
    def pointwise_loglik(self) -> np.ndarray:
        """Log-likelihood of every group at every kept draw.

        Computed from the kept draws (hyperparameters and latent vector) when asked — it
        is groups × draws numbers, 3.2 GB at 100,000 groups and 4,032 draws, so the fit does
        not store it — and kept for later calls while it is at most
        :data:`POINTWISE_CACHE_BYTES` (never saved with the results).

        Returns
        -------
        numpy.ndarray
            Shape ``(chains, steps, walkers, groups)``, groups in ``model.design.group_ids``
            order.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit(method="mcmc", draws=50, tune=20,
        ...                                                  chains=2, seed=1)
        >>> ll = res.pointwise_loglik()
        >>> ll.shape
        (2, 4, 16, 150)
        """
        cached = self.__dict__.get("_pointwise_cache")
        if cached is not None:
            return cached
        old = getattr(self.raw, "loglik", None)  # results saved before it was computed here
        if old is not None:
            return old
        from mmreg.inference.pointwise import pointwise_loglik

        ll = pointwise_loglik(self.model.posterior, self.raw.u, self.raw.z)
        if ll.nbytes <= POINTWISE_CACHE_BYTES:
            self.__dict__["_pointwise_cache"] = ll
        return ll

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_pointwise_cache", None)  # recomputed from the draws
        return state

    @property
    def _pointwise(self) -> np.ndarray:
        ll = self.pointwise_loglik()
        return ll.reshape(-1, ll.shape[-1])

    def _loglik_total(self) -> np.ndarray:
        """Log-likelihood of every draw, (chains, steps, walkers)."""
        tot = getattr(self.raw, "loglik_total", None)
        return self.raw.loglik.sum(axis=-1) if tot is None else tot

    @property
    def dic(self) -> float:
        """DIC = mean deviance + var(deviance)/2 (the pD of R2jags, as bml reports).

        Smaller is better; compare models fitted to the same data.

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> dic = res.dic
        >>> type(dic).__name__
        'float'

        DIC exceeds the mean deviance by pD = var(deviance)/2 (the effective number of
        parameters):

        >>> dev = -2 * res.pointwise_loglik().reshape(-1, res.nobs).sum(axis=1)
        >>> bool(np.isclose(dic - dev.mean(), dev.var(ddof=1) / 2))
        True
        """
        return self._dic()[0]

    @property
    def dic_se(self) -> float:
        """Monte Carlo standard error of :attr:`dic` (batch means over the ensemble steps;
        see :func:`mmreg.results.ic.dic`).  ``summary()`` prints DIC to its precision.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit(method="mcmc", draws=50, tune=20,
        ...                                                  chains=2, seed=1)
        >>> bool(res.dic_se > 0)
        True
        """
        return self._dic()[1]

    def _dic(self) -> tuple[float, float]:
        from mmreg.results.ic import dic

        dev = -2.0 * self._loglik_total()  # (chains, steps, walkers)
        return dic(dev)

    @property
    def waic(self) -> dict[str, float]:
        """WAIC (deviance scale), its effective number of parameters and SE.

        Returns
        -------
        dict
            ``waic`` (smaller is better), ``p_waic`` and ``se``.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> w = res.waic
        >>> sorted(w)
        ['p_waic', 'se', 'waic']
        >>> bool(w["p_waic"] > 0 and w["se"] > 0)
        True
        """
        from mmreg.results.ic import waic

        return waic(self._pointwise)

    @property
    def loo(self) -> dict[str, float]:
        """PSIS-LOO (deviance scale), p_loo, SE and the largest Pareto k.

        Returns
        -------
        dict
            ``loo`` (smaller is better), ``p_loo``, ``se``, ``max_k`` and ``n_bad_k`` (the
            number of groups with Pareto k > 0.7, whose LOO estimate is unreliable).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> loo = res.loo
        >>> sorted(loo)
        ['loo', 'max_k', 'n_bad_k', 'p_loo', 'se']

        128 draws are far too few for importance sampling: many groups get k > 0.7, a
        sign to run longer before trusting ``loo``:

        >>> loo["n_bad_k"] > 0
        True
        """
        from mmreg.results.ic import psis_loo

        return psis_loo(self._pointwise)

    def to_inference_data(self, draws: int | None = None, seed=0, predictive: bool = True):
        """Export to an ``arviz.InferenceData`` (needs the optional arviz).

        Chains are the run's chains (independent ensembles, coordinate ``chain``); each
        chain's ``draw`` axis holds its steps x walkers in split-walker order
        (:func:`mmreg.results.diagnostics.ensemble_order`), so ``arviz.summary`` and
        ``arviz.rhat``/``ess`` give the R-hat, ESS and MCSE of :meth:`mcmc_diag`.
        Groups: ``posterior`` (parameters; random effects ``re.<block>`` labelled by
        member/unit id; weights ``w.<block>`` of estimated weight functions, labelled
        ``"<group>,<member>"`` per row of the data), ``log_likelihood`` (``y``, one value
        per group), ``posterior_predictive``
        (one simulated outcome per draw, seeded by ``seed``; left out with
        ``predictive=False``), ``observed_data`` and ``sample_stats`` (the ``step`` and
        ``walker`` of every draw — sort by them to get time order — and ``lp_loglik``, the
        total log-likelihood); ``attrs["draw_order"]`` names the layout.  ``draws`` is
        ignored (all kept draws are exported; it is there for the Laplace signature).

        Examples
        --------
        >>> import mmreg, warnings
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> idata = res.to_inference_data()
        >>> idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
        (2, 64)
        >>> sorted(idata.groups())  # doctest: +NORMALIZE_WHITESPACE
        ['log_likelihood', 'observed_data', 'posterior', 'posterior_predictive',
         'sample_stats']
        >>> idata.posterior["re.hm1"].sizes["hm1_id"]
        10
        """
        from mmreg.results.idata import inference_data, require_arviz

        require_arviz()
        C, S, W, _ = self._vals.shape
        order = diagnostics.ensemble_order
        post = {n: order(self._vals[..., j]) for j, n in enumerate(self._names)}
        step, walker = diagnostics.ensemble_positions(S, W)
        stats_ = {"step": np.tile(step, (C, 1)), "walker": np.tile(walker, (C, 1))}
        attrs = {
            "draw_order": "split-walker: first half of the steps walker by walker, "
            "then the second half (mmreg.results.diagnostics.ensemble_order)",
            "walkers": W,
            "steps": S,
            "sampler": "emcee ensemble (mmreg)",
        }
        return inference_data(
            self,
            order(self.raw.z),
            order(self.raw.u),
            posterior=post,
            log_likelihood=order(self.pointwise_loglik()),
            sample_stats=stats_,
            attrs=attrs,
            predictive=predictive,
            seed=seed,
        )
