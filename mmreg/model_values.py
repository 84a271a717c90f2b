"""The model at given parameter values: the :class:`ModelValues` part of
:class:`~mmreg.model.MMModel`.

Given values of the parameters by name (``res.params``, ``df.attrs["truth"]``), the model
gives its hyperparameters on the natural scale (:meth:`ModelValues.hyper_from_params`),
the linear predictor, simulated outcomes (parametric bootstrap) and the marginal
log-likelihood with the random effects integrated out.  Nothing here fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mmreg._threads import pin_public_methods
from mmreg.errors import MMSpecError
from mmreg.inference.latent import Hyper, LatentModel
from mmreg.inference.scales import pinning_sd
from mmreg.priors import Fixed, Prior

if TYPE_CHECKING:
    from mmreg.design import Design
    from mmreg.families.base import BoundFamily
    from mmreg.inference.hyper import HyperSpace
    from mmreg.inference.posterior import Posterior

__all__ = ["ModelValues"]


@pin_public_methods  # a mixin of MMModel: pinned where defined (mmreg/_threads.py)
class ModelValues:
    """Hyperparameters, linear predictor, simulation and marginal likelihood at given
    parameter values; mixed into :class:`~mmreg.model.MMModel`."""

    design: Design
    priors: dict[str, Prior]
    posterior: Posterior
    bound_family: BoundFamily

    if TYPE_CHECKING:  # provided by MMModel

        @property
        def latent(self) -> LatentModel: ...

        @property
        def space(self) -> HyperSpace: ...

        @property
        def param_names(self) -> list[str]: ...

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
