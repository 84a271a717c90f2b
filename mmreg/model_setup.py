"""How :class:`~mmreg.model.MMModel` builds its parts: the family, and the parameters,
priors and :class:`~mmreg.inference.posterior.Posterior` of a design.

:func:`resolve_family` turns the ``family=`` and ``cox_intervals=`` arguments into a
:class:`~mmreg.families.Family` and :func:`check_family_formula` checks that the formula
has the outcome and choice sets the family needs.  :class:`ParameterSetup` (mixed into
``MMModel``) names every parameter and its kind, resolves the priors, builds the latent
model and the hyperparameter space, holds the coefficients fixed or sampled by their
prior, and checks the weights at the starting values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mmreg.errors import MMSpecError
from mmreg.families import Family, get_family
from mmreg.inference.hyper import HyperSpace
from mmreg.inference.latent import LatentModel
from mmreg.inference.posterior import Posterior
from mmreg.inference.scales import pinning_sd, sampled_starts
from mmreg.priors import (
    KIND_COEF,
    KIND_COR,
    KIND_FN,
    KIND_SD,
    KIND_WEIGHT,
    resolve_priors,
)
from mmreg.priors.coef import split_coefficient_priors
from mmreg.results.identification import warn_collinear

if TYPE_CHECKING:
    from mmreg.design import Design
    from mmreg.families.base import BoundFamily
    from mmreg.formula.spec import FormulaSpec

__all__ = ["ParameterSetup", "check_family_formula", "resolve_family"]


def resolve_family(family: str | Family, cox_intervals: int | None) -> Family:
    """The family of ``MMModel(family=..., cox_intervals=...)``.

    Parameters
    ----------
    family : str or Family
        A family name (bml's capitalised names too) or a configured family object.
    cox_intervals : int, optional
        Intervals of a Cox family given by name.

    Raises
    ------
    MMSpecError
        An unknown name or type, or ``cox_intervals`` with a family object or a family
        that takes no intervals.
    """
    if isinstance(family, str):
        fam = get_family(family)
        if cox_intervals is not None:
            if not fam.takes_intervals:
                raise MMSpecError("cox_intervals is only meaningful with family='cox'")
            fam = get_family(family, intervals=cox_intervals)
        return fam
    if isinstance(family, Family):
        if cox_intervals is not None:
            raise MMSpecError("give cox_intervals to the Family object, not to the model")
        return family
    raise MMSpecError(
        "family must be one of 'gaussian', 'binomial', 'weibull', 'cox', 'clogit' "
        f"or a mmreg.families.Family, got {type(family).__name__} {family!r}"
    )


def check_family_formula(spec: FormulaSpec, fam: Family) -> None:
    """Check that the formula has the outcome (one column or ``Surv(time, event)``) and the
    choice sets (``strata(id)``) that the family needs.

    Raises
    ------
    MMSpecError
        Naming the family and what to change in the formula.
    """
    kind = spec.response.kind
    if kind != fam.outcome_kind:
        want = "Surv(time, event)" if fam.outcome_kind == "surv" else "a single outcome"
        raise MMSpecError(
            f"family {fam.name!r} needs {want} on the left of ~, got "
            f"{' '.join(spec.response.columns)!r}"
        )
    if (spec.strata is not None) != fam.needs_choice_sets:
        raise MMSpecError(
            "strata(id) defines the choice sets of family='clogit'; "
            + (
                "add it to the formula"
                if fam.needs_choice_sets
                else "it cannot be used with family=" + repr(fam.name)
            )
        )


class ParameterSetup:
    """Parameters, priors and posterior of a design; mixed into
    :class:`~mmreg.model.MMModel`."""

    design: Design
    bound_family: BoundFamily
    _family: Family
    _sample_coef: bool

    if TYPE_CHECKING:  # provided by MMModel

        @property
        def latent(self) -> LatentModel: ...

        @property
        def space(self) -> HyperSpace: ...

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
            self.latent.held = held
        #: coefficients in a linear dependence of the design (warned about once, here)
        self.collinear = warn_collinear(self)

    def _check_weights(self) -> None:
        """Weights must be valid (finite, non-negative, non-zero sums) at the start values."""
        u0 = self.posterior.start_values()
        for b, theta in zip(self.design.mm, self.space.hyper(u0).theta, strict=True):
            if b.wnames:
                b.weights.check(theta)
