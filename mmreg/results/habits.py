"""statsmodels habits on mmreg results: fitted values, residuals, tests, predictions, tidy.

:class:`HabitsMixin` is a base of :class:`~mmreg.results.results.MMResults`; it uses the
posterior protocol only (``params``, ``cov_params``/``posterior_cov``, ``conf_int``,
``predict``, ``latent_draws``), so Laplace and MCMC fits get the same members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmreg.errors import MMSpecError

__all__ = ["HabitsMixin", "PredictionResults"]


class PredictionResults:
    """Predictions with their uncertainty (statsmodels' ``get_prediction`` result).

    Attributes
    ----------
    predicted_mean : pandas.Series
        Point predictions (those of :meth:`MMResults.predict`).
    draws : numpy.ndarray
        The predictions at draws of the posterior, shape ``(draws, groups)``.
    """

    def __init__(self, predicted_mean: pd.Series, draws: np.ndarray):
        self.predicted_mean = predicted_mean
        self.draws = draws

    @property
    def se_mean(self) -> pd.Series:
        """Posterior SD (MCMC) or approximate standard error (Laplace) of each prediction."""
        return pd.Series(self.draws.std(axis=0, ddof=1), index=self.predicted_mean.index)

    def summary_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """``mean``, ``mean_se``, ``mean_ci_lower``, ``mean_ci_upper`` per group.

        The interval is the equal-tailed ``1 - alpha`` interval of the draws.
        """
        lo, hi = np.quantile(self.draws, [alpha / 2, 1 - alpha / 2], axis=0)
        return pd.DataFrame(
            {
                "mean": self.predicted_mean,
                "mean_se": self.se_mean,
                "mean_ci_lower": lo,
                "mean_ci_upper": hi,
            },
            index=self.predicted_mean.index,
        )


def _observed(res) -> np.ndarray:
    y = res.model.design.outcome.get("y")
    if y is None:
        raise MMSpecError(
            "residuals are not defined for a survival outcome (censored times have no "
            "observed value to subtract); use posterior predictive checks instead"
        )
    return np.asarray(y, dtype=float)


class HabitsMixin:
    """statsmodels-style members shared by Laplace and MCMC results."""

    # provided by MMResults and its subclasses (the posterior protocol)
    model: Any
    params: pd.Series
    bse: pd.Series
    bml_names: pd.Series
    method: str
    has_tests: bool
    if TYPE_CHECKING:

        @property
        def nobs(self) -> int: ...

        @property
        def family(self) -> str: ...

        @property
        def hidden_params(self) -> set[str]: ...

        @property
        def draws(self) -> pd.DataFrame: ...

        @property
        def tvalues(self) -> pd.Series: ...

        @property
        def pvalues(self) -> pd.Series: ...

        @property
        def llf(self) -> float: ...

        @property
        def aic(self) -> float: ...

        @property
        def bic(self) -> float: ...

        @property
        def df_model(self) -> int: ...

        @property
        def dic(self) -> float: ...

        @property
        def waic(self) -> dict[str, float]: ...

        @property
        def loo(self) -> dict[str, float]: ...

        def predict(
            self, data: pd.DataFrame | None = None, kind: str = "response"
        ) -> pd.Series: ...

        def point_hyper(self) -> Any: ...

        def cov_params(self) -> pd.DataFrame: ...

        def posterior_cov(self, names: list[str]) -> pd.DataFrame: ...

        def conf_int(self, alpha: float = 0.05) -> pd.DataFrame: ...

    # ---------------------------------------------------------------- names
    def resolve_names(self, names, available=None) -> list[str]:
        """mmreg names for mmreg or bml names/prefixes (see :func:`~mmreg.results.names.
        resolve_names`)."""
        from mmreg.results.names import resolve_names

        return resolve_names(self, names, available)

    # ---------------------------------------------------------------- fitted values
    @property
    def fittedvalues(self) -> pd.Series:
        """Fitted values on the response scale, one per group (``predict()``)."""
        return self.predict().rename("fittedvalues")

    @property
    def resid(self) -> pd.Series:
        """Response residuals ``observed - fittedvalues`` (Gaussian, binomial, clogit).

        Survival outcomes (Weibull, Cox) have no response residual (censoring): raises
        :class:`~mmreg.MMSpecError`.
        """
        return pd.Series(
            _observed(self) - self.fittedvalues.to_numpy(),
            index=self.fittedvalues.index,
            name="resid",
        )

    def _score_parts(self):
        y = _observed(self)
        eta = self.predict(kind="linear").to_numpy()
        fam, phi = self.model.bound_family, self.point_hyper().phi
        grad, curv = fam.derivs(eta, phi)
        if getattr(curv, "U", None) is not None:
            raise MMSpecError(
                "Pearson and deviance residuals are defined for Gaussian and binomial outcomes only"
            )
        return y, eta, fam, phi, np.asarray(grad), np.asarray(curv.d)

    @property
    def resid_pearson(self) -> pd.Series:
        """Pearson residuals ``(y - μ) / sqrt(Var(y | η))`` at the point estimate.

        Gaussian: ``(y - μ) / sigma``; binomial: ``(y - p) / sqrt(p (1 - p))``.  Defined for
        Gaussian and binomial outcomes (raises otherwise).
        """
        _, _, _, _, grad, d = self._score_parts()
        return pd.Series(grad / np.sqrt(d), index=self.fittedvalues.index, name="resid_pearson")

    @property
    def resid_deviance(self) -> pd.Series:
        """Deviance residuals ``sign(y - μ) sqrt(2 (l_saturated - l_i))`` at the point estimate.

        Gaussian: ``(y - μ) / sigma``; binomial: ``± sqrt(-2 log p(y_i))``.  Defined for
        Gaussian and binomial outcomes (raises otherwise).
        """
        y, eta, fam, phi, grad, d = self._score_parts()
        sat = eta.copy()
        for _ in range(60):  # Newton steps to the saturated fit (mean = y)
            g, c = fam.derivs(sat, phi)
            g, dd = np.asarray(g, dtype=float), np.asarray(c.d, dtype=float)
            step = np.divide(g, dd, out=np.zeros_like(g), where=dd > 1e-300)
            sat = np.clip(sat + step, -40, 40)
            if np.all(np.abs(step) < 1e-10):
                break
        dev = 2 * (fam.loglik_terms(sat, phi) - fam.loglik_terms(eta, phi))
        r = np.sign(grad) * np.sqrt(np.clip(dev, 0, None))
        return pd.Series(r, index=self.fittedvalues.index, name="resid_deviance")

    # ---------------------------------------------------------------- predictions
    def get_prediction(
        self,
        data: pd.DataFrame | None = None,
        kind: str = "response",
        draws: int = 1000,
        seed: int = 0,
    ) -> PredictionResults:
        """Predictions with uncertainty; ``.summary_frame(alpha)`` as in statsmodels.

        Parameters
        ----------
        data : DataFrame, optional
            New data (as for :meth:`predict`); default the fitted groups.
        kind : {"response", "linear"}
        draws : int
            MCMC: at most this many kept draws; Laplace: this many draws of the
            coefficients and random effects from their Gaussian approximation at the
            estimated hyperparameters.
        seed : int
            Laplace draws' seed.

        Returns
        -------
        PredictionResults
        """
        from mmreg.results.predict import prediction_draws

        mean = self.predict(data, kind=kind)
        arr, _ = prediction_draws(self, data, kind, most=draws, seed=seed)
        return PredictionResults(mean.rename("mean"), arr)

    # ---------------------------------------------------------------- tests
    def _restriction(self, r_matrix, q_matrix=None):
        """``(R, q, names)`` from a matrix, a constraint string or a list of strings."""
        names = list(self.params.index)
        if isinstance(r_matrix, (str, list, tuple)) and (
            isinstance(r_matrix, str) or all(isinstance(x, str) for x in r_matrix)
        ):
            from patsy import DesignInfo

            bml = [b for b in self.bml_names if b not in names]
            cols = names + bml
            lc = DesignInfo(cols).linear_constraint(r_matrix)
            R = lc.coefs[:, : len(names)].copy()
            for j, b in enumerate(bml, start=len(names)):
                (target,) = self.resolve_names([b])
                R[:, names.index(target)] += lc.coefs[:, j]
            return R, lc.constants.ravel(), names
        R = np.atleast_2d(np.asarray(r_matrix, dtype=float))
        if R.shape[1] != len(names):
            raise MMSpecError(
                f"r_matrix needs {len(names)} columns (one per parameter {names}), got {R.shape[1]}"
            )
        q = np.zeros(len(R)) if q_matrix is None else np.asarray(q_matrix, float).ravel()
        return R, q, names

    def t_test(self, r_matrix, q_matrix=None, alpha: float = 0.05):
        """Tests (Laplace) or posterior summaries (MCMC) of linear combinations ``R b - q``.

        Parameters
        ----------
        r_matrix : array_like, str or list of str
            A matrix with one column per parameter, or constraints such as
            ``"majority - mm1.finance = 0"`` (bml names like ``b[2]`` work too).
        q_matrix : array_like, optional
            Right-hand side for a matrix ``r_matrix`` (default 0).
        alpha : float
            Interval level of the MCMC summary (and of ``summary(alpha=...)``).

        Returns
        -------
        statsmodels.stats.contrast.ContrastResults or pandas.DataFrame
            Laplace: statsmodels' ``ContrastResults`` with normal (z) tests built on
            :meth:`cov_params`.  MCMC: one row per combination with the posterior
            ``mean``, ``sd``, the ``1 - alpha`` interval and ``P(>0)``.
        """
        from statsmodels.stats.contrast import ContrastResults

        R, q, names = self._restriction(r_matrix, q_matrix)
        if self.has_tests:
            cov = self.cov_params().loc[names, names].to_numpy()
            effect = R @ self.params.to_numpy() - q
            sd = np.sqrt(np.diag(R @ cov @ R.T))
            return ContrastResults(
                effect=effect, sd=sd, statistic=effect / sd, distribution="norm", alpha=alpha
            )
        used = [n for j, n in enumerate(names) if np.any(R[:, j] != 0)]
        d = self.draws[used].to_numpy() @ R[:, [names.index(n) for n in used]].T - q
        lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2], axis=0)
        return pd.DataFrame(
            {
                "mean": d.mean(axis=0),
                "sd": d.std(axis=0, ddof=1),
                f"[{alpha / 2:g}": lo,
                f"{1 - alpha / 2:g}]": hi,
                "P(>0)": (d > 0).mean(axis=0),
            },
            index=[f"c{i}" for i in range(len(R))],
        )

    def wald_test(self, r_matrix, q_matrix=None):
        """Joint Wald (chi²) test of ``R b = q`` on the Laplace covariance.

        Returns statsmodels' ``ContrastResults`` (``statistic``, ``pvalue``, ``df_denom``).
        For MCMC fits the covariance of the draws is used (a normal approximation).
        """
        from statsmodels.stats.contrast import ContrastResults

        R, q, names = self._restriction(r_matrix, q_matrix)
        cov = self.posterior_cov(names).to_numpy()
        diff = R @ self.params.to_numpy() - q
        chi2 = float(diff @ np.linalg.solve(R @ cov @ R.T, diff))
        J = len(R)
        return ContrastResults(statistic=chi2, distribution="chi2", df_denom=J, dist_args=(J,))

    # ---------------------------------------------------------------- tidy data
    def tidy(self, alpha: float = 0.05, params=None) -> pd.DataFrame:
        """The parameter table as a tidy DataFrame (broom's ``tidy``).

        Columns ``term``, ``estimate``, ``std_error``, ``conf_low``, ``conf_high``,
        ``bml_name`` (and ``statistic``, ``p_value`` for Laplace fits); ``params`` selects
        rows by mmreg or bml name or bml prefix.
        """
        ci = self.conf_int(alpha)
        out = pd.DataFrame(
            {
                "term": self.params.index,
                "estimate": self.params.to_numpy(),
                "std_error": self.bse.to_numpy(),
                "conf_low": ci["lower"].to_numpy(),
                "conf_high": ci["upper"].to_numpy(),
                "bml_name": self.bml_names.to_numpy(),
            }
        )
        if self.has_tests:
            out["statistic"] = self.tvalues.to_numpy()
            out["p_value"] = self.pvalues.to_numpy()
        keep = (
            self.resolve_names(params)
            if params is not None
            else [n for n in self.params.index if n not in self.hidden_params]
        )
        return out.set_index("term", drop=False).loc[keep].reset_index(drop=True)

    def glance(self) -> pd.DataFrame:
        """One row of fit statistics: ``nobs``, ``method``, ``family`` and ``llf``/``aic``/
        ``bic`` (Laplace) or ``dic``/``waic``/``loo`` (MCMC)."""
        row: dict = {"nobs": self.nobs, "method": self.method, "family": self.family}
        if self.has_tests:
            row.update(
                llf=float(self.llf),
                aic=float(self.aic),
                bic=float(self.bic),
                df_model=self.df_model,
            )
        else:
            row.update(
                dic=float(self.dic), waic=float(self.waic["waic"]), loo=float(self.loo["loo"])
            )
        return pd.DataFrame([row])
