"""The posterior protocol of the results (:class:`PosteriorProtocol`).

Laplace and MCMC results differ only in how they provide the posterior: the methods below
(:class:`~mmreg.results.laplace_results.LaplaceResults` from the Laplace approximation,
:class:`~mmreg.results.mcmc_results.MCMCResults` from the draws).  Summaries, variance
decompositions and predictions are written against this protocol only; a new kind of fit
implements it and gets them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmreg._threads import pin_public_methods

if TYPE_CHECKING:
    from mmreg.inference.latent import Hyper

__all__ = ["PosteriorProtocol"]


@pin_public_methods
class PosteriorProtocol:
    """How a fit provides its posterior; the base of :class:`~mmreg.results.results.MMResults`.

    Attributes used by the shared implementations: ``model``, ``params``, ``bml_names``
    and :meth:`conf_int` (provided by ``MMResults`` and its subclasses).
    """

    model: Any
    params: pd.Series
    bml_names: pd.Series

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        raise NotImplementedError

    #: label of the method in summary headers
    method_label: str = ""
    #: whether the parameter table carries z tests (``tvalues``/``pvalues``)
    has_tests: bool = False
    #: whether :meth:`hyper_draws` are draws from the exact posterior (MCMC) rather than
    #: from an approximation of it (Laplace)
    exact_posterior: bool = False

    def hyper_draws(self) -> list[Hyper]:
        """Hyperparameters (weight parameters, SDs, family parameters) drawn from the posterior.

        MCMC: every kept draw, in the order of ``raw.u`` (chains, steps, walkers).  Laplace:
        draws from the Gaussian approximation on the unconstrained scale (mean the mode,
        covariance ``raw.cov_u``), mapped to the natural scale.

        Returns
        -------
        list of mmreg.inference.latent.Hyper
            One hyperparameter value per draw (``theta``, ``sd``, ``phi``).
        """
        raise NotImplementedError

    def point_hyper(self) -> Hyper:
        """The hyperparameters at the point estimate of the fit (the MAP for Laplace fits;
        the posterior mean on the unconstrained scale for MCMC fits)."""
        raise NotImplementedError

    def linear_predictors(self, most: int = 200) -> list[np.ndarray]:
        """The linear predictor η of every group, per draw.

        Laplace: one η, at the estimates.  MCMC: η of (up to ``most``, evenly spaced) draws.

        Parameters
        ----------
        most : int
            Largest number of draws to use (MCMC).

        Returns
        -------
        list of numpy.ndarray
            η per draw, one value per group (``model.design.group_ids`` order).
        """
        raise NotImplementedError

    def point_estimate(
        self, fn: Callable[[Hyper, np.ndarray], Any], per_draw: pd.DataFrame | None = None
    ) -> Any:
        """Point estimate of a function ``fn(hyper, z)`` of the hyperparameters and the latent
        effects ``z`` (coefficients then random effects).

        Laplace: ``fn`` at the estimates (the mode; plug-in).  MCMC: the posterior mean of
        ``fn`` over all draws; ``per_draw`` (the values at every draw of
        :meth:`hyper_draws`, one row each) is averaged instead when given.
        """
        raise NotImplementedError

    @property
    def draws_usable(self) -> bool:
        """Whether :meth:`hyper_draws` represent the posterior's spread (False for a Laplace
        fit whose Hessian had to be regularised: its draws are meaningless)."""
        return True

    def posterior_cov(self, names: list[str]) -> pd.DataFrame:
        """Posterior covariance of the parameters ``names`` (Laplace: :meth:`cov_params`;
        MCMC: the sample covariance of the draws)."""
        raise NotImplementedError

    @property
    def hidden_params(self) -> set[str]:
        """Fixed effects of hm() and mm() blocks with ``showFE = FALSE`` (left out of
        tables)."""
        d = self.model.design
        blocks = (*d.hm, *d.mm)
        return {n for b in blocks if not b.spec.show_fe for n in b.fenames}

    def _estimate_columns(self) -> dict[str, pd.Series]:
        """Columns of :meth:`param_table` before the interval."""
        raise NotImplementedError

    def _quality_columns(self) -> dict[str, pd.Series]:
        """Columns of :meth:`param_table` after the interval."""
        return {}

    def fit_statistics(self) -> dict[str, str]:
        """The fit statistics of the summary header (label to formatted value)."""
        return {}

    def param_table(self, alpha: float = 0.05) -> pd.DataFrame:
        """The parameter table behind :meth:`summary` (a DataFrame).

        Parameters
        ----------
        alpha : float
            Intervals have coverage ``1 - alpha`` (those of :meth:`conf_int`); the column
            names give the quantiles.

        Returns
        -------
        pandas.DataFrame
            One row per parameter (fixed effects hidden with ``showFE = FALSE`` left out);
            Laplace fits: ``bml``, ``Coef.``, ``Std.Err.``, ``z``, ``P>|z|`` and the
            interval; MCMC fits: ``bml``, ``Mean``, ``SD``, the interval, ``R-hat`` and
            ``ESS``.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=1)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> tab = res.param_table(alpha=0.1)
        >>> list(tab.columns)
        ['bml', 'Coef.', 'Std.Err.', 'z', 'P>|z|', '[0.05', '0.95]']
        >>> tab.loc["mm1.finance", ["Coef.", "[0.05", "0.95]"]].astype(float).round(2).tolist()
        [-0.43, -0.72, -0.15]
        """
        ci = self.conf_int(alpha)
        lo, hi = f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"
        tab = pd.DataFrame({"bml": self.bml_names})
        for col, values in self._estimate_columns().items():
            tab[col] = values
        tab[lo] = ci["lower"]
        tab[hi] = ci["upper"]
        for col, values in self._quality_columns().items():
            tab[col] = values
        hide = self.hidden_params
        return tab.loc[[n for n in tab.index if n not in hide]]
