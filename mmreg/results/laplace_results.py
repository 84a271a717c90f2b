"""Results of ``fit(method="laplace")``: MAP estimates, Laplace standard errors, tests."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from mmreg.results.laplace_intervals import LaplaceIntervals
from mmreg.results.results import MMResults

__all__ = ["LaplaceResults"]


class LaplaceResults(LaplaceIntervals, MMResults):
    """Results of ``fit(method="laplace")``.

    Point estimates are posterior modes (MAP) of the hyperparameters with the random effects
    integrated out; ``bse`` are Laplace (delta-method) standard errors; confidence
    intervals (Wald, and profile intervals for random-effect SDs) come from
    :class:`~mmreg.results.laplace_intervals.LaplaceIntervals`.

    Examples
    --------
    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=2)
    >>> res = mmreg.MMModel(df.attrs["formula"], df).fit(method="laplace")
    >>> type(res).__name__
    'LaplaceResults'
    >>> bool(res.raw.optimizer.success and res.raw.mode.converged)
    True
    """

    method = "laplace"

    def __init__(self, model, raw):
        super().__init__(model)
        self.raw = raw
        space, lat = model.space, model.latent
        P = lat.P
        u = raw.u
        hyp_all = space.natural_all(u)
        # coefficients sampled with ψ are listed (and their covariance kept) as coefficients:
        # their pinned latent coordinate carries the ψ uncertainty through dẑ/dψ
        n_h = space.n_listed
        names = list(model.design.coef_names) + list(space.names[:n_h])
        beta = raw.mode.z[:P].copy()
        beta[lat.sampled] = hyp_all[space.coef_slice]
        values = np.concatenate([beta, hyp_all[:n_h]])
        listed = space.free_index < n_h
        free_idx = space.free_index[listed]
        G = space.dnatural(u)[listed]
        k = len(names)
        cov = np.zeros((k, k))
        cov[:P, :P] = raw.cov_coef
        fi = P + free_idx
        cov[np.ix_(fi, fi)] = (G[:, None] * raw.cov_u[np.ix_(listed, listed)]) * G[None, :]
        cov[:P, fi] = raw.cross[:P][:, listed] * G[None, :]
        cov[fi, :P] = cov[:P, fi].T
        fam = model.bound_family.family  # derived parameters (sigma = 1/shape): delta method
        at = [names.index(n) for n in fam.hyper_names]
        for name, val, jac in zip(
            fam.derived_names,
            fam.derived_params(values[at]),
            fam.derived_jacobian(values[at]),
            strict=True,
        ):
            grad = np.zeros(len(values))
            grad[at] = jac
            newcol = cov @ grad
            cov = np.block([[cov, newcol[:, None]], [newcol[None, :], grad @ newcol]])
            names.append(name)
            values = np.append(values, val)
        self.params = pd.Series(values, index=names, name="params")
        self._cov = pd.DataFrame(cov, index=names, columns=names)
        self.bse = pd.Series(np.sqrt(np.clip(np.diag(cov), 0, None)), index=names, name="bse")
        self._u = u
        self._free_pos = dict(zip(space.free, range(len(space.free)), strict=True))

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates (natural scale, delta method for transformed ones).

        Returns
        -------
        pandas.DataFrame
            Square, indexed and labelled by parameter name; ``bse`` is the square root of
            its diagonal.

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> cov = res.cov_params()
        >>> cov.shape, list(cov.index) == list(res.params.index)
        ((6, 6), True)
        >>> bool(np.allclose(np.sqrt(np.diag(cov)), res.bse))
        True

        Correlation of the intercept and the ``majority`` coefficient:

        >>> corr = cov / np.outer(res.bse, res.bse)
        >>> round(float(corr.loc["Intercept", "majority"]), 2)
        -0.8
        """
        return self._cov.copy()

    @property
    def tvalues(self) -> pd.Series:
        """z statistics of coefficients and unbounded weight parameters (NaN for SDs).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> res.tvalues.round(2)
        Intercept      26.96
        majority        1.98
        mm1.finance    -1.92
        sigma.mm1        NaN
        sigma.hm1        NaN
        sigma            NaN
        Name: z, dtype: float64
        """
        t = self.params / self.bse
        t[self._bounded()] = np.nan
        return t.rename("z")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided normal p-values for :attr:`tvalues`.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> p = res.pvalues
        >>> round(float(p["majority"]), 3), bool(p.isna()["sigma.mm1"])
        (0.048, True)
        """
        return pd.Series(
            2 * stats.norm.sf(np.abs(self.tvalues)), index=self.params.index, name="P>|z|"
        )

    def _bounded(self) -> list[str]:
        space = self.model.space
        out = [n for n, j in self._free_pos.items() if space.transform[j] != 0]
        out += list(space.fixed) + list(self.model.fixed_coef)
        out += list(self.model.bound_family.family.derived_names)
        return out

    @cached_property
    def llf(self) -> float:
        """Marginal log-likelihood at the estimates (random effects integrated out).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> round(float(res.llf), 2)
        -196.93
        >>> res.llf == res.model.loglike(res.params)
        True
        """
        return self.model.loglike(self.params)

    @property
    def df_model(self) -> int:
        """Number of estimated parameters (coefficients + free hyperparameters).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> res.df_model  # 3 coefficients, 2 random-effect SDs and the residual SD
        6
        """
        model = self.model
        sampled = model.space.n_coef  # counted among the coefficients already
        return len(model.design.coef_names) - len(model.fixed_coef) + model.space.dim - sampled

    @property
    def aic(self) -> float:
        """Akaike information criterion ``-2 llf + 2 df_model`` (smaller is better).

        Examples
        --------
        Does the country level improve the model?  Compare with a fit without it:

        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> no_hm = df.attrs["formula"].split(" + hm(")[0]
        >>> res0 = mmreg.MMModel(no_hm, df).fit()
        >>> res0.df_model, res.df_model
        (5, 6)
        >>> round(float(res.aic - res0.aic), 2)
        1.52

        The extra parameter costs 2 and gains less than that in ``-2 llf``: by AIC, 150
        governments in 10 countries are not enough to detect the country effect.
        """
        return -2 * self.llf + 2 * self.df_model

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``-2 llf + log(nobs) df_model`` (nobs: groups).

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> bool(np.isclose(res.bic - res.aic, (np.log(res.nobs) - 2) * res.df_model))
        True
        """
        return -2 * self.llf + np.log(self.nobs) * self.df_model

    # ------------------------------------------------------------ the posterior protocol
    method_label = "MAP + Laplace"
    has_tests = True

    def linear_predictors(self, most: int = 200) -> list[np.ndarray]:
        """η at the estimates (one array; see :meth:`MMResults.linear_predictors`)."""
        return [self.raw.mode.eta]

    def point_hyper(self):
        """The hyperparameters at the MAP (see :meth:`MMResults.point_hyper`)."""
        return self.model.space.hyper(self._u)

    def hyper_draws(self, n: int = 1000, seed: int = 0) -> list:
        """``n`` draws of the hyperparameters from their Laplace approximation.

        Gaussian on the unconstrained scale with mean the mode and covariance ``raw.cov_u``
        (see :meth:`MMResults.hyper_draws`); the same ``seed`` gives the same draws.
        """
        space = self.model.space
        if not space.dim:
            return [space.hyper(self._u)]
        rng = np.random.default_rng(seed)
        L = np.linalg.cholesky(self.raw.cov_u + 1e-12 * np.eye(space.dim))
        return [space.hyper(self._u + L @ e) for e in rng.standard_normal((n, space.dim))]

    def latent_draws(self, most: int = 1000, seed: int = 0) -> list:
        """``most`` pairs ``(hyper, z)``: the hyperparameters at the mode and draws of the
        coefficients and random effects from their Gaussian approximation given them."""
        rng = np.random.default_rng(seed)
        hyp = self.point_hyper()
        mode = self.raw.mode
        if mode.factor is None:  # dropped when pickled: solve the mode again (warm start)
            mode = self.model.latent.mode(hyp, z0=mode.z)
        zs = self.model.latent.draw_conditional(mode, rng, most).T
        return [(hyp, z) for z in zs]

    def point_estimate(self, fn, per_draw=None):
        """``fn`` at the estimates (plug-in; see :meth:`MMResults.point_estimate`)."""
        return fn(self.point_hyper(), self.raw.mode.z)

    @property
    def draws_usable(self) -> bool:
        """False when the Hessian at the mode had to be regularised (a flat direction)."""
        return bool(self.raw.hessian_ok)

    def posterior_cov(self, names: list[str]) -> pd.DataFrame:
        """The Laplace covariance of ``names`` (a block of :meth:`cov_params`)."""
        return self.cov_params().loc[names, names]

    def _estimate_columns(self) -> dict[str, pd.Series]:
        return {
            "Coef.": self.params,
            "Std.Err.": self.bse,
            "z": self.tvalues,
            "P>|z|": self.pvalues,
        }

    def fit_statistics(self) -> dict[str, str]:
        """Log-likelihood, AIC, BIC and convergence, formatted for the summary header."""
        return {
            "Log-lik.:": f"{self.llf:.3f}",
            "AIC:": f"{self.aic:.3f}",
            "BIC:": f"{self.bic:.3f}",
            "Converged:": str(bool(self.raw.optimizer.success and self.raw.mode.converged)),
        }

    @property
    def random_effects(self) -> dict[str, pd.DataFrame]:
        """Conditional modes and SDs of the random effects, per block.

        Returns
        -------
        dict of str to pandas.DataFrame
            Block label (``"mm1"``, ``"hm1"`` …) to a table with columns ``mean`` and
            ``sd``, indexed by the member or unit id.

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> re = res.random_effects
        >>> list(re), re["mm1"].index.name, re["mm1"].shape, re["hm1"].shape
        (['mm1', 'hm1'], 'pid', (59, 2), (10, 2))

        The estimated party effects follow the true ones (the data keep them in ``attrs``):

        >>> truth = df.attrs["re"]["mm1"].loc[re["mm1"].index]
        >>> bool(np.corrcoef(re["mm1"]["mean"], truth)[0, 1] > 0.3)
        True
        """
        from mmreg.results.effects import random_effects_table

        z = self.raw.mode.z
        sd = np.sqrt(np.clip(self.raw.var_z, 0, None))
        return random_effects_table(self.model, z, sd)

    @property
    def weights(self) -> dict[str, pd.DataFrame]:
        """Weights per mm block at the estimates, with delta-method SDs.

        Returns
        -------
        dict of str to pandas.DataFrame
            mm block label to one row per membership (as in the data): group id, member id,
            group size ``n``, ``weight`` and ``sd`` (0 for fixed weight functions).

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> w = res.weights["mm1"]
        >>> w.head(3)
           gid  pid  n    weight   sd
        0    1    8  3  0.333333  0.0
        1    1   35  3  0.333333  0.0
        2    1   58  3  0.333333  0.0
        >>> bool(np.allclose(w.groupby("gid")["weight"].sum(), 1))  # c = TRUE
        True
        """
        from mmreg.results.effects import weights_table

        space = self.model.space
        hyp = space.hyper(self._u)
        cov = self._cov
        out = {}
        for b, theta in zip(self.model.design.mm, hyp.theta, strict=True):
            w, dw = b.weights(theta, derivative=True)
            if dw is not None and len(b.wnames):
                C = cov.loc[list(b.wnames), list(b.wnames)].to_numpy()
                sd = np.sqrt(np.clip(np.einsum("ir,ij,jr->r", dw, C, dw), 0, None))
            else:
                sd = np.zeros_like(w)
            out[b.label] = weights_table(self.model, b, w, sd)
        return out
