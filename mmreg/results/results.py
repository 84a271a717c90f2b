"""Results of a fit: :class:`MMResults` and its Laplace and MCMC flavours.

Both expose the same statsmodels-like accessors (``params``, ``bse``, ``conf_int()``,
``cov_params()``, ``summary()``, ``var_decomp()``, ``weights``, ``random_effects``,
``predict()``); the Laplace results add z-tests and information criteria, the MCMC results
add draws, diagnostics, plots, DIC/WAIC/LOO.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MMResults", "LaplaceResults"]


class MMResults:
    """Common interface of fitted models.  Not constructed directly: use ``model.fit()``."""

    method: str = ""

    def __init__(self, model):
        self.model = model

    # subclasses set these
    params: pd.Series
    bse: pd.Series

    @property
    def nobs(self) -> int:
        """Number of groups."""
        return self.model.nobs

    @property
    def family(self) -> str:
        return self.model.family

    @property
    def bml_names(self) -> pd.Series:
        """bml's internal name of every parameter (``b[1]``, ``b.w.1[2]``, ``sigma.mm.1`` …)."""
        return pd.Series({n: self.model.bml_names.get(n, n) for n in self.params.index})

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence (Laplace) or equal-tailed credible (MCMC) intervals."""
        raise NotImplementedError

    def summary(self, alpha: float = 0.05):
        """A statsmodels ``Summary``: ``print()``, ``as_text()``, ``as_latex()``, ``as_html()``."""
        from mmreg.results.summary import make_summary

        return make_summary(self, alpha=alpha)

    def to_latex(self, alpha: float = 0.05) -> str:
        """Publication table as LaTeX."""
        return self.summary(alpha=alpha).as_latex()

    def var_decomp(self, uncertainty: str = "sd", convention: str = "mmreg") -> pd.DataFrame:
        """Variance decomposition and ICCs (see :func:`mmreg.results.vardecomp.var_decomp`)."""
        from mmreg.results.vardecomp import var_decomp

        return var_decomp(self, uncertainty=uncertainty, convention=convention)

    varDecomp = var_decomp  # noqa: N815  (bml's name)

    def plot_caterpillar(self, block: str | None = None, alpha: float = 0.05):
        """Caterpillar plot of one block's random effects (matplotlib ``Figure``)."""
        from mmreg.results.figures import caterpillar

        return caterpillar(self, block, alpha)

    def plot_weights(self, block: str = "mm1", covariate: str | None = None,
                     alpha: float = 0.05):
        """Estimated weights of an mm() block against a member covariate."""
        from mmreg.results.figures import weights_plot

        return weights_plot(self, block, covariate, alpha)

    def plot_var_decomp(self, alpha: float = 0.05):
        """Variance-decomposition bars (ICCs with intervals)."""
        from mmreg.results.figures import var_decomp_plot

        return var_decomp_plot(self, alpha)

    def baseline_hazard(self) -> pd.DataFrame:
        """Cox only: posterior of the baseline hazard increments (integrated out in the fit).

        Each increment (one per unique time, or per interval with ``cox_intervals``) has a
        Gamma posterior given the linear predictor; the table gives its ``shape``, ``rate``
        and ``mean`` at the estimates (Laplace) or averaged over the draws (MCMC, column
        ``mean`` is then the posterior mean of the increment).
        """
        from mmreg.errors import MMSpecError

        if self.family != "cox":
            raise MMSpecError("baseline_hazard() is only defined for family='cox'")
        fam = self.model.bound_family
        etas = list(self._linear_predictors())
        tabs = [fam.baseline_posterior(e) for e in etas]
        out = tabs[0].copy()
        out["mean"] = np.mean([t["mean"].to_numpy() for t in tabs], axis=0)
        return out

    def _linear_predictors(self):
        """η at the estimates (Laplace) or for (up to 200 of) the draws (MCMC)."""
        raise NotImplementedError

    def predict(self, data: pd.DataFrame | None = None, kind: str = "response") -> pd.Series:
        """Predictions for the fitted groups (``data=None``) or for new data.

        Parameters
        ----------
        data : DataFrame, optional
            New long-format data with the model's columns (the outcome may be absent).
            Members seen in the fit keep their estimated random effects; new members and
            new units get the prior mean (zero).
        kind : {"response", "linear"}
            ``"linear"``: η; ``"response"``: the family's mean (Gaussian η, binomial
            probability, Weibull expected time, Cox relative hazard, clogit choice
            probability).
        """
        from mmreg.results.predict import predict

        return predict(self, data=data, kind=kind)


class LaplaceResults(MMResults):
    """Results of ``fit(method="laplace")``."""

    method = "laplace"

    def __init__(self, model, raw):
        super().__init__(model)
        self.raw = raw
        space, lat = model.space, model.latent
        P = lat.P
        u = raw.u
        hyp_all = space.natural_all(u)
        names = list(model.design.coef_names) + list(space.names)
        values = np.concatenate([raw.mode.z[:P], hyp_all])
        free_idx = np.array([space.names.index(n) for n in space.free], dtype=int)
        G = space.dnatural(u)
        k = len(names)
        cov = np.zeros((k, k))
        cov[:P, :P] = raw.cov_coef
        fi = P + free_idx
        cov[np.ix_(fi, fi)] = (G[:, None] * raw.cov_u) * G[None, :]
        cov[:P, fi] = raw.cross[:P] * G[None, :]
        cov[fi, :P] = cov[:P, fi].T
        if model.family == "weibull":  # sigma = 1/shape, delta method
            j = names.index("shape")
            shape = values[j]
            grad = np.zeros(k)
            grad[j] = -1.0 / shape**2
            newcol = cov @ grad
            cov = np.block([[cov, newcol[:, None]], [newcol[None, :], grad @ newcol]])
            names.append("sigma")
            values = np.append(values, 1.0 / shape)
        self.params = pd.Series(values, index=names, name="params")
        self._cov = pd.DataFrame(cov, index=names, columns=names)
        self.bse = pd.Series(np.sqrt(np.clip(np.diag(cov), 0, None)), index=names, name="bse")
        self._u = u
        self._free_pos = dict(zip(space.free, range(len(space.free)), strict=True))

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates (natural scale, delta method for transformed ones)."""
        return self._cov.copy()

    def _profile_sd(self, alpha: float) -> dict[str, tuple[float, float]]:
        """Profile intervals of the free random-effect SDs, cached per ``alpha``."""
        from mmreg.inference.profile import profile_interval

        cache = self.__dict__.setdefault("_profile_cache", {})
        if alpha not in cache:
            model = self.model
            with np.errstate(all="ignore"):
                cache[alpha] = {
                    n: profile_interval(model.latent, model.space, self.raw, j, alpha)
                    for n, j in self._free_pos.items()
                    if n.startswith("sigma.") and np.isfinite(model.space.lower[j])
                }
        return cache[alpha]

    def conf_int(self, alpha: float = 0.05, sd_method: str = "profile") -> pd.DataFrame:
        """Confidence intervals: Wald, and profile intervals for random-effect SDs.

        Parameters
        ----------
        alpha : float
            The intervals have nominal coverage ``1 - alpha``.
        sd_method : {"profile", "wald"}
            Random-effect SDs (``sigma.<block>``): ``"profile"`` inverts the profile of the
            Laplace marginal posterior (``2 Δ ≤ χ²₁``), which includes 0 when the data
            cannot exclude it and never breaks down at the boundary (computed once per
            ``alpha`` and cached; about 10–40 Laplace mode solves per end). ``"wald"`` uses
            the Wald interval on the unconstrained scale, which is undefined (NaN) when the
            SD is estimated at zero.

        Returns
        -------
        pandas.DataFrame
            Columns ``lower`` and ``upper``, one row per parameter.

        Notes
        -----
        Intervals for other parameters with a restricted range (the Weibull shape, weight
        parameters with a bounded prior, the Gaussian ``sigma``) are Wald intervals on the
        log/logit scale mapped back, so they never leave the parameter space.
        """
        if sd_method not in ("profile", "wald"):
            from mmreg.errors import MMSpecError

            raise MMSpecError(f"sd_method must be 'profile' or 'wald', got {sd_method!r}")
        z = stats.norm.ppf(1 - alpha / 2)
        lo = self.params - z * self.bse
        hi = self.params + z * self.bse
        space = self.model.space
        for n, j in self._free_pos.items():
            if space._kind[j] == 0:
                continue
            se_u = float(np.sqrt(self.raw.cov_u[j, j]))
            a, b = self._u.copy(), self._u.copy()
            a[j] -= z * se_u
            b[j] += z * se_u
            ends = sorted([space.natural_free(a)[j], space.natural_free(b)[j]])
            # a flat direction (e.g. an SD estimated at zero) gives no usable interval
            lo[n], hi[n] = (e if np.isfinite(e) and abs(e) < 1e8 else np.nan for e in ends)
        if sd_method == "profile":
            for n, (a, b) in self._profile_sd(alpha).items():
                lo[n], hi[n] = a, b
        for n in space.fixed:
            lo[n] = hi[n] = self.params[n]
        if "sigma" in self.params.index and self.family == "weibull":
            lo["sigma"], hi["sigma"] = 1.0 / hi["shape"], 1.0 / lo["shape"]
        return pd.DataFrame({"lower": lo, "upper": hi})

    @property
    def tvalues(self) -> pd.Series:
        """z statistics of coefficients and unbounded weight parameters (NaN for SDs)."""
        t = self.params / self.bse
        t[self._bounded()] = np.nan
        return t.rename("z")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided normal p-values for :attr:`tvalues`."""
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=self.params.index,
                         name="P>|z|")

    def _bounded(self) -> list[str]:
        space = self.model.space
        out = [n for n, j in self._free_pos.items() if space._kind[j] != 0]
        out += list(space.fixed) + list(self.model._fixed_coef)
        if self.family == "weibull":
            out.append("sigma")
        return out

    @cached_property
    def llf(self) -> float:
        """Marginal log-likelihood at the estimates (random effects integrated out)."""
        return self.model.loglike(self.params)

    @property
    def df_model(self) -> int:
        """Number of estimated parameters (coefficients + free hyperparameters)."""
        return len(self.model.design.coef_names) - len(self.model._fixed_coef) + \
            self.model.space.dim

    @property
    def aic(self) -> float:
        return -2 * self.llf + 2 * self.df_model

    @property
    def bic(self) -> float:
        return -2 * self.llf + np.log(self.nobs) * self.df_model

    def _linear_predictors(self):
        yield self.raw.mode.eta

    def _point_hyper(self):
        return self.model.space.hyper(self._u)

    def _hyper_draws(self, n: int = 1000, seed: int = 0):
        """Hyperparameters drawn from their Laplace (Gaussian, unconstrained) posterior."""
        space = self.model.space
        if not space.dim:
            yield space.hyper(self._u)
            return
        rng = np.random.default_rng(seed)
        L = np.linalg.cholesky(self.raw.cov_u + 1e-12 * np.eye(space.dim))
        for e in rng.standard_normal((n, space.dim)):
            yield space.hyper(self._u + L @ e)

    @property
    def random_effects(self) -> dict[str, pd.DataFrame]:
        """Conditional modes and SDs of the random effects, per block."""
        from mmreg.results.effects import random_effects_table

        z = self.raw.mode.z
        sd = np.sqrt(np.clip(self.raw.var_z, 0, None))
        return random_effects_table(self.model, z, sd)

    @property
    def weights(self) -> dict[str, pd.DataFrame]:
        """Weights per mm block at the estimates, with delta-method SDs."""
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
