"""``MMModel``: a formula + data + family, ready to ``fit()``.

Construction runs the whole front end — parse the bml formula, build and validate the
design, bind the family to the outcome, resolve the priors — so every specification or data
problem is reported before any fitting starts.
"""

from __future__ import annotations

import warnings

import pandas as pd

from mmreg._threads import pin_public_methods, single_blas_thread
from mmreg.design import Design, build_design
from mmreg.errors import MMSpecError, MMWarning
from mmreg.families import Family
from mmreg.formula.parse import parse_formula
from mmreg.inference.hyper import HyperSpace
from mmreg.inference.latent import LatentModel
from mmreg.model_setup import ParameterSetup, check_family_formula, resolve_family
from mmreg.model_values import ModelValues

__all__ = ["MMModel"]


@pin_public_methods  # every public method runs with one BLAS thread (mmreg/_threads.py)
class MMModel(ParameterSetup, ModelValues):
    """Bayesian multiple-membership multilevel model.

    Parameters
    ----------
    formula : str
        A bml formula, e.g. ``"y ~ 1 + x + mm(id = id(pid, gid), vars = vars(z),
        fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid), type = 'RE')"``.
    data : pandas.DataFrame
        Long-format data: one row per (member, group) participation.  Not modified.
    family : str or Family
        ``"gaussian"``, ``"binomial"``, ``"weibull"``, ``"cox"`` or ``"clogit"`` (bml's
        capitalised names work too; ``"bernoulli"`` = ``"binomial"``), or a family object
        (``mmreg.families.weibull()``, ``mmreg.families.cox(intervals=10)``, any configured
        :class:`mmreg.families.Family`).
    priors : dict, list of str, or None
        Priors by glob pattern over parameter names (``{"mm1.w.*": Normal(0, 1)}``), bml's
        JAGS strings (``["b.w.1 ~ dnorm(0, 1)"]``) and/or brms-style
        :func:`mmreg.prior` objects (``[mmreg.prior("normal(0, 1)", class_="w")]``; see
        :func:`mmreg.get_prior`).  Default: bml's priors.
    cox_intervals : int, optional
        Cox only: piecewise-constant baseline on this many intervals (bml's break rule);
        ``None`` puts a baseline increment at every unique event time.

    Examples
    --------
    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=200, n_members=80, seed=1)
    >>> model = mmreg.MMModel.from_formula(df.attrs["formula"], df, family="gaussian")
    >>> model.nobs
    200
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        family: str | Family = "gaussian",
        priors=None,
        cox_intervals: int | None = None,
    ):
        if not isinstance(formula, str):
            raise MMSpecError(f"formula must be a string, got {type(formula).__name__}")
        self.formula = formula
        self.spec = parse_formula(formula)
        self._family = resolve_family(family, cox_intervals)
        fam = self._family
        check_family_formula(self.spec, fam)
        self.design: Design = build_design(
            self.spec, data, has_intercept=fam.has_intercept, family=fam.name
        )
        self._priors_arg = priors
        #: sample every non-fixed coefficient with ψ (the MCMC twin of a model without
        #: free hyperparameters, :meth:`_mcmc_model`)
        self._sample_coef = False
        self._assemble()

    def _assemble(self) -> None:
        """Bind the family to the design's outcome and set up parameters and priors."""
        fam = self._family
        self.bound_family = fam.bind(self.design.outcome, labels=self.design.outcome_labels)
        self._setup_parameters(self._priors_arg)

    # a model pickles through its design (arrays + the design spec learned from the data),
    # family and priors, not a copy of the DataFrame; the latent model and the
    # hyperparameter space are rebuilt from them (process pools, saved results)
    _STATE = ("formula", "spec", "_family", "design", "_priors_arg", "_sample_coef")

    def __getstate__(self) -> dict:
        return {k: self.__dict__[k] for k in self._STATE}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"_sample_coef": False, **state})
        self._assemble()

    def _mcmc_model(self) -> MMModel:
        """The model emcee samples: this one, or, if it has no free hyperparameter, its twin
        with the coefficients sampled with ψ (their priors unchanged, the same posterior;
        without the twin emcee would have a 0-dimensional state)."""
        if self.space.dim > 0:
            return self
        twin = type(self).__new__(type(self))  # rebuilt from the state, as when unpickled
        twin.__setstate__({**self.__getstate__(), "_sample_coef": True})
        if twin.space.dim == 0:
            raise MMSpecError(
                "method='mcmc' has nothing to sample: every parameter is fixed by its prior; "
                "use method='laplace' (exact given the fixed parameters for the Gaussian "
                "family) or free a parameter in priors="
            )
        return twin

    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: pd.DataFrame,
        family: str | Family = "gaussian",
        priors=None,
        cox_intervals: int | None = None,
    ) -> MMModel:
        """Build a model from a bml formula (statsmodels-style constructor).

        Same arguments as :class:`MMModel`.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         family="binomial", seed=2)
        >>> model = mmreg.MMModel.from_formula(df.attrs["formula"], df, family="binomial")
        >>> model.family, model.nobs
        ('binomial', 150)
        """
        return cls(formula, data, family=family, priors=priors, cox_intervals=cox_intervals)

    @property
    def latent(self) -> LatentModel:
        """The latent Gaussian model (:attr:`posterior`'s)."""
        return self.posterior.latent

    @property
    def space(self) -> HyperSpace:
        """The layout and priors of the hyperparameters (:attr:`posterior`'s)."""
        return self.posterior.space

    @property
    def family(self) -> str:
        """Family name.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> model.family  # the default
        'gaussian'
        """
        return self._family.name

    @property
    def nobs(self) -> int:
        """Number of groups (observations of the outcome).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> model.nobs, len(df)  # 150 governments, one row per party in each
        (150, 472)
        """
        return self.design.nobs

    @property
    def param_names(self) -> list[str]:
        """Parameter names in order: coefficients, weights, SDs, correlations, family
        parameters.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> model.param_names
        ['Intercept', 'majority', 'mm1.finance', 'sigma.mm1', 'sigma.hm1', 'sigma']

        An estimated weight function adds its parameters (``mm1.w.*``):

        >>> de = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         weights="estimated", seed=2)
        >>> mmreg.MMModel(de.attrs["formula"], de).param_names[3:5]
        ['mm1.w.b0', 'mm1.w.b1']
        """
        listed = self.space.names[: self.space.n_listed]  # sampled coefficients: as coefficients
        return [*self.design.coef_names, *listed, *self._family.derived_names]

    def describe(self) -> str:
        """A short text of what the model estimates: blocks, weight functions and their
        parameters, aggregations, and the prior of every parameter.

        Returns
        -------
        str
            Print it: ``print(model.describe())``.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         weights="estimated", seed=2)
        >>> print(mmreg.MMModel(df.attrs["formula"], df).describe())  # doctest: +ELLIPSIS
        mmreg model: family gaussian, 150 groups
        ...
          weight parameters: mm1.w.b0, mm1.w.b1 (estimated)
        ...
        """
        from mmreg.describe import describe_model

        return describe_model(self)

    # ------------------------------------------------------------------ fitting
    def fit(self, method: str = "laplace", **kwargs):
        """Fit the model.

        Parameters
        ----------
        method : {"laplace", "mcmc"}
            ``"laplace"`` (default): MAP of the hyperparameters with the latent effects
            integrated out, Laplace standard errors — fast.  ``"mcmc"``: the exact posterior
            with emcee (see :func:`mmreg.inference.mcmc.fit_mcmc` for the options).
            Case-insensitive.
        **kwargs
            Options of the chosen method.  Laplace: ``start`` (a dict of starting values
            of the free hyperparameters by name, e.g. ``{"sigma.mm1": 0.5}``, or an array
            of their unconstrained values) and ``maxiter``.  MCMC: those of
            :func:`~mmreg.inference.mcmc.fit_mcmc` (``start`` there starts its Laplace
            fit).  Every option is checked before any work
            (:mod:`mmreg.inference.options`): an unknown keyword or a value out of range
            raises :class:`~mmreg.MMSpecError` naming it and the valid values.

        Returns
        -------
        MMResults
            :class:`~mmreg.LaplaceResults` or :class:`~mmreg.MCMCResults`.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit()
        >>> type(res).__name__, list(res.params.index[:3])
        ('LaplaceResults', ['Intercept', 'majority', 'mm1.finance'])
        >>> round(float(res.params["majority"]), 2), df.attrs["truth"]["majority"]
        (0.4, 0.45)

        The exact posterior by MCMC (tiny run; use ``draws=1000`` or more in practice):

        >>> post = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
        >>> type(post).__name__, post.raw.n_chains
        ('MCMCResults', 2)
        """

        from mmreg.inference.options import check_fit_options
        from mmreg.results.identification import identified

        # every option is checked before any work (MMSpecError naming the argument)
        method, kwargs = check_fit_options(self, method, kwargs)
        # small dense/sparse factorisations: multithreaded BLAS only adds overhead (and can be
        # 10x slower on a busy 2-core machine); the caller's setting is restored afterwards.
        # fit() is pinned by @pin_public_methods already; this keeps the limit explicit.
        with single_blas_thread():
            return identified(self._fit(method, kwargs))  # warns if data inform no parameter

    def _fit(self, method: str, kwargs: dict):
        from mmreg.results.mcmc_results import MCMCResults

        if method == "laplace":
            from mmreg.inference.laplace import fit_laplace
            from mmreg.results.laplace_results import LaplaceResults

            raw = fit_laplace(self.posterior, kwargs.pop("start", None), **kwargs)
            return LaplaceResults(self, raw)
        if method == "mcmc":
            from mmreg.inference.mcmc import fit_mcmc

            model = self._mcmc_model()
            if model is not self and kwargs.pop("laplace", None) is not None:
                # the twin samples the coefficients, so it starts from its own Laplace fit
                warnings.warn(
                    "fit(method='mcmc', laplace=...) ignores the given Laplace fit: this model "
                    "has no free hyperparameter, so MCMC samples the coefficients and starts "
                    "from a Laplace fit of its own.",
                    MMWarning,
                    stacklevel=3,
                )
            draws = fit_mcmc(model.posterior, **kwargs)
            res = MCMCResults(model, draws)
            res.warn_convergence()  # R-hat > 1.01 or bulk ESS < 400: say what to do
            return res
        raise MMSpecError(f"unknown method {method!r}; use 'laplace' or 'mcmc'")
