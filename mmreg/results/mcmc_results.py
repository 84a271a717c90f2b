"""Results of ``fit(method="mcmc")``: posterior draws and everything computed from them."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from mmreg.errors import MMSpecError
from mmreg.results import diagnostics
from mmreg.results.results import MMResults

__all__ = ["MCMCResults"]


class MCMCResults(MMResults):
    """Posterior summaries of an MCMC fit.

    Draws are stored per chain (independent ensemble), step and walker.  A *chain* is one
    ensemble: ``mcmc_diag()``, ``summary()``, the trace plots and ``to_inference_data()``
    all follow the convention of :mod:`mmreg.results.diagnostics_ensemble` (documented in
    ``docs/inference.md``), so ArviZ's ``az.summary`` on the export reproduces mmreg's
    R-hat and ESS.

    Examples
    --------
    A deliberately tiny run (use ``draws=1000`` or more in practice):

    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=2)
    >>> model = mmreg.MMModel(df.attrs["formula"], df)
    >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
    >>> type(res).__name__, res.method
    ('MCMCResults', 'mcmc')

    ``params`` are posterior means and ``bse`` posterior SDs:

    >>> res.params.name, res.bse.name
    ('mean', 'sd')
    >>> bool(abs(res.params["majority"] - df.attrs["truth"]["majority"]) < 2 * res.bse["majority"])
    True
    """

    method = "mcmc"

    def __init__(self, model, raw):
        super().__init__(model)
        self.raw = raw
        space, lat = model.space, model.latent
        C, S, W, _ = raw.u.shape
        flat_u = raw.u.reshape(-1, space.dim)
        hyp = np.array([space.natural_all(u) for u in flat_u]).reshape(C, S, W, -1)
        vals = np.concatenate([raw.z[..., : lat.P], hyp], axis=-1)
        names = list(model.design.coef_names) + list(space.names)
        fam = model.bound_family.family  # derived parameters (Weibull sigma = 1/shape)
        if fam.derived_names:
            vals = np.concatenate([vals, fam.derived_params(hyp[..., space.phi_slice])], -1)
            names += list(fam.derived_names)
        self._vals = vals  # (C, S, W, k)
        self._names = names
        flat = vals.reshape(-1, len(names))
        self.params = pd.Series(flat.mean(axis=0), index=names, name="mean")
        self.bse = pd.Series(flat.std(axis=0, ddof=1), index=names, name="sd")

    # ---------------------------------------------------------------- draws
    def _steps_of(self, name: str) -> np.ndarray:
        """Draws of one parameter as (chains, steps, walkers)."""
        return self._vals[..., self._names.index(name)]

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
            parts.append(f"bulk ESS < {ess_min:g} for {bad_e} "
                         f"(min {diag['ess_bulk'].min():.0f})")
        C, S, W, _ = self._vals.shape
        more = " and chains= to at least 2 to compare ensembles" if C < 2 else ""
        return ("MCMC run not converged: " + "; ".join(parts) + f". The run kept {S} steps "
                f"x {W} walkers in each of {C} chain(s): increase draws= (and tune= if "
                f"R-hat is high){more}, then check res.mcmc_diag().")

    def warn_convergence(self) -> None:
        """Warn (MMWarning) when :meth:`convergence_problems` finds any."""
        import os
        import sys
        import warnings

        from mmreg.errors import MMWarning

        msg = self.convergence_problems()
        if msg:  # point the warning at the first caller outside mmreg
            pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
            level, frame = 2, sys._getframe(1)
            while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(pkg):
                level, frame = level + 1, frame.f_back
            warnings.warn(msg, MMWarning, stacklevel=level)

    @cached_property
    def draws(self) -> pd.DataFrame:
        """All kept draws, one row each.

        Columns: ``chain``, ``draw``, ``walker``; every parameter (``param_names``); every
        random effect as ``<block>[<id>]`` (e.g. ``mm1[11320]``, ``hm1[11]``; random walks
        ``mm1[<id>,<group>]``); every weight as ``w.<block>[<group>,<member>]``.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> d = res.draws
        >>> list(d.columns[:6])
        ['chain', 'draw', 'walker', 'Intercept', 'majority', 'mm1.finance']

        ``draws=50`` per chain is rounded up to whole steps of the 16-walker ensemble, so
        each chain keeps 4 steps x 16 walkers:

        >>> d.groupby("chain").size().tolist(), d["walker"].nunique()
        ([64, 64], 16)

        Random effects and weights have one column each:

        >>> [c for c in d.columns if c.startswith("hm1[")][:3]
        ['hm1[1]', 'hm1[2]', 'hm1[3]']
        >>> d.filter(like="w.mm1[").shape  # one weight per row of the data
        (128, 472)

        Posterior probability that ``majority`` has a positive effect:

        >>> p = float((d["majority"] > 0).mean())
        >>> bool(0.9 < p <= 1)
        True
        """
        C, S, W, k = self._vals.shape
        idx = np.indices((C, S, W)).reshape(3, -1)
        parts = [pd.DataFrame(self._vals.reshape(-1, k), columns=self._names)]
        z = self.raw.z.reshape(-1, self.raw.z.shape[-1])
        lat, d = self.model.latent, self.model.design
        for blk, sl in zip(d.re_blocks, lat.re_slices, strict=True):
            labels = [",".join(map(str, lab)) if isinstance(lab, tuple) else str(lab)
                      for lab in blk.re_labels]
            parts.append(pd.DataFrame(z[:, sl], columns=[f"{blk.label}[{x}]" for x in labels]))
        for b, w in zip(d.mm, self.weight_draws, strict=True):
            g, m = d.group_ids[b.group], b.member_ids[b.member]
            parts.append(pd.DataFrame(w, columns=[f"w.{b.label}[{gi},{mi}]"
                                                  for gi, mi in zip(g, m, strict=True)]))
        df = pd.concat(parts, axis=1)
        df.insert(0, "walker", idx[2])
        df.insert(0, "draw", idx[1] * W + idx[2])
        df.insert(0, "chain", idx[0])
        return df

    def cov_params(self) -> pd.DataFrame:
        """Posterior covariance matrix of the parameters.

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> cov = res.cov_params()
        >>> cov.shape
        (6, 6)
        >>> bool(np.allclose(np.sqrt(np.diag(cov)), res.bse))  # bse: posterior SDs
        True
        """
        flat = self._vals.reshape(-1, len(self._names))
        return pd.DataFrame(np.cov(flat, rowvar=False), index=self._names,
                            columns=self._names)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Equal-tailed ``1 - alpha`` credible intervals.

        Returns
        -------
        pandas.DataFrame
            Columns ``lower`` and ``upper`` (the ``alpha/2`` and ``1 - alpha/2`` posterior
            quantiles), one row per parameter.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> ci = res.conf_int()
        >>> list(ci.columns)
        ['lower', 'upper']
        >>> bool(ci.loc["majority", "lower"] < res.params["majority"] < ci.loc["majority", "upper"])
        True

        Unlike Laplace Wald intervals, posterior quantiles of an SD are always positive:

        >>> bool((ci.loc[["sigma.mm1", "sigma.hm1"], "lower"] > 0).all())
        True
        """
        flat = self._vals.reshape(-1, len(self._names))
        return pd.DataFrame({"lower": np.quantile(flat, alpha / 2, axis=0),
                             "upper": np.quantile(flat, 1 - alpha / 2, axis=0)},
                            index=self._names)

    def _ensembles_of(self, name: str) -> np.ndarray:
        """Draws of one parameter as (chains, steps × walkers) in time order (step-major)."""
        v = self._steps_of(name)
        return v.reshape(v.shape[0], -1)

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
        return diagnostics.summarize({n: self._steps_of(n) for n in names}, lag=lag)

    mcmcDiag = mcmc_diag  # noqa: N815  (bml's name)

    def _select(self, params) -> list[str]:
        if params is None:
            return [n for n in self._names if n not in self.model.space.fixed
                    and n not in self.model.fixed_coef]
        params = [params] if isinstance(params, str) else list(params)
        bad = [p for p in params if p not in self._names]
        if bad:
            raise MMSpecError(f"unknown parameter(s) {bad}; available: {self._names}")
        return params

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
        return plot_posterior(self._ensembles_of(param), param, prob=prob,
                              trace_label=f"Step ({C} chains x {W} walkers)", per_step=W)

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
        etas = list(self._linear_predictors(most=len(us)))
        fam = self.model.bound_family
        return [fam.simulate(etas[i], self.model.space.hyper(us[i]).phi, rng) for i in idx]

    # ---------------------------------------------------------------- latent summaries
    def _linear_predictors(self, most: int = 200):
        lat = self.model.latent
        zs = self.raw.z.reshape(-1, self.raw.z.shape[-1])
        us = self.raw.u.reshape(-1, self.raw.u.shape[-1])
        for i in np.linspace(0, len(zs) - 1, min(most, len(zs))).astype(int):
            hyp = self.model.space.hyper(us[i])
            D, R, off = lat.assemble(hyp.theta)
            eta = off + D @ zs[i, : lat.P]
            yield eta + R @ zs[i, lat.P:] if lat.q else eta

    def _hyper_draws(self):
        space = self.model.space
        for u in self.raw.u.reshape(-1, space.dim):
            yield space.hyper(u)

    @property
    def random_effects(self) -> dict[str, pd.DataFrame]:
        """Posterior mean and SD of every random effect, per block.

        Returns
        -------
        dict of str to pandas.DataFrame
            Block label to a table with columns ``mean`` and ``sd``, indexed by member or
            unit id.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> re = res.random_effects
        >>> list(re), re["hm1"].index.name, list(re["hm1"].columns)
        (['mm1', 'hm1'], 'cid', ['mean', 'sd'])
        >>> len(re["mm1"])  # parties that take part in at least one government
        59
        """
        from mmreg.results.effects import random_effects_table

        z = self.raw.z.reshape(-1, self.raw.z.shape[-1])
        return random_effects_table(self.model, z.mean(axis=0), z.std(axis=0, ddof=1))

    @cached_property
    def weight_draws(self) -> list[np.ndarray]:
        """Weights of every mm block for every draw: list of (n_draws, n_rows) arrays.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> [w.shape for w in res.weight_draws]  # 128 draws x 472 rows of the data
        [(128, 472)]
        """
        out = [[] for _ in self.model.design.mm]
        for h in self._hyper_draws():
            for k, (b, t) in enumerate(zip(self.model.design.mm, h.theta, strict=True)):
                out[k].append(b.weights(t, derivative=False)[0])
        return [np.array(o) for o in out]

    @property
    def weights(self) -> dict[str, pd.DataFrame]:
        """Posterior mean and SD of the weights, per mm block.

        Returns
        -------
        dict of str to pandas.DataFrame
            mm block label to one row per membership: group id, member id, group size
            ``n``, ``weight`` (posterior mean) and ``sd``.

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> w = res.weights["mm1"]
        >>> list(w.columns)
        ['gid', 'pid', 'n', 'weight', 'sd']

        With the fixed ``w ~ 1/n`` every weight is ``1/n`` in every draw:

        >>> bool(np.allclose(w["weight"], 1 / w["n"]))
        True
        """
        from mmreg.results.effects import weights_table

        return {b.label: weights_table(self.model, b, w.mean(axis=0), w.std(axis=0, ddof=1))
                for b, w in zip(self.model.design.mm, self.weight_draws, strict=True)}

    # ---------------------------------------------------------------- model comparison
    @property
    def _pointwise(self) -> np.ndarray:
        return self.raw.loglik.reshape(-1, self.raw.loglik.shape[-1])

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

        >>> dev = -2 * res.raw.loglik.reshape(-1, res.nobs).sum(axis=1)
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

        dev = -2.0 * self.raw.loglik.sum(axis=-1)  # (chains, steps, walkers)
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

    def to_inference_data(self):
        """Export to an ``arviz.InferenceData`` (needs the optional arviz).

        Chains are the run's chains (independent ensembles, coordinate ``chain``); each
        chain's ``draw`` axis holds its steps x walkers in split-walker order
        (:func:`mmreg.results.diagnostics.ensemble_order`), so ``arviz.summary`` and
        ``arviz.rhat``/``ess`` give the R-hat, ESS and MCSE of :meth:`mcmc_diag`.
        ``sample_stats`` holds the ``step`` and ``walker`` of every draw (sort by them to
        get time order); ``attrs["draw_order"]`` names the layout.

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
        """
        try:
            import arviz as az
        except ImportError:
            raise MMSpecError("to_inference_data() needs arviz: pip install 'mmreg[arviz]'") \
                from None
        C, S, W, _ = self._vals.shape
        order = diagnostics.ensemble_order
        post = {n: order(self._vals[..., j]) for j, n in enumerate(self._names)}
        step, walker = diagnostics.ensemble_positions(S, W)
        stats_ = {"step": np.tile(step, (C, 1)), "walker": np.tile(walker, (C, 1))}
        attrs = {"draw_order": "split-walker: first half of the steps walker by walker, "
                               "then the second half (mmreg.results.diagnostics.ensemble_order)",
                 "walkers": W, "steps": S, "sampler": "emcee ensemble (mmreg)"}
        return az.from_dict(posterior=post, log_likelihood={"y": order(self.raw.loglik)},
                            sample_stats=stats_, attrs=attrs)
