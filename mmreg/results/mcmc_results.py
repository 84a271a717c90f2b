"""Results of ``fit(method="mcmc")``: posterior draws and everything computed from them."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from mmreg.results.mcmc_outputs import MCMCOutputs
from mmreg.results.results import MMResults

__all__ = ["MCMCResults"]


class MCMCResults(MCMCOutputs, MMResults):
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
        hyp = space.natural_all(raw.u)  # (chains, steps, walkers, every hyperparameter)
        beta = raw.z[..., : lat.P].copy()
        beta[..., lat.sampled] = hyp[..., space.coef_slice]  # sampled with ψ: their draws
        vals = np.concatenate([beta, hyp[..., : space.n_listed]], axis=-1)
        names = list(model.design.coef_names) + list(space.names[: space.n_listed])
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
        """Draws of one parameter as (chains, steps, walkers); bml names are accepted."""
        if name not in self._names:
            (name,) = self._select([name])[:1]
        return self._vals[..., self._names.index(name)]

    def _ensembles_of(self, name: str) -> np.ndarray:
        """Draws of one parameter as (chains, steps × walkers) in time order (step-major)."""
        v = self._steps_of(name)
        return v.reshape(v.shape[0], -1)

    def _select(self, params) -> list[str]:
        if params is None:
            return [
                n
                for n in self._names
                if n not in self.model.space.fixed and n not in self.model.fixed_coef
            ]
        return self.resolve_names(params, available=self._names)

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
            labels = [
                ",".join(map(str, lab)) if isinstance(lab, tuple) else str(lab)
                for lab in blk.re_labels
            ]
            parts.append(pd.DataFrame(z[:, sl], columns=[f"{blk.label}[{x}]" for x in labels]))
        for b, w in zip(d.mm, self.weight_draws, strict=True):
            g, m = d.group_ids[b.group], b.member_ids[b.member]
            parts.append(
                pd.DataFrame(
                    w, columns=[f"w.{b.label}[{gi},{mi}]" for gi, mi in zip(g, m, strict=True)]
                )
            )
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
        return pd.DataFrame(np.cov(flat, rowvar=False), index=self._names, columns=self._names)

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
        return pd.DataFrame(
            {
                "lower": np.quantile(flat, alpha / 2, axis=0),
                "upper": np.quantile(flat, 1 - alpha / 2, axis=0),
            },
            index=self._names,
        )

    # ---------------------------------------------------------------- the posterior protocol
    method_label = "MCMC (emcee)"
    exact_posterior = True

    def linear_predictors(self, most: int = 200) -> list[np.ndarray]:
        """η of up to ``most`` evenly spaced draws (see :meth:`MMResults.linear_predictors`)."""
        lat = self.model.latent
        zs = self.raw.z.reshape(-1, self.raw.z.shape[-1])
        us = self.raw.u.reshape(-1, self.raw.u.shape[-1])
        out = []
        for i in np.linspace(0, len(zs) - 1, min(most, len(zs))).astype(int):
            hyp = self.model.space.hyper(us[i])
            D, R, off = lat.assemble(hyp.theta)
            eta = off + D @ zs[i, : lat.P]
            out.append(eta + R @ zs[i, lat.P :] if lat.q else eta)
        return out

    def hyper_draws(self) -> list:
        """The hyperparameters of every kept draw (see :meth:`MMResults.hyper_draws`)."""
        space = self.model.space
        return [space.hyper(u) for u in self.raw.u.reshape(-1, space.dim)]

    def point_hyper(self):
        """The hyperparameters at the posterior mean of the unconstrained hyperparameters."""
        space = self.model.space
        return space.hyper(self.raw.u.reshape(-1, space.dim).mean(axis=0))

    def mcmcDiag(self, parameters=None, lag: int = 50) -> pd.DataFrame:  # noqa: N802
        """bml's ``mcmcDiag(bml, parameters)``: :meth:`mcmc_diag` of bml names or prefixes
        (``parameters="b"``: every coefficient; ``"b.w"``: every weight parameter)."""
        return self.mcmc_diag(parameters, lag=lag)

    def monetPlot(  # type: ignore[override]  # noqa: N802
        self,
        parameter: str,
        label: str | None = None,
        r: int = 2,
        yaxis: bool = True,
        prob: float = 0.9,
    ):
        """bml's ``monetPlot(bml, parameter, label, r, yaxis)``: :meth:`plot_posterior`.

        Parameters
        ----------
        parameter : str
            mmreg or bml name (``"b[2]"``, ``"b.w.1[2]"``).
        label : str, optional
            Title of the plot (default ``"Parameter: <parameter>"``).
        r : int
            Decimal places of the value-axis tick labels.
        yaxis : bool
            False hides the density's y axis, as bml's ``yaxis = FALSE``.
        prob : float
            Mass of the shaded HPD region.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from matplotlib.ticker import FormatStrFormatter

        fig = self.plot_posterior(parameter, prob=prob)
        top = fig.axes[0]
        if label is not None:
            top.set_title(label)
        for ax in fig.axes:
            ax.xaxis.set_major_formatter(FormatStrFormatter(f"%.{int(r)}f"))
        if not yaxis:
            top.get_yaxis().set_visible(False)
        return fig

    def latent_draws(self, most: int = 1000, seed: int = 0) -> list:
        """Up to ``most`` evenly spaced kept draws as pairs ``(hyper, z)`` (``seed`` unused)."""
        zs = self.raw.z.reshape(-1, self.raw.z.shape[-1])
        us = self.raw.u.reshape(-1, self.raw.u.shape[-1])
        idx = np.linspace(0, len(zs) - 1, min(most, len(zs))).astype(int)
        return [(self.model.space.hyper(us[i]), zs[i]) for i in idx]

    def point_estimate(self, fn, per_draw=None):
        """Posterior mean of ``fn(hyper, z)`` (see :meth:`MMResults.point_estimate`)."""
        if per_draw is not None:
            return per_draw.mean()
        zs = self.raw.z.reshape(-1, self.raw.z.shape[-1])
        acc: Any = None
        for h, z in zip(self.hyper_draws(), zs, strict=True):
            v = fn(h, z)
            acc = v if acc is None else acc + v
        return acc / len(zs)

    def posterior_cov(self, names: list[str]) -> pd.DataFrame:
        """Sample covariance of the draws of ``names``.

        Parameters come from the parameter draws alone: every ``fit()`` calls this (the
        check for parameters the data do not inform), and :attr:`draws` — which it used —
        also holds every random effect and every weight of every draw (2.2 GB at 10,000
        groups, 22 GB at 100,000).
        """
        if all(n in self._names for n in names):
            idx = [self._names.index(n) for n in names]
            mat = self._vals.reshape(-1, len(self._names))[:, idx]
            if np.isfinite(mat).all():  # what DataFrame.cov computes then, bit for bit
                cov = np.cov(np.ascontiguousarray(mat.T), ddof=1).reshape(len(idx), len(idx))
                return pd.DataFrame(cov, index=names, columns=names)
        return self.draws[names].cov()

    def _estimate_columns(self) -> dict[str, pd.Series]:
        return {"Mean": self.params, "SD": self.bse}

    def _quality_columns(self) -> dict[str, pd.Series]:
        diag = self.mcmc_diag()
        return {"R-hat": diag["rhat"], "ESS": diag["ess_bulk"].round(0).astype("Int64").astype(str)}

    def fit_statistics(self) -> dict[str, str]:
        """Draws, importance particles (pseudo-marginal runs, with the SD of the
        log-likelihood estimate at the Laplace mode) or the acceptance of the latent
        vector's Hamiltonian steps (``latent="gibbs"``), DIC (to its Monte Carlo
        precision), WAIC and the largest R-hat."""
        info = {"Draws:": f"{self.raw.n_chains} chains x {self.raw.n_draws} (tune {self.raw.tune})"}
        if self.raw.particles:
            sd = self.raw.log_estimate_sd
            info["Particles:"] = f"{self.raw.particles} (log-lik. SD {sd:.2f})"
        hmc = getattr(self.raw, "latent_acceptance", None)
        if hmc is not None:
            text = f"HMC acceptance {float(np.mean(hmc)):.2f}"
            why = getattr(self.raw, "particle_choice", None)
            if why is not None:  # chosen by latent="auto"
                text += f" (importance SD {why.sd:.2f} with {why.particles} particles)"
            info["Latent (Gibbs):"] = text
        try:
            from mmreg.results.ic import mc_digits

            d = mc_digits(self.dic_se)  # no digits beyond the Monte Carlo error
            info["DIC:"] = f"{self.dic:.{d}f} (MC SE {self.dic_se:.{d}f})"
            info["WAIC:"] = f"{self.waic['waic']:.3f}"
        except Exception:  # pragma: no cover - criteria unavailable for this family
            pass
        info["Max R-hat:"] = f"{self.mcmc_diag()['rhat'].max():.4f}"
        return info

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
        out: list[list[np.ndarray]] = [[] for _ in self.model.design.mm]
        for h in self.hyper_draws():
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

        return {
            b.label: weights_table(self.model, b, w.mean(axis=0), w.std(axis=0, ddof=1))
            for b, w in zip(self.model.design.mm, self.weight_draws, strict=True)
        }
