"""Results of a fit: :class:`MMResults`, the interface shared by both methods.

Both expose the same statsmodels-like accessors (``params``, ``bse``, ``conf_int()``,
``cov_params()``, ``summary()``, ``var_decomp()``, ``weights``, ``random_effects``,
``predict()``); the Laplace results add z-tests and information criteria, the MCMC results
add draws, diagnostics, plots, DIC/WAIC/LOO (:mod:`mmreg.results.laplace_results`,
:mod:`mmreg.results.mcmc_results`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmreg._threads import pin_public_methods
from mmreg.results.habits import HabitsMixin
from mmreg.results.plots.methods import PlotMethods
from mmreg.results.protocol import PosteriorProtocol
from mmreg.results.workflow import WorkflowMethods

__all__ = ["MMResults"]


@pin_public_methods
class MMResults(PosteriorProtocol, PlotMethods, HabitsMixin, WorkflowMethods):
    """Common interface of fitted models.  Not constructed directly: use ``model.fit()``.

    Examples
    --------
    >>> import mmreg
    >>> import pandas as pd
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=2)
    >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
    >>> type(res).__name__, res.method, res.nobs
    ('LaplaceResults', 'laplace', 150)

    ``params`` and ``bse`` are Series indexed by parameter name; the simulated data carry
    the true values to compare with:

    >>> pd.DataFrame({"estimate": res.params, "truth": df.attrs["truth"]}).round(2)
                 estimate  truth
    Intercept        5.65   5.70
    majority         0.40   0.45
    mm1.finance     -0.38  -0.30
    sigma.mm1        0.35   0.40
    sigma.hm1        0.25   0.35
    sigma            0.87   0.85
    """

    method: str = ""

    def __init_subclass__(cls, **kwargs):
        # every public method and property of a results class runs with one BLAS thread
        super().__init_subclass__(**kwargs)
        pin_public_methods(cls)

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
        """bml's internal name of every parameter (``b[1]``, ``b.w.1[2]``, ``sigma.mm.1`` …).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> res.bml_names
        Intercept            b[1]
        majority             b[2]
        mm1.finance        b.mm.1
        sigma.mm1      sigma.mm.1
        sigma.hm1      sigma.hm.1
        sigma               sigma
        dtype: object
        """
        return pd.Series({n: self.model.bml_names.get(n, n) for n in self.params.index})

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence (Laplace) or equal-tailed credible (MCMC) intervals."""
        raise NotImplementedError

    def save(self, path) -> None:
        """Save the result to a file; read it back with :func:`mmreg.load`.

        Parameters
        ----------
        path : str or os.PathLike
            File to write (replaced if it exists).  The file holds a header and a pickle
            (see :mod:`mmreg.io`): load only files you trust.

        Examples
        --------
        >>> import os, tempfile
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=60, n_members=30, n_countries=6,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> path = os.path.join(tempfile.mkdtemp(), "fit.mmreg")
        >>> res.save(path)
        >>> bool(mmreg.load(path).conf_int().equals(res.conf_int()))
        True
        """
        from mmreg.io import save

        save(self, path)

    def summary(self, alpha: float = 0.05, r: int = 4):
        """A statsmodels ``Summary``: ``print()``, ``as_text()``, ``as_latex()``, ``as_html()``.

        Parameters
        ----------
        alpha : float
            The table shows ``1 - alpha`` intervals (see :meth:`conf_int`).
        r : int
            Decimal places of the parameter table (bml's ``summary(r = 3)``).

        Returns
        -------
        statsmodels.iolib.summary2.Summary
            A header (family, method, group and member counts, weight function, fit
            statistics) and the parameter table with bml's parameter names.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> print(res.summary())  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
        Multiple-membership multilevel model: y ~ 1 + majority + mm(...) + hm(...)
        ===...
             Family:               gaussian      hm1 units:      10 (cid, RE)
             Method:          MAP + Laplace       Log-lik.:          -196.929
         No. groups:                    150            AIC:           405.858
        mm1 members:          59 (pid) + RE            BIC:           423.922
        mm1 weights:      w ~ 1/n, c = True      Converged:              True
        ---...
                       bml      Coef.  Std.Err.    z    P>|z|   [0.025 0.975]
        ---...
        Intercept         b[1]  5.6484   0.2095 26.9619 0.0000  5.2378 6.0590
        majority          b[2]  0.4050   0.2048  1.9769 0.0480  0.0035 0.8065
        ...

        The parameter table is also available as a DataFrame:

        >>> list(res.summary(alpha=0.1).tables[1].columns)
        ['bml', 'Coef.', 'Std.Err.', 'z', 'P>|z|', '[0.05', '0.95]']
        """
        from mmreg.results.summary import make_summary

        return make_summary(self, alpha=alpha, r=r)

    def _repr_html_(self) -> str:
        """The summary as HTML (Jupyter shows a fitted result as its summary)."""
        return self.summary().as_html()

    def to_latex(self, alpha: float = 0.05, r: int = 4, label: str = "") -> str:
        r"""Publication table as LaTeX that compiles as written.

        Parameters
        ----------
        alpha : float
            The table shows ``1 - alpha`` intervals.
        r : int
            Decimal places of the parameter table.
        label : str
            ``\label`` of the table (none when empty).

        Returns
        -------
        str
            A ``table`` environment (caption: the formula) holding the header and the
            parameter table of :meth:`summary`; write it to a ``.tex`` file.  Names and
            the caption are escaped (``~ _ ^ % & # $ { }``), missing values print as
            ``--``; no LaTeX package is needed.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> tex = res.to_latex()
        >>> print(tex.splitlines()[0])
        \begin{table}
        >>> "sigma.mm.1" in tex  # rows carry bml's parameter names
        True
        """
        return self.summary(alpha=alpha, r=r).as_latex(label=label)

    def var_decomp(
        self,
        uncertainty: str = "sd",
        convention: str = "mmreg",
        alpha: float = 0.05,
        style: str = "mmreg",
    ) -> pd.DataFrame:
        """Variance decomposition and ICCs (see :func:`mmreg.results.vardecomp.var_decomp`).

        Parameters
        ----------
        uncertainty : {"sd", "mad", "ci"}
            Spread reported next to each estimate (``"ci"``: ``1 - alpha`` interval).
        convention : {"mmreg", "bml"}
            ``"bml"`` plugs in the posterior-mean weights as bml 0.9.0 does, and takes
            the Weibull residual variance as ``sigma² = 1/shape²`` like bml.
        alpha : float
            The intervals of ``uncertainty="ci"`` have coverage ``1 - alpha``.
        style : {"mmreg", "bml"}
            ``"bml"`` gives the columns of bml's ``varDecomp()``: ``Component``, ``sigma``
            (the component's SD), ``sigma_sd``, ``ICC``, ``ICC_sd``.

        Returns
        -------
        pandas.DataFrame
            One row per level (mm blocks, hm blocks, ``residual``); columns ``variance``
            (contribution to the latent-scale variance of a group's outcome), ``icc``
            (share of the total) and their spread.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> vd = res.var_decomp()
        >>> vd[["variance", "icc"]].round(2)
                  variance   icc
        mm1           0.04  0.05
        hm1           0.06  0.08
        residual      0.76  0.87
        >>> round(float(vd["icc"].sum()), 6)
        1.0
        >>> list(res.var_decomp(uncertainty="ci").columns)
        ['variance', 'icc', 'variance_lower', 'variance_upper', 'icc_lower', 'icc_upper']
        """
        from mmreg.results.vardecomp import var_decomp

        return var_decomp(
            self, uncertainty=uncertainty, convention=convention, alpha=alpha, style=style
        )

    def varDecomp(self, convention: str = "mmreg") -> pd.DataFrame:  # noqa: N802
        """bml's ``varDecomp()``: :meth:`var_decomp` with ``style="bml"`` (columns
        ``Component, sigma, sigma_sd, ICC, ICC_sd``)."""
        return self.var_decomp(convention=convention, style="bml")

    def baseline_hazard(self) -> pd.DataFrame:
        """Cox only: posterior of the baseline hazard increments (integrated out in the fit).

        Each increment (one per unique time, or per interval with ``cox_intervals``) has a
        Gamma posterior given the linear predictor; the table gives its ``shape``, ``rate``
        and ``mean`` at the estimates (Laplace) or averaged over the draws (MCMC, column
        ``mean`` is then the posterior mean of the increment).

        Returns
        -------
        pandas.DataFrame
            One row per increment: its time (or interval ``start``/``end``), ``events``,
            ``exposure`` and the Gamma posterior's ``shape``, ``rate`` and ``mean``.

        Examples
        --------
        A Cox model with a piecewise-constant baseline on 5 intervals:

        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         family="cox", seed=1)
        >>> model = mmreg.MMModel(df.attrs["formula"], df, family="cox", cox_intervals=5)
        >>> bh = model.fit().baseline_hazard()
        >>> len(bh), list(bh.columns[:3])
        (5, ['start', 'end', 'events'])
        >>> int(bh["events"].sum()) == int(df.groupby("gid")["event"].first().sum())
        True
        """
        from mmreg.errors import MMSpecError

        if not self.model.bound_family.family.has_baseline:
            raise MMSpecError("baseline_hazard() is only defined for family='cox'")
        fam = self.model.bound_family
        etas = list(self.linear_predictors())
        tabs = [fam.baseline_posterior(e) for e in etas]
        out = tabs[0].copy()
        out["mean"] = np.mean([t["mean"].to_numpy() for t in tabs], axis=0)
        return out

    def predict(self, data: pd.DataFrame | None = None, kind: str = "response") -> pd.Series:
        """Predictions for the fitted groups (``data=None``) or for new data.

        Parameters
        ----------
        data : DataFrame, optional
            New long-format data with the model's columns (the outcome may be absent).
            Members seen in the fit keep their estimated random effects; new members and
            new units get the prior mean (zero).  Covariates are built with what was
            learned from the fitted data (the mean of ``center(x)``, mean and SD of
            ``standardize(x)``, the levels of categorical variables), so rows of the fitted
            data get their fitted values back; a level the fit has not seen raises
            :class:`~mmreg.MMDataError`.
        kind : {"response", "linear"}
            ``"linear"``: η; ``"response"``: the family's mean (Gaussian η, binomial
            probability, Weibull expected time, Cox relative hazard, clogit choice
            probability).

        Returns
        -------
        pandas.Series
            One prediction per group, indexed by group id (index name ``"group"``).

        Examples
        --------
        >>> import mmreg
        >>> import numpy as np
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> pred = res.predict()
        >>> pred.shape, pred.index.name
        ((150,), 'group')
        >>> obs = df.groupby("gid")["y"].first()
        >>> bool((pred.index == obs.index).all())
        True

        New data need the model's columns but not the outcome; known members and countries
        keep their estimated effects, so the fitted groups get their fitted values back:

        >>> new = df[df["gid"] <= 3].drop(columns="y")
        >>> bool(np.allclose(res.predict(new), pred.loc[[1, 2, 3]]))
        True
        """
        from mmreg.results.predict import predict

        return predict(self, data=data, kind=kind)
