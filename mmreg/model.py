"""``MMModel``: a formula + data + family, ready to ``fit()``.

Construction runs the whole front end — parse the bml formula, build and validate the
design, bind the family to the outcome, resolve the priors — so every specification or data
problem is reported before any fitting starts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mmreg._threads import pin_public_methods, single_blas_thread
from mmreg.design import Design, build_design
from mmreg.errors import MMSpecError, MMWarning
from mmreg.families import Family, get_family
from mmreg.formula.parse import parse_formula
from mmreg.inference.hyper import HyperSpace
from mmreg.inference.latent import Hyper, LatentModel
from mmreg.inference.posterior import Posterior
from mmreg.inference.scales import pinning_sd, sampled_starts
from mmreg.priors import (
    KIND_COEF,
    KIND_COR,
    KIND_FN,
    KIND_SD,
    KIND_WEIGHT,
    Fixed,
    resolve_priors,
)
from mmreg.priors.coef import split_coefficient_priors
from mmreg.results.identification import warn_collinear

__all__ = ["MMModel"]


@pin_public_methods  # every public method runs with one BLAS thread (mmreg/_threads.py)
class MMModel:
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
        if isinstance(family, str):
            self._family = get_family(family)
            if cox_intervals is not None:
                if not self._family.takes_intervals:
                    raise MMSpecError("cox_intervals is only meaningful with family='cox'")
                self._family = get_family(family, intervals=cox_intervals)
        elif isinstance(family, Family):
            if cox_intervals is not None:
                raise MMSpecError("give cox_intervals to the Family object, not to the model")
            self._family = family
        else:
            raise MMSpecError(
                "family must be one of 'gaussian', 'binomial', 'weibull', 'cox', 'clogit' "
                f"or a mmreg.families.Family, got {type(family).__name__} {family!r}"
            )
        fam = self._family
        kind = self.spec.response.kind
        if kind != fam.outcome_kind:
            want = "Surv(time, event)" if fam.outcome_kind == "surv" else "a single outcome"
            raise MMSpecError(
                f"family {fam.name!r} needs {want} on the left of ~, got "
                f"{' '.join(self.spec.response.columns)!r}"
            )
        if (self.spec.strata is not None) != fam.needs_choice_sets:
            raise MMSpecError(
                "strata(id) defines the choice sets of family='clogit'; "
                + (
                    "add it to the formula"
                    if fam.needs_choice_sets
                    else "it cannot be used with family=" + repr(fam.name)
                )
            )
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

    # ------------------------------------------------------------------ parameters
    def _setup_parameters(self, priors) -> None:
        d, fam = self.design, self._family
        kinds = {n: KIND_COEF for n in d.coef_names}
        kinds.update({n: KIND_FN if ".fn." in n else KIND_WEIGHT for n in d.weight_names})
        kinds.update({n: KIND_SD for n in d.sd_names})
        kinds.update({n: KIND_COR for n in d.cor_names})
        kinds.update(zip(fam.hyper_names, fam.hyper_prior_kinds, strict=True))
        bml = dict(d.bml_names)
        bml.update({n: n for n in (*fam.hyper_names, *fam.derived_names)})
        names = list(kinds)
        self.bml_names = bml
        defaults = dict(fam.default_priors)  # each family declares its parameters' defaults
        defaults.update(
            {
                k: v
                for b in d.mm
                if b.feature is not None
                for k, v in b.feature.default_priors(b.label).items()
            }
        )
        self.priors = resolve_priors(priors, names, kinds, bml, defaults=defaults)
        for b in d.mm:
            if b.feature is not None:
                b.feature.check_bounds(b.label, self.priors)
        cp = split_coefficient_priors(d.coef_names, self.priors, sample_all=self._sample_coef)
        #: coefficients fixed by their prior (held by a pinning Normal)
        self.fixed_coef = cp.fixed
        #: coefficients with a non-normal prior: sampled with the hyperparameters, held in
        #: z by a pinning prior at their value (mmreg/priors/coef.py)
        self.sampled_coef = cp.sampled
        mean, held_names = cp.mean, cp.held
        sampled = [list(d.coef_names).index(n) for n in cp.sampled]
        latent = LatentModel(d, self.bound_family, mean, cp.sd, sampled=sampled)
        space = HyperSpace(
            [b.wnames for b in d.mm],
            d.sd_names,
            fam.hyper_names,
            self.priors,
            cor_names=d.cor_names,
            coef_names=self.sampled_coef,
        )
        space.starts.update(
            {
                k: v
                for b in d.mm
                if b.feature is not None
                for k, v in b.feature.start(b.label).items()
            }
        )
        space.starts.update(sampled_starts(latent, self.priors))
        #: the posterior both fitting routes take (latent model, layout, priors, family)
        self.posterior = Posterior(latent, space, source=self)
        self._check_weights()
        if held_names:  # held relative to their data precision: 1e-9 is not tight at 1e8
            hyp0 = self.space.hyper(self.posterior.start_values())
            mean = mean.copy()
            mean[sampled] = hyp0.coef
            pin = pinning_sd(self.latent, hyp0.theta, mean, hyp0.phi, ratio=1e18)
            held = np.isin(d.coef_names, held_names)
            self.latent.coef_prec[held] = np.maximum(self.latent.coef_prec[held], pin[held] ** -2.0)
        #: coefficients in a linear dependence of the design (warned about once, here)
        self.collinear = warn_collinear(self)

    def _check_weights(self) -> None:
        """Weights must be valid (finite, non-negative, non-zero sums) at the start values."""
        u0 = self.posterior.start_values()
        for b, theta in zip(self.design.mm, self.space.hyper(u0).theta, strict=True):
            if b.wnames:
                b.weights.check(theta)

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

    # ------------------------------------------------------------------ utilities
    def _value(self, params, name: str) -> float:
        if name in params:
            return float(params[name])
        prior = self.priors.get(name)
        if isinstance(prior, Fixed):
            return float(prior.value)
        raise MMSpecError(
            f"no value for parameter {name!r}; give every parameter of {self.param_names}"
        )

    def hyper_from_params(self, params) -> Hyper:
        """Natural-scale :class:`Hyper` from a mapping of parameter values.

        Parameters fixed by a prior may be left out.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> hyp = model.hyper_from_params(df.attrs["truth"])
        >>> hyp.sd.tolist()  # sigma.mm1, sigma.hm1
        [0.4, 0.35]
        >>> [float(p) for p in hyp.phi]  # family parameters: the residual sigma
        [0.85]
        >>> [t.size for t in hyp.theta]  # weight parameters per mm block: none for 1/n
        [0]
        """
        x = np.array([self._value(params, n) for n in self.space.names])
        hyp = self.space.unpack(x)
        # phi as the array slice (not floats), as callers have always received it
        return Hyper(hyp.theta, hyp.sd, tuple(x[self.space.phi_slice]), hyp.cor, hyp.coef)

    def linear_predictor(self, params, re=None) -> np.ndarray:
        """η for given parameter values (random effects ``re``: latent RE vector or zero).

        Parameters
        ----------
        params : mapping or pandas.Series
            Values of (at least) the coefficients and weight parameters by name.
        re : ndarray, optional
            All random effects, blocks in the order of ``random_effects`` of a fit; ``None``
            sets them to zero.

        Returns
        -------
        numpy.ndarray
            One value per group, in ``model.design.group_ids`` order.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> eta = model.linear_predictor(df.attrs["truth"])
        >>> eta.shape
        (150,)

        With the estimated random effects this reproduces the fitted linear predictor:

        >>> import numpy as np
        >>> res = model.fit()
        >>> re = np.concatenate([t["mean"] for t in res.random_effects.values()])
        >>> bool(np.allclose(model.linear_predictor(res.params, re),
        ...                  res.predict(kind="linear")))
        True
        """
        hyp = self.hyper_from_params(params)
        beta = np.array([self._value(params, n) for n in self.design.coef_names])
        return self.posterior.eta(hyp.theta, beta, re=re)

    def simulate(self, params, seed=None, re: bool = True) -> dict:
        """Simulate new outcomes under ``params`` (random effects drawn from their prior).

        Returns a dict of outcome arrays in group order (``model.design.group_ids``).

        Parameters
        ----------
        params : mapping or pandas.Series
            Values of all parameters by name (e.g. ``res.params`` or ``df.attrs["truth"]``).
        seed : int or numpy Generator, optional
        re : bool
            Draw new random effects (``False``: all zero).

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> sim = model.simulate(df.attrs["truth"], seed=0)
        >>> list(sim), sim["y"].shape
        (['y'], (150,))

        A parametric bootstrap replicate: put the simulated outcome back into the data
        (one value per group, repeated on its rows) and refit:

        >>> import pandas as pd
        >>> y_sim = pd.Series(sim["y"], index=model.design.group_ids)
        >>> boot = df.assign(y=df["gid"].map(y_sim))
        >>> res_b = mmreg.MMModel(df.attrs["formula"], boot).fit()
        >>> bool(res_b.raw.optimizer.success)
        True
        """
        rng = np.random.default_rng(seed)
        hyp = self.hyper_from_params(params)
        u = None
        if re and self.latent.q:
            Q = self.latent.prior_precision(hyp.sd, hyp.cor)[self.latent.P :, self.latent.P :]
            L = np.linalg.cholesky(Q)
            u = np.linalg.solve(L.T, rng.standard_normal(self.latent.q))
        eta = self.linear_predictor(params, u)
        return self.bound_family.simulate(eta, hyp.phi, rng)

    def loglike(self, params) -> float:
        """Marginal log-likelihood log p(y | coefficients, ψ), random effects integrated out.

        Exact for the Gaussian family (Laplace approximation otherwise).  This is the
        likelihood that ML mixed-model software (statsmodels MixedLM, lme4) maximises.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> model = mmreg.MMModel(df.attrs["formula"], df)
        >>> res = model.fit()
        >>> round(float(model.loglike(res.params)), 2)
        -196.93

        Likelihood-ratio statistic of the estimates against the true values:

        >>> lr = 2 * (model.loglike(res.params) - model.loglike(df.attrs["truth"]))
        >>> round(float(lr), 2)
        1.41
        """
        hyp = self.hyper_from_params(params)
        beta = np.array([self._value(params, n) for n in self.design.coef_names])
        # the coefficients are pinned at beta by a prior far tighter than the data
        lat0 = LatentModel(self.design, self.bound_family, beta, np.ones(len(beta)))
        sd = pinning_sd(lat0, hyp.theta, beta, hyp.phi)
        lat = LatentModel(self.design, self.bound_family, beta, sd)
        return lat.mode(hyp).log_marginal
